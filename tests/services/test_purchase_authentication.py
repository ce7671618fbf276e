"""A card that asks for 3-D Secure, in the saga rig: the purchase waits in ``requires_action`` with
the client secret for its buyer only, and the execution waits without a running step; when the
buyer never authenticates, the wait times out and compensation voids the PaymentIntent (nothing
charged, nothing minted)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ontology.services import purchases
from tests.services.conftest import Shop


def _waiting(shop: Shop, purchase_id: str, who: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = dict(shop.call("tokens:get_purchase", {"purchaseId": purchase_id}, who))
        if view["status"] != "pending":
            return view
        time.sleep(0.05)
    raise AssertionError("the purchase never asked for authentication")


@pytest.mark.slow
def test_an_unauthenticated_purchase_times_out_and_is_voided(shop: Shop, rig: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(purchases, "AUTHENTICATION_SECONDS", 3)
    token, buyer = shop.token(symbol="TDS"), shop.buyer()
    purchase_id = shop.buy(token, 5, buyer, pm="pm_card_authenticationRequired")
    waiting = _waiting(shop, purchase_id, buyer)
    assert waiting["status"] == "requires_action"
    assert waiting["clientSecret"].startswith(waiting["paymentId"] + "_secret_")
    staff = shop.purchase(purchase_id)  # the organization's owner sees the purchase, not the secret
    assert staff["status"] == "requires_action" and staff.get("clientSecret") is None
    deadline = time.monotonic() + 30  # the waiting step records the execution's task token
    while not shop.record(purchase_id).get("taskToken") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shop.record(purchase_id)["taskToken"]
    assert rig.outcome(purchase_id) == "PurchaseFailed"
    # the wait was one Lambda invocation, then no step ran until the timeout
    assert rig.task_attempts(purchase_id, "AwaitAuthentication") == 1
    view = shop.check(purchase_id, token)
    assert view["status"] == "failed" and view["failureReason"] == "The purchase timed out", view
    assert view.get("clientSecret") is None
    (intent,) = rig.intents_of(purchase_id)
    assert intent.status == "canceled" and not intent.latest_charge
    assert shop.ledger(token) == {} and shop.supply(token) == 0


def test_a_3ds_card_fails_at_once_when_stripe_refuses_it_off_the_page(shop: Shop, rig: Any) -> None:
    """The outcome arrives before the execution told anyone: the waiting step itself asks Stripe."""
    token, buyer = shop.token(symbol="TDF"), shop.buyer()
    purchase_id = shop.buy(token, 2, buyer, pm="pm_card_authenticationRequired")
    waiting = _waiting(shop, purchase_id, buyer)
    assert waiting["status"] == "requires_action"
    import httpx

    intent = waiting["paymentId"]
    answer = httpx.post(
        f"{rig.stripe_url}/v1/payment_intents/{intent}/_authenticate",
        data={"key": "pk_test_rig", "client_secret": waiting["clientSecret"], "success": "false"},
    )
    assert answer.status_code == 200, answer.text
    # no webhook reaches the rig: the buyer's page asks again, as a retried step would
    assert purchases.authentication_outcome(shop.org, purchase_id) == "declined"
    assert rig.outcome(purchase_id) == "PurchaseFailed"
    view = shop.check(purchase_id, token)
    assert view["status"] == "failed" and view["failureCode"] == "PAYMENT_FAILED", view
    assert shop.ledger(token) == {} and shop.supply(token) == 0
