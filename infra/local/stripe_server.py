"""Runs ``localstripe`` (the stateful fake Stripe server from PyPI) on loopback only, keeping its
data in the local stack's state folder (its own default is every interface and /tmp).

localstripe ignores ``Idempotency-Key``; Stripe does not: a POST repeated with the same key (per API
key, for 24 hours) gets the first answer again without acting twice, and the same key with another
request is refused (400, ``idempotency_error``). :func:`idempotency` adds exactly that in front of it,
so the local stack behaves like Stripe when a step is retried after a crash.

localstripe also knows only three of Stripe's test payment methods, and declines ``4000000000000002``
only when it is attached to a customer, so a purchase with ``pm_card_visa_chargeDeclined`` would
succeed. :func:`install_test_cards` gives it Stripe's documented test cards
(https://docs.stripe.com/testing): the magic ``pm_card_*`` ids, and the declining card numbers declined
when charged, with Stripe's error code, decline code and message."""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

IDEMPOTENCY_SECONDS = 24 * 3600


def durable_middleware(store: Any) -> Any:
    """Save localstripe's store after every request that may change it. localstripe saves only when
    an object is added or removed, not when one changes (a PaymentIntent captured, a refund
    recorded): a killed stack would forget those. The save is done before the response leaves."""
    from aiohttp import web

    @web.middleware
    async def durable(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.method in ("POST", "DELETE"):
            store.dump_to_disk()
        return response

    return durable


def idempotency_middleware() -> Any:
    from aiohttp import web

    answers: dict[tuple[str, str], dict[str, Any]] = {}
    locks: dict[tuple[str, str], asyncio.Lock] = {}

    @web.middleware
    async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        slot = (request.headers.get("Authorization", ""), key)
        body = await request.read()
        async with locks.setdefault(slot, asyncio.Lock()):
            seen = answers.get(slot)
            if seen is not None and time.time() - seen["at"] < IDEMPOTENCY_SECONDS:
                if seen["path"] != request.path or seen["body"] != body:
                    error = {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        }
                    }
                    return web.json_response(error, status=400)
                return web.Response(
                    status=seen["status"],
                    body=seen["response"],
                    content_type="application/json",
                    headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
                )
            response = await handler(request)
            if isinstance(response, web.Response) and response.status < 500:
                answers[slot] = {
                    "at": time.time(),
                    "path": request.path,
                    "body": body,
                    "status": response.status,
                    "response": response.body
                    if isinstance(response.body, bytes)
                    else json.dumps({}).encode(),
                }
            return response

    return idempotency


#: Stripe's test payment methods: id → card number.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
    "pm_card_threeDSecure2Required": "4000000000003220",
}
#: Cards that ask for authentication on every payment (the others of localstripe's list ask only
#: when they were not set up for later payments with a SetupIntent).
ALWAYS_AUTHENTICATE = {"4000002760003184", "4000008260003178"}
#: The events the stack's webhook endpoint is sent.
WEBHOOK_EVENTS = [
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "setup_intent.succeeded",
    "setup_intent.setup_failed",
]
#: Card numbers Stripe declines when charged: (error code, decline code, message).
DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": ("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4100000000000019": ("card_declined", "fraudulent", "Your card was declined."),
    "4000000000000341": ("card_declined", "generic_decline", "Your card was declined."),
}


def install_test_cards(resources: Any) -> None:
    """Teach localstripe Stripe's test cards (see the module's docstring)."""
    payment_method = resources.PaymentMethod
    charge = resources.Charge
    canonical = payment_method._try_get_canonical_test_article.__func__
    charging_declined = payment_method._charging_is_declined

    def test_article(cls: Any, id: str) -> Any:
        number = TEST_PAYMENT_METHODS.get(id)
        if number is None:
            return canonical(cls, id)
        card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
        return payment_method(type="card", card=card)

    def is_declined(self: Any) -> bool:
        number = getattr(self, "_card_number", None)
        return bool(charging_declined(self) or (self.type == "card" and number in DECLINES))

    def set_failure(self: Any) -> None:
        method = payment_method._api_retrieve(self.payment_method)
        code, decline_code, message = DECLINES.get(
            getattr(method, "_card_number", ""),
            ("card_declined", "generic_decline", "Your card was declined."),
        )
        self.status = "failed"
        self.failure_code = code
        self.failure_message = message
        self._decline_code = decline_code

    def raise_failure(self: Any) -> None:
        raise resources.UserError(
            402,
            self.failure_message,
            {
                "code": self.failure_code,
                "decline_code": getattr(self, "_decline_code", "generic_decline"),
                "charge": self.id,
            },
        )

    payment_method._try_get_canonical_test_article = classmethod(test_article)
    payment_method._charging_is_declined = is_declined
    charge._set_auth_failure = set_failure
    charge._raise_failure = raise_failure


