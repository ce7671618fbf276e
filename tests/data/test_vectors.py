"""Vector search on S3 Vectors (moto stores, the local QueryVectors answers): exact recall against
brute force, Convex's filters, tenancy, limits above S3 Vectors' topK, bad input, the stream indexer's
idempotency — and no call ever leaves for a real endpoint."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest

from ontology import ValidationError, run_mutation
from ontology.data.vectors import SHARDS, index_records, s3_index_name, shard_of, vector_search
from tests.data.helpers import ORG, OTHER_ORG, every_document

DIMS = 32
NAME = s3_index_name("knowledge", "by_embedding")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS call here must be answered in process: one that reaches the network fails."""
    import botocore.httpsession

    attempts: list[str] = []

    def refuse(self: Any, request: Any) -> Any:
        attempts.append(request.url)
        raise AssertionError(f"a call left for {request.url}")

    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", refuse)
    yield attempts
    assert not attempts


@pytest.fixture
def vectors(table: str) -> Iterator[Any]:
    from infra.local.vectors import local_vectors

    with local_vectors(DIMS, "one-test"):
        yield boto3.client("s3vectors", region_name="us-east-1")


def _put(client: Any, rows: list[tuple[str, str, str, list[float]]]) -> None:
    """(key, organization, sourceId, vector) rows, as the indexer writes them."""
    from ontology.data.vectors import index_arn

    for start in range(0, len(rows), 500):
        client.put_vectors(
            indexArn=index_arn(NAME),
            vectors=[
                {
                    "key": key,
                    "data": {"float32": vec},
                    "metadata": {
                        "organizationId": org,
                        "shard": shard_of(key),
                        "sourceId": src,
                        "kind": "chunk",
                    },
                }
                for key, org, src, vec in rows[start : start + 500]
            ],
        )


def _random_rows(n: int, seed: int = 5) -> tuple[list[tuple[str, str, str, list[float]]], np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, DIMS)).astype(np.float32)
    rows = [(f"kno_{i:026d}", ORG, f"src{i % 7}", [float(x) for x in matrix[i]]) for i in range(n)]
    return rows, matrix


def _brute(matrix: np.ndarray, keys: list[str], query: np.ndarray, k: int, mask: Any = None) -> list[str]:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    sims = unit @ (query / np.linalg.norm(query))
    if mask is not None:
        sims = np.where(mask, sims, -np.inf)
    order = np.argsort(-sims, kind="stable")[:k]
    return [keys[i] for i in order if np.isfinite(sims[i])]


def test_recall_at_10_is_exact_on_5000_vectors(vectors: Any) -> None:
    rows, matrix = _random_rows(5000)
    _put(vectors, rows)
    keys = [r[0] for r in rows]
    rng = np.random.default_rng(9)
    recalls = []
    for _ in range(25):
        q = rng.standard_normal(DIMS).astype(np.float32)
        got = vector_search(
            "knowledge", "by_embedding", {"vector": q.tolist(), "limit": 10}, organization_id=ORG
        )
        want = _brute(matrix, keys, q, 10)
        recalls.append(len({h["_id"] for h in got} & set(want)) / 10)
        scores = [h["_score"] for h in got]
        assert scores == sorted(scores, reverse=True)
    print(f"recall@10 over 25 queries on 5000 vectors: {sum(recalls) / len(recalls):.3f}")
    assert recalls == [1.0] * 25


def test_a_limit_above_top_k_is_exact(vectors: Any) -> None:
    rows, matrix = _random_rows(3000, seed=2)
    _put(vectors, rows)
    keys = [r[0] for r in rows]
    q = np.random.default_rng(3).standard_normal(DIMS).astype(np.float32)
    got = vector_search(
        "knowledge", "by_embedding", {"vector": q.tolist(), "limit": 256}, organization_id=ORG
    )
    assert [h["_id"] for h in got] == _brute(matrix, keys, q, 256)
    # and where one range of shards holds more of the top than one query can answer: 150 vectors
    # near the query, all in shards 0-3 (the first range, split until each part answers in full)
    in_shard0 = []
    i = 0
    while len(in_shard0) < 150:
        key = f"kno_near{i:022d}"
        if shard_of(key) < 4:
            jitter = 0.05 * np.random.default_rng(i).standard_normal(DIMS)
            in_shard0.append((key, ORG, "src", [float(x) for x in q + jitter]))
        i += 1
    assert len(in_shard0) >= 101
    _put(vectors, in_shard0)
    got = vector_search(
        "knowledge", "by_embedding", {"vector": q.tolist(), "limit": 200}, organization_id=ORG
    )
    assert {h["_id"] for h in got[:101]} <= {r[0] for r in in_shard0}
    assert SHARDS == 64


