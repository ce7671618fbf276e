"""Payments through Stripe's official SDK.

Every call takes an idempotency key derived by the caller from its own ids; but some stand-ins
(``localstripe``) ignore ``Idempotency-Key``, so callers never rely on Stripe alone to avoid a second
charge: they record the PaymentIntent id first and look it up again before charging.

Example::

    payments = get_payments()
    intent = payments.create_intent(amount=1999, currency="usd", payment_method="pm_card_visa",
                                    idempotency_key=f"invoice-{invoice_id}", metadata={...})
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from ontology.errors import PaymentFailedError, UpstreamError

__all__ = [
    "CardMethod",
    "PaymentIntent",
    "Payments",
    "SetupIntent",
    "StripePayments",
    "get_payments",
    "set_payments",
    "verify_webhook",
]


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: str  # requires_payment_method | requires_confirmation | requires_action | requires_capture | …
    amount: int
    currency: str
    amount_received: int = 0
    #: What the page needs to finish a ``requires_action`` payment (Stripe.js ``handleNextAction``).
    client_secret: str | None = None
    next_action: dict[str, Any] | None = None
    customer: str | None = None
    #: Why the last attempt failed (a decline, a failed authentication), Stripe's message.
    error_message: str | None = None


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: str  # requires_payment_method | requires_confirmation | requires_action | succeeded | canceled
    client_secret: str
    customer: str | None = None
    payment_method: str | None = None
    #: When Stripe created it (seconds).
    created: int = 0


@dataclass(frozen=True)
class CardMethod:
    """A saved card, as a page shows it (never its number)."""

    id: str
    customer: str | None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class Payments(Protocol):
    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str | None,
        customer: str | None = None,
        confirm: bool = False,
        capture_method: str = "automatic",
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> PaymentIntent: ...
    def confirm(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent: ...
    def retrieve(self, intent_id: str) -> PaymentIntent: ...
    def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent: ...
    def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent: ...
    def refund(self, intent_id: str, *, idempotency_key: str) -> str: ...
    def refunds(self, intent_id: str) -> list[str]: ...
    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str: ...
    def create_setup_intent(
        self, *, customer: str, idempotency_key: str, metadata: dict[str, str]
    ) -> SetupIntent: ...
    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent: ...
    def card_methods(self, customer: str) -> list[CardMethod]: ...
    def retrieve_method(self, method_id: str) -> CardMethod: ...
    def detach_method(self, method_id: str) -> None: ...


def _get(obj: Any, key: str) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        return None


def _plain(obj: Any) -> Any:
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


def _intent(obj: Any) -> PaymentIntent:
    error = _get(obj, "last_payment_error")
    next_action = _get(obj, "next_action")
    return PaymentIntent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=obj["currency"],
        amount_received=int(_get(obj, "amount_received") or 0),
        client_secret=_get(obj, "client_secret"),
        next_action=_plain(next_action) if next_action else None,
        customer=_get(obj, "customer"),
        error_message=_get(error, "message") if error else None,
    )


def _setup_intent(obj: Any) -> SetupIntent:
    return SetupIntent(
        id=obj["id"],
        status=obj["status"],
        client_secret=obj["client_secret"],
        customer=_get(obj, "customer"),
        payment_method=_get(obj, "payment_method"),
        created=int(_get(obj, "created") or 0),
    )


def _card(obj: Any) -> CardMethod:
    card = _get(obj, "card") or {}
    month, year = _get(card, "exp_month"), _get(card, "exp_year")
    return CardMethod(
        id=obj["id"],
        customer=_get(obj, "customer"),
        brand=_get(card, "brand"),
        last4=_get(card, "last4"),
        exp_month=int(month) if month is not None else None,
        exp_year=int(year) if year is not None else None,
    )


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event (a plain dict) of a webhook delivery whose ``Stripe-Signature`` proves it came from
    Stripe (HMAC with the endpoint's secret, at most five minutes old: Stripe's SDK checks both); raises
    ``stripe.SignatureVerificationError`` (or ValueError for a body that is not an event) otherwise."""
    import stripe

    event: dict[str, Any] = stripe.Webhook.construct_event(payload, signature or "", secret).to_dict()
    return event


