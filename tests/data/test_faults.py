"""Fault injection around the commit: before, during and after TransactWriteItems, the table is
all-or-nothing, and a mutation is applied at most once (exactly once when it reports success)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ontology import UpstreamError, run_mutation, run_query
from ontology.data.dynamodb import default_store
from tests.data.helpers import ORG, entity

BATCH = 4


class BoomError(Exception):
    """An injected failure (a dropped connection, a crash)."""


@pytest.fixture
def counter(table: str) -> str:
    return run_mutation(lambda db: db.insert("entities", entity("metric", "counter", value=0)), org=ORG)


def _mutation(counter_id: str):
    """Increments the counter and inserts BATCH posts: 1 + BATCH items that must land together."""

    def body(db) -> None:
        doc = db.get(counter_id)
        db.patch(counter_id, {"properties": {"value": doc["properties"]["value"] + 1}})
        for i in range(BATCH):
            db.insert("entities", entity("blog_post", f"post {i}"))

    return body


def _state(counter_id: str) -> tuple[int, int]:
    value = run_query(lambda db: db.get(counter_id), org=ORG)["properties"]["value"]
    posts = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "blog_post")).collect(),
        org=ORG,
    )
    return value, len(posts)


@pytest.fixture
def inject() -> Iterator[Any]:
    client = default_store().client
    registered: list[tuple[str, Any]] = []

    def add(event: str, times: int | None) -> dict[str, int]:
        seen = {"calls": 0}

        def handler(**_: Any) -> None:
            seen["calls"] += 1
            if times is None or seen["calls"] <= times:
                raise BoomError(event)

        client.meta.events.register(event, handler)
        registered.append((event, handler))
        return seen

    yield add
    for event, handler in registered:
        client.meta.events.unregister(event, handler)


@pytest.mark.parametrize("phase", ["before-call", "after-call"])
def test_one_transient_fault_is_absorbed_and_applied_exactly_once(counter: str, inject, phase: str) -> None:
    seen = inject(f"{phase}.dynamodb.TransactWriteItems", times=1)
    run_mutation(_mutation(counter), org=ORG)
    assert seen["calls"] == 2, "the commit was re-sent once"
    assert _state(counter) == (1, BATCH)


def test_persistent_fault_before_sending_writes_nothing(counter: str, inject) -> None:
    inject("before-call.dynamodb.TransactWriteItems", times=None)
    with pytest.raises(UpstreamError):
        run_mutation(_mutation(counter), org=ORG)
    assert _state(counter) == (0, 0)


def test_persistent_fault_after_the_write_reports_unknown_but_applied_once(counter: str, inject) -> None:
    inject("after-call.dynamodb.TransactWriteItems", times=None)
    with pytest.raises(UpstreamError):
        run_mutation(_mutation(counter), org=ORG)
    assert _state(counter) == (1, BATCH), "all of it, once: never half, never twice"


@pytest.fixture
def fail_during(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the store fail while applying the n-th write of a transaction (moto's put_item)."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.put_item
    plan = {"fail_on": set(), "calls": 0}

    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        plan["calls"] += 1
        if plan["calls"] in plan["fail_on"]:
            raise BoomError("crash while applying")
        return original(self, table_name, item_attrs, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
    return plan


@pytest.mark.parametrize("nth", [1, 2, BATCH + 1])
def test_fault_during_the_transaction_rolls_back_then_the_retry_lands(
    counter: str, fail_during, nth: int
) -> None:
    fail_during["calls"] = 0
    fail_during["fail_on"] = {nth}
    run_mutation(_mutation(counter), org=ORG)
    assert _state(counter) == (1, BATCH)


def test_fault_during_every_attempt_leaves_nothing(counter: str, fail_during) -> None:
    fail_during["calls"] = 0
    fail_during["fail_on"] = set(range(2, 10_000, 1))
    with pytest.raises(UpstreamError):
        run_mutation(_mutation(counter), org=ORG, max_attempts=3)
    fail_during["fail_on"] = set()
    assert _state(counter) == (0, 0)


def test_a_repeated_client_request_token_is_applied_once_as_dynamodb_does(table: str) -> None:
    """DynamoDB answers a TransactWriteItems whose ClientRequestToken it saw succeed (within 10
    minutes) without applying it again, and refuses the token for other items; so does the local
    stand-in, which the commit's re-send of an ambiguous attempt relies on."""
    from botocore.exceptions import ClientError

    store = default_store()

    def add(n: int) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "TableName": store.table_name,
                    "Key": {"pk": {"S": "tokens#probe"}, "sk": {"S": "D"}},
                    "UpdateExpression": "ADD n :n SET tb = :tb",
                    "ExpressionAttributeValues": {":n": {"N": str(n)}, ":tb": {"S": "_probe"}},
                }
            }
        ]

    store.transact_write(add(1), token="probe-token")
    store.transact_write(add(1), token="probe-token")
    assert store.get("tokens#probe", "D")["n"] == 1
    with pytest.raises(ClientError) as err:
        store.transact_write(add(2), token="probe-token")
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    store.transact_write(add(1), token="another-token")
    assert store.get("tokens#probe", "D")["n"] == 2