def test_filters_eq_and_or_and_tenancy(vectors: Any) -> None:
    rows, matrix = _random_rows(600, seed=4)
    theirs = [
        (f"kno_x{i:025d}", OTHER_ORG, f"src{i % 7}", vec) for i, (_, _, _, vec) in enumerate(rows[:300])
    ]
    _put(vectors, rows + theirs)
    keys = [r[0] for r in rows]
    q = matrix[17] + 0.01
    sources = np.array([r[2] for r in rows])

    def search(**opts: Any) -> list[str]:
        got = vector_search("knowledge", "by_embedding", {"vector": q.tolist(), **opts}, organization_id=ORG)
        return [h["_id"] for h in got]

    assert search(limit=10, filter=lambda f: f.eq("sourceId", "src3")) == _brute(
        matrix, keys, q, 10, sources == "src3"
    )
    either = lambda f: f.or_(f.eq("sourceId", "src1"), f.eq("sourceId", "src2"))  # noqa: E731
    assert search(limit=15, filter=either) == _brute(matrix, keys, q, 15, np.isin(sources, ["src1", "src2"]))
    # another organization's vectors are never returned, whatever the filter
    for flt in (None, lambda f: f.eq("sourceId", "src3"), lambda f: f.eq("kind", "chunk")):
        found = search(limit=100, **({"filter": flt} if flt else {}))
        assert found and not any(k.startswith("kno_x") for k in found)
    theirs_found = vector_search(
        "knowledge", "by_embedding", {"vector": q.tolist(), "limit": 50}, organization_id=OTHER_ORG
    )
    assert {h["_id"] for h in theirs_found} <= {r[0] for r in theirs}


