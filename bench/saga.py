"""The token purchase saga, per purchase, on moto's Step Functions interpreter with localstripe and
the local EVM (infra.local.rig): states executed, Stripe calls, chain JSON-RPC requests and DynamoDB
requests, for a completed purchase and for a declined card. Counts only, never times."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import Counter as DynamoCounter
from bench.harness import fake_aws_env, result

PURCHASES = 5


class CountingPayments:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return fn(*args, **kwargs)

        return call


def _identity(org: str, entity: str) -> dict[str, str]:
    return {"userId": "usr_bench", "organizationId": org, "role": "org_owner", "entityId": entity}


def run() -> list[dict[str, Any]]:
    fake_aws_env()
    from infra.local.rig import saga_rig
    from ontology import run_mutation
    from ontology.auth.people import create_user_with_organization, new_organization_id
    from ontology.data.dynamodb import add_listener, remove_listener
    from ontology.providers.payments import get_payments, set_payments
    from ontology.runtime.jobs import execute_job, pending_jobs
    from ontology.runtime.registry import resolve

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, saga_rig(Path(tmp)) as rig:
        org = new_organization_id()
        made = run_mutation(
            lambda db: create_user_with_organization(
                db,
                org_id=org,
                email="bench@example.com",
                name="Bench",
                email_verified=True,
                organization_name="B",
            ),
            org=org,
            platform=True,
        )
        me = _identity(org, made["entityId"])
        creator = resolve("creators:create")(
            {"email": "c@example.com", "name": "C", "niche": [], "_auth": me}
        )
        token = resolve("tokens:create")(
            {"creatorId": creator["creatorId"], "name": "Bench", "symbol": "BEN", "priceUsd": 1, "_auth": me}
        )["tokenId"]
        payments = CountingPayments(get_payments())
        set_payments(payments)  # type: ignore[arg-type]
        dynamo = DynamoCounter()
        add_listener(dynamo)
        try:
            for label, method, final in (
                ("completed", "pm_card_visa", "completed"),
                ("declined card", "pm_card_chargeCustomerFail", "failed"),
            ):
                states = stripe = rpc = ddb = 0
                for _ in range(PURCHASES):
                    payments.calls.clear()
                    dynamo.reset()
                    rpc_before = rig.chain.requests
                    started = resolve("tokens:purchase")(
                        {"tokenId": token, "amount": 2, "paymentMethodId": method, "_auth": me}
                    )
                    # the scheduled start of the saga (tokens:start_purchase): in AWS the stream hands
                    # the job over, so the bench's own lookup of it is not counted; running it is
                    before = len(dynamo.requests)
                    jobs = pending_jobs()
                    del dynamo.requests[before:]
                    for job_id in jobs:
                        execute_job(job_id)
                    rig.wait(started["purchaseId"])
                    view = resolve("tokens:get_purchase")({"purchaseId": started["purchaseId"], "_auth": me})
                    assert view["status"] == final, view
                    history = rig.history(started["purchaseId"])
                    states += sum(1 for e in history if e["type"].endswith("StateEntered"))
                    stripe += sum(payments.calls.values())
                    rpc += rig.chain.requests - rpc_before
                    ddb += len(dynamo.requests)
                # DynamoDB: +5 since tokens:purchase is a mutation that schedules the saga's start (as
                # the reference calls it): the job's read and its pending -> inProgress -> success
                budgets = {
                    "completed": (5, 5, 12, 35),
                    "declined card": (6, 5, 0, 25),
                }[label]
                for name, value, budget in zip(
                    ("states executed", "Stripe calls", "chain JSON-RPC requests", "DynamoDB requests"),
                    (states / PURCHASES, stripe / PURCHASES, rpc / PURCHASES, ddb / PURCHASES),
                    budgets,
                    strict=True,
                ):
                    out.append(
                        result(
                            f"purchase saga ({label}): {name} per purchase",
                            value,
                            f"<= {budget}",
                            value <= budget,
                        )
                    )
        finally:
            remove_listener(dynamo)
    return out
