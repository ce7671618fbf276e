"""Billing: customers' saved cards (a Stripe SetupIntent the page confirms, then the card is their
default for purchases; list and remove them), Stripe's webhook, and the monthly billing job.

``billing:stripe_webhook`` (``POST /api/stripe/webhook``, public: Stripe calls it) takes the request
itself and applies each event whose ``Stripe-Signature`` verifies with the endpoint's secret
(``stripeWebhookSecret``) and is at most five minutes old, once: an event id seen before is
acknowledged (200, ``outcome: "duplicate"``) and changes nothing. Stripe delivers at least once and
retries whatever did not get a 2xx for days, so a delivery of an applied event must not fail; a
captured event sent again later fails its signature's age check (401). It resumes or fails a token
purchase waiting for the buyer's 3-D Secure (``payment_intent.*``) and makes a saved card the default
(``setup_intent.succeeded``), each time from what Stripe itself says of the object, not from the
event's copy.

On the 1st of every month, an invoice and a charge for each active subscription.

A subscription entity's properties name what to charge: ``amount`` (in cents), ``currency``,
``paymentMethod`` (a Stripe payment method) and optionally ``customer``. Each subscription gets one
invoice per month (the month's record is written with it). A charge is never made twice: the
PaymentIntent's id is recorded on the invoice before it is confirmed, and a later run looks that
intent up before trying again. A failed charge is recorded (invoice ``failed``) and tried again on
the next run.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.errors import (
    ConflictError,
    InternalError,
    OneError,
    PaymentFailedError,
    UnauthenticatedError,
    UpstreamError,
)
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args, HttpRequest
from ontology.runtime.results import Result
from ontology.services import fanout
from ontology.services.cron_runs import CronArgs, done, mark_done
from ontology.services.fanout import WorkerArgs
from ontology.services.ontology_ops import log_event, now_ms

log = logging.getLogger(__name__)

JOB = "billing:process_monthly_billing"
WORKER = "billing:bill_organization"
#: How long an applied event's id is kept to refuse it again (Stripe retries a delivery for 3 days;
#: an older one is refused anyway: its signature's timestamp is stale after five minutes).
SEEN_EVENT_MS = 7 * 24 * 3600 * 1000


# ------------------------------------------------------------------------------------ saved cards


class SetupIntentOut(Result):
    setupIntentId: str
    #: For Stripe.js ``confirmCardSetup`` / ``confirmSetup`` on the page.
    clientSecret: str
    status: str


@action(returns=SetupIntentOut)
def create_setup_intent(ctx: ActionCtx, args: Args) -> dict[str, Any]:
    """Start saving a card: a Stripe SetupIntent for the caller's Stripe customer (made on first
    use), whose client secret the page confirms with Stripe.js; then ``billing:save_payment_method``
    (or Stripe's webhook) makes the card the caller's default for purchases."""
    from ontology.services import cards

    identity = ctx.auth.require_identity()
    return cards.create_setup_intent(identity.organizationId, identity.userId)


class CardOut(Result):
    paymentMethodId: str
    brand: str | None = None
    last4: str | None = None
    expMonth: Annotated[int, Field(ge=1, le=12)] | None = None
    expYear: Annotated[int, Field(ge=0, le=9999)] | None = None
    isDefault: bool


class SaveArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"setupIntentId": "seti_1Qx7Zk2eZvKYlo2C"}]})

    setupIntentId: Annotated[StrictStr, Field(pattern=r"^seti_[A-Za-z0-9_]{1,250}$")]


@action(args=SaveArgs, returns=CardOut)
def save_payment_method(ctx: ActionCtx, args: SaveArgs) -> dict[str, Any]:
    """After the page confirmed the SetupIntent: the card it saved becomes the caller's default, once
    Stripe says the SetupIntent (the caller's own) succeeded; CONFLICT while it has not."""
    from ontology.services import cards

    identity = ctx.auth.require_identity()
    return cards.save_from_setup_intent(identity.organizationId, identity.userId, args.setupIntentId)


@action(returns=list[CardOut])
def list_payment_methods(ctx: ActionCtx, args: Args) -> list[dict[str, Any]]:
    """The caller's saved cards (brand, last 4 digits, expiry; never the number), the default marked."""
    from ontology.services import cards

    identity = ctx.auth.require_identity()
    return cards.list_cards(identity.organizationId, identity.userId)


class RemoveArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"paymentMethodId": "pm_1Qx7Zm2eZvKYlo2C"}]})

    paymentMethodId: Annotated[StrictStr, Field(pattern=r"^pm_[A-Za-z0-9_]{1,250}$")]


