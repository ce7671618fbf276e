"""Saved cards and 3-D Secure through the local stack, as a customer's page does it: a customer who
signed up themselves saves a card with a SetupIntent (confirmed as Stripe.js does, with the
publishable key and the client secret) and buys with it; a card that asks for 3-D Secure waits in
``requires_action`` until the page authenticates it on the Stripe stand-in, whose signed webhook
resumes the saga; a failed authentication charges and mints nothing; the webhook refuses what Stripe
did not sign, and an event applied once is refused again."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from infra.local.cloudformation import LOCAL_SECRET_VALUES
from ontology.client import OneClient
from tests.infra.localstack import Stack, mail_to, running_stack, signed_in, until

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = LOCAL_SECRET_VALUES["StripeWebhookSecret"]
PUBLISHABLE_KEY = "pk_test_local"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "payments")


def _stripe_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.stripe_port}"


def _stripe(stack: Stack) -> stripe.StripeClient:
    """The stripe SDK as the platform's own server code uses it, on the stand-in."""
    return stripe.StripeClient("sk_test_local", base_addresses={"api": _stripe_url(stack)})


@pytest.fixture(scope="module")
def shop(stack: Stack) -> dict[str, Any]:
    """The developer's organization, a creator's token in it, and a customer who signed up
    themselves and joined it by invitation (their own session, acting in it)."""
    with OneClient(stack.url, token=stack.token()) as owner:
        creator = owner.mutation(
            "creators:create", {"email": "linus@example.com", "name": "Linus", "niche": ["kernels"]}
        )["creatorId"]
        token = owner.action(
            "tokens:create",
            {"creatorId": creator, "name": "Tux", "symbol": "TUX", "priceUsd": 0.5, "totalSupply": 10_000},
        )["tokenId"]
        owner.action("organizations:invite", {"email": "carol@example.com", "role": "customer"})
    org = _org_of(stack)
    session = signed_in(stack, "carol@example.com")
    subject = "Invitation to join “Local development” on the ONE platform"
    link = mail_to(stack, "carol@example.com", subject)["text"]
    invitation = re.search(r"token=(\S+)", link).group(1)
    client = OneClient(stack.url, token=session)
    client.action("organizations:accept", {"token": invitation})
    client.action("organizations:switch_active", {"organizationId": org})
    return {"token": token, "carol": client, "org": org}


def _org_of(stack: Stack) -> str:
    return str(stack.dev_session()["organizationId"])


def _save_card(stack: Stack, client: OneClient, test_method: str) -> dict[str, Any]:
    """What the page does: a SetupIntent from the platform, confirmed on Stripe with Stripe.js's
    test payment method (publishable key and client secret only), then saved as the default."""
    setup = client.action("billing:create_setup_intent", {})
    assert setup["setupIntentId"].startswith("seti_") and setup["status"] == "requires_payment_method"
    confirmed = httpx.post(
        f"{_stripe_url(stack)}/v1/setup_intents/{setup['setupIntentId']}/confirm",
        data={"key": PUBLISHABLE_KEY, "client_secret": setup["clientSecret"], "payment_method": test_method},
    )
    assert confirmed.status_code == 200, confirmed.text
    if confirmed.json()["status"] == "requires_action":  # the card asks for 3-D Secure to be saved too
        authenticated = httpx.post(
            f"{_stripe_url(stack)}/v1/setup_intents/{setup['setupIntentId']}/_authenticate",
            data={"key": PUBLISHABLE_KEY, "client_secret": setup["clientSecret"], "success": "true"},
        )
        assert authenticated.status_code == 200, authenticated.text
        confirmed = authenticated
    assert confirmed.json()["status"] == "succeeded", confirmed.text
    return dict(client.action("billing:save_payment_method", {"setupIntentId": setup["setupIntentId"]}))


def _buy(client: OneClient, token: str, amount: int) -> str:
    """The reference's call: no payment method, the saved card is charged."""
    started = client.mutation(
        "tokens:purchase", {"tokenId": token, "amount": amount, "usdAmount": amount * 0.5}
    )
    return str(started["purchaseId"])


