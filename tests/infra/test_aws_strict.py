"""AWS-strict mode (``ONE_LOCAL_STRICT``): each facet makes the local stack behave as AWS documents
where the default, faster stack does not. These check the local stack's side, in-process on moto;
the platform's side (that it copes) is checked where each behaviour matters."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from infra.local import strict
from tests.conftest import LagClock

pytestmark = pytest.mark.aws_strict


# --------------------------------------------------------------------------------------- settings


def test_strict_mode_is_off_unless_asked_for() -> None:
    assert strict.Strict.from_env({}).facets == frozenset()
    assert strict.Strict.from_env({"ONE_LOCAL_STRICT": "0"}).facets == frozenset()
    assert strict.Strict.from_env({"ONE_LOCAL_STRICT": "1"}).facets == frozenset(strict.FACETS)
    some = strict.Strict.from_env({"ONE_LOCAL_STRICT": "gsi-lag, ttl", "ONE_LOCAL_GSI_LAG_MS": "250"})
    assert some.facets == {"gsi-lag", "ttl"} and some.gsi_lag_ms == 250
    with pytest.raises(ValueError, match="unknown facet"):
        strict.Strict.from_env({"ONE_LOCAL_STRICT": "gsi-lag,latency"})


# -------------------------------------------------------------------------------------------- ttl


def _put_expiring(table: str, key: str, expired_seconds_ago: float) -> None:
    import boto3

    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=table,
        Item={
            "pk": {"S": key},
            "sk": {"S": "R"},
            "ttl": {"N": str(int(time.time() - expired_seconds_ago))},
        },
    )


def _present(table: str, key: str) -> bool:
    import boto3

    got = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=table, Key={"pk": {"S": key}, "sk": {"S": "R"}}
    )
    return "Item" in got


def test_by_default_expired_items_go_at_the_next_sweep(table: str) -> None:
    from infra.local.moto_patches import expire_ttl_items

    _put_expiring(table, "a", 60)
    assert expire_ttl_items() == 1 and not _present(table, "a")


def test_strict_ttl_keeps_expired_items_for_days(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    from infra.local.moto_patches import STRICT_TTL_DELAY, expire_ttl_items

    strict_mode("ttl")
    for key in ("a", "b", "c"):
        _put_expiring(table, key, 3600)
    assert expire_ttl_items() == 0
    assert all(_present(table, k) for k in "abc")  # an hour past expiry: still read
    assert expire_ttl_items(now=time.time() + STRICT_TTL_DELAY[1]) == 3


# -------------------------------------------------------------------------------------- conflicts


def _ddb() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name="us-east-1")


def _put(key: str) -> dict[str, Any]:
    return {"Put": {"TableName": "one-test", "Item": {"pk": {"S": key}, "sk": {"S": "D"}}}}


def test_by_default_transactions_never_conflict(table: str) -> None:
    from infra.local.conflicts import transaction_in_flight

    with transaction_in_flight(table, {"pk": {"S": "x"}, "sk": {"S": "D"}}):
        _ddb().transact_write_items(TransactItems=[_put("x")])


def test_a_transaction_on_an_item_another_holds_is_cancelled_with_transaction_conflict(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    from botocore.exceptions import ClientError

    from infra.local.conflicts import transaction_in_flight

    strict_mode("conflicts", transaction_ms=1)
    ddb = _ddb()
    with transaction_in_flight(table, {"pk": {"S": "x"}, "sk": {"S": "D"}}):
        with pytest.raises(ClientError) as cancelled:
            ddb.transact_write_items(TransactItems=[_put("y"), _put("x")])
        error = cancelled.value.response
        assert error["Error"]["Code"] == "TransactionCanceledException"
        assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "TransactionConflict"]
        assert error["CancellationReasons"][1]["Message"] == "Transaction is ongoing for the item"
        assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "y"}, "sk": {"S": "D"}})
        for write in (
            lambda: ddb.put_item(TableName=table, Item={"pk": {"S": "x"}, "sk": {"S": "D"}}),
            lambda: ddb.delete_item(TableName=table, Key={"pk": {"S": "x"}, "sk": {"S": "D"}}),
            lambda: ddb.update_item(
                TableName=table,
                Key={"pk": {"S": "x"}, "sk": {"S": "D"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "1"}},
            ),
        ):
            with pytest.raises(ClientError) as refused:
                write()
            assert refused.value.response["Error"]["Code"] == "TransactionConflictException"
        ddb.put_item(TableName=table, Item={"pk": {"S": "z"}, "sk": {"S": "D"}})  # another item: fine
    ddb.transact_write_items(TransactItems=[_put("y"), _put("x")])  # released: it goes through


def test_a_transaction_holds_its_items_until_its_response_leaves(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    """What makes overlapping transactions conflict: the items of an accepted transaction stay held
    for its commit's duration, and its caller hears back only then."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra.local import conflicts

    strict_mode("conflicts", transaction_ms=5)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    ident = conflicts.item_ident(backend.get_table(table), {"pk": {"S": "x"}, "sk": {"S": "D"}})
    conflicts.enter()  # a request starts
    backend.transact_write_items([_put("x")])
    assert conflicts.held([ident]) == [True]
    conflicts.leave()  # its response leaves
    assert conflicts.held([ident]) == [False]


