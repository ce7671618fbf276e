"""The token purchase saga: each step reads the purchase's recorded state, does what is left to do,
and records what it did, so any step can run again (a retry, a crash, the reconciler) without
charging, minting, refunding or burning twice.

A purchase is a ``payment`` entity (``properties.purpose == "token_purchase"``). Forward: authorize
the card (a manual-capture PaymentIntent, recorded before it is confirmed), mint into the platform's
custody (the signed transaction recorded before it is sent), capture, then record the purchase in one
transaction. A card that asks for 3-D Secure leaves the charge in ``requires_action``: the execution
waits (a ``waitForTaskToken`` task, its token recorded on the purchase) until Stripe's webhook says
the buyer authenticated (:func:`authentication_outcome` resumes it) or failed, or until it times out.
Backward (any failure): void or refund whatever was charged, burn whatever was minted,
then mark the purchase failed (or refunded). Each provider call carries an idempotency key derived
from the purchase id, and each step first asks the provider what became of the recorded intent or
transaction, since a stand-in (or a crash between the call and the record) may leave it unknown.

Statuses: ``pending`` until the saga ends (shown as ``requires_action`` while the card waits for the
buyer's authentication), then ``completed``, ``failed`` (nothing was taken) or ``refunded`` (money
was taken and given back).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ontology.data import counters
from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.transaction import run_mutation, run_query
from ontology.errors import (
    AbortedError,
    ChainRevertedError,
    ConflictError,
    InternalError,
    NotFoundError,
    PaymentFailedError,
    UpstreamError,
    ValidationError,
)
from ontology.services import chain_txs
from ontology.services.ledger import credit
from ontology.services.ontology_ops import log_event, now_ms

__all__ = [
    "AUTHENTICATION_SECONDS",
    "PURPOSE",
    "TIMEOUT_SECONDS",
    "add_supply",
    "authentication_outcome",
    "await_authentication",
    "burn",
    "capture",
    "charge",
    "complete",
    "finalise",
    "load",
    "price_cents",
    "purchase_view",
    "refund",
    "supply_left",
]

log = logging.getLogger(__name__)

PURPOSE = "token_purchase"
#: The state machine's TimeoutSeconds; the reconciler takes over purchases pending longer than this.
TIMEOUT_SECONDS = 900
#: How long a purchase waits for the buyer's 3-D Secure before it is undone (the waiting task's
#: timeout, handed to each execution in its input; within TIMEOUT_SECONDS with room for the rest).
AUTHENTICATION_SECONDS = 600
#: Entity statuses of a purchase (the ``by_type_status`` index finds pending ones).
ENTITY_STATUS = {"pending": "draft", "completed": "published", "failed": "archived", "refunded": "archived"}
MIN_CENTS = 50  # Stripe's smallest USD charge
MAX_CENTS = 99_999_999  # Stripe's largest
MINE_WAIT_SECONDS = chain_txs.MINE_WAIT_SECONDS


def execution_arn(machine_arn: str, purchase_id: str) -> str:
    """The ARN of a purchase's execution (named after the purchase) on the state machine."""
    return machine_arn.replace(":stateMachine:", ":execution:") + f":{purchase_id}"


def price_cents(unit_price_usd: float | int, amount: int) -> int:
    """The charge in cents for ``amount`` tokens at the token's current price, rounded half up."""
    cents = (Decimal(str(unit_price_usd)) * amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cents)