class Removed(Result):
    paymentMethodId: str
    removed: bool


@action(args=RemoveArgs, returns=Removed)
def remove_payment_method(ctx: ActionCtx, args: RemoveArgs) -> dict[str, Any]:
    """Remove one of the caller's saved cards (detached from their Stripe customer); NOT_FOUND for a
    card that is not theirs. Without a default, a purchase must name its payment method."""
    from ontology.services import cards

    identity = ctx.auth.require_identity()
    return cards.remove_card(identity.organizationId, identity.userId, args.paymentMethodId)


# ------------------------------------------------------------------------------------ webhook


class StripeEvent(HttpRequest):
    """Stripe's signed event: its body exactly as sent, and the ``stripe-signature`` header."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "body": json.dumps(
                        {
                            "id": "evt_1Qx7Zn2eZvKYlo2C",
                            "object": "event",
                            "type": "payment_intent.amount_capturable_updated",
                            "created": 1795608000,
                            "data": {"object": {"id": "pi_3Qx7Zo2eZvKYlo2C", "object": "payment_intent"}},
                        }
                    ),
                    "headers": {
                        "stripe-signature": "t=1795608000,v1=<HMAC-SHA256 of t.body with the endpoint secret>"
                    },
                }
            ]
        }
    )


class WebhookOut(Result):
    received: bool
    eventId: str
    type: str
    outcome: str


@action(
    args=StripeEvent,
    returns=WebhookOut,
    auth="public",
    route="/api/stripe/webhook",
    request=True,
    uses=("purchase_callbacks",),
)
def stripe_webhook(ctx: ActionCtx, args: StripeEvent) -> dict[str, Any]:
    """Stripe's webhook: verified (signature and age), applied once per event id (a delivery of an
    applied event is acknowledged as a duplicate), each event settled from Stripe's own view: a token
    purchase waiting for 3-D Secure resumes or fails, a succeeded SetupIntent's card becomes its
    member's default."""
    import stripe

    from ontology.providers.payments import verify_webhook
    from ontology.secrets import get_secret

    secret = get_secret("stripeWebhookSecret")
    if not secret:
        raise InternalError("The Stripe webhook secret is not configured (stripeWebhookSecret)")
    try:
        event = verify_webhook(args.body.encode("utf-8"), args.headers.get("stripe-signature"), secret)
    except stripe.SignatureVerificationError:
        raise UnauthenticatedError("The Stripe-Signature header does not verify (or is too old)") from None
    except ValueError:
        raise UnauthenticatedError("The body is not a Stripe event") from None
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id:
        raise UnauthenticatedError("The body is not a Stripe event")
    if _seen(event_id):
        return {"received": True, "eventId": event_id, "type": kind, "outcome": "duplicate"}
    outcome = _apply(kind, (event.get("data") or {}).get("object") or {})
    _mark_seen(event_id, kind)
    return {"received": True, "eventId": event_id, "type": kind, "outcome": outcome}


def _seen(event_id: str) -> bool:
    from ontology.data.transaction import run_query

    found = run_query(
        lambda db: db.lookup_unique("webhookEvents", "event", {"provider": "stripe", "eventId": event_id}),
        org=None,
        platform=True,
    )
    return found is not None