def _counter(org: str) -> str:
    """A document whose ``value`` the mutations below add one to (an entity: a tag's value is its
    identity and never changes)."""
    from ontology import run_mutation

    metric = {"type": "metric", "name": "n", "createdAt": 1, "updatedAt": 1, "properties": {"value": 0}}
    return run_mutation(lambda db: db.insert("entities", metric), org=org)


def _increment(doc_id: str) -> Callable[[Any], None]:
    def increment(db: Any) -> None:
        metric = db.get(doc_id, "entities")
        db.patch(doc_id, {"properties": {"value": metric["properties"]["value"] + 1}}, "entities")

    return increment


def test_a_mutation_that_meets_a_conflict_runs_again_and_lands_once(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    import threading

    from infra.local import conflicts
    from ontology import run_mutation, run_query
    from ontology.data.keys import DOC_SK

    strict_mode("conflicts", transaction_ms=1)
    org = "org_conflicts"
    doc_id = _counter(org)
    before = conflicts.raised()
    done = threading.Event()
    with conflicts.transaction_in_flight(table, {"pk": {"S": f"{org}#{doc_id}"}, "sk": {"S": DOC_SK}}):
        worker = threading.Thread(target=lambda: (run_mutation(_increment(doc_id), org=org), done.set()))
        worker.start()
        deadline = time.monotonic() + 30
        while conflicts.raised() == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert conflicts.raised() > before  # its commit was cancelled at least once
        assert not done.is_set()
    worker.join(timeout=60)
    assert done.is_set()
    assert run_query(lambda db: db.get(doc_id, "entities"), org=org)["properties"]["value"] == 1


def test_concurrent_increments_through_mutations_all_land_once(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ontology import run_mutation, run_query

    strict_mode("conflicts", transaction_ms=20)
    org = "org_counter"
    doc_id = _counter(org)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: run_mutation(_increment(doc_id), org=org), range(24)))
    assert run_query(lambda db: db.get(doc_id, "entities"), org=org)["properties"]["value"] == 24


# ---------------------------------------------------------------------------------------- gsi-lag


def _by_type(org: str, kind: str) -> list[str]:
    from ontology import run_query

    return [
        d["name"]
        for d in run_query(
            lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", kind)).collect(),
            org=org,
        )
    ]


def _entity(name: str, kind: str = "audience_member") -> dict[str, Any]:
    return {"type": kind, "name": name, "status": "active", "createdAt": 1, "updatedAt": 1, "properties": {}}


def test_by_default_a_gsi_reads_its_writes(table: str) -> None:
    from ontology import run_mutation

    run_mutation(lambda db: db.insert("entities", _entity("Ada")), org="org_a")
    assert _by_type("org_a", "audience_member") == ["Ada"]


