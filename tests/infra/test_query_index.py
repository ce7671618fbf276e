"""The local stack's indexed Query answers exactly what moto's own full walk answers, and reads only
the key range: a property test on random tables, key conditions, limits, directions and pages."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local import query_index

KEYS = st.text(alphabet="abc\x00\x01é", min_size=1, max_size=4)


def _table(client: Any) -> str:
    import uuid

    name = f"qi-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": t}
            for a, t in (("pk", "S"), ("sk", "S"), ("gpk", "S"), ("gsk", "S"), ("npk", "S"), ("nsk", "N"))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": h, "KeyType": "HASH"},
                    {"AttributeName": r, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, h, r in (("gsi", "gpk", "gsk"), ("num", "npk", "nsk"))
        ],
    )
    return name


#: The examples' tags (each example's keys start with its own).
_EXAMPLES = itertools.count()
#: The table the examples share (made again when the ``aws`` fixture's moto no longer holds it).
_SHARED: list[str] = []


def _shared_table(client: Any) -> str:
    if not _SHARED or _SHARED[-1] not in client.list_tables()["TableNames"]:
        _SHARED.append(_table(client))
    return _SHARED[-1]


def _put_all(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    """Write ``items`` (distinct keys), 25 to a BatchWriteItem, as a loader would."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        assert not client.batch_write_item(RequestItems={table: requests})["UnprocessedItems"]


ITEMS = st.lists(
    st.tuples(
        KEYS,  # pk
        st.sampled_from(["D", "G"]),  # sk
        st.sampled_from(["p1", "p1", "p1", "p2"]),  # gpk
        KEYS,  # gsk
        st.integers(-3, 3),  # nsk
        st.booleans(),  # in the sparse index or not
    ),
    max_size=60,
)
STRING_CONDITIONS = st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with", None])


def _condition(index: str, op: str | None, a: Any, b: Any, tag: str) -> tuple[str, dict[str, Any]]:
    h, r, t = ("gpk", "gsk", "S") if index == "gsi" else ("npk", "nsk", "N")
    partition = f"{tag}p1"
    values: dict[str, Any] = {":h": {"S": partition}}
    expression = f"{h} = :h"
    lo, hi = (a, b) if str(a) <= str(b) or (t == "N" and a <= b) else (b, a)
    if t == "N":
        lo, hi = sorted((a, b))
    if op is None:
        return expression, values
    values[":a"] = {t: str(lo)}
    if op == "BETWEEN":
        values[":b"] = {t: str(hi)}
        return f"{expression} AND {r} BETWEEN :a AND :b", values
    if op == "begins_with":
        return f"{expression} AND begins_with({r}, :a)", values
    return f"{expression} AND {r} {op} :a", values