def _view(client: OneClient, purchase_id: str) -> dict[str, Any]:
    return dict(client.query("tokens:get_purchase", {"purchaseId": purchase_id}))


def _final(client: OneClient, purchase_id: str) -> dict[str, Any]:
    view = until(
        lambda: (v := _view(client, purchase_id))["status"] not in ("pending", "requires_action") and v, 90
    )
    assert view, f"purchase {purchase_id} did not finish"
    return dict(view)


def _authenticate(stack: Stack, view: dict[str, Any], *, success: bool) -> None:
    """Stripe's 3-D Secure test page, "Complete" or "Fail", as Stripe.js drives it from the page."""
    intent = view["clientSecret"].split("_secret_")[0]
    answer = httpx.post(
        f"{_stripe_url(stack)}/v1/payment_intents/{intent}/_authenticate",
        data={"key": PUBLISHABLE_KEY, "client_secret": view["clientSecret"], "success": str(success).lower()},
    )
    assert answer.status_code == 200, answer.text


def _balance(client: OneClient, token: str) -> int:
    return int(client.query("tokens:get_balance", {"tokenId": token})["amount"])


def test_a_customer_saves_a_card_with_a_setup_intent_and_buys_with_it(
    stack: Stack, shop: dict[str, Any]
) -> None:
    carol, token = shop["carol"], shop["token"]
    with pytest.raises(Exception, match="Save a card first"):
        _buy(carol, token, 2)
    saved = _save_card(stack, carol, "pm_card_visa")
    assert saved["isDefault"] and saved["last4"] == "4242" and saved["paymentMethodId"].startswith("pm_")
    cards = carol.action("billing:list_payment_methods", {})
    assert [(c["paymentMethodId"], c["isDefault"]) for c in cards] == [(saved["paymentMethodId"], True)]
    # Stripe holds the card on Carol's customer, and the purchase charged it there
    method = _stripe(stack).v1.payment_methods.retrieve(saved["paymentMethodId"])
    assert method.customer and method.customer.startswith("cus_")
    purchase = _buy(carol, token, 4)
    done = _final(carol, purchase)
    assert done["status"] == "completed" and done["usdCents"] == 200, done
    intent = _stripe(stack).v1.payment_intents.retrieve(done["paymentId"])
    assert intent.status == "succeeded" and intent.payment_method == saved["paymentMethodId"]
    assert intent.customer == method.customer
    assert _balance(carol, token) == 4
    # the developer (an org owner) never sees Carol's saved cards, only their own (none)
    with OneClient(stack.url, token=stack.token()) as owner:
        assert owner.action("billing:list_payment_methods", {}) == []
        with pytest.raises(Exception, match="No such saved card"):
            owner.action("billing:remove_payment_method", {"paymentMethodId": saved["paymentMethodId"]})


def test_a_3ds_card_waits_for_the_buyer_then_the_signed_webhook_completes_it(
    stack: Stack, shop: dict[str, Any]
) -> None:
    carol, token = shop["carol"], shop["token"]
    before = _balance(carol, token)
    _save_card(stack, carol, "pm_card_authenticationRequired")
    purchase = _buy(carol, token, 6)
    waiting = until(lambda: (v := _view(carol, purchase))["status"] == "requires_action" and v, 60)
    assert waiting, _view(carol, purchase)
    assert waiting["clientSecret"].startswith(waiting["paymentId"] + "_secret_")
    assert waiting["nextAction"]["type"] == "use_stripe_sdk"
    with OneClient(stack.url, token=stack.token()) as owner:  # staff see the purchase, not its secret
        staff_view = _view(owner, purchase)
        assert staff_view["status"] == "requires_action" and staff_view.get("clientSecret") is None
    assert _stripe(stack).v1.payment_intents.retrieve(waiting["paymentId"]).status == "requires_action"
    time.sleep(1)  # it waits (no step running): nothing moves until the buyer acts
    assert _view(carol, purchase)["status"] == "requires_action" and _balance(carol, token) == before
    _authenticate(stack, waiting, success=True)
    done = _final(carol, purchase)
    assert done["status"] == "completed" and done["transactionHash"].startswith("0x"), done
    assert done.get("clientSecret") is None
    assert _stripe(stack).v1.payment_intents.retrieve(done["paymentId"]).status == "succeeded"
    assert _balance(carol, token) == before + 6