def test_strict_gsis_show_writes_only_after_the_lag(
    table: str, strict_mode: Callable[..., strict.Strict], lag_clock: LagClock
) -> None:
    from ontology import run_mutation, run_query

    strict_mode("gsi-lag", gsi_lag_ms=1000)
    org = "org_lag"
    ada = run_mutation(lambda db: db.insert("entities", _entity("Ada")), org=org)
    bob = run_mutation(lambda db: db.insert("entities", _entity("Bob")), org=org)
    lag_clock.now += 2
    assert _by_type(org, "audience_member") == ["Ada", "Bob"]
    run_mutation(lambda db: db.insert("entities", _entity("Cy")), org=org)  # new: not there yet
    run_mutation(lambda db: db.patch(ada, {"type": "lead", "name": "Ada Ltd"}), org=org)  # moved
    run_mutation(lambda db: db.delete(bob), org=org)  # deleted: still there
    assert _by_type(org, "audience_member") == ["Ada", "Bob"]
    assert _by_type(org, "lead") == []
    # the base table is consistent: a point read sees every write at once
    assert run_query(lambda db: db.get(ada)["name"], org=org) == "Ada Ltd"
    assert run_query(lambda db: db.get(bob), org=org) is None
    lag_clock.now += 0.5
    assert _by_type(org, "audience_member") == ["Ada", "Bob"]
    lag_clock.now += 0.6
    assert _by_type(org, "audience_member") == ["Cy"]
    assert _by_type(org, "lead") == ["Ada Ltd"]


# ---------------------------------------------------------------------------------------- vectors


@pytest.fixture
def s3vectors(table: str) -> Any:
    import boto3

    from infra.local.vectors import local_vectors

    with local_vectors(8, "one-test") as made:
        yield boto3.client("s3vectors", region_name="us-east-1"), made


def _vectors(client: Any, arn: str, n: int) -> list[list[float]]:
    import numpy as np

    rows = np.random.default_rng(7).standard_normal((n, 8)).astype(np.float32)
    client.put_vectors(
        indexArn=arn,
        vectors=[
            {"key": f"k{i:03d}", "data": {"float32": [float(x) for x in r]}} for i, r in enumerate(rows)
        ],
    )
    return [[float(x) for x in r] for r in rows]


def _nearest(client: Any, arn: str, query: list[float], k: int) -> list[str]:
    found = client.query_vectors(indexArn=arn, queryVector={"float32": query}, topK=k, returnDistance=True)
    distances = [v["distance"] for v in found["vectors"]]
    assert distances == sorted(distances)  # nearest first, whatever it found
    return [v["key"] for v in found["vectors"]]


def test_by_default_vector_search_is_exact(s3vectors: Any) -> None:
    client, made = s3vectors
    arn = _knowledge_arn(made)
    rows = _vectors(client, arn, 200)
    assert _nearest(client, arn, rows[0], 1) == ["k000"]


def _knowledge_arn(made: dict[str, str]) -> str:
    return next(v for k, v in made.items() if k != "VectorBucket")


def test_strict_vector_search_misses_some_neighbours_the_same_way_each_time(
    s3vectors: Any, strict_mode: Callable[..., strict.Strict]
) -> None:
    from botocore.exceptions import ClientError

    client, made = s3vectors
    arn = _knowledge_arn(made)
    rows = _vectors(client, arn, 200)
    exact = [_nearest(client, arn, rows[i], 10) for i in range(20)]
    strict_mode("vectors", vector_recall=0.8)
    approximate = [_nearest(client, arn, rows[i], 10) for i in range(20)]
    assert approximate == [_nearest(client, arn, rows[i], 10) for i in range(20)]  # deterministic
    assert all(len(a) == 10 for a in approximate)  # still topK results, when there are enough
    found = sum(len(set(a) & set(e)) for a, e in zip(approximate, exact, strict=True)) / 200
    assert 0.6 < found < 0.95  # about the recall asked for: some true neighbours are missed
    with pytest.raises(ClientError) as refused:
        client.query_vectors(indexArn=arn, queryVector={"float32": rows[0]}, topK=101)
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_remembered_endpoint_prefixes_give_botocores_regions() -> None:
    """The local stack reads each service's endpoint prefix once per process: every partition's
    regions, a global service's and an unknown service's answer are still botocore's own."""
    import botocore.session

    from infra.local.moto_patches import install_moto_patches

    install_moto_patches()
    botocore_own = botocore.session.Session.get_available_regions.__wrapped__  # type: ignore[attr-defined]
    for service, partition, non_regional in [
        ("ec2", "aws", False),
        ("ec2", "aws-cn", False),
        ("ec2", "aws-us-gov", False),
        ("s3", "aws", False),
        ("iam", "aws", True),
        ("no-such-service", "aws", False),
    ]:
        session = botocore.session.Session()
        expected = botocore_own(session, service, partition_name=partition, allow_non_regional=non_regional)
        got = session.get_available_regions(
            service, partition_name=partition, allow_non_regional=non_regional
        )
        assert got == expected and (got or service == "no-such-service"), service
