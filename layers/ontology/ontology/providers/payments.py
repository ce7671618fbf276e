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

__all__ = ["PaymentIntent", "Payments", "StripePayments", "get_payments", "set_payments"]


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: (
        str  # requires_payment_method | requires_confirmation | requires_capture | succeeded | canceled | …
    )
    amount: int
    currency: str
    amount_received: int = 0


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


def _intent(obj: Any) -> PaymentIntent:
    return PaymentIntent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=obj["currency"],
        amount_received=int(getattr(obj, "amount_received", None) or 0),
    )


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
