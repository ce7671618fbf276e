"""Seeded organizations and fake providers for the jobs' tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ontology import run_mutation
from ontology.errors import PaymentFailedError
from ontology.providers.ai import ChatReply
from ontology.providers.payments import PaymentIntent


def make_org(name: str) -> str:
    from ontology.auth.people import create_user_with_organization, new_organization_id

    org = new_organization_id()
    run_mutation(
        lambda db: create_user_with_organization(
            db,
            org_id=org,
            email=f"{name.lower()}@x.io",
            name=name,
            email_verified=True,
            organization_name=name,
        ),
        org=org,
        platform=True,
    )
    return org


def insert(org: str, table: str, doc: dict[str, Any]) -> str:
    return run_mutation(lambda db: db.insert(table, doc), org=org)


def entity(org: str, kind: str, name: str, status: str | None = "active", **props: Any) -> str:
    doc: dict[str, Any] = {"type": kind, "name": name, "createdAt": 1, "updatedAt": 1, "properties": props}
    if status:
        doc["status"] = status
    return insert(org, "entities", doc)


def creator(org: str, name: str, status: str = "active") -> str:
    return entity(
        org,
        "creator",
        name,
        status,
        email=f"{name.lower()}@c.io",
        username=name.lower(),
        displayName=name,
        niche=["fitness"],
    )


def connect(org: str, src: str, dst: str, rel: str, t: int = 1) -> str:
    return insert(
        org, "connections", {"fromEntityId": src, "toEntityId": dst, "relationshipType": rel, "createdAt": t}
    )


class FakeAI:
    def __init__(self) -> None:
        self.calls = 0

    def chat(
        self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7
    ) -> ChatReply:
        self.calls += 1
        return ChatReply(content=f"draft for: {messages[-1]['content']}", model="fake")

    def embed(self, text: str) -> list[float]:
        return [0.0]


@dataclass
class FakePayments:
    """Stripe's semantics for what billing uses; counts successful charges."""

    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: list[str] = field(default_factory=list)
    crash_after_confirm: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _pi(self, pid: str) -> PaymentIntent:
        i = self.intents[pid]
        return PaymentIntent(pid, i["status"], i["amount"], i["currency"])

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
        pid = f"pi_{next(self._ids)}"
        self.intents[pid] = {
            "status": "requires_confirmation",
            "amount": amount,
            "currency": currency,
            "pm": payment_method,
            "key": idempotency_key,
        }
        return self._pi(pid)

    def confirm(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        i = self.intents[intent_id]
        if i["pm"] == "pm_card_chargeCustomerFail":
            i["status"] = "requires_payment_method"
            raise PaymentFailedError("Your card was declined.")
        i["status"] = "succeeded"
        self.charges.append(intent_id)
        if self.crash_after_confirm:
            self.crash_after_confirm -= 1
            raise RuntimeError("the Lambda died after Stripe charged")
        return self._pi(intent_id)

    def retrieve(self, intent_id: str) -> PaymentIntent:
        return self._pi(intent_id)

    def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        return self._pi(intent_id)

    def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        self.intents[intent_id]["status"] = "canceled"
        return self._pi(intent_id)

    def refund(self, intent_id: str, *, idempotency_key: str) -> str:
        return "re_1"


@pytest.fixture
def fake_ai(table: str) -> Iterator[FakeAI]:
    from ontology.providers.ai import set_ai

    ai = FakeAI()
    set_ai(ai)
    yield ai
    set_ai(None)


@pytest.fixture
def fake_payments(table: str) -> Iterator[FakePayments]:
    from ontology.providers.payments import set_payments

    payments = FakePayments()
    set_payments(payments)
    yield payments
    set_payments(None)