@pytest.mark.parametrize(
    ("opts", "field"),
    [
        ({"vector": [0.1] * (DIMS - 1)}, "vector"),
        ({"vector": [0.1] * (DIMS + 1)}, "vector"),
        ({"vector": [math.nan] + [0.1] * (DIMS - 1)}, "vector"),
        ({"vector": [math.inf] + [0.1] * (DIMS - 1)}, "vector"),
        ({"vector": ["0.1"] * DIMS}, "vector"),
        ({"vector": [0.0] * DIMS}, "vector"),
        ({"vector": "nope"}, "vector"),
        ({"vector": [0.1] * DIMS, "limit": 0}, "limit"),
        ({"vector": [0.1] * DIMS, "limit": 257}, "limit"),
        ({"vector": [0.1] * DIMS, "limit": 2.5}, "limit"),
        ({"vector": [0.1] * DIMS, "filter": lambda f: f.eq("text", "x")}, "filter"),
        (
            {
                "vector": [0.1] * DIMS,
                "filter": lambda f: f.or_(*[f.eq("sourceId", str(i)) for i in range(65)]),
            },
            "filter",
        ),
        ({"vector": [0.1] * DIMS, "filter": lambda f: f.eq("sourceId", None)}, "filter"),
        ({"vector": [0.1] * DIMS, "filter": lambda f: "sourceId"}, "filter"),
        ({"vector": [0.1] * DIMS, "nearest": 3}, "opts"),
    ],
)
def test_bad_input_is_a_validation_error(vectors: Any, opts: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        vector_search("knowledge", "by_embedding", opts, organization_id=ORG)
    assert err.value.code == "VALIDATION_ERROR"
    assert err.value.field == field


def test_a_vector_of_the_wrong_length_is_never_written(vectors: Any) -> None:
    from ontology.data.keys import new_id

    doc = {"kind": "chunk", "text": "t", "sourceId": new_id("entities"), "createdAt": 1, "updatedAt": 1}
    for bad in ([0.1] * (DIMS + 3), [math.nan] * DIMS, [0.0] * DIMS):
        with pytest.raises(ValidationError):
            run_mutation(lambda db, bad=bad: db.insert("knowledge", {**doc, "embedding": bad}), org=ORG)
    from ontology import run_query

    assert run_query(lambda db: every_document(db, "knowledge"), org=ORG) == []


def _stream_records() -> Iterator[list[dict[str, Any]]]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = ddb.describe_table(TableName="one-test")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    while True:
        resp = streams.get_records(ShardIterator=it, Limit=1000)
        it = resp["NextShardIterator"]
        yield resp["Records"]


def _index_state(client: Any) -> dict[str, tuple[tuple[float, ...], tuple[tuple[str, Any], ...]]]:
    from ontology.data.vectors import index_arn

    listed = client.list_vectors(indexArn=index_arn(NAME), returnData=True, returnMetadata=True)["vectors"]
    return {
        v["key"]: (tuple(round(x, 5) for x in v["data"]["float32"]), tuple(sorted(v["metadata"].items())))
        for v in listed
    }


def test_the_stream_indexer_follows_the_table_and_is_idempotent(vectors: Any) -> None:
    from ontology.data.keys import new_id

    records = _stream_records()
    source = new_id("entities")
    rng = random.Random(1)

    def vec() -> list[float]:
        return [rng.uniform(-1, 1) for _ in range(DIMS)]

    base = {"kind": "chunk", "text": "t", "sourceId": source, "createdAt": 1, "updatedAt": 1}
    a, b, c = run_mutation(
        lambda db: [db.insert("knowledge", {**base, "embedding": vec()}) for _ in range(3)], org=ORG
    )
    run_mutation(lambda db: db.patch(a, {"embedding": vec()}), org=ORG)
    run_mutation(lambda db: db.patch(b, {"embedding": None}), org=ORG)  # loses its vector
    run_mutation(lambda db: db.patch(c, {"labels": {"k": "v"}}), org=ORG)  # vector unchanged
    batch = next(records)
    assert index_records(batch) == []
    state = _index_state(vectors)
    assert set(state) == {a, c}
    assert dict(state[a][1])["organizationId"] == ORG
    # every record again, and each one twice: nothing changes
    assert index_records(batch) == []
    assert index_records([r for rec in batch for r in (rec, rec)]) == []
    assert _index_state(vectors) == state
    run_mutation(lambda db: db.delete(a), org=ORG)
    assert index_records(next(records)) == []
    assert set(_index_state(vectors)) == {c}


def test_an_action_searches_within_its_organization(vectors: Any) -> None:
    from ontology.auth.identity import Identity
    from ontology.runtime.context import ActionCtx

    rows, _ = _random_rows(50, seed=8)
    _put(vectors, [*rows, ("kno_" + "9" * 26, OTHER_ORG, "src0", rows[0][3])])
    ctx = ActionCtx(Identity(userId="usr_x", organizationId=ORG, role="org_user"))
    hits = ctx.vector_search("knowledge", "by_embedding", {"vector": rows[0][3], "limit": 3})
    assert hits[0]["_id"] == rows[0][0] and math.isclose(hits[0]["_score"], 1.0, abs_tol=1e-5)
    assert all(h["_id"] != "kno_" + "9" * 26 for h in hits)


@pytest.mark.aws_strict
def test_approximate_answers_still_merge_into_a_sorted_top_of_the_organization(
    vectors: Any, strict_mode: Any
) -> None:
    """S3 Vectors' search is approximate (AWS-strict ``vectors``: some true neighbours missed): a
    limit above topK still merges the ranges' answers into ``limit`` distinct hits, most similar
    first, of the caller's organization only, and most of the true top is there."""
    rows, matrix = _random_rows(3000, seed=2)
    others = [(f"kno_other{i:021d}", OTHER_ORG, "src", vec) for i, (_, _, _, vec) in enumerate(rows[:300])]
    _put(vectors, rows + others)
    keys = [r[0] for r in rows]
    q = np.random.default_rng(3).standard_normal(DIMS).astype(np.float32)
    strict_mode("vectors", vector_recall=0.9)
    got = vector_search(
        "knowledge", "by_embedding", {"vector": q.tolist(), "limit": 256}, organization_id=ORG
    )
    ids = [h["_id"] for h in got]
    assert len(ids) == len(set(ids)) == 256 and set(ids) <= set(keys)
    scores = [h["_score"] for h in got]
    assert scores == sorted(scores, reverse=True)
    assert len(set(ids) & set(_brute(matrix, keys, q, 256))) >= 0.8 * 256
