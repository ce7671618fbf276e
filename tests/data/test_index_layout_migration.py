"""Migration 0010 moves documents written with the earlier index layout (every index of the
reference a GSI, slots in declaration order, nothing sparse or sharded) to today's, and every
index finds every document afterwards."""

from __future__ import annotations

import json
import re
from typing import Any

from ontology import run_mutation, run_query
from ontology.data.dynamodb import default_store
from ontology.data.indexes import Index
from ontology.data.migrations import runner
from ontology.data.migrations.runner import Options
from ontology.data.migrations.versions.m0010_document_indexes import DocumentIndexes, declared_keys
from tests.data.helpers import ORG, creator, entity

#: The earlier layout: each table's indexes as they were declared, by_creation_time first.
EARLIER: dict[str, list[tuple[str, tuple[str, ...], int]]] = {
    "entities": [
        ("by_creation_time", (), 0),
        ("by_type", ("type",), 1),
        ("by_status", ("status",), 1),
        ("by_type_status", ("type", "status"), 1),
        ("by_created", ("createdAt",), 0),
        ("by_updated", ("updatedAt",), 0),
    ],
    "connections": [
        ("by_creation_time", (), 0),
        ("from_entity", ("fromEntityId",), 1),
        ("to_entity", ("toEntityId",), 1),
        ("from_type", ("fromEntityId", "relationshipType"), 1),
        ("to_type", ("toEntityId", "relationshipType"), 1),
        ("bidirectional", ("fromEntityId", "toEntityId", "relationshipType"), 1),
        ("by_created", ("createdAt",), 0),
    ],
    "events": [
        ("by_creation_time", (), 0),
        ("by_type", ("type",), 1),
        ("by_actor", ("actorId",), 1),
        ("by_target", ("targetId",), 1),
        ("by_timestamp", ("timestamp",), 0),
        ("by_actor_type", ("actorId", "type"), 1),
        ("by_target_type", ("targetId", "type"), 1),
    ],
    "tags": [
        ("by_creation_time", (), 0),
        ("by_entity", ("entityId",), 1),
        ("by_key", ("key",), 1),
        ("by_key_value", ("key", "value"), 1),
    ],
    "publicEntities": [("by_creation_time", (), 0), ("by_type", ("type",), 1)],
}
_INDEX_KEY = re.compile(r"g\d+(pk|sk)")


def _earlier(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the earlier layout wrote it."""
    out = {k: v for k, v in item.items() if not _INDEX_KEY.fullmatch(k)}
    scope, _, doc_id = item["pk"].rpartition("#")
    doc = {**json.loads(item["doc"]), "_id": doc_id, "_creationTime": item["ct"]}
    for slot, (name, fields, partition) in enumerate(EARLIER[item["tb"]], start=1):
        idx = Index(name, fields, partition, slot=slot)
        out[idx.pk_attr], out[idx.sk_attr] = idx.keys_for(scope, item["tb"], doc)
    return out


def _documents() -> list[dict[str, Any]]:
    """Every document item of the tables whose layout changed (the operator's Scan, as the runner's)."""
    from ontology.data.dynamodb import deserialize

    items, last, _ = default_store().scan(segment=0, segments=1, limit=1000, start_key=None)
    assert last is None
    return [deserialize(i) for i in items if i.get("tb", {}).get("S") in EARLIER]


def test_documents_of_the_earlier_layout_are_rekeyed_and_found_through_every_index(table: str) -> None:
    ada = run_mutation(lambda db: db.insert("entities", creator("ada@x.io")), org=ORG)
    posts = [
        run_mutation(
            lambda db, i=i: db.insert("entities", entity("blog_post", f"post {i}", "published")), org=ORG
        )
        for i in range(6)
    ]
    for i, post in enumerate(posts):
        run_mutation(
            lambda db, post=post, i=i: [
                db.insert(
                    "connections",
                    {
                        "fromEntityId": ada,
                        "toEntityId": post,
                        "relationshipType": ("authored", "owns")[i % 2],
                        "createdAt": i,
                    },
                ),
                db.insert("tags", {"entityId": post, "key": "topic", "value": f"t{i % 2}"}),
                db.insert(
                    "events",
                    {"type": "content_changed", "actorId": ada, "timestamp": 100 + i}
                    | ({"targetId": post} if i % 3 else {}),
                ),
            ],
            org=ORG,
        )
    store = default_store()
    now = _documents()
    for item in now:
        store.put(_earlier(item))  # as the earlier layout stored them
    assert all(
        declared_keys(i) != {k: v for k, v in i.items() if _INDEX_KEY.fullmatch(k)} for i in _documents()
    )

    report = runner.run(store, DocumentIndexes(), Options(batch=7))
    assert report.status == "done" and report.counts["changed"] == len(now)
    for item in _documents():
        assert {k: v for k, v in item.items() if _INDEX_KEY.fullmatch(k)} == declared_keys(item)

    def found(db: Any) -> dict[str, int]:
        entities = db.query("entities")
        links = db.query("connections")
        events = db.query("events")
        return {
            "entities": len(entities.collect()),  # by_creation_time, sharded
            "posts": len(entities.with_index("by_type", lambda q: q.eq("type", "blog_post")).collect()),
            "published": len(
                entities.with_index("by_status", lambda q: q.eq("status", "published")).collect()
            ),
            "from": len(links.with_index("from_entity", lambda q: q.eq("fromEntityId", ada)).collect()),
            "authored": len(
                links.with_index(
                    "from_type", lambda q: q.eq("fromEntityId", ada).eq("relationshipType", "authored")
                ).collect()
            ),
            "actor": len(events.with_index("by_actor", lambda q: q.eq("actorId", ada)).collect()),
            "timeline": len(events.with_index("by_timestamp").collect()),
            "tagged": len(db.query("tags").with_index("by_key", lambda q: q.eq("key", "topic")).collect()),
        }

    assert run_query(found, org=ORG) == {
        "entities": 7,
        "posts": 6,
        "published": 6,
        "from": 6,
        "authored": 3,
        "actor": 6,
        "timeline": 6,
        "tagged": 6,
    }
    public = run_query(lambda db: [c["_id"] for c in db.public_entities("creator").take(10)], org=None)
    assert public == [ada]
