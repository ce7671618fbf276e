"""Customers' saved cards, Stripe's way: a SetupIntent the page confirms with Stripe.js, the card
it saves attached to the member's Stripe customer and made their default for purchases.

A member's Stripe customer (made on first use, one per membership: a user may belong to several
organizations) and their default card are recorded on their membership, which no function shows
to other members. Stripe stays the truth: a card is the member's when Stripe says it is attached to
their customer, and a SetupIntent's card becomes the default only once Stripe says it succeeded
(the page's ``billing:save_payment_method`` and the ``setup_intent.succeeded`` webhook both ask
Stripe, so either may come first, twice, or alone). Of two saved one after the other, the later
SetupIntent's card is the default whatever order their webhooks arrive in.

Example::

    intent = create_setup_intent(identity)  # {"setupIntentId", "clientSecret", "status"}
    # the page: stripe.confirmCardSetup(clientSecret, {payment_method: "pm_card_visa"})
    save_from_setup_intent(identity.organizationId, identity.userId, intent["setupIntentId"])
"""

from __future__ import annotations

import uuid
from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.keys import now_ms
from ontology.data.transaction import run_mutation, run_query
from ontology.errors import ConflictError, ForbiddenError, NotFoundError, PaymentFailedError

__all__ = [
    "card_view",
    "create_setup_intent",
    "list_cards",
    "remove_card",
    "save_from_setup_intent",
    "saved_card",
]


def _payments() -> Any:
    from ontology.providers.payments import get_payments

    return get_payments()


def _membership(db: DatabaseReader, org: str, user: str) -> Doc:
    found = db.lookup_unique("memberships", "member", {"organizationId": org, "userId": user})
    if found is None:
        raise ForbiddenError("You are not a member of this organization")
    return found


def membership(org: str, user: str) -> Doc:
    """The member's membership (a consistent read of its guard)."""
    doc: Doc = run_query(lambda db: _membership(db, org, user), org=None, platform=True)
    return doc


def saved_card(org: str, user: str) -> tuple[str | None, str | None]:
    """The member's default card and Stripe customer (either None when there is none)."""
    found = run_query(
        lambda db: db.lookup_unique("memberships", "member", {"organizationId": org, "userId": user}),
        org=None,
        platform=True,
    )
    if found is None:
        return None, None
    return found.get("paymentMethodId"), found.get("stripeCustomerId")


def customer_of(org: str, user: str) -> str:
    """The member's Stripe customer, made the first time (one per membership: Stripe's idempotency
    key is the membership's id, and the first one recorded wins a race)."""
    member = membership(org, user)
    if member.get("stripeCustomerId"):
        return str(member["stripeCustomerId"])
    made = _payments().create_customer(
        idempotency_key=f"customer-{member['_id']}",
        metadata={"organizationId": org, "userId": user, "membershipId": member["_id"]},
    )

    def record(db: DatabaseWriter) -> str:
        current = _membership(db, org, user)
        if current.get("stripeCustomerId"):
            return str(current["stripeCustomerId"])
        db.patch(current["_id"], {"stripeCustomerId": made, "updatedAt": now_ms()}, "memberships")
        return str(made)

    recorded: str = run_mutation(record, org=None, platform=True)
    return recorded


def create_setup_intent(org: str, user: str) -> dict[str, Any]:
    """A SetupIntent for the member's customer (made on first use), for later purchases
    (``usage: off_session``); the page confirms it with its client secret."""
    customer = customer_of(org, user)
    intent = _payments().create_setup_intent(
        customer=customer,
        idempotency_key=f"setup-{uuid.uuid4().hex}",
        metadata={"organizationId": org, "userId": user},
    )
    return {"setupIntentId": intent.id, "clientSecret": intent.client_secret, "status": intent.status}


def card_view(card: Any, default: str | None) -> dict[str, Any]:
    return {
        "paymentMethodId": card.id,
        "brand": card.brand,
        "last4": card.last4,
        "expMonth": card.exp_month,
        "expYear": card.exp_year,
        "isDefault": card.id == default,
    }


def save_from_setup_intent(org: str, user: str, setup_intent_id: str) -> dict[str, Any]:
    """Make the card a succeeded SetupIntent saved the member's default, once Stripe says so: the
    SetupIntent must be the member's customer's (NOT_FOUND otherwise) and succeeded (CONFLICT while
    it is not). A SetupIntent older than the one whose card is the default changes nothing."""
    payments = _payments()
    customer = membership(org, user).get("stripeCustomerId")
    try:
        intent = payments.retrieve_setup_intent(setup_intent_id)
    except PaymentFailedError:
        raise NotFoundError("No such setup intent", field="setupIntentId") from None
    if not customer or intent.customer != customer:
        raise NotFoundError("No such setup intent", field="setupIntentId")
    if intent.status != "succeeded" or not intent.payment_method:
        raise ConflictError(
            f"The setup intent is {intent.status}: the page confirms it first",
            field="setupIntentId",
            setupStatus=intent.status,
        )
    method: str = intent.payment_method

    def record(db: DatabaseWriter) -> str:
        current = _membership(db, org, user)
        if current.get("stripeCustomerId") != customer:
            raise NotFoundError("No such setup intent", field="setupIntentId")
        since = current.get("paymentMethodSince") or 0
        if current.get("paymentMethodId") == method or intent.created < since:
            return str(current.get("paymentMethodId"))
        db.patch(
            current["_id"],
            {"paymentMethodId": method, "paymentMethodSince": intent.created, "updatedAt": now_ms()},
            "memberships",
        )
        return method

    default = run_mutation(record, org=None, platform=True)
    return card_view(payments.retrieve_method(method), default)


def list_cards(org: str, user: str) -> list[dict[str, Any]]:
    """The member's saved cards (Stripe's list of their customer's cards), the default marked."""
    member = membership(org, user)
    customer = member.get("stripeCustomerId")
    if not customer:
        return []
    default = member.get("paymentMethodId")
    return [card_view(card, default) for card in _payments().card_methods(customer)]


def remove_card(org: str, user: str, method_id: str) -> dict[str, Any]:
    """Detach one of the member's saved cards from their customer (NOT_FOUND for any card that is not
    theirs); removing the default leaves them without one until they save another."""
    payments = _payments()
    customer = membership(org, user).get("stripeCustomerId")
    try:
        card = payments.retrieve_method(method_id)
    except PaymentFailedError:
        raise NotFoundError("No such saved card", field="paymentMethodId") from None
    if not customer or card.customer != customer:
        raise NotFoundError("No such saved card", field="paymentMethodId")

    def forget(db: DatabaseWriter) -> None:
        current = _membership(db, org, user)
        if current.get("paymentMethodId") == method_id:
            db.patch(current["_id"], {"paymentMethodId": None, "updatedAt": now_ms()}, "memberships")

    run_mutation(forget, org=None, platform=True)  # first: a purchase never charges a card going away
    payments.detach_method(method_id)
    return {"paymentMethodId": method_id, "removed": True}
