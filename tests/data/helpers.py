"""Builders of valid documents for the functional tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
OTHER_ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"


def creator(email: str, name: str = "Ada", **props: Any) -> dict[str, Any]:
    return {
        "type": "creator",
        "name": name,
        "status": "active",
        "createdAt": 1,
        "updatedAt": 1,
        "properties": {
            "email": email,
            "username": email.split("@", maxsplit=1)[0],
            "displayName": name,
            **props,
        },
    }


def entity(
    kind: str = "blog_post", name: str = "Post", status: str | None = "draft", t: int = 1, **props: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": kind, "name": name, "properties": props, "createdAt": t, "updatedAt": t}
    if status:
        doc["status"] = status
    return doc


def connection(src: str, dst: str, rel: str = "authored", t: int = 1, **meta: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"fromEntityId": src, "toEntityId": dst, "relationshipType": rel, "createdAt": t}
    if meta:
        doc["metadata"] = meta
    return doc


def every_document(db: Any, table_name: str) -> list[dict[str, Any]]:
    """Every document of a table in the reader's organization, for assertions: through its
    ``by_creation_time`` index where it keeps one, else through the index that holds every document
    (events by timestamp, connections by creation), else one partition at a time (a tag under its
    entity, knowledge under its kind)."""
    from ontology.data.schema import TABLES

    t = TABLES[table_name]
    if t.creation_time is not None:
        return list(db.query(table_name).collect())
    whole = next((i for i in t.indexes if i.partition == 0), None)
    if whole is not None:
        return list(db.query(table_name).with_index(whole.name).collect())
    if table_name == "publicEntities":
        from ontology.data.enums import ENTITY_TYPES

        pointers = db.query("publicEntities")
        return [
            p for k in ENTITY_TYPES for p in pointers.with_index("by_type", lambda q, k=k: q.eq("type", k))
        ]
    if table_name == "connections":
        ends = [e["_id"] for e in db.query("entities").collect()]
        links = db.query("connections")
        return [
            c
            for e in ends
            for c in links.with_index("from_entity", lambda q, e=e: q.eq("fromEntityId", e)).collect()
        ]
    if table_name == "tags":
        owners = [e["_id"] for e in db.query("entities").collect()]
        return [
            tag
            for owner in owners
            for tag in db.query("tags")
            .with_index("by_entity", lambda q, o=owner: q.eq("entityId", o))
            .collect()
        ]
    if table_name == "knowledge":
        return [
            doc
            for kind in ("label", "chunk")
            for doc in db.query("knowledge")
            .with_index("by_kind", lambda q, k=kind: q.eq("kind", k))
            .collect()
        ]
    raise AssertionError(f"no way to read every document of {table_name}")


def organization(org: str) -> None:
    """``org`` as an organization's document, stored (the migrations' documents source goes through
    the organizations one by one)."""
    from ontology import run_mutation

    run_mutation(
        lambda db: db.insert(
            "organizations",
            {"name": org, "slug": org.lower().replace("_", "-"), "createdAt": 1, "updatedAt": 1},
            doc_id=org,
        ),
        org=None,
        platform=True,
    )


def stream_records(table_name: str = "one-test") -> list[dict[str, Any]]:
    """Every record of the table's stream so far, oldest first, as Lambda hands them over."""
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    out: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            resp = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not resp["Records"]:
                break
            out += resp["Records"]
            iterator = resp.get("NextShardIterator")
    return out


def settle_search(table_name: str = "one-test") -> None:
    """What the search aggregator does within a second in AWS (and the local stack's poller at
    once): the stream's posting changes added to the terms' ``df`` and the totals. Idempotent: the
    whole stream again changes nothing (ontology.data.search_aggregates)."""
    from ontology.data.search_aggregates import aggregate

    assert aggregate(stream_records(table_name)) is None


def written_before(table_name: str, doc: dict[str, Any], org: str = ORG) -> str:
    """A document as the code before keyed rules wrote it: a random id, and its value held by a guard
    item put in the same transaction (``{"ref": <id>}`` at ``<org>#guard#<table>#<rule>#<value>``)."""
    from ontology.data.db import TxState, guard_key
    from ontology.data.documents import validate_document
    from ontology.data.dynamodb import default_store
    from ontology.data.keys import new_id
    from ontology.data.schema import TABLES
    from ontology.data.transaction import commit

    t = TABLES[table_name]
    assert t.keyed is not None
    doc_id = new_id(table_name)
    full = {**validate_document(table_name, doc), "_id": doc_id, "_creationTime": time.time() * 1000}
    tx = TxState(org)
    tx.docs[doc_id] = full
    tx.where[doc_id] = (t, org)
    tx.inserted.add(doc_id)
    value = t.keyed.value_of(full)
    assert value is not None
    tx.guards[guard_key(org, table_name, t.keyed.name, value)] = {"seen": None, "ref": doc_id, "dirty": True}
    assert commit(tx, default_store())
    return doc_id


@contextmanager
def requests_seen(pick: Callable[[str, dict[str, Any], Any], str | None]) -> Iterator[list[str]]:
    """What ``pick`` says of each DynamoDB request the store sends in the block (its operation, its
    parameters, its response: None when refused), where it says something."""
    from ontology.data.dynamodb import add_listener, remove_listener

    seen: list[str] = []

    def listen(operation: str, params: dict[str, Any], response: Any) -> None:
        said = pick(operation, params, response)
        if said is not None:
            seen.append(said)

    add_listener(listen)
    try:
        yield seen
    finally:
        remove_listener(listen)


def livestream(message_count: int = 0) -> str:
    """A started livestream of the organization (``message_count``: what it stores of its count, as
    written before counters); its id."""
    from ontology import run_mutation

    doc = entity("livestream", "Live", "published", streamStatus="started", messageCount=message_count)
    return str(run_mutation(lambda db: db.insert("entities", doc), org=ORG))