def usd_to_cents(usd: float | int) -> int:
    """A dollar amount as a client computed it (``amount * priceUsd`` in a browser carries float
    noise: 3 * 0.1 is 0.30000000000000004) in whole cents, rounded half up like :func:`price_cents`."""
    return int((Decimal(str(usd)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def args_hash(token_id: str, amount: int, payment_method: str | None) -> str:
    body = json.dumps([token_id, amount, payment_method], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------------ the record


def load(db: DatabaseReader, purchase_id: str) -> Doc:
    doc = db.get(purchase_id, "entities", field="purchaseId")
    if doc is None or doc["type"] != "payment" or doc["properties"].get("purpose") != PURPOSE:
        raise NotFoundError("Purchase not found", id=purchase_id)
    return doc


def _read(org: str, purchase_id: str) -> dict[str, Any]:
    props: dict[str, Any] = run_query(lambda db: load(db, purchase_id), org=org)["properties"]
    return props


def _update(
    org: str, purchase_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> dict[str, Any]:
    """Apply ``change`` to the purchase's current properties in one transaction (re-run on a
    conflict, so ``change`` always sees the latest); None leaves it as it is. Returns the properties."""

    def body(db: DatabaseWriter) -> dict[str, Any]:
        doc = load(db, purchase_id)
        props = dict(doc["properties"])
        changed = change(props)
        if changed is None:
            return props
        new = {**props, **changed}
        db.patch(purchase_id, {"properties": new, "updatedAt": now_ms()}, "entities")
        return new

    result: dict[str, Any] = run_mutation(body, org=org)
    return result


def _set(org: str, purchase_id: str, change: dict[str, Any] | None) -> dict[str, Any]:
    return _update(org, purchase_id, lambda p: change)


def _forward(
    org: str, purchase_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> dict[str, Any]:
    """``_update`` for a forward step: ABORTED (final) once the purchase is no longer pending or its
    compensation has started, so a step still running late never records an effect to keep."""

    def guarded(p: dict[str, Any]) -> dict[str, Any] | None:
        _require_forward(p)
        return change(p)

    return _update(org, purchase_id, guarded)


def _require_forward(p: dict[str, Any]) -> None:
    if p["status"] != "pending" or p.get("compensating"):
        raise AbortedError("The purchase is being undone")


def _start_compensation(org: str, purchase_id: str) -> dict[str, Any]:
    """Record that compensation has started (before it touches Stripe or the chain): from now on no
    forward step records anything, and the reconciler only goes backward."""
    return _update(org, purchase_id, lambda p: None if p.get("compensating") else {"compensating": True})


def waiting_for_authentication(p: dict[str, Any]) -> bool:
    """Whether the purchase waits for the buyer's 3-D Secure (its card asked for it)."""
    return bool(
        p["status"] == "pending" and p["chargeStatus"] == "requires_action" and not p.get("compensating")
    )


def purchase_view(doc: Doc) -> dict[str, Any]:
    """What ``tokens:get_purchase`` reports (the client secret apart: the buyer's only)."""
    p = doc["properties"]
    return {
        "purchaseId": doc["_id"],
        "status": "requires_action" if waiting_for_authentication(p) else p["status"],
        "tokenId": p.get("tokenId"),
        "amount": p.get("tokenAmount"),
        "usdCents": p["amount"],
        "currency": p.get("currency", "usd"),
        "paymentId": p.get("paymentIntentId"),
        "transactionHash": p.get("transactionHash"),
        "failureReason": p.get("failureReason"),
        "failureCode": p.get("failureCode"),
        "createdAt": doc["createdAt"],
        "updatedAt": doc.get("updatedAt", doc["createdAt"]),
    }


# ------------------------------------------------------------------------------------ forward


def _payments() -> Any:
    from ontology.providers.payments import get_payments

    return get_payments()


def _chain() -> Any:
    from ontology.providers.chain import get_chain

    return get_chain()


def _key(purchase_id: str, what: str) -> str:
    return f"purchase-{purchase_id}-{what}"


def _require_pending(props: dict[str, Any]) -> bool:
    return bool(props["status"] == "pending")


def charge(org: str, purchase_id: str) -> str:
    """Authorize the card for the purchase (manual capture): the PaymentIntent's id is recorded
    before it is confirmed, so a retry finds it instead of creating another. PAYMENT_FAILED when the
    card is declined (final: the state machine does not retry it)."""
    props = _read(org, purchase_id)
    _require_forward(props)
    if props["chargeStatus"] in ("authorized", "captured"):
        return str(props["chargeStatus"])
    if props["chargeStatus"] == "requires_action":  # a retry: what became of the authentication?
        return _charge_outcome(org, purchase_id, _payments().retrieve(props["paymentIntentId"]))
    if props["chargeStatus"] != "none":
        raise PaymentFailedError(props.get("failureReason") or "The payment did not go through")
    payments = _payments()
    intent_id = props.get("paymentIntentId")
    if not intent_id:
        intent = payments.create_intent(
            amount=props["amount"],
            currency=props.get("currency", "usd"),
            payment_method=props.get("paymentMethodId"),
            customer=props.get("customerId"),
            capture_method="manual",
            idempotency_key=_key(purchase_id, "intent"),
            metadata={
                "purchaseId": purchase_id,
                "organizationId": org,
                "tokenId": props["tokenId"],
                "buyerId": props["buyerId"],
                "tokenAmount": str(props["tokenAmount"]),
            },
        )
        try:
            recorded = _forward(
                org,
                purchase_id,
                lambda p: None if p.get("paymentIntentId") else {"paymentIntentId": intent.id},
            )
        except AbortedError:  # undone meanwhile: this intent is never confirmed
            payments.cancel(intent.id, idempotency_key=_key(purchase_id, f"cancel-{intent.id}"))
            raise
        intent_id = recorded["paymentIntentId"]
        if intent_id != intent.id:  # another attempt recorded its own first: ours is never confirmed
            payments.cancel(intent.id, idempotency_key=_key(purchase_id, f"cancel-{intent.id}"))
    intent = payments.retrieve(intent_id)
    if intent.status == "requires_confirmation":
        _require_forward(_read(org, purchase_id))  # the latest word before money moves
        try:
            intent = payments.confirm(intent_id, idempotency_key=_key(purchase_id, "confirm"))
        except PaymentFailedError as exc:
            _declined(org, purchase_id, exc.message)
            raise
    return _charge_outcome(org, purchase_id, intent)


def _declined(org: str, purchase_id: str, reason: str) -> None:
    """Record a decline, unless compensation already settled the charge (a confirm refused because
    the intent was voided meanwhile is not the card's fault)."""
    _update(
        org,
        purchase_id,
        lambda p: (
            {"chargeStatus": "declined", "failureReason": reason[:500], **_ACTION_DONE}
            if p["chargeStatus"] in _UNSETTLED and p["status"] == "pending"
            else None
        ),
    )


#: Charge states a Stripe outcome may still settle; what a settled charge no longer needs.
_UNSETTLED = ("none", "requires_action")
_ACTION_DONE = {"clientSecret": None, "nextAction": None}


def _charge_outcome(org: str, purchase_id: str, intent: Any) -> str:
    # Recorded even if compensation started meanwhile: refund() asks Stripe itself, so it undoes it.
    if intent.status == "requires_capture":
        _update(
            org,
            purchase_id,
            lambda p: (
                {"chargeStatus": "authorized", **_ACTION_DONE} if p["chargeStatus"] in _UNSETTLED else None
            ),
        )
        return "authorized"
    if intent.status == "succeeded":
        _update(
            org,
            purchase_id,
            lambda p: (
                {"chargeStatus": "captured", **_ACTION_DONE} if p["chargeStatus"] in _UNSETTLED else None
            ),
        )
        return "captured"
    if intent.status == "processing":
        raise UpstreamError("Stripe: the payment is still processing")
    if intent.status == "requires_action":  # 3-D Secure: the buyer's page finishes it
        _forward(
            org,
            purchase_id,
            lambda p: (
                {
                    "chargeStatus": "requires_action",
                    "clientSecret": intent.client_secret,
                    "nextAction": intent.next_action or {"type": "use_stripe_sdk"},
                }
                if p["chargeStatus"] == "none"
                else None
            ),
        )
        return "requires_action"
    reason = intent.error_message or {
        "requires_payment_method": "The card was declined",
        "canceled": "The payment was canceled",
    }.get(intent.status, f"The payment is {intent.status}")
    _declined(org, purchase_id, reason)
    raise PaymentFailedError(reason)


def await_authentication(org: str, purchase_id: str, task_token: str) -> str:
    """Saga step (a ``waitForTaskToken`` task): record the waiting execution's task token on the
    purchase, then settle once from Stripe's own view, since the buyer may have authenticated (and
    the webhook found no token) before the token was recorded."""
    _forward(
        org,
        purchase_id,
        lambda p: {"taskToken": task_token} if p.get("taskToken") != task_token else None,
    )
    return authentication_outcome(org, purchase_id, task_token=task_token)


def authentication_outcome(
    org: str, purchase_id: str, *, task_token: str | None = None, intent_id: str | None = None
) -> str:
    """Apply what Stripe says of a purchase's 3-D Secure and tell the waiting execution: the card
    authorized resumes it (``SendTaskSuccess``), a failed authentication fails it
    (``SendTaskFailure`` with ``PaymentFailedError``, then compensation). Nothing while Stripe still
    waits for the buyer, or once the purchase has moved on. Idempotent: the webhook (any of
    Stripe's deliveries) and the waiting step itself may both call it. ``intent_id``: the webhook's
    PaymentIntent, which must be the one the purchase recorded."""
    props = _read(org, purchase_id)
    token = task_token or props.get("taskToken")
    if intent_id is not None and intent_id != props.get("paymentIntentId"):
        return "ignored"  # not the intent the purchase charges (one canceled in a race)
    if props["status"] != "pending" or props.get("compensating") or not props.get("paymentIntentId"):
        return str(props["status"])
    outcome = str(props["chargeStatus"])
    reason = props.get("failureReason")
    if outcome == "requires_action":
        try:
            outcome = _charge_outcome(org, purchase_id, _payments().retrieve(props["paymentIntentId"]))
        except PaymentFailedError as exc:
            outcome, reason = "declined", exc.message
    if not token or outcome == "requires_action":
        return outcome
    if outcome in ("authorized", "captured"):
        _tell_execution(token, success={"charge": outcome})
    elif outcome == "declined":
        _tell_execution(token, failure=reason or "The card was declined")
    return outcome


def _tell_execution(token: str, *, success: dict[str, Any] | None = None, failure: str | None = None) -> None:
    """Resume or fail a waiting execution by its task token; a token whose task has ended (timed
    out, already told, the execution stopped) is no longer heard, and that is fine."""
    from ontology.aws import client

    sfn = client("stepfunctions")
    try:
        if success is not None:
            sfn.send_task_success(taskToken=token, output=json.dumps(success))
        else:
            cause = json.dumps({"errorType": "PaymentFailedError", "errorMessage": failure})
            sfn.send_task_failure(taskToken=token, error="PaymentFailedError", cause=cause)
    except (sfn.exceptions.TaskDoesNotExist, sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken):
        log.info("the purchase's waiting task has ended already")
    except Exception as exc:
        log.warning("could not tell the purchase's execution: %s", exc)
        raise UpstreamError("Step Functions: could not resume the purchase") from None


def mint(org: str, purchase_id: str) -> str:
    """Mint the purchased tokens into custody. The signed transaction is recorded before it is sent;
    a retry asks the chain what became of it (mined, pending, or never seen) and sends it again or
    signs a new one only when that one can never be mined (its nonce is spent)."""
    props = _read(org, purchase_id)
    _require_forward(props)
    if props["mintStatus"] == "minted":
        return str(props["mintStatus"])
    if props["chargeStatus"] not in ("authorized", "captured"):
        raise InternalError("mint before the charge is authorized")
    chain = _chain()
    state = _settle_tx(
        org,
        purchase_id,
        "mintTx",
        props.get("mintTx"),
        lambda floor, signer: chain.sign_mint(
            props["contractAddress"],
            chain.custody_address,
            props["tokenAmount"],
            min_nonce=floor,
            signer=signer,
        ),
        contract=props["contractAddress"],
        forward=True,
    )
    if state == "reverted":
        _update(
            org,
            purchase_id,
            lambda p: {"mintStatus": "failed", "failureReason": "The chain refused the mint"},
        )
        raise ChainRevertedError("The chain refused the mint (over the token's maximum supply?)")
    # recorded even if compensation started meanwhile: burn() then finds it minted and burns it
    _update(
        org,
        purchase_id,
        lambda p: (
            {"mintStatus": "minted", "transactionHash": p["mintTx"]["hash"]}
            if p["mintStatus"] == "sent"
            else None
        ),
    )
    return "minted"


def _settle_tx(
    org: str,
    purchase_id: str,
    field: str,
    recorded: dict[str, Any] | None,
    sign: Callable[[int, str], Any],
    *,
    contract: str,
    forward: bool = False,
) -> str:
    """Drive the transaction recorded in the purchase's ``field`` to ``succeeded`` or ``reverted``
    (see :func:`ontology.services.chain_txs.settle`), a new one signed by the pool's account the
    purchase hashes to (then the next ones the token's contract accepts). ``recorded``: the caller's
    fresh read of ``field``; ``forward``: recording and re-sending refuse (ABORTED) once compensation
    has started."""
    chain = _chain()

    def record(tx: Any, previous: dict[str, Any] | None) -> None:
        account = chain.nonce_account_of(tx.signer)
        _record_tx(org, purchase_id, field, tx, previous, forward=forward, account=account)

    def refuse_backward() -> None:
        _require_forward(_read(org, purchase_id))

    return chain_txs.settle(
        chain,
        recorded,
        sign,
        record,
        before_resend=refuse_backward if forward else None,
        signers=lambda: chain.signers_for(purchase_id, contract),
    )


def _record_tx(
    org: str,
    purchase_id: str,
    field: str,
    tx: Any,
    previous: dict[str, Any] | None,
    *,
    forward: bool,
    account: str,
) -> None:
    """Record a signed transaction on the purchase and take its nonce for the signing account, in one
    transaction: two processes never record transactions with the same nonce (the second re-signs)."""

    def body(db: DatabaseWriter) -> None:
        doc = load(db, purchase_id)
        p = dict(doc["properties"])
        if forward:
            _require_forward(p)
        if (p.get(field) or {}).get("hash") != (previous or {}).get("hash"):
            raise ConflictError("another attempt recorded a transaction first")
        chain_txs.take_nonce(db, account, tx)
        p[field] = {
            "hash": tx.hash,
            "raw": tx.raw,
            "nonce": tx.nonce,
            **({"signer": tx.signer} if tx.signer else {}),
        }
        if field == "mintTx":
            p["mintStatus"] = "sent"
        db.patch(purchase_id, {"properties": p, "updatedAt": now_ms()}, "entities")

    run_mutation(body, org=org)


def capture(org: str, purchase_id: str) -> str:
    """Capture the authorized charge once the tokens are minted."""
    props = _read(org, purchase_id)
    _require_forward(props)
    if props["chargeStatus"] == "captured":
        return str(props["chargeStatus"])
    if props["chargeStatus"] != "authorized" or props["mintStatus"] != "minted":
        raise InternalError("capture before the authorization and the mint")
    payments = _payments()
    intent = payments.retrieve(props["paymentIntentId"])
    if intent.status == "requires_capture":
        _require_forward(_read(org, purchase_id))
        intent = payments.capture(props["paymentIntentId"], idempotency_key=_key(purchase_id, "capture"))
    if intent.status != "succeeded":
        raise PaymentFailedError(f"The payment could not be captured ({intent.status})")
    _update(
        org,
        purchase_id,
        lambda p: {"chargeStatus": "captured"} if p["chargeStatus"] == "authorized" else None,
    )
    return "captured"


def complete(db: DatabaseWriter, purchase_id: str) -> dict[str, Any]:
    """Record a captured and minted purchase in the caller's transaction: the buyer's
    ``holds_tokens`` balance is added to, the token's circulating supply grows (within its
    ``totalSupply``) and its holders with a new one, and tokens_purchased, revenue_generated and
    payment_processed are logged. Nothing if already done."""
    doc = load(db, purchase_id)
    p = doc["properties"]
    if p["status"] == "completed":
        return purchase_view(doc)
    _require_forward(p)
    if p["chargeStatus"] != "captured" or p["mintStatus"] != "minted":
        raise InternalError(
            f"cannot complete a purchase in state {p['status']}/{p['chargeStatus']}/{p['mintStatus']}"
        )
    now = now_ms()
    buyer, token_id, amount = p["buyerId"], p["tokenId"], p["tokenAmount"]
    # read, not depended on: every purchase of the token reads it (its chain, its supply cap), and
    # its counts are counters (docs/data-model.md, "Counts"): no purchase writes it
    token = db.get(token_id, "entities", checked=False)
    if token is None:
        raise InternalError("the purchased token is gone")
    tprops = token["properties"]
    _, new_holder = credit(db, buyer, token_id, amount, blockchain=tprops.get("blockchain", "base"))
    add_supply(db, token, amount)
    if new_holder:
        counters.add(db, token_id, "holders", 1)
    if "deployTx" in tprops:  # a token activated before the deploy record was dropped at activation
        rest = {k: v for k, v in tprops.items() if k != "deployTx"}
        db.patch(token_id, {"properties": rest, "updatedAt": now}, "entities")
    props = {**p, "status": "completed", "completedAt": now}
    db.patch(
        purchase_id, {"properties": props, "status": ENTITY_STATUS["completed"], "updatedAt": now}, "entities"
    )
    usd = p["amount"] / 100
    common = {"purchaseId": purchase_id, "tokenId": token_id, "amount": amount, "usdAmount": usd}
    log_event(
        db,
        "tokens_purchased",
        actor_id=buyer,
        target_id=token_id,
        timestamp=now,
        metadata={
            **common,
            "blockchain": tprops.get("blockchain", "base"),
            "paymentId": p["paymentIntentId"],
            "txHash": p["transactionHash"],
        },
    )
    log_event(
        db,
        "revenue_generated",
        actor_id=p.get("creatorId") or token_id,
        target_id=token_id,
        timestamp=now,
        metadata={**common, "source": "token_sale", "currency": p.get("currency", "usd"), "buyerId": buyer},
    )
    log_event(
        db,
        "payment_processed",
        actor_id=buyer,
        target_id=purchase_id,
        timestamp=now,
        metadata={**common, "status": "succeeded", "provider": "stripe", "paymentId": p["paymentIntentId"]},
    )
    return purchase_view({**doc, "properties": props, "updatedAt": now})


# ------------------------------------------------------------------------------------ backward


def refund(org: str, purchase_id: str) -> str:
    """Undo the charge, if any: void an authorization (or an unconfirmed intent), refund a captured
    charge. Decided from Stripe's own view of the recorded PaymentIntent; a refund already made is
    found (listed) rather than made again."""
    props = _read(org, purchase_id)
    if not _require_pending(props) or props["chargeStatus"] in ("voided", "refunded"):
        return str(props["chargeStatus"])
    props = _start_compensation(org, purchase_id)
    intent_id = props.get("paymentIntentId")
    if not intent_id:
        return "none"
    payments = _payments()
    for _ in range(2):
        intent = payments.retrieve(intent_id)
        if intent.status == "processing":
            raise UpstreamError("Stripe: the payment is still processing")
        try:
            if intent.status == "succeeded":
                done = payments.refunds(intent_id)
                refund_id = (
                    done[0]
                    if done
                    else payments.refund(intent_id, idempotency_key=_key(purchase_id, "refund"))
                )
                _set(org, purchase_id, {"chargeStatus": "refunded", "refundId": refund_id})
                return "refunded"
            if intent.status != "canceled":
                payments.cancel(intent_id, idempotency_key=_key(purchase_id, "void"))
        except PaymentFailedError:
            continue  # Stripe refused: the intent moved on meanwhile (a late capture); look again
        declined = props["chargeStatus"] == "declined"
        _set(org, purchase_id, _ACTION_DONE if declined else {"chargeStatus": "voided", **_ACTION_DONE})
        return "declined" if declined else "voided"
    # still refused: an outage of sorts, for compensation (retried, then the reconciler)
    raise UpstreamError("Stripe refused to void or refund the payment")


def burn(org: str, purchase_id: str, *, wait_seconds: float = MINE_WAIT_SECONDS) -> str:
    """Undo the mint, if any: burn from custody exactly what the recorded mint transaction minted.
    A recorded mint the chain has not seen is first made impossible (its nonce spent), so it can
    never land after the purchase has failed."""
    props = _read(org, purchase_id)
    if not _require_pending(props) or props["mintStatus"] in ("burned", "failed"):
        return str(props["mintStatus"])
    props = _start_compensation(org, purchase_id)
    recorded = props.get("mintTx")
    if not recorded:
        return "none"  # and no mint can be recorded any more: compensation has started
    chain = _chain()
    signer = str(recorded.get("signer") or "")
    if not chain.nonce_spent(recorded["nonce"], signer):
        state = chain.tx_state(recorded["hash"], wait_seconds=wait_seconds)
        if state == "pending":
            raise UpstreamError("chain: the mint is not mined yet")
        if state == "unknown":
            chain.cancel_nonce(recorded["nonce"], signer)
    if chain_txs.spent_state(chain, recorded["hash"]) != "succeeded":  # its nonce spent: final
        _update(org, purchase_id, lambda p: {"mintStatus": "failed"})
        return "failed"
    burned = _settle_tx(
        org,
        purchase_id,
        "burnTx",
        props.get("burnTx"),
        lambda floor, signer: chain.sign_burn(
            props["contractAddress"],
            chain.custody_address,
            props["tokenAmount"],
            min_nonce=floor,
            signer=signer,
        ),
        contract=props["contractAddress"],
    )
    if burned == "reverted":
        raise ChainRevertedError("The chain refused the burn")
    _update(org, purchase_id, lambda p: {"mintStatus": "burned"})
    return "burned"


def failed_step(p: dict[str, Any]) -> str:
    """Which forward step the purchase stopped at, from what compensation left recorded."""
    if p["chargeStatus"] in ("none", "requires_action", "declined"):
        return "charge"
    if p["mintStatus"] in ("none", "failed"):
        return "mint"
    return "record" if p["chargeStatus"] == "refunded" else "capture"


def finalise(
    db: DatabaseWriter, purchase_id: str, reason: str | None, code: str | None = None
) -> dict[str, Any]:
    """Mark a compensated purchase failed (nothing kept) or refunded (money given back), and log
    payment_processed. Refuses while anything is still charged or minted."""
    doc = load(db, purchase_id)
    p = doc["properties"]
    if p["status"] != "pending":
        return purchase_view(doc)
    if p["chargeStatus"] in ("authorized", "captured") or p["mintStatus"] in ("sent", "minted"):
        raise InternalError("cannot fail a purchase that still holds a charge or minted tokens")
    status = "refunded" if p["chargeStatus"] == "refunded" else "failed"
    now = now_ms()
    props = {
        **p,
        "status": status,
        "failureReason": (p.get("failureReason") or reason or "The purchase could not be completed")[:500],
        "failedStep": failed_step(p),
        # PAYMENT_FAILED when the card was declined; else the caught error's stable code
        "failureCode": "PAYMENT_FAILED" if p["chargeStatus"] == "declined" else (code or "UPSTREAM_ERROR"),
    }
    db.patch(
        purchase_id, {"properties": props, "status": ENTITY_STATUS[status], "updatedAt": now}, "entities"
    )
    log_event(
        db,
        "payment_processed",
        actor_id=p["buyerId"],
        target_id=purchase_id,
        timestamp=now,
        metadata={
            "purchaseId": purchase_id,
            "tokenId": p["tokenId"],
            "amount": p["tokenAmount"],
            "usdAmount": p["amount"] / 100,
            "status": status,
            "provider": "stripe",
            "paymentId": p.get("paymentIntentId"),
            "reason": props["failureReason"],
        },
    )
    return purchase_view({**doc, "properties": props, "updatedAt": now})


def _shard_cap(token: Doc) -> int:
    """What the token's supply counter may hold: its ``totalSupply`` less what the document still
    stores of its circulating supply (until migration 0014 moves that into the counter); 0: no cap."""
    total = int(token["properties"].get("totalSupply") or 0)
    return max(total - counters.stored(token, "circulatingSupply"), 0) if total else 0


def supply_left(db: DatabaseReader, token: Doc) -> int | None:
    """How many of the token's tokens are left to buy under its ``totalSupply`` (None: no cap)."""
    cap = _shard_cap(token)
    if not int(token["properties"].get("totalSupply") or 0):
        return None
    return counters.room(db, token["_id"], "circulatingSupply", cap=cap) if cap else 0


def _over_supply(left: int) -> ValidationError:
    return ValidationError(
        f"Only {max(left, 0)} tokens are left to buy", field="amount", available=max(left, 0)
    )


def validate_amount(db: DatabaseReader, token: Doc, amount: int) -> None:
    """VALIDATION_ERROR when fewer than ``amount`` tokens are left under the token's supply cap."""
    left = supply_left(db, token)
    if left is not None and amount > left:
        raise _over_supply(left)


def add_supply(db: DatabaseWriter, token: Doc, amount: int) -> None:
    """Add ``amount`` to the token's circulating supply (a counter), never past its ``totalSupply``:
    each shard holds its share of the cap and each addition is conditioned on its shard staying
    within it, so purchases completing at once cannot pass the cap together (the chain's contract
    refuses such a mint first; this keeps the table's count to the same bound). VALIDATION_ERROR
    when it would pass it."""
    if not int(token["properties"].get("totalSupply") or 0):
        counters.add(db, token["_id"], "circulatingSupply", amount)
        return
    cap = _shard_cap(token)
    if not cap or counters.reserve(db, token["_id"], "circulatingSupply", amount, cap=cap) is None:
        raise _over_supply(supply_left(db, token) or 0)