def _mark_seen(event_id: str, kind: str) -> None:
    from ontology.data.transaction import run_mutation

    now = now_ms()
    doc = {
        "provider": "stripe",
        "eventId": event_id,
        "type": kind[:255],
        "createdAt": now,
        "expiresAt": now + SEEN_EVENT_MS,
    }
    with contextlib.suppress(ConflictError):  # a racing delivery of the same event recorded it first
        run_mutation(lambda db: db.insert("webhookEvents", doc), org=None, platform=True)


def _apply(kind: str, obj: Any) -> str:
    """What an event does: decided from Stripe's view of its object; ``ignored`` for an event that
    names nothing of ours (another integration's intents, an invoice's charge)."""
    from ontology.services import cards, purchases

    metadata = obj.get("metadata") or {}
    org = metadata.get("organizationId")
    try:
        if kind.startswith("payment_intent.") and metadata.get("purchaseId") and org:
            return purchases.authentication_outcome(
                str(org), str(metadata["purchaseId"]), intent_id=str(obj.get("id"))
            )
        if kind == "setup_intent.succeeded" and metadata.get("userId") and org:
            cards.save_from_setup_intent(str(org), str(metadata["userId"]), str(obj.get("id")))
            return "saved"
    except OneError as exc:  # not ours, gone, or moved on: applied as far as it goes
        if exc.status >= 500:
            raise
        log.info("stripe event %s: %s", kind, exc.message)
    return "ignored"


#: Subscriptions (or unpaid invoices) a page of the monthly billing job reads.
BILLING_PAGE = 50


class BillableArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "subscriptions", "cursor": None}]})

    kind: Literal["subscriptions", "unpaid"]
    cursor: Annotated[StrictStr, Field(max_length=4096)] | None = None


@query(args=BillableArgs, internal=True, platform=True)
def billable(ctx: QueryCtx, args: BillableArgs) -> dict[str, Any]:
    """A page of the active subscriptions, or of the invoices still unpaid (``draft``) with the
    active subscription of each (``active``: subscription id → document)."""
    kind, status = ("subscription", "active") if args.kind == "subscriptions" else ("invoice", "draft")
    page = (
        ctx.db.query("entities")
        .with_index("by_type_status", lambda q: q.eq("type", kind).eq("status", status))
        .paginate({"numItems": BILLING_PAGE, "cursor": args.cursor})
    )
    active: dict[str, Any] = {}
    if args.kind == "unpaid":
        ids = sorted({i["properties"]["subscriptionId"] for i in page["page"]})
        subs = ctx.db.get_many(ids, "entities")
        active = {s["_id"]: s for s in subs if s is not None and s.get("status") == "active"}
    return {**page, "active": active}


class InvoiceArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"subscriptionId": ENTITY_ID, "window": "2026-11-01T10:00:00Z"}]}
    )

    subscriptionId: EntityId
    window: str


@mutation(args=InvoiceArgs, internal=True, platform=True)
def ensure_invoice(ctx: MutationCtx, args: InvoiceArgs) -> dict[str, Any] | None:
    """This month's invoice of a subscription, created with the month's record the first time."""
    record = done(ctx.db, JOB, args.window, args.subscriptionId)
    if record:
        return ctx.db.get(record["result"]["invoiceId"], "entities")
    sub = ctx.db.get(args.subscriptionId, "entities")
    if sub is None:
        return None
    props = sub["properties"]
    amount, currency = props.get("amount"), props.get("currency", "usd")
    now = now_ms()
    invoice = {
        "subscriptionId": args.subscriptionId,
        "window": args.window,
        "currency": currency,
        "attempts": 0,
        "amount": amount if isinstance(amount, int) and amount > 0 else 0,
        "status": "pending",
    }
    invoice_id = ctx.db.insert(
        "entities",
        {
            "type": "invoice",
            "name": f"{sub['name']} {args.window[:7]}",
            "status": "draft",
            "createdAt": now,
            "updatedAt": now,
            "properties": invoice,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": invoice_id,
            "toEntityId": args.subscriptionId,
            "relationshipType": "part_of",
            "createdAt": now,
        },
    )
    mark_done(ctx.db, JOB, args.window, args.subscriptionId, {"invoiceId": invoice_id})
    return ctx.db.get(invoice_id, "entities")


class AttemptArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"invoiceId": ENTITY_ID, "paymentIntentId": "pi_123", "attempts": 1}]}
    )

    invoiceId: EntityId
    paymentIntentId: str
    attempts: int


@mutation(args=AttemptArgs, internal=True, platform=True)
def record_attempt(ctx: MutationCtx, args: AttemptArgs) -> bool:
    """Record the PaymentIntent about to be confirmed (before confirming it); False when another run
    already moved the invoice on."""
    invoice = ctx.db.get(args.invoiceId, "entities")
    if invoice is None or invoice["properties"].get("attempts", 0) != args.attempts - 1:
        return False
    if invoice["properties"]["status"] == "paid":
        return False
    props = {
        **invoice["properties"],
        "paymentIntentId": args.paymentIntentId,
        "attempts": args.attempts,
        "status": "processing",
    }
    ctx.db.patch(args.invoiceId, {"properties": props, "updatedAt": now_ms()}, "entities")
    return True


class OutcomeArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"invoiceId": ENTITY_ID, "paid": True}]})

    invoiceId: EntityId
    paid: bool
    reason: str | None = None


@mutation(args=OutcomeArgs, internal=True, platform=True)
def record_outcome(ctx: MutationCtx, args: OutcomeArgs) -> bool:
    """Mark the invoice paid or failed, and log payment_processed and subscription_updated."""
    invoice = ctx.db.get(args.invoiceId, "entities")
    if invoice is None or invoice["properties"]["status"] in ("paid",):
        return False
    props = {**invoice["properties"], "status": "paid" if args.paid else "failed"}
    if args.reason:
        props["failureReason"] = args.reason[:500]
    now = now_ms()
    ctx.db.patch(
        args.invoiceId,
        {"properties": props, "status": "published" if args.paid else "draft", "updatedAt": now},
        "entities",
    )
    sub_id = props["subscriptionId"]
    log_event(
        ctx.db,
        "payment_processed",
        actor_id=sub_id,
        target_id=args.invoiceId,
        timestamp=now,
        metadata={
            "status": "succeeded" if args.paid else "failed",
            "amount": props["amount"],
            "currency": props["currency"],
            "paymentIntentId": props.get("paymentIntentId"),
            "window": props["window"],
            **({"reason": args.reason} if args.reason else {}),
        },
    )
    log_event(
        ctx.db,
        "subscription_updated",
        actor_id=sub_id,
        target_id=sub_id,
        timestamp=now,
        metadata={
            "action": "renewed" if args.paid else "payment_failed",
            "invoiceId": args.invoiceId,
            "window": props["window"],
        },
    )
    return True