class StripePayments:
    """The Stripe implementation; ``client`` may be injected (a ``stripe.StripeClient``)."""

    def __init__(
        self, client: Any = None, *, api_key: str | None = None, api_base: str | None = None
    ) -> None:
        if client is None:
            import stripe

            base = api_base or os.environ.get("ONE_STRIPE_API_BASE")
            client = stripe.StripeClient(
                api_key or _secret_key(),
                base_addresses={"api": base} if base else {},
                max_network_retries=2,
            )
        self._client = client

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import stripe

        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentFailedError(
                exc.user_message or "The card was declined", decline_code=getattr(exc, "code", None)
            ) from None
        except stripe.InvalidRequestError as exc:
            # Stripe refuses the request itself (an unknown payment method, an intent in a state that
            # cannot do this): sending it again changes nothing, so it is final, not an outage.
            raise PaymentFailedError(
                exc.user_message or "The payment could not be made", stripe_code=getattr(exc, "code", None)
            ) from None
        except stripe.StripeError as exc:
            raise UpstreamError(f"Stripe: {type(exc).__name__}") from None

    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str | None,
        customer: str | None = None,
        confirm: bool = False,
        capture_method: str = "automatic",
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> PaymentIntent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "capture_method": capture_method,
            "metadata": metadata or {},
            "payment_method_types": ["card"],
        }
        if payment_method:
            params["payment_method"] = payment_method
        if customer:
            params["customer"] = customer
        if confirm:
            params["confirm"] = True
            params["off_session"] = True
        intents = self._client.v1.payment_intents
        return _intent(
            self._call(intents.create, params=params, options={"idempotency_key": idempotency_key})
        )

    def confirm(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        # No off_session here: localstripe refuses it on confirm (creating with confirm=True sends it).
        intents = self._client.v1.payment_intents
        return _intent(self._call(intents.confirm, intent_id, options={"idempotency_key": idempotency_key}))

    def retrieve(self, intent_id: str) -> PaymentIntent:
        return _intent(self._call(self._client.v1.payment_intents.retrieve, intent_id))

    def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        intents = self._client.v1.payment_intents
        return _intent(self._call(intents.capture, intent_id, options={"idempotency_key": idempotency_key}))

    def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        intents = self._client.v1.payment_intents
        return _intent(self._call(intents.cancel, intent_id, options={"idempotency_key": idempotency_key}))

    def refund(self, intent_id: str, *, idempotency_key: str) -> str:
        refund = self._call(
            self._client.v1.refunds.create,
            params={"payment_intent": intent_id},
            options={"idempotency_key": idempotency_key},
        )
        return str(refund["id"])

    def refunds(self, intent_id: str) -> list[str]:
        """The ids of the refunds already made on a PaymentIntent (newest first)."""
        found = self._call(self._client.v1.refunds.list, params={"payment_intent": intent_id, "limit": 100})
        return [str(r["id"]) for r in found.data]

    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        customers = self._client.v1.customers
        params = {"metadata": metadata}
        made = self._call(customers.create, params=params, options={"idempotency_key": idempotency_key})
        return str(made["id"])

    def create_setup_intent(
        self, *, customer: str, idempotency_key: str, metadata: dict[str, str]
    ) -> SetupIntent:
        params = {
            "customer": customer,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        intents = self._client.v1.setup_intents
        return _setup_intent(
            self._call(intents.create, params=params, options={"idempotency_key": idempotency_key})
        )

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        return _setup_intent(self._call(self._client.v1.setup_intents.retrieve, setup_intent_id))

    def card_methods(self, customer: str) -> list[CardMethod]:
        found = self._call(
            self._client.v1.payment_methods.list, params={"customer": customer, "type": "card", "limit": 100}
        )
        return [_card(m) for m in found.data]

    def retrieve_method(self, method_id: str) -> CardMethod:
        return _card(self._call(self._client.v1.payment_methods.retrieve, method_id))

    def detach_method(self, method_id: str) -> None:
        self._call(self._client.v1.payment_methods.detach, method_id)


def _secret_key() -> str:
    from ontology.secrets import get_secret

    return get_secret("stripeSecretKey") or ""


_instance: Payments | None = None


def get_payments() -> Payments:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = StripePayments()
    return _instance


def set_payments(payments: Payments | None) -> None:
    """Inject a payments implementation (tests); None goes back to Stripe."""
    global _instance  # noqa: PLW0603
    _instance = payments