def _all_pages(client: Any, **query: Any) -> list[tuple[list[Any], Any]]:
    pages = []
    start = None
    for _ in range(60):
        args = dict(query)
        if start:
            args["ExclusiveStartKey"] = start
        out = client.query(**args)
        pages.append((out["Items"], out.get("LastEvaluatedKey")))
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    return pages


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=ITEMS,
    index=st.sampled_from(["gsi", "num", None]),
    op=STRING_CONDITIONS,
    a=KEYS,
    b=KEYS,
    na=st.integers(-4, 4),
    nb=st.integers(-4, 4),
    limit=st.one_of(st.none(), st.integers(1, 5)),
    forward=st.booleans(),
    with_filter=st.booleans(),
)
@pytest.mark.slow
def test_indexed_queries_answer_what_moto_answers(
    aws: None,
    items: list[tuple[Any, ...]],
    index: str | None,
    op: str | None,
    a: str,
    b: str,
    na: int,
    nb: int,
    limit: int | None,
    forward: bool,
    with_filter: bool,
) -> None:
    if True:  # inside the aws fixture's moto
        client = boto3.client("dynamodb", region_name="us-east-1")
        # one table for every example (made once: a table with its indexes is most of an example's
        # time), each example's partitions its own by a tag in front of their keys
        TABLE = _shared_table(client)
        tag = f"{next(_EXAMPLES)}#"
        # every key's first version, then its last: a later put of a key replaces the earlier
        first: dict[tuple[str, str], dict[str, Any]] = {}
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for pk, sk, gpk, gsk, nsk, indexed in items:
            item = {"pk": {"S": tag + pk}, "sk": {"S": sk}, "v": {"N": str(len(pk))}}
            if indexed:
                item |= {
                    "gpk": {"S": tag + gpk},
                    "gsk": {"S": gsk},
                    "npk": {"S": f"{tag}p1"},
                    "nsk": {"N": str(nsk)},
                }
            first.setdefault((pk, sk), item)
            latest.pop((pk, sk), None)
            latest[(pk, sk)] = item
        _put_all(client, TABLE, [item for key, item in first.items() if latest[key] is not item])
        _put_all(client, TABLE, list(latest.values()))
        # an update and a delete, so the index follows changes too
        if items:
            pk, sk = items[0][0], items[0][1]
            client.delete_item(TableName=TABLE, Key={"pk": {"S": tag + pk}, "sk": {"S": sk}})
        if index is None:
            key = items[-1][0] if items else "a"
            expression, values = "pk = :h", {":h": {"S": tag + key}}
            if op in ("=", "<", ">=", "begins_with"):
                values[":a"] = {"S": "D"}
                expression += " AND begins_with(sk, :a)" if op == "begins_with" else f" AND sk {op} :a"
        else:
            expression, values = _condition(
                index,
                op if index == "gsi" or op != "begins_with" else None,
                *((a, b) if index == "gsi" else (na, nb)),
                tag,
            )
        query: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": expression,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if index:
            query["IndexName"] = index
        if limit:
            query["Limit"] = limit
        if with_filter:
            query["FilterExpression"] = "v > :two"
            query["ExpressionAttributeValues"] = {**values, ":two": {"N": "2"}}
        indexed = _all_pages(client, **query)
        with _moto_own_query():
            plain = _all_pages(client, **query)
        assert indexed == plain, (expression, values, limit, forward)


@contextlib.contextmanager
def _moto_own_query() -> Iterator[None]:
    from moto.dynamodb.models.table import Table

    patched = Table.query
    Table.query = query_index.ORIGINAL_QUERY  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = patched  # type: ignore[method-assign]


def test_a_page_reads_only_its_key_range(aws: None) -> None:
    """1 item of a range among 2,000 in the same partition: moto's query is handed a few items."""
    if True:  # inside the aws fixture's moto
        client = boto3.client("dynamodb", region_name="us-east-1")
        TABLE = _table(client)
        _put_all(
            client,
            TABLE,
            [
                {"pk": {"S": f"k{i}"}, "sk": {"S": "D"}, "gpk": {"S": "p1"}, "gsk": {"S": f"s{i:05d}"}}
                for i in range(2000)
            ],
        )
        handed: list[int] = []
        choose = query_index.candidates

        def counting(*args: Any, **kwargs: Any) -> Any:
            found = choose(*args, **kwargs)
            handed.append(len(found))
            return found

        query_index.candidates = counting  # type: ignore[assignment]
        try:
            out = client.query(
                TableName=TABLE,
                IndexName="gsi",
                KeyConditionExpression="gpk = :h AND gsk BETWEEN :a AND :b",
                ExpressionAttributeValues={":h": {"S": "p1"}, ":a": {"S": "s01000"}, ":b": {"S": "s01004"}},
                Limit=3,
            )
        finally:
            query_index.candidates = choose  # type: ignore[assignment]
        assert [i["gsk"]["S"] for i in out["Items"]] == ["s01000", "s01001", "s01002"]
        assert out["LastEvaluatedKey"]["gsk"]["S"] == "s01002"
        assert handed == [4]  # the page and the next item: not the 2,000 of the partition
