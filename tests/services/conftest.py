"""The purchase saga in one process (infra.local.rig): moto's Step Functions interpreter running the
template's ASL, the step Lambdas in-process, localstripe and the local EVM on loopback. Retry waits
are shortened a hundredfold (only here). Faults are injected around the providers' effects and
around whole step invocations."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ontology.errors import UpstreamError

FINAL = ("completed", "failed", "refunded")


class CrashError(Exception):
    """The step's runtime died (Lambda reports Runtime.ExitError)."""

    lambda_error_type = "Runtime.ExitError"


class TimedOutError(Exception):
    """The step ran out of time (Lambda reports Sandbox.Timedout)."""

    lambda_error_type = "Sandbox.Timedout"


class Faults:
    """Armed faults: at a point, ``error`` every time (an outage); once ``crash_before``,
    ``crash_after`` or ``timeout_after`` the effect; or ``lost_after``: the effect happens and the
    step crashes right after it, every time (its outcome is never recorded by the execution)."""

    def __init__(self) -> None:
        self.plan: dict[str, str] = {}
        self.fired: Counter[str] = Counter()

    def arm(self, point: str, mode: str) -> None:
        self.plan[point] = mode

    def clear(self) -> None:
        self.plan.clear()
        self.fired.clear()

    def around(self, point: str, effect: Callable[[], Any]) -> Any:
        mode = self.plan.get(point)
        if mode is None:
            return effect()
        if mode == "error":
            self.fired[point] += 1
            raise UpstreamError(f"injected outage at {point}")
        if mode == "lost_after":
            self.fired[point] += 1
            effect()
            raise CrashError(f"injected crash after {point}")
        if self.fired[point]:
            return effect()
        self.fired[point] += 1
        if mode == "crash_before":
            raise CrashError(f"injected crash before {point}")
        effect()
        raise (CrashError if mode == "crash_after" else TimedOutError)(f"injected {mode} at {point}")


class FaultyPayments:
    def __init__(self, inner: Any, faults: Faults) -> None:
        self.inner, self.faults = inner, faults
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        point = {
            "create_intent": "intent",
            "confirm": "charge",
            "capture": "capture",
            "cancel": "refund",
            "refund": "refund",
        }.get(name)
        fn = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if point is None:
                return fn(*args, **kwargs)
            return self.faults.around(point, lambda: fn(*args, **kwargs))

        return call


class FaultyChain:
    def __init__(self, inner: Any, faults: Faults) -> None:
        self.inner, self.faults = inner, faults
        self.kinds: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        #: every transaction that reached the node, by hash (a re-send of one is one entry)
        self.received: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return call

    @property
    def custody_address(self) -> str:
        return str(self.inner.custody_address)

    def sequenced(self) -> Any:
        return self.inner.sequenced()

    def sign_mint(self, *args: Any, **kwargs: Any) -> Any:
        tx = self.inner.sign_mint(*args, **kwargs)
        self.kinds[tx.hash] = "mint"
        return tx

    def sign_burn(self, *args: Any, **kwargs: Any) -> Any:
        tx = self.inner.sign_burn(*args, **kwargs)
        self.kinds[tx.hash] = "burn"
        return tx

    def sign_deploy(self, *args: Any, **kwargs: Any) -> Any:
        self.calls["sign_deploy"] += 1
        tx = self.inner.sign_deploy(*args, **kwargs)
        self.kinds[tx.hash] = "deploy"
        return tx

    def deploys_sent(self) -> int:
        """Deploy transactions the node received (a re-send of the same one counts again)."""
        return self.calls["send:deploy"]

    def deploys_received(self) -> set[str]:
        """The distinct deploy transactions the node received."""
        return {h for h in self.received if self.kinds.get(h) == "deploy"}

    def send(self, tx: Any) -> None:
        kind = self.kinds.get(tx.hash, "mint")
        self.calls["send"] += 1

        def effect() -> None:
            self.inner.send(tx)
            self.calls[f"send:{kind}"] += 1  # reached the node
            self.received.add(tx.hash)

        self.faults.around(kind, effect)


@dataclass
class Who:
    userId: str
    organizationId: str
    role: str
    entityId: str

    def context(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("userId", "organizationId", "role", "entityId")}


