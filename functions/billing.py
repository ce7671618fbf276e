"""Billing jobs: on the 1st of every month, an invoice and a charge for each active subscription.

A subscription entity's properties name what to charge: ``amount`` (in cents), ``currency``,
``paymentMethod`` (a Stripe payment method) and optionally ``customer``. Each subscription gets one
invoice per month (the month's record is written with it). A charge is never made twice: the
PaymentIntent's id is recorded on the invoice before it is confirmed, and a later run looks that
intent up before trying again. A failed charge is recorded (invoice ``failed``) and tried again on
the next run.
"""

from __future__ import annotations

from typing import Any

from ontology.data.fields import EntityId
from ontology.errors import ConflictError, PaymentFailedError, UpstreamError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.services.cron_runs import CronArgs, done, mark_done, organizations, run_time, window_for
from ontology.services.ontology_ops import log_event, now_ms

JOB = "billing:process_monthly_billing"


def _page(ctx: QueryCtx, kind: str, status: str) -> list[dict[str, Any]]:
    query = ctx.db.query("entities").with_index(
        "by_type_status", lambda q: q.eq("type", kind).eq("status", status)
    )
    return list(query.iterate(200))


@query(internal=True, platform=True)
def billable(ctx: QueryCtx, args: Args) -> dict[str, list[dict[str, Any]]]:
    """Active subscriptions, and invoices still unpaid (``draft``) from earlier runs."""
    return {"subscriptions": _page(ctx, "subscription", "active"), "unpaid": _page(ctx, "invoice", "draft")}


class InvoiceArgs(Args):
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
    failure is recorded and retried on the next run; nothing is ever charged twice."""
    from ontology.data.db import DatabaseReader

    window = window_for(JOB, run_time(args))
    outcomes: dict[str, int] = {}
    for org in organizations(DatabaseReader(None, platform=True)):
        org_ctx = ctx.for_organization(org["_id"])
        work = org_ctx.run_query(billable, {})
        subs = {s["_id"]: s for s in work["subscriptions"]}
        invoices: dict[str, dict[str, Any]] = {i["_id"]: i for i in work["unpaid"]}
        for sub_id in subs:
            try:
                invoice = org_ctx.run_mutation(ensure_invoice, {"subscriptionId": sub_id, "window": window})
            except ConflictError:
                invoice = org_ctx.run_mutation(ensure_invoice, {"subscriptionId": sub_id, "window": window})
            if invoice:
                invoices[invoice["_id"]] = invoice
        for invoice in invoices.values():
            sub_id = invoice["properties"]["subscriptionId"]
            outcome = _settle(org_ctx, invoice, subs.get(sub_id))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"window": window, "outcomes": outcomes}