def test_a_failed_authentication_charges_and_mints_nothing(stack: Stack, shop: dict[str, Any]) -> None:
    carol, token = shop["carol"], shop["token"]
    before = _balance(carol, token)
    supply = _circulating(stack, token)
    _save_card(stack, carol, "pm_card_authenticationRequired")
    purchase = _buy(carol, token, 8)
    waiting = until(lambda: (v := _view(carol, purchase))["status"] == "requires_action" and v, 60)
    assert waiting
    _authenticate(stack, waiting, success=False)
    failed = _final(carol, purchase)
    assert failed["status"] == "failed" and failed["failureCode"] == "PAYMENT_FAILED", failed
    assert "authentication" in failed["failureReason"]
    intent = _stripe(stack).v1.payment_intents.retrieve(failed["paymentId"])
    assert intent.status in ("canceled", "requires_payment_method") and not intent.latest_charge
    assert failed["transactionHash"] is None
    assert _balance(carol, token) == before and _circulating(stack, token) == supply


def _circulating(stack: Stack, token: str) -> int:
    with OneClient(stack.url, token=stack.token()) as owner:
        return int(owner.query("tokens:get", {"id": token})["properties"].get("circulatingSupply", 0))


def _signed(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def test_the_webhook_refuses_what_stripe_did_not_sign_and_events_seen_before(
    stack: Stack, shop: dict[str, Any]
) -> None:
    carol, token = shop["carol"], shop["token"]
    _save_card(stack, carol, "pm_card_authenticationRequired")
    purchase = _buy(carol, token, 10)
    waiting = until(lambda: (v := _view(carol, purchase))["status"] == "requires_action" and v, 60)
    assert waiting
    intent = _stripe(stack).v1.payment_intents.retrieve(waiting["paymentId"])
    # a forged "succeeded" for the waiting purchase (Stripe never said so)
    event = {
        "id": "evt_forged0001",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {**intent.to_dict(), "status": "succeeded"}},
    }
    body = json.dumps(event).encode()
    url = f"{stack.url}/api/stripe/webhook"
    for headers in (
        {},
        {"Stripe-Signature": _signed(body, secret="whsec_not_the_endpoints_secret")},
        {"Stripe-Signature": _signed(body, at=int(time.time()) - 3600)},  # replayed an hour later
        {"Stripe-Signature": _signed(body + b" ")},  # another body
    ):
        refused = httpx.post(url, content=body, headers={"content-type": "application/json", **headers})
        assert refused.status_code == 401, refused.text
        assert refused.json()["errorData"]["code"] == "UNAUTHENTICATED"
    assert _view(carol, purchase)["status"] == "requires_action"
    # signed with the endpoint's secret: applied (Stripe's own view decides: still waiting), then the
    # same event id again (Stripe's own retry) is acknowledged as a duplicate and changes nothing
    event["data"]["object"]["status"] = "requires_action"
    body = json.dumps(event).encode()
    first = httpx.post(url, content=body, headers={"Stripe-Signature": _signed(body)})
    assert first.status_code == 200 and first.json()["value"]["outcome"] == "requires_action", first.text
    again = httpx.post(url, content=body, headers={"Stripe-Signature": _signed(body)})
    assert again.status_code == 200 and again.json()["value"]["outcome"] == "duplicate", again.text
    assert _view(carol, purchase)["status"] == "requires_action"
    # the real one, from the stand-in, still completes it once
    _authenticate(stack, waiting, success=True)
    assert _final(carol, purchase)["status"] == "completed"