def install_authentication(resources: Any, server: Any) -> None:
    """3-D Secure, saved cards and their events as Stripe has them (see the module's docstring)."""
    from localstripe.webhooks import schedule_webhook

    payment_method = resources.PaymentMethod
    payment_intent = resources.PaymentIntent
    setup_intent = resources.SetupIntent
    event = resources.Event
    requires_authentication = payment_method._requires_authentication
    create_charge = payment_intent._create_charge
    authenticate = payment_intent._api_authenticate.__func__
    attach_pm = setup_intent._attach_pm

    def needs_authentication(self: Any) -> bool:
        if getattr(self, "_card_number", None) in ALWAYS_AUTHENTICATE:
            return True
        return bool(requires_authentication(self)) and not getattr(self, "_set_up", False)

    def charge_intent(self: Any, on_failure_now: Any) -> None:
        create_charge(self, on_failure_now)
        if self.status == "requires_capture":
            schedule_webhook(event("payment_intent.amount_capturable_updated", self))

    def authenticated(
        cls: Any, /, id: str, client_secret: Any = None, success: Any = False, **kwargs: Any
    ) -> Any:
        obj = authenticate(cls, id, client_secret=client_secret, success=success, **kwargs)
        if obj._authentication_failed:
            schedule_webhook(event("payment_intent.payment_failed", obj))
        return obj

    def set_up(self: Any, pm: Any) -> None:
        if self.customer:
            pm.customer = self.customer
        pm._set_up = True
        schedule_webhook(event("setup_intent.succeeded", self))

    def attach(self: Any, pm: Any) -> None:
        attach_pm(self, pm)  # a declined card raises; one that needs authentication waits
        if self.status == "succeeded":
            set_up(self, pm)

    def authenticate_setup(id: str, client_secret: Any = None, success: Any = False, **kwargs: Any) -> Any:
        """The page's 3-D Secure for a SetupIntent ("Complete" or "Fail"), like the PaymentIntents'."""
        if kwargs or not isinstance(client_secret, str):
            raise resources.UserError(400, "Bad request")
        obj = setup_intent._api_retrieve(id)
        if client_secret != obj.client_secret:
            raise resources.UserError(401, "Unauthorized")
        if obj.status != "requires_action":
            raise resources.UserError(400, "Bad request")
        obj.next_action = None
        if resources.try_convert_to_bool(success) is True:
            obj.status = "succeeded"
            set_up(obj, payment_method._api_retrieve(obj.payment_method))
        else:
            obj.status, obj.payment_method = "requires_payment_method", None
            obj.last_setup_error = {
                "code": "setup_intent_authentication_failure",
                "message": "The latest attempt to set up the payment method has failed authentication.",
            }
            schedule_webhook(event("setup_intent.setup_failed", obj))
        return obj

    def confirm_setup(
        cls: Any,
        /,
        id: str,
        client_secret: Any = None,
        payment_method: Any = None,
        payment_method_data: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Stripe.js's test step completes a SetupIntent's 3-D Secure by confirming it again with
        its client secret and nothing else (localstripe's Stripe.js, "Complete authentication"):
        the card is then saved as when the page authenticates it (``_authenticate``)."""
        if payment_method is None and payment_method_data is None and isinstance(client_secret, str):
            waiting = setup_intent._api_retrieve(id) if isinstance(id, str) else None
            if waiting is not None and waiting.status == "requires_action":
                return authenticate_setup(id, client_secret=client_secret, success=True)
        return confirm(
            cls,
            id,
            client_secret=client_secret,
            payment_method=payment_method,
            payment_method_data=payment_method_data,
            **kwargs,
        )

    confirm = setup_intent._api_confirm.__func__
    payment_method._requires_authentication = needs_authentication
    payment_intent._create_charge = charge_intent
    payment_intent._api_authenticate = classmethod(authenticated)
    setup_intent._attach_pm = attach
    setup_intent._api_confirm = classmethod(confirm_setup)
    # server.py bound its routes to the methods at import: point them at the methods anew
    for path, method in (
        ("/v1/payment_intents/{id}/_authenticate", payment_intent._api_authenticate),
        ("/v1/setup_intents/{id}/confirm", setup_intent._api_confirm),
    ):
        for route in server.app.router.routes():
            if route.method == "POST" and route.resource is not None and route.resource.canonical == path:
                route._handler = server.api_extra(method, path)
    setup_path = "/v1/setup_intents/{id}/_authenticate"
    server.app.router.add_route("POST", setup_path, server.api_extra(authenticate_setup, setup_path))
    page_key(server)


def page_key(server: Any) -> None:
    """The page's 3-D Secure step for a SetupIntent is made with the publishable key and the client
    secret (as localstripe already allows for PaymentIntents): let it past the secret-key check."""
    import re

    from aiohttp import web

    check = server.auth_middleware

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and re.match(r"^/v1/setup_intents/\w+/_authenticate$", request.path):
            data = await server.get_post_data(request, remove_auth=False)
            if isinstance(data.get("key"), str) and data["key"].startswith("pk_"):
                return await handler(request)  # the handler checks the client secret
        response: web.StreamResponse = await check(request, handler)
        return response

    middlewares = server.app.middlewares
    middlewares[middlewares.index(check)] = auth


def _exit_with_parent(parent: int) -> None:
    """A stack killed outright (SIGKILL) cannot stop its children: this one notices and exits."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    parser.add_argument("--webhook-url", help="post every event there, signed with --webhook-secret")
    parser.add_argument("--webhook-secret", help="the webhook endpoint's signing secret (whsec_…)")
    args = parser.parse_args()
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)

    from aiohttp import web
    from localstripe import resources, server

    store = resources.store
    state: Path = args.state_file

    def dump_to_disk() -> None:
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(state)

    store.dump_to_disk = dump_to_disk
    if state.exists():
        with state.open("rb") as f:
            store.update(pickle.load(f))  # noqa: S301 - our own state file, written just above
    install_test_cards(resources)
    install_authentication(resources, server)
    if args.webhook_url and args.webhook_secret:
        from localstripe.webhooks import register_webhook

        register_webhook("one", args.webhook_url, args.webhook_secret, WEBHOOK_EVENTS)
    server.app.middlewares.insert(0, idempotency_middleware())
    server.app.middlewares.insert(1, durable_middleware(store))
    web.run_app(server.app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