class Shop:
    """An organization, its owner and a creator, and helpers to buy and check."""

    def __init__(self, rig: Any, faults: Faults) -> None:
        from ontology import run_mutation
        from ontology.auth.people import create_user_with_organization, new_organization_id

        self.rig, self.faults = rig, faults
        org_id = new_organization_id()
        created = run_mutation(
            lambda db: create_user_with_organization(
                db,
                org_id=org_id,
                email=f"owner-{org_id.lower()}@example.com",
                name="Owner",
                email_verified=True,
                organization_name="Shop",
            ),
            org=org_id,
            platform=True,
        )
        self.org = org_id
        self.owner = Who(created["userId"], org_id, "org_owner", created["entityId"])
        self.creator = self.call(
            "creators:create",
            {"email": f"creator-{org_id.lower()}@example.com", "name": "Ada", "niche": ["math"]},
        )["creatorId"]

    def call(self, path: str, args: dict[str, Any], who: Who | None = None) -> Any:
        from ontology.runtime.jobs import run_pending
        from ontology.runtime.registry import resolve

        result = resolve(path)({**args, "_auth": (who or self.owner).context()})
        run_pending()  # what the scheduler would run next (tokens:purchase schedules the saga's start)
        return result

    def buyer(self, name: str = "Buyer") -> Who:
        from ontology import run_mutation

        now = int(time.time() * 1000)
        entity = run_mutation(
            lambda db: db.insert(
                "entities",
                {
                    "type": "audience_member",
                    "name": name,
                    "status": "active",
                    "createdAt": now,
                    "updatedAt": now,
                },
            ),
            org=self.org,
        )
        return Who(f"usr_{entity[4:]}", self.org, "customer", entity)

    def token(self, supply: int = 1_000, price: float = 1.0, symbol: str = "ADA") -> str:
        return str(
            self.call(
                "tokens:create",
                {
                    "creatorId": self.creator,
                    "name": f"{symbol} coin",
                    "symbol": symbol,
                    "priceUsd": price,
                    "totalSupply": supply,
                },
            )["tokenId"]
        )

    def card(self, number: str) -> str:
        """A card PaymentMethod made with the stripe SDK from a test card number; its id."""
        card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        return str(self.rig.stripe().v1.payment_methods.create(params={"type": "card", "card": card}).id)

    def buy(self, token: str, amount: int, who: Who, pm: str = "pm_card_visa", key: str | None = None) -> str:
        args: dict[str, Any] = {"tokenId": token, "amount": amount, "paymentMethodId": pm}
        if key:
            args["idempotencyKey"] = key
        started = self.call("tokens:purchase", args, who)
        assert started["status"] == "pending"
        return str(started["purchaseId"])

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        return dict(self.call("tokens:get_purchase", {"purchaseId": purchase_id}))

    def record(self, purchase_id: str) -> dict[str, Any]:
        from ontology import run_query
        from ontology.services.purchases import load

        return dict(run_query(lambda db: load(db, purchase_id), org=self.org)["properties"])

    def reconcile(self, ahead_seconds: int = 3600) -> Any:
        from datetime import UTC, datetime, timedelta

        from ontology.runtime.registry import resolve

        when = (datetime.now(UTC) + timedelta(seconds=ahead_seconds)).isoformat().replace("+00:00", "Z")
        # the job the reconciler's run schedules for this organization's group (its answer: outcomes)
        job = {"organizationIds": [self.org], "window": when, "time": when}
        return resolve("purchases:reconcile_organizations")(job)

    def ledger(self, token: str) -> dict[str, int]:
        from ontology import run_query

        rows = run_query(
            lambda db: (
                db.query("connections")
                .with_index(
                    "to_type", lambda q: q.eq("toEntityId", token).eq("relationshipType", "holds_tokens")
                )
                .collect()
            ),
            org=self.org,
        )
        return {r["fromEntityId"]: int(r["metadata"]["balance"]) for r in rows}

    def supply(self, token: str) -> int:
        from ontology.providers.chain import get_chain

        contract = self.call("tokens:get", {"id": token})["properties"]["contractAddress"]
        return int(get_chain().total_supply(contract))

    def check(self, purchase_id: str, token: str) -> dict[str, Any]:
        """The saga's invariants for one purchase of a fresh token, once it is final."""
        from ontology.providers.chain import get_chain

        view = self.purchase(purchase_id)
        props = self.record(purchase_id)
        assert view["status"] in FINAL, view
        intents = self.rig.intents_of(purchase_id)
        assert len(intents) <= 1, f"{len(intents)} PaymentIntents for one purchase"
        refunds = (
            self.rig.stripe().v1.refunds.list(params={"payment_intent": intents[0].id}).data
            if intents and intents[0].latest_charge
            else []
        )
        assert len(refunds) <= 1, "refunded twice"
        ledger = self.ledger(token)
        assert self.supply(token) == sum(ledger.values()), (self.supply(token), ledger)
        chain = get_chain()
        if view["status"] == "completed":
            assert intents and intents[0].status == "succeeded" and not refunds
            assert chain.tx_state(props["mintTx"]["hash"]) == "succeeded"
            assert ledger.get(props["buyerId"], 0) >= props["tokenAmount"]
            assert view["transactionHash"] == props["mintTx"]["hash"] and view["paymentId"] == intents[0].id
        else:
            if intents:
                pi = intents[0]
                if view["status"] == "refunded":
                    assert pi.status == "succeeded" and refunds and refunds[0].amount == pi.amount
                else:
                    # voided, declined, or never confirmed (created, then its id was lost): no money
                    assert pi.status in ("canceled", "requires_payment_method", "requires_confirmation"), (
                        pi.status
                    )
            assert props["mintStatus"] in ("none", "failed", "burned"), props["mintStatus"]
            if props["mintStatus"] == "burned":
                assert chain.tx_state(props["burnTx"]["hash"]) == "succeeded"
        return view


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from infra.local.rig import saga_rig

    with saga_rig(Path(tmp_path_factory.mktemp("rig")), retry_scale=0.01) as r:
        yield r


@pytest.fixture(scope="package")
def faults(rig: Any) -> Iterator[Faults]:
    from ontology.providers.chain import get_chain, set_chain
    from ontology.providers.payments import get_payments, set_payments

    f = Faults()
    payments, chain = FaultyPayments(get_payments(), f), FaultyChain(get_chain(), f)
    set_payments(payments)  # type: ignore[arg-type]
    set_chain(chain)  # type: ignore[arg-type]
    original = rig.runner.invoke

    def invoke(logical: str, event: Any) -> Any:
        point = {"PurchasesRecordFunction": "record", "PurchasesFinaliseFunction": "finalise"}.get(logical)
        if point is None:
            return original(logical, event)
        return f.around(point, lambda: original(logical, event))

    rig.runner.invoke = invoke
    f.payments, f.chain = payments, chain  # type: ignore[attr-defined]
    yield f
    rig.runner.invoke = original


@pytest.fixture
def shop(rig: Any, faults: Faults) -> Iterator[Shop]:
    faults.clear()
    yield Shop(rig, faults)
    faults.clear()


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