def _settle(ctx: ActionCtx, invoice: dict[str, Any], subscription: dict[str, Any] | None) -> str:
    """Charge an invoice unless it is paid or its charge already went through; returns the outcome."""
    from ontology.providers.payments import get_payments

    props = invoice["properties"]
    if props["status"] == "paid":
        return "already-paid"
    payments = get_payments()
    if props.get("paymentIntentId"):
        intent = payments.retrieve(props["paymentIntentId"])
        if intent.status == "succeeded":  # charged by an earlier run that stopped before recording it
            ctx.run_mutation(record_outcome, {"invoiceId": invoice["_id"], "paid": True})
            return "recovered"
        if intent.status in ("processing", "requires_capture"):
            return "in-flight"
    sub_props = (subscription or {}).get("properties", {})
    if not props.get("amount") or not sub_props.get("paymentMethod"):
        ctx.run_mutation(
            record_outcome,
            {
                "invoiceId": invoice["_id"],
                "paid": False,
                "reason": "subscription has no amount or payment method",
            },
        )
        return "failed"
    attempt = int(props.get("attempts", 0)) + 1
    key = f"invoice-{invoice['_id']}-attempt-{attempt}"
    intent = payments.create_intent(
        amount=props["amount"],
        currency=props["currency"],
        payment_method=sub_props["paymentMethod"],
        customer=sub_props.get("customer"),
        idempotency_key=key,
        metadata={
            "invoiceId": invoice["_id"],
            "subscriptionId": props["subscriptionId"],
            "window": props["window"],
        },
    )
    if not ctx.run_mutation(
        record_attempt, {"invoiceId": invoice["_id"], "paymentIntentId": intent.id, "attempts": attempt}
    ):
        payments.cancel(intent.id, idempotency_key=f"{key}-cancel")  # another run is charging it
        return "in-flight"
    try:
        confirmed = payments.confirm(intent.id, idempotency_key=f"{key}-confirm")
    except (PaymentFailedError, UpstreamError) as exc:
        ctx.run_mutation(record_outcome, {"invoiceId": invoice["_id"], "paid": False, "reason": exc.message})
        return "failed"
    paid = confirmed.status == "succeeded"
    ctx.run_mutation(
        record_outcome,
        {
            "invoiceId": invoice["_id"],
            "paid": paid,
            **({} if paid else {"reason": f"payment {confirmed.status}"}),
        },
    )
    return "paid" if paid else "failed"


@action(args=CronArgs, internal=True, platform=True)
def process_monthly_billing(ctx: ActionCtx, args: CronArgs) -> dict[str, Any]:
    """The 1st of the month: for each active subscription, this month's ``invoice`` entity and a
    charge through the payments port; logs ``payment_processed`` and ``subscription_updated``. A
    failure is recorded and retried on the next run; nothing is ever charged twice. The run
    schedules one ``billing:bill_organization`` job per organization, a page of them at a time
    (``fanout:page``)."""
    return fanout.drive(ctx, JOB, args, WORKER)


@action(args=WorkerArgs, internal=True, platform=True)
def bill_organization(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    """The monthly billing of one organization: its active subscriptions a page at a time (the
    month's invoice made and charged), then what earlier months left unpaid; a piece out of time
    continues in a job of its own."""
    return fanout.work(JOB, WORKER, args, lambda: _bill(ctx, args))


def _bill(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    window, (org,) = args.window, args.organizationIds
    org_ctx = ctx.for_organization(org)
    carry = args.carry or {}
    phase: str = carry.get("phase", "subscriptions")
    outcomes: dict[str, int] = dict(carry.get("outcomes", {}))
    budget = fanout.Budget()
    cursor = args.cursor
    while True:
        page = org_ctx.run_query(billable, {"kind": phase, "cursor": cursor})
        for outcome in _bill_page(org_ctx, window, phase, page):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if page["isDone"] and phase == "unpaid":
            return {"window": window, "outcomes": outcomes}
        phase, cursor = ("unpaid", None) if page["isDone"] else (phase, page["continueCursor"])
        if budget.spent():
            fanout.continue_later(JOB, WORKER, args, cursor, carry={"phase": phase, "outcomes": outcomes})
            return {"window": window, "outcomes": outcomes, "continued": True}


def _bill_page(org_ctx: ActionCtx, window: str, phase: str, page: dict[str, Any]) -> list[str]:
    """Each subscription's invoice for the month, made and charged; or each unpaid invoice of an
    earlier month (or of a subscription no longer active) charged again."""
    outcomes = []
    for doc in page["page"]:
        if phase == "subscriptions":
            sub, args = doc, {"subscriptionId": doc["_id"], "window": window}
            try:
                invoice = org_ctx.run_mutation(ensure_invoice, args)
            except ConflictError:
                invoice = org_ctx.run_mutation(ensure_invoice, args)
            if not invoice:
                continue
        else:
            invoice, sub = doc, page["active"].get(doc["properties"]["subscriptionId"])
            if sub is not None and doc["properties"].get("window") == window:
                continue  # this month's: charged with its subscription
        outcomes.append(_settle(org_ctx, invoice, sub))
    return outcomes
