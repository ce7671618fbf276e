"""Provider ports through the real SDKs against the local stand-ins on loopback: payments against
localstripe (stripe SDK), AI against the local OpenAI-compatible endpoint (openai SDK); email."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ontology.errors import PaymentFailedError
from tests.conftest import ROOT
from tests.servers import free_port, serve


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    state = tmp_path_factory.mktemp("stripe") / "stripe.pickle"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.stripe_server", "--port", str(port), "--state-file", str(state)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/v1/customers")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def payments(localstripe: str):
    from ontology.providers.payments import StripePayments

    return StripePayments(api_key="sk_test_local", api_base=localstripe)


def test_stripe_charge_capture_refund(payments) -> None:
    intent = payments.create_intent(
        amount=1999,
        currency="usd",
        payment_method="pm_card_visa",
        idempotency_key="k1",
        metadata={"purchase": "p1"},
    )
    assert intent.status in ("requires_confirmation", "requires_payment_method")
    confirmed = payments.confirm(intent.id, idempotency_key="k1-confirm")
    assert confirmed.status == "succeeded" and confirmed.amount == 1999
    assert payments.retrieve(intent.id).status == "succeeded"
    assert payments.refund(intent.id, idempotency_key="k1-refund").startswith("re_")


def test_stripe_authorize_then_capture_or_void(payments) -> None:
    held = payments.create_intent(
        amount=500,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        capture_method="manual",
        idempotency_key="k2",
    )
    assert held.status == "requires_capture"
    assert payments.capture(held.id, idempotency_key="k2-capture").status == "succeeded"
    voided = payments.create_intent(
        amount=500,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        capture_method="manual",
        idempotency_key="k3",
    )
    assert payments.cancel(voided.id, idempotency_key="k3-cancel").status == "canceled"


def test_stripe_declined_card_is_payment_failed(payments) -> None:
    with pytest.raises(PaymentFailedError):
        payments.create_intent(
            amount=500,
            currency="usd",
            payment_method="pm_card_chargeCustomerFail",
            confirm=True,
            idempotency_key="k4",
        )


@pytest.fixture(scope="module")
def local_openai() -> Iterator[str]:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from infra.local.openai_stub import ROUTES

    app = Starlette(routes=[Route(path, fn, methods=["POST"]) for path, fn in ROUTES.items()])
    with serve(app) as base:
        yield f"{base}/_local/openai/v1"


def test_ai_chat_and_embeddings_through_the_openai_sdk(local_openai: str) -> None:
    import openai

    from ontology.providers.ai import OpenAIProvider

    ai = OpenAIProvider(openai.OpenAI(api_key="local", base_url=local_openai))
    reply = ai.chat(system_prompt="You are a clone.", messages=[{"role": "user", "content": "Say hi"}])
    assert "local model" in reply.content and "Say hi" in reply.content
    assert reply.usage["total_tokens"] > 0 and reply.model.startswith("local/")
    again = ai.chat(system_prompt="You are a clone.", messages=[{"role": "user", "content": "Say hi"}])
    assert again.content == reply.content, "deterministic"
    vector = ai.embed("hello")
    assert len(vector) == 1536 and abs(sum(v * v for v in vector) - 1) < 1e-6
    assert ai.embed("hello") == vector and ai.embed("other") != vector


def test_structured_output_follows_the_schema_and_malformed_answers_are_retried(local_openai: str) -> None:
    from typing import Literal

    import httpx
    import openai
    from pydantic import BaseModel, Field

    from ontology.errors import MalformedAnswerError
    from ontology.providers.ai import OpenAIProvider

    class Step(BaseModel):
        title: str = Field(max_length=40)
        kind: Literal["video", "text", "quiz"]
        minutes: int = Field(ge=5, le=60)
        note: str | None

    class Plan(BaseModel):
        name: str
        steps: list[Step] = Field(min_length=7, max_length=7)

    client = openai.OpenAI(api_key="local", base_url=local_openai, max_retries=0)
    ai = OpenAIProvider(client)
    ask = {"system_prompt": "Plan.", "messages": [{"role": "user", "content": "Plan a course on sourdough"}]}
    plan = ai.chat_structured(**ask, schema=Plan)
    assert isinstance(plan, Plan) and len(plan.steps) == 7
    assert all(len(s.title) <= 40 and 5 <= s.minutes <= 60 for s in plan.steps)
    assert {s.kind for s in plan.steps} == {"video", "text", "quiz"} and "sourdough" in plan.name
    assert ai.chat_structured(**ask, schema=Plan) == plan, "deterministic"

    fail = local_openai.rsplit("/v1", 1)[0] + "/_fail"
    httpx.post(fail, json={"times": 2, "answer": "malformed"})
    assert ai.chat_structured(**ask, schema=Plan) == plan, "two malformed answers, the third validates"
    httpx.post(fail, json={"times": 3, "answer": "malformed"})
    with pytest.raises(MalformedAnswerError) as caught:
        ai.chat_structured(**ask, schema=Plan)
    assert caught.value.code == "UPSTREAM_ERROR" and "name: Field required" in str(caught.value)
    assert ai.chat_structured(**ask, schema=Plan) == plan, "the model answers well again"


def test_file_outbox_newest_first(tmp_path: Path) -> None:
    from ontology.providers.email import FileOutbox

    outbox = FileOutbox(tmp_path / "outbox")
    outbox.send(to="a@x.io", subject="first", html="<p>1</p>", text="1")
    time.sleep(0.002)
    outbox.send(to="b@x.io", subject="second", html="<p>2</p>", text="2")
    messages = outbox.messages()
    assert [m["subject"] for m in messages] == ["second", "first"]
    assert set(messages[0]) >= {"to", "subject", "text", "html", "sentAt"}


def test_resend_request_shape() -> None:
    from ontology.providers.email import ResendEmail

    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers["authorization"]
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, json={"id": "email_1"})

    email = ResendEmail(
        httpx.Client(transport=httpx.MockTransport(handler)), api_key="re_test", sender="n@one.dev"
    )
    assert email.send(to="a@x.io", subject="Hi", html="<b>hi</b>", text="hi") == "email_1"
    assert seen["url"] == "https://api.resend.com/emails" and seen["auth"] == "Bearer re_test"
    assert seen["body"] == {
        "from": "n@one.dev",
        "to": ["a@x.io"],
        "subject": "Hi",
        "html": "<b>hi</b>",
        "text": "hi",
    }


def test_local_stripe_honours_idempotency_keys(localstripe: str) -> None:
    """Stripe answers a repeated Idempotency-Key with the first answer, without acting twice, and
    refuses the key with other parameters; the local stand-in does the same."""
    import stripe

    client = stripe.StripeClient("sk_test_local", base_addresses={"api": localstripe}, max_network_retries=0)
    params = {"amount": 700, "currency": "usd", "payment_method": "pm_card_visa", "capture_method": "manual"}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-7"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-7"})
    assert first.id == again.id
    other = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-8"})
    assert other.id != first.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params={**params, "amount": 800}, options={"idempotency_key": "order-7"}
        )
    refunds_before = len(client.v1.refunds.list(params={"limit": 100}).data)
    client.v1.payment_intents.confirm(first.id, options={"idempotency_key": "order-7-confirm"})
    client.v1.payment_intents.capture(first.id, options={"idempotency_key": "order-7-capture"})
    for _ in range(2):
        client.v1.refunds.create(
            params={"payment_intent": first.id}, options={"idempotency_key": "order-7-refund"}
        )
    assert len(client.v1.refunds.list(params={"limit": 100}).data) == refunds_before + 1


def test_stripe_js_completing_a_setup_intents_3ds_saves_the_card(localstripe: str) -> None:
    """Stripe.js as the stand-in serves it (/js.stripe.com/v3/) saves a card: it confirms the
    SetupIntent with the card typed into its card element (JSON, the publishable key and the client
    secret); a card that asks for 3-D Secure waits, and its "Complete authentication" confirms the
    SetupIntent again with the client secret alone. The card is then the customer's, as Stripe has it."""
    import stripe

    client = stripe.StripeClient("sk_test_local", base_addresses={"api": localstripe}, max_network_retries=0)
    customer = client.v1.customers.create()
    setup = client.v1.setup_intents.create(params={"customer": customer.id})
    page = {"key": "pk_test_local", "use_stripe_sdk": True, "client_secret": setup.client_secret}
    card = {"number": "4000002760003184", "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    url = f"{localstripe}/v1/setup_intents/{setup.id}/confirm"
    # Stripe.js posts JSON with no content type (a "simple" cross-origin request).
    first = httpx.post(
        url, content=json.dumps({**page, "payment_method_data": {"type": "card", "card": card}})
    )
    assert first.status_code == 200 and first.json()["status"] == "requires_action", first.text
    wrong = httpx.post(url, content=json.dumps({**page, "client_secret": setup.id + "_secret_forged"}))
    assert wrong.status_code == 401
    completed = httpx.post(url, content=json.dumps(page))
    assert completed.status_code == 200 and completed.json()["status"] == "succeeded", completed.text
    method = client.v1.payment_methods.retrieve(completed.json()["payment_method"])
    assert method.customer == customer.id
    listed = client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert [m.id for m in listed.data] == [method.id]
