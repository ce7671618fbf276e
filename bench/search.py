"""Search and vectors: what a full-text search reads as its index grows, and exact vector search.

- **Full text**, in-process on moto: an organization of 1,000 and of 100,000 entities (names from a
  Zipf-distributed vocabulary of 400 words; loaded with their index entries directly, a tooling path),
  searches of 1 to 4 terms for a page of 10: DynamoDB requests (bounded by ``2 + 4 * lists + 1``, the
  same at both sizes) and, for 2 terms, items read per result returned.
- **Vectors**, the local stack's QueryVectors (exact, numpy): the median time of a search (limit 10)
  over 10,000 and 100,000 vectors of 256 dimensions — a local figure, not S3 Vectors' — and what one
  ``knowledge:search`` asks of the model, S3 Vectors and DynamoDB, counted as its Lambda runs.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from bench.harness import ORG, index_knowledge_vectors, local_table, result, vectors_and_ai

QUERIES = {1: "marathon", 2: "marathon training", 3: "marathon training pla", 4: "yoga studio beginner guide"}
VOCAB = [
    "marathon",
    "training",
    "plan",
    "running",
    "shoes",
    "yoga",
    "studio",
    "coach",
    "nutrition",
    "guide",
    "meal",
    "prep",
    "strength",
    "cardio",
    "weekly",
    "program",
    "beginner",
    "advanced",
    "recovery",
    "stretch",
    "mindful",
    "breath",
    "sprint",
    "trail",
    "race",
    "pace",
    "heart",
    "rate",
    "zone",
    "hill",
    "core",
]


def _names(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    vocab = VOCAB + [f"w{i}" for i in range(400 - len(VOCAB))]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return [" ".join(rng.choices(vocab, weights, k=rng.randint(1, 6))).title() for _ in range(n)]


def _seed(n: int) -> None:
    """n entities and their search entries straight into moto's table (no stream records), then the
    local query indexes rebuilt once."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra.local import query_index
    from ontology import TABLES
    from ontology.data.db import _creation_time
    from ontology.data.dynamodb import serialize
    from ontology.data.keys import new_id
    from ontology.data.search import bulk_items, typed
    from ontology.data.transaction import _doc_attrs

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    table = backend.get_table("one-bench")
    entities = TABLES["entities"]
    docs = []
    for i, name in enumerate(_names(n)):
        docs.append(
            {
                "type": "blog_post",
                "name": name,
                "status": "published",
                "properties": {},
                "createdAt": i,
                "updatedAt": i,
                "_id": new_id("entities"),
                "_creationTime": _creation_time(),
            }
        )
    shard, table.stream_shard = table.stream_shard, None
    try:
        for doc in docs:
            backend.put_item("one-bench", serialize(_doc_attrs(ORG, doc["_id"], doc, 1, (entities, ORG))))
        for item in bulk_items(entities.search_indexes[0], ORG, "entities", docs):
            backend.put_item("one-bench", typed(item))
    finally:
        table.stream_shard = shard
    query_index.forget(table)


def fulltext() -> list[dict[str, Any]]:
    from ontology import run_query

    out: list[dict[str, Any]] = []
    per_size: dict[int, dict[int, int]] = {}
    ratio = 0.0
    for n in (1_000, 100_000):
        with local_table() as counter:
            _seed(n)
            per_size[n] = {}
            for terms, text in QUERIES.items():
                counter.reset()
                hits = run_query(
                    lambda db, text=text: (
                        db.query("entities")
                        .with_search_index("search_entities", lambda q: q.search("name", text))
                        .take(10)
                    ),
                    org=ORG,
                )
                assert len(hits) == 10
                per_size[n][terms] = len(counter.requests)
                if terms == 2 and n == 100_000:
                    ratio = counter.items_read / len(hits)
    for terms in QUERIES:
        small, large = per_size[1_000][terms], per_size[100_000][terms]
        lists = terms + (1 if terms == 3 else 0)  # "pla" expands to "plan" only
        bound = 2 + 4 * lists + 1
        out.append(
            result(
                f"search: dynamodb requests, {terms} term(s), page of 10, 1k -> 100k entities",
                f"{small} -> {large}",  # type: ignore[arg-type]
                f"<= {bound}",
                large <= bound and small <= bound,
            )
        )
    out.append(result("search: items read / results returned, 2 terms, 100k entities", ratio, "report", True))
    return out


def vectors() -> list[dict[str, Any]]:
    import boto3
    import numpy as np

    from infra.local.vectors import local_vectors
    from ontology.data.vectors import index_arn, s3_index_name, shard_of, vector_search

    out: list[dict[str, Any]] = []
    dims = 256
    with local_table(), local_vectors(dims, "one-bench"):
        client = boto3.client("s3vectors", region_name="us-east-1")
        arn = index_arn(s3_index_name("knowledge", "by_embedding"))
        rng = np.random.default_rng(0)
        total = 0
        for n in (10_000, 100_000):
            while total < n:
                batch = rng.standard_normal((500, dims)).astype(np.float32)
                client.put_vectors(
                    indexArn=arn,
                    vectors=[
                        {
                            "key": f"kno_{total + i:026d}",
                            "data": {"float32": row.tolist()},
                            "metadata": {
                                "organizationId": ORG,
                                "shard": shard_of(f"kno_{total + i:026d}"),
                            },
                        }
                        for i, row in enumerate(batch)
                    ],
                )
                total += len(batch)
            timings = []
            for _ in range(21):
                q = rng.standard_normal(dims).tolist()
                started = time.perf_counter()
                hits = vector_search(
                    "knowledge", "by_embedding", {"vector": q, "limit": 10}, organization_id=ORG
                )
                timings.append((time.perf_counter() - started) * 1000)
                assert len(hits) == 10
            out.append(
                result(
                    f"vectors: exact search locally, {n // 1000}k vectors x {dims} dims, median (ms)",
                    statistics.median(timings[1:]),
                    "report",
                    True,
                )
            )
    out += _knowledge_search_requests()
    return out


def _knowledge_search_requests() -> list[dict[str, Any]]:
    """One knowledge:search, run as its Lambda runs it, its requests counted by kind."""
    from infra.local.openai_stub import embedding
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.data.keys import new_id
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    with local_table() as counter, vectors_and_ai() as (ai, vector_calls):
        source = new_id("entities")
        texts = [f"chunk {i} about marathon training and recovery" for i in range(20)]
        ids = run_mutation(
            lambda db: [
                db.insert(
                    "knowledge",
                    {
                        "kind": "chunk",
                        "text": t,
                        "sourceId": source,
                        "embedding": embedding(t, 64),
                        "createdAt": 1,
                        "updatedAt": 1,
                    },
                )
                for t in texts
            ],
            org=ORG,
        )
        index_knowledge_vectors()
        counter.reset()
        ai.reset()
        vector_calls.clear()
        identity = Identity(userId="usr_bench", organizationId=ORG, role="org_user")
        hits = invoke(resolve("knowledge:search"), {"query": "marathon training", "limit": 10}, identity)
        assert len(hits) == 10 and {h["_id"] for h in hits} <= set(ids)
    return [
        result("knowledge:search (limit 10): model calls", ai.calls, "report", True),
        result("knowledge:search (limit 10): S3 Vectors requests", len(vector_calls), "report", True),
        result("knowledge:search (limit 10): DynamoDB requests", len(counter.requests), "report", True),
    ]


def run() -> list[dict[str, Any]]:
    return fulltext() + vectors()
