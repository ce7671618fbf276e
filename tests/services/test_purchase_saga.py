"""The token purchase saga on moto's Step Functions interpreter: the happy path, a declined card,
mint and record failures, fault injection at every step, idempotency and concurrent buyers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ontology.errors import (
    ConflictError,
    InsufficientTokensError,
    NotFoundError,
    PriceChangedError,
    ValidationError,
)
from tests.services.conftest import Faults, Shop


def test_happy_path_records_balance_events_and_supply(shop: Shop, rig: Any) -> None:
    token = shop.token(supply=1_000, price=0.25)
    buyer = shop.buyer()
    pid = shop.buy(token, 40, buyer)
    execution = rig.wait(pid)
    assert execution["status"] == "SUCCEEDED"
    view = shop.check(pid, token)
    assert view["status"] == "completed" and view["usdCents"] == 1000 and view["amount"] == 40
    assert shop.call("tokens:get_balance", {"tokenId": token}, buyer) == {"tokenId": token, "amount": 40}
    holdings = shop.call("tokens:get_user_holdings", {"userId": buyer.entityId}, buyer)
    assert [(h["token"]["_id"], h["balance"]) for h in holdings] == [(token, 40)]
    assert shop.call("tokens:get", {"id": token})["properties"]["circulatingSupply"] == 40
    # a second purchase adds to the balance
    pid2 = shop.buy(token, 10, buyer)
    rig.wait(pid2)
    assert shop.check(pid2, token)["status"] == "completed"
    assert shop.call("tokens:get_balance", {"tokenId": token}, buyer)["amount"] == 50
    # the three events of each purchase, in the purchase's transaction
    from ontology import run_query

    events = run_query(
        lambda db: (
            db.query("events")
            .with_index("by_timestamp")
            .filter(lambda f: f.eq(f.field("type"), "tokens_purchased"))
            .collect()
        ),
        org=shop.org,
    )
    mine = [e for e in events if e["metadata"]["purchaseId"] in (pid, pid2)]
    assert sorted(e["metadata"]["amount"] for e in mine) == [10, 40]
    for kind in ("revenue_generated", "payment_processed"):
        logged = run_query(
            lambda db, kind=kind: (
                db.query("events")
                .with_index("by_timestamp")
                .filter(lambda f, kind=kind: f.eq(f.field("type"), kind))
                .collect()
            ),
            org=shop.org,
        )
        assert {e["metadata"].get("purchaseId") for e in logged} >= {pid, pid2}


def test_declined_card_fails_and_mints_nothing(shop: Shop, rig: Any) -> None:
    token = shop.token()
    buyer = shop.buyer()
    pid = shop.buy(token, 5, buyer, pm="pm_card_chargeCustomerFail")
    assert rig.wait(pid)["status"] == "FAILED"
    view = shop.check(pid, token)
    assert view["status"] == "failed" and view["failureReason"] == "Your card was declined."
    assert view["failureCode"] == "PAYMENT_FAILED"
    assert shop.supply(token) == 0 and shop.record(pid)["mintStatus"] == "none"
    assert shop.call("tokens:get_balance", {"tokenId": token}, buyer)["amount"] == 0


#: Stripe's documented declining test cards: as payment method ids, and as card numbers.
DECLINING_CARDS = [
    "pm_card_visa_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedProcessingError",
    "4000000000000002",
    "4000000000009995",
    "4000000000000069",
    "4000000000000119",
    "4000000000000127",
]


@pytest.mark.parametrize("card", DECLINING_CARDS)
def test_stripes_declining_test_cards_fail_the_purchase(shop: Shop, rig: Any, card: str) -> None:
    token, buyer = shop.token(symbol="DEC"), shop.buyer()
    pid = shop.buy(token, 5, buyer, pm=card if card.startswith("pm_") else shop.card(card))
    assert rig.wait(pid)["status"] == "FAILED"
    view = shop.check(pid, token)
    assert view["status"] == "failed" and view["failureCode"] == "PAYMENT_FAILED" and view["failureReason"]
    assert shop.supply(token) == 0 and shop.record(pid)["mintStatus"] == "none"
    assert shop.call("tokens:get_balance", {"tokenId": token}, buyer)["amount"] == 0
    # No money is held: the declined intent was never authorized (nothing to capture) and is closed.
    intents = rig.intents_of(pid)
    assert intents and all(pi.status in ("requires_payment_method", "canceled") for pi in intents)


@pytest.mark.parametrize("card", ["pm_card_visa", "pm_card_mastercard"])
def test_stripes_succeeding_test_cards_complete_the_purchase(shop: Shop, rig: Any, card: str) -> None:
    token, buyer = shop.token(symbol="OK"), shop.buyer()
    pid = shop.buy(token, 5, buyer, pm=card)
    assert rig.wait(pid)["status"] == "SUCCEEDED"
    assert shop.check(pid, token)["status"] == "completed"
    assert shop.call("tokens:get_balance", {"tokenId": token}, buyer)["amount"] == 5


def test_the_price_the_buyer_saw_is_checked_in_whole_cents(shop: Shop, rig: Any) -> None:
    token, buyer = shop.token(price=0.1, symbol="CNT"), shop.buyer()
    # The reference's frontend sends amount * priceUsd, float noise and all (7 * 0.1 = 0.7000000000000001).
    started = shop.call(
        "tokens:purchase",
        {"tokenId": token, "amount": 7, "usdAmount": 7 * 0.1, "paymentMethodId": "pm_card_visa"},
        buyer,
    )
    assert rig.wait(started["purchaseId"])["status"] == "SUCCEEDED"
    assert shop.purchase(started["purchaseId"])["usdCents"] == 70

    # A price that changed (or a tampered client) is refused, and nothing is written or charged.
    def payments() -> int:
        from ontology import run_query

        return len(
            run_query(
                lambda db: (
                    db.query("entities").with_index("by_type", lambda q: q.eq("type", "payment")).collect()
                ),
                org=shop.org,
            )
        )

    before = payments()
    with pytest.raises(PriceChangedError) as refused:
        shop.call(
            "tokens:purchase",
            {"tokenId": token, "amount": 7, "usdAmount": 0.69, "paymentMethodId": "pm_card_visa"},
            buyer,
        )
    assert refused.value.status == 409 and refused.value.data["priceUsd"] == 0.1
    assert refused.value.data["usdCents"] == 70
    assert payments() == before and shop.call("tokens:get_balance", {"tokenId": token}, buyer)["amount"] == 7


def test_mint_failure_voids_the_charge(shop: Shop, rig: Any, faults: Faults) -> None:
    token = shop.token()
    buyer = shop.buyer()
    faults.arm("mint", "error")
    pid = shop.buy(token, 7, buyer)
    rig.wait(pid)
    view = shop.check(pid, token)
    assert view["status"] == "failed" and shop.record(pid)["chargeStatus"] == "voided"
    assert rig.intents_of(pid)[0].status == "canceled"
    assert faults.fired["mint"] == 4 and rig.task_attempts(pid, "Mint") == 4  # the first and three retries


def test_mint_over_the_cap_is_final_and_compensated(shop: Shop, rig: Any) -> None:
    """Two purchases each within the supply left, together over it: the chain's cap refuses the
    second mint (ChainRevertedError, not retried) and its authorization is voided."""
    from functions.tokens import PurchaseArgs, _open_purchase, _start_saga
    from ontology import run_mutation
    from ontology.auth.identity import Identity

    token = shop.token(supply=10)
    pids = []
    for name in ("first", "second"):  # both opened before either is minted: both pass validation
        b = shop.buyer(name)
        identity = Identity(b.userId, shop.org, b.role, b.entityId)
        args = PurchaseArgs(tokenId=token, amount=8, paymentMethodId="pm_card_visa")
        pids.append(
            run_mutation(lambda db, i=identity, a=args: _open_purchase(db, i, a), org=shop.org)["purchaseId"]
        )
    for pid in pids:
        _start_saga(pid, shop.org)
        rig.wait(pid)
    views = [shop.check(pid, token) for pid in pids]
    assert [v["status"] for v in views] == ["completed", "failed"]
    assert rig.task_attempts(pids[1], "Mint") == 1  # final: not retried
    assert shop.record(pids[1])["chargeStatus"] == "voided" and shop.supply(token) == 8


def test_record_failure_refunds_and_burns(shop: Shop, rig: Any, faults: Faults) -> None:
    token = shop.token()
    buyer = shop.buyer()
    faults.arm("record", "error")
    pid = shop.buy(token, 12, buyer)
    rig.wait(pid)
    view = shop.check(pid, token)
    props = shop.record(pid)
    assert (
        view["status"] == "refunded"
        and props["chargeStatus"] == "refunded"
        and props["mintStatus"] == "burned"
    )
    assert shop.supply(token) == 0


FORWARD = ("intent", "charge", "mint", "capture", "record")
MODES = ("error", "crash_before", "crash_after", "timeout_after", "lost_after")


def _settle(
    shop: Shop, rig: Any, faults: Faults, pid: str, token: str, point: str
) -> tuple[str, dict[str, Any]]:
    outcome = rig.outcome(pid)
    assert faults.fired[point] >= 1, f"the fault at {point} never fired"
    faults.clear()  # the outage ends
    shop.reconcile()
    return outcome, shop.check(pid, token)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("point", FORWARD)
def test_fault_injection_forward(shop: Shop, rig: Any, faults: Faults, point: str, mode: str) -> None:
    """A forward step x every way of failing. A crash or a timeout, before or after the effect, is
    retried and the retry finds the effect done: the saga itself completes. An outage, or an effect
    whose outcome is lost every time, ends in compensation: nothing kept, or money given back. In
    every case the invariants hold (``Shop.check``) and nothing is pending after the reconciler."""
    token = shop.token()
    faults.arm(point, mode)
    pid = shop.buy(token, 3, shop.buyer())
    outcome, view = _settle(shop, rig, faults, pid, token, point)
    if mode in ("crash_before", "crash_after", "timeout_after") or (
        mode == "lost_after" and point != "intent"
    ):
        # a lost answer is found on the retry (Stripe's intent state, the chain's receipt, the
        # committed record), except a new intent's id, which only its creation would tell
        assert (outcome, view["status"]) == ("SUCCEEDED", "completed"), shop.record(pid)
    else:
        assert outcome == "PurchaseFailed", (outcome, shop.record(pid))
        assert view["status"] == ("refunded" if point == "record" else "failed"), shop.record(pid)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("point", ("refund", "burn", "finalise"))
@pytest.mark.parametrize("trigger", ("record", "capture"))
def test_fault_injection_compensation(
    shop: Shop, rig: Any, faults: Faults, trigger: str, point: str, mode: str
) -> None:
    """A compensation step x every way of failing, in a purchase whose record step (a captured
    charge: refund) or capture step (an authorization: void) is down. Once compensation has started
    the purchase only goes backward, whether the saga or the reconciler finishes it."""
    token = shop.token()
    faults.arm(trigger, "error")
    faults.arm(point, mode)
    pid = shop.buy(token, 3, shop.buyer())
    outcome, view = _settle(shop, rig, faults, pid, token, point)
    props = shop.record(pid)
    assert view["status"] == ("refunded" if trigger == "record" else "failed"), props
    assert props["chargeStatus"] == ("refunded" if trigger == "record" else "voided")
    assert props["mintStatus"] == "burned" and shop.supply(token) == 0
    if mode in ("crash_before", "crash_after", "timeout_after"):
        assert outcome == "PurchaseFailed", outcome  # the saga finished compensating by itself
    else:
        assert outcome in ("CompensationIncomplete", "PurchaseFailed"), outcome


def test_a_mint_recorded_but_not_sent_can_never_land_after_the_reconciler(shop: Shop, rig: Any) -> None:
    """A mint step signs and records its transaction, then stalls before sending it; the reconciler
    takes the purchase over meanwhile (compensation: void, and the recorded nonce spent). When the
    stalled step finally sends, the chain refuses it: nothing is minted for a failed purchase."""
    from functions.tokens import PurchaseArgs, _open_purchase
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.errors import AbortedError, UpstreamError
    from ontology.providers.chain import SignedTx, get_chain
    from ontology.services import purchases

    token = shop.token()
    buyer = shop.buyer()
    identity = Identity(buyer.userId, shop.org, buyer.role, buyer.entityId)
    args = PurchaseArgs(tokenId=token, amount=4, paymentMethodId="pm_card_visa")
    pid = run_mutation(lambda db: _open_purchase(db, identity, args), org=shop.org)["purchaseId"]
    assert purchases.charge(shop.org, pid) == "authorized"
    chain = get_chain()
    props = shop.record(pid)
    tx = chain.sign_mint(props["contractAddress"], chain.custody_address, 4)
    purchases._forward(
        shop.org, pid, lambda p: {"mintTx": {"hash": tx.hash, "raw": tx.raw, "nonce": tx.nonce}}
    )
    shop.reconcile()  # the stalled step has not sent it
    view = shop.check(pid, token)
    assert view["status"] == "failed" and shop.record(pid)["mintStatus"] == "failed"
    with pytest.raises(UpstreamError):
        chain.send(SignedTx(**shop.record(pid)["mintTx"]))  # its nonce is spent
    with pytest.raises(AbortedError):  # and the step itself, retried, refuses to go on
        purchases.mint(shop.org, pid)
    assert shop.supply(token) == 0 and rig.intents_of(pid)[0].status == "canceled"


def test_a_late_charge_after_the_reconciler_is_voided(shop: Shop, rig: Any) -> None:
    """The reconciler undoes a purchase whose charge step is still to come: the late charge step
    refuses to go forward and authorizes nothing."""
    from functions.tokens import PurchaseArgs, _open_purchase
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.errors import AbortedError
    from ontology.services import purchases

    token = shop.token()
    buyer = shop.buyer()
    identity = Identity(buyer.userId, shop.org, buyer.role, buyer.entityId)
    args = PurchaseArgs(tokenId=token, amount=2, paymentMethodId="pm_card_visa")
    pid = run_mutation(lambda db: _open_purchase(db, identity, args), org=shop.org)["purchaseId"]
    shop.reconcile()
    with pytest.raises(AbortedError):
        purchases.charge(shop.org, pid)
    assert rig.intents_of(pid) == [] and shop.check(pid, token)["status"] == "failed"


@pytest.mark.slow
def test_mints_from_separate_processes_never_share_a_nonce(shop: Shop, rig: Any, monkeypatch: Any) -> None:
    """Mint steps in separate Lambda processes (here: threads, each with its own chain client and so
    its own process lock) take nonces through the table as they record their transactions: each
    purchase gets its own nonce of the account it is signed by and every mint lands (a send that
    arrives ahead of a lower nonce is retried, as Step Functions would)."""
    from functions.tokens import PurchaseArgs, _open_purchase
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.errors import UpstreamError
    from ontology.providers.chain import Web3Chain
    from ontology.services import purchases

    token = shop.token(supply=10_000)
    pids = []
    for i in range(6):
        b = shop.buyer(f"p{i}")
        identity = Identity(b.userId, shop.org, b.role, b.entityId)
        args = PurchaseArgs(tokenId=token, amount=5 + i, paymentMethodId="pm_card_visa")
        pid = run_mutation(lambda db, i=identity, a=args: _open_purchase(db, i, a), org=shop.org)[
            "purchaseId"
        ]
        assert purchases.charge(shop.org, pid) == "authorized"
        pids.append(pid)
    local = threading.local()

    def chain_of_this_process() -> Any:
        if not hasattr(local, "chain"):
            local.chain = Web3Chain(rpc_url=rig.chain_url, private_key=rig.deployer_key)
        return local.chain

    monkeypatch.setattr(purchases, "_chain", chain_of_this_process)
    errors: list[BaseException] = []

    def mint(pid: str) -> None:
        for _ in range(40):
            try:
                purchases.mint(shop.org, pid)
                return
            except UpstreamError:
                time.sleep(0.05)
            except BaseException as exc:  # collected for the assertion
                errors.append(exc)
                return

    threads = [threading.Thread(target=mint, args=(pid,)) for pid in pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    records = [shop.record(pid) for pid in pids]
    assert all(r["mintStatus"] == "minted" for r in records)
    nonces = [(r["mintTx"].get("signer", ""), r["mintTx"]["nonce"]) for r in records]
    assert len(set(nonces)) == len(nonces)  # a nonce is an account's: no account's is taken twice
    assert len({signer for signer, _ in nonces}) > 1, "the mints spread over the signing accounts"
    assert shop.supply(token) == sum(5 + i for i in range(6))
    for pid in pids:  # finish them, so the package's later checks see no pending purchase
        purchases.capture(shop.org, pid)
        run_mutation(lambda db, pid=pid: purchases.complete(db, pid), org=shop.org)
    assert sum(shop.ledger(token).values()) == shop.supply(token)


def test_a_capture_landing_while_compensation_voids_is_refunded(
    shop: Shop, rig: Any, monkeypatch: Any
) -> None:
    """Compensation reads an authorization and voids it, but a late capture lands in between:
    Stripe refuses the void, compensation looks again and refunds the captured charge."""
    from functions.tokens import PurchaseArgs, _open_purchase
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.services import purchases

    token = shop.token()
    buyer = shop.buyer()
    identity = Identity(buyer.userId, shop.org, buyer.role, buyer.entityId)
    args = PurchaseArgs(tokenId=token, amount=2, paymentMethodId="pm_card_visa")
    pid = run_mutation(lambda db: _open_purchase(db, identity, args), org=shop.org)["purchaseId"]
    assert purchases.charge(shop.org, pid) == "authorized"
    real = purchases._payments()

    class LateCapture:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def cancel(self, intent_id: str, *, idempotency_key: str) -> Any:
            real.capture(intent_id, idempotency_key="late-capture")  # the capture step, still running
            return real.cancel(intent_id, idempotency_key=idempotency_key)

    monkeypatch.setattr(purchases, "_payments", LateCapture)
    assert purchases.refund(shop.org, pid) == "refunded"
    monkeypatch.undo()
    shop.reconcile()
    assert shop.check(pid, token)["status"] == "refunded"


def test_customers_see_only_their_own_purchases(shop: Shop, rig: Any) -> None:
    token = shop.token()
    alice, bob = shop.buyer("alice"), shop.buyer("bob")
    pid = shop.buy(token, 3, alice)
    rig.wait(pid)
    page = {"numItems": 100, "cursor": None}
    for kind in ("tokens_purchased", "payment_processed", "revenue_generated"):
        seen_by_bob = shop.call("events:list", {"type": kind, "paginationOpts": page}, bob)["page"]
        assert all(e["metadata"].get("purchaseId") != pid for e in seen_by_bob), kind
        seen_by_alice = shop.call("events:list", {"type": kind, "paginationOpts": page}, alice)["page"]
        assert any(e["metadata"].get("purchaseId") == pid for e in seen_by_alice), kind
        seen_by_owner = shop.call("events:list", {"type": kind, "paginationOpts": page})["page"]
        assert any(e["metadata"].get("purchaseId") == pid for e in seen_by_owner), kind
    assert shop.call("entities:get", {"id": pid}, bob) is None
    assert shop.call("entities:get", {"id": pid}, alice)["_id"] == pid
    listed = shop.call("entities:list", {"type": "payment", "paginationOpts": page}, bob)["page"]
    assert pid not in [e["_id"] for e in listed]


@pytest.mark.slow
def test_same_idempotency_key_from_20_threads(shop: Shop, rig: Any) -> None:
    token = shop.token()
    buyer = shop.buyer()
    ids: list[str] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            ids.append(shop.buy(token, 4, buyer, key="checkout-1"))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(ids) == 20 and len(set(ids)) == 1
    pid = ids[0]
    rig.wait(pid)
    executions = rig.sfn().list_executions(stateMachineArn=rig.state_machine_arn, maxResults=1000)[
        "executions"
    ]
    assert [e["name"] for e in executions].count(pid) == 1
    assert len(rig.intents_of(pid)) == 1
    assert shop.check(pid, token)["status"] == "completed"
    # the same key again: the same purchase, now completed; other arguments: CONFLICT
    assert shop.call(
        "tokens:purchase",
        {"tokenId": token, "amount": 4, "paymentMethodId": "pm_card_visa", "idempotencyKey": "checkout-1"},
        buyer,
    ) == {"purchaseId": pid, "status": "completed"}
    with pytest.raises(ConflictError):
        shop.buy(token, 5, buyer, key="checkout-1")


@pytest.mark.slow
def test_concurrent_buyers_all_complete(shop: Shop, rig: Any) -> None:
    token = shop.token(supply=10_000)
    buyers = [shop.buyer(f"b{i}") for i in range(6)]
    pids: dict[str, str] = {}
    lock = threading.Lock()

    def go(i: int) -> None:
        pid = shop.buy(token, 10 + i, buyers[i])
        with lock:
            pids[buyers[i].entityId] = pid

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(buyers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for pid in pids.values():
        rig.wait(pid)
    for pid in pids.values():
        assert shop.check(pid, token)["status"] == "completed"
    assert shop.ledger(token) == {b.entityId: 10 + i for i, b in enumerate(buyers)}
    assert shop.supply(token) == sum(10 + i for i in range(len(buyers)))


def test_reconciler_finishes_a_purchase_whose_execution_never_started(shop: Shop, rig: Any) -> None:
    from ontology import run_mutation

    token = shop.token()
    buyer = shop.buyer()
    from functions.tokens import PurchaseArgs, _open_purchase
    from ontology.auth.identity import Identity

    identity = Identity(buyer.userId, shop.org, buyer.role, buyer.entityId)
    args = PurchaseArgs(tokenId=token, amount=2, paymentMethodId="pm_card_visa")
    pid = run_mutation(lambda db: _open_purchase(db, identity, args), org=shop.org)["purchaseId"]
    assert shop.reconcile(ahead_seconds=0)["outcomes"].get("failed") is None  # not stale yet
    assert shop.purchase(pid)["status"] == "pending"
    shop.reconcile()
    view = shop.check(pid, token)
    assert view["status"] == "failed" and view["failureReason"] == "The purchase timed out"


def test_purchase_validation(shop: Shop) -> None:
    token = shop.token(supply=100, price=0.01)
    buyer = shop.buyer()
    cases = [
        ({"tokenId": token, "amount": 0, "paymentMethodId": "pm_card_visa"}, ValidationError),
        ({"tokenId": token, "amount": 1.5, "paymentMethodId": "pm_card_visa"}, ValidationError),
        ({"tokenId": token, "amount": "5", "paymentMethodId": "pm_card_visa"}, ValidationError),
        ({"tokenId": token, "amount": 101, "paymentMethodId": "pm_card_visa"}, ValidationError),
        (
            {"tokenId": token, "amount": 10, "paymentMethodId": "pm_card_visa"},
            ValidationError,
        ),  # $0.10 < $0.50
        ({"tokenId": token, "amount": 60, "paymentMethodId": "card_123"}, ValidationError),
        ({"tokenId": token, "amount": 60}, ValidationError),  # no saved payment method
        (
            {"tokenId": token, "amount": 60, "paymentMethodId": "pm_card_visa", "usdAmount": 0.01},
            PriceChangedError,
        ),
        (
            {"tokenId": token, "amount": 60, "paymentMethodId": "pm_card_visa", "usdAmount": "0.60"},
            ValidationError,
        ),
        (
            {"tokenId": token, "amount": 60, "paymentMethodId": "pm_card_visa", "usdAmount": -1},
            ValidationError,
        ),
        ({"tokenId": shop.creator, "amount": 60, "paymentMethodId": "pm_card_visa"}, NotFoundError),
    ]
    for args, error in cases:
        with pytest.raises(error):
            shop.call("tokens:purchase", args, buyer)
    assert shop.call("tokens:get_purchase", {"purchaseId": token}, buyer) is None


def test_get_purchase_is_the_buyers_own(shop: Shop, rig: Any) -> None:
    token = shop.token()
    buyer, other = shop.buyer("buyer"), shop.buyer("other")
    pid = shop.buy(token, 3, buyer)
    rig.wait(pid)
    assert shop.call("tokens:get_purchase", {"purchaseId": pid}, buyer)["status"] == "completed"
    assert shop.call("tokens:get_purchase", {"purchaseId": pid})["status"] == "completed"  # the org owner
    assert shop.call("tokens:get_purchase", {"purchaseId": pid}, other) is None


def test_transfer_and_enroll_spend_held_tokens(shop: Shop, rig: Any) -> None:
    from ontology import run_mutation

    token = shop.token()
    buyer, friend = shop.buyer("buyer"), shop.buyer("friend")
    pid = shop.buy(token, 30, buyer)
    rig.wait(pid)
    with pytest.raises(InsufficientTokensError) as raised:
        shop.call("tokens:transfer", {"tokenId": token, "toEntityId": friend.entityId, "amount": 31}, buyer)
    assert raised.value.data["required"] == 31 and raised.value.data["available"] == 30
    moved = shop.call(
        "tokens:transfer", {"tokenId": token, "toEntityId": friend.entityId, "amount": 12}, buyer
    )
    assert moved == {"tokenId": token, "fromBalance": 18, "toBalance": 12}
    now = 1_795_000_000_000
    course = run_mutation(
        lambda db: db.insert(
            "entities",
            {
                "type": "course",
                "name": "Calculus",
                "status": "published",
                "createdAt": now,
                "updatedAt": now,
                "properties": {"title": "Calculus", "description": "…", "tokenPrice": 15, "tokenId": token},
            },
        ),
        org=shop.org,
    )
    with pytest.raises(InsufficientTokensError):
        shop.call("courses:enroll", {"courseId": course}, friend)
    assert shop.ledger(token)[friend.entityId] == 12  # nothing written
    assert shop.call("courses:enroll", {"courseId": course}, buyer) == {
        "courseId": course,
        "tokensSpent": 15,
        "balance": 3,
    }
    assert shop.ledger(token)[shop.creator] == 15
    with pytest.raises(ConflictError):
        shop.call("courses:enroll", {"courseId": course}, buyer)
    assert sum(shop.ledger(token).values()) == shop.supply(token) == 30
