"""The partitions sharded by migration 0016: an organization's timeline (``events.by_timestamp``) and
its payments (``entities.by_type`` and ``by_type_status``, value shards) are spread over shards by
id and read merged in index order, page after page at the cost of the first; documents written
before are found throughout the migration that moves them (the unsharded partition is read as one
more shard until it is done), and a cursor made on the single partition goes on."""

from __future__ import annotations

import re
from typing import Any

from ontology import run_mutation, run_query
from ontology.data import layout
from ontology.data.cursor import encode_cursor
from ontology.data.db import _creation_time, migration_done
from ontology.data.documents import validate_document
from ontology.data.dynamodb import default_store, deserialize
from ontology.data.keys import DOC_SK, new_id
from ontology.data.migrations import runner
from ontology.data.migrations.runner import Options
from ontology.data.migrations.versions.m0010_document_indexes import declared_keys
from ontology.data.migrations.versions.m0016_shard_hot_partitions import ShardHotPartitions
from ontology.data.schema import TABLES
from ontology.data.transaction import _doc_attrs
from tests.data.helpers import ORG, creator, entity

_SHARD = re.compile(r"#~\d+$")


def _payment(i: int, status: str = "draft") -> dict[str, Any]:
    return entity("payment", f"Purchase {i}", status, t=i, amount=100 + i, purpose="token_purchase")


def _event(i: int, timestamp: int) -> dict[str, Any]:
    actor = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
    return {"type": "content_changed", "actorId": actor, "timestamp": timestamp, "metadata": {"n": i}}


def _paginate(build: Any, order: str, page: int, cursor: str | None = None) -> list[str]:
    ids: list[str] = []
    for _ in range(200):
        got = run_query(
            lambda db, cursor=cursor: build(db).order(order).paginate({"numItems": page, "cursor": cursor}),
            org=ORG,
        )
        assert len(got["page"]) <= page
        ids += [d["_id"] for d in got["page"]]
        if got["isDone"]:
            return ids
        cursor = got["continueCursor"]
    raise AssertionError("too many pages")


def _items(tb: str) -> list[dict[str, Any]]:
    """Every document item of a table (a test's Scan, as the migration's)."""
    items, last, _ = default_store().scan(segment=0, segments=1, limit=1000, start_key=None)
    assert last is None
    return [deserialize(i) for i in items if i.get("tb", {}).get("S") == tb]


def _timeline(db: Any) -> Any:
    return db.query("events").with_index("by_timestamp")


def _payments(db: Any) -> Any:
    return db.query("entities").with_index("by_type", lambda q: q.eq("type", "payment"))


def _published_payments(db: Any) -> Any:
    return db.query("entities").with_index(
        "by_type_status", lambda q: q.eq("type", "payment").eq("status", "published")
    )


def _order(docs: list[dict[str, Any]], *fields: str) -> list[str]:
    return [
        d["_id"] for d in sorted(docs, key=lambda d: (*(d[f] for f in fields), d["_creationTime"], d["_id"]))
    ]


def test_the_timeline_and_the_payments_spread_over_shards_and_read_merged_in_order(table: str) -> None:
    # timestamps out of creation order, some equal: the index's order is the timestamp's, then creation
    stamps = [(i * 7) % 13 for i in range(30)]
    run_mutation(lambda db: [db.insert("events", _event(i, s)) for i, s in enumerate(stamps)], org=ORG)
    run_mutation(
        lambda db: [
            db.insert("entities", _payment(i, ("draft", "published")[i % 3 == 0])) for i in range(24)
        ],
        org=ORG,
    )
    run_mutation(lambda db: db.insert("entities", creator("ada@x.io")), org=ORG)

    events, entities = _items("events"), _items("entities")
    timeline = {e["g5pk"] for e in events}
    assert len(timeline) > 1 and all(_SHARD.search(pk) for pk in timeline)
    assert all(pk.startswith(f"{ORG}#events#by_timestamp#~") for pk in timeline)
    payments = [e for e in entities if '"type":"payment"' in e["doc"]]
    assert len({p["g2pk"] for p in payments}) > 1 and len({p["g4pk"] for p in payments}) > 1
    assert all(_SHARD.search(p["g2pk"]) and _SHARD.search(p["g4pk"]) for p in payments)
    (ada,) = [e for e in entities if '"type":"creator"' in e["doc"]]
    assert not _SHARD.search(ada["g2pk"]) and not _SHARD.search(ada["g4pk"])  # other types: one partition

    docs = run_query(lambda db: [*_timeline(db).collect(), *_payments(db).collect()], org=ORG)
    want_events = _order([d for d in docs if "timestamp" in d], "timestamp")
    want_payments = _order([d for d in docs if d.get("type") == "payment"])
    want_published = _order([d for d in docs if d.get("type") == "payment" and d["status"] == "published"])
    for order in ("asc", "desc"):
        flip = (lambda ids: ids) if order == "asc" else (lambda ids: ids[::-1])
        for page in (1, 4, 7):
            assert _paginate(_timeline, order, page) == flip(want_events)
            assert _paginate(_payments, order, page) == flip(want_payments)
        assert _paginate(_published_payments, order, 2) == flip(want_published)

    # a range of the timeline: exactly the events inside it, in order
    def window(db: Any) -> Any:
        return db.query("events").with_index(
            "by_timestamp", lambda q: q.gte("timestamp", 4).lt("timestamp", 9)
        )

    inside = [i for i in want_events if 4 <= next(d for d in docs if d["_id"] == i)["timestamp"] < 9]
    assert _paginate(window, "asc", 3) == inside and _paginate(window, "desc", 3) == inside[::-1]
    assert run_query(lambda db: len(_payments(db).take(5)), org=ORG) == 5


def test_a_deep_page_of_payments_costs_what_the_first_costs(table: str, requests_counter: Any) -> None:
    """One Query per shard per page, each a page of its share and half as much again (the merge's
    stated factor): page 15 reads what page 1 reads, within twice its requests."""
    store = default_store()
    t = TABLES["entities"]
    by_type = t.index("by_type")
    spread = by_type.shards_for(["payment"])
    for i in range(300):  # bulk-loaded through the store (a tooling path), not 300 transactions
        # the shards in turn, newest to oldest: a page holds as many of each (ids are random, and
        # more than its share in one shard costs that shard a second Query: a different test)
        doc_id = new_id("entities")
        while by_type.shard_of(doc_id, spread) != i % spread:
            doc_id = new_id("entities")
        full = {
            **validate_document("entities", _payment(i)),
            "_id": doc_id,
            "_creationTime": _creation_time(),
        }
        store.put(_doc_attrs(ORG, doc_id, full, 1, (t, ORG)))
    run_mutation(lambda db: db.insert("entities", _payment(300)), org=ORG)
    migration_done(store, layout.SHARDS_MIGRATION)  # the process reads the progress once, here
    shards = t.index("by_type").shards_for(["payment"])
    requests: list[int] = []
    read = returned = 0
    cursor = None
    while True:
        requests_counter.reset()
        got = run_query(
            lambda db, cursor=cursor: (
                _payments(db).order("desc").paginate({"numItems": 20, "cursor": cursor})
            ),
            org=ORG,
        )
        requests.append(len(requests_counter.calls))
        read += requests_counter.items_read
        returned += len(got["page"])
        if got["isDone"]:
            break
        cursor = got["continueCursor"]
    assert returned == 301 and len(requests) >= 15
    # the partition as it was is read too until migration 0016 is done: one more Query per page
    expected = shards + (0 if migration_done(store, layout.SHARDS_MIGRATION) else 1)
    assert requests[0] == expected
    assert max(requests[:15]) <= 2 * requests[0]
    assert read / returned <= 2.0


#: The GSI partition keys migration 0016 shards: the timeline's, the payments' by type (and status).
_MOVED = {"events": ("g5pk",), "entities": ("g2pk", "g4pk")}


def _unsharded(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the layout before migration 0016 stored it: its timeline and payment entries in
    the organization's one partition of each."""
    return {k: (_SHARD.sub("", v) if k in _MOVED[item["tb"]] else v) for k, v in item.items()}


def test_documents_written_before_the_shards_are_found_before_during_and_after_the_migration(
    table: str, requests_counter: Any
) -> None:
    store = default_store()
    run_mutation(lambda db: [db.insert("events", _event(i, 100 + i)) for i in range(9)], org=ORG)
    run_mutation(lambda db: [db.insert("entities", _payment(i)) for i in range(7)], org=ORG)
    old = [i for i in _items("events") + _items("entities") if "#~" in i.get("g5pk", "") + i.get("g2pk", "")]
    for item in old:
        store.put(_unsharded(item))  # as the release before wrote them
    assert all(not _SHARD.search(i.get("g5pk", i.get("g2pk", ""))) for i in _items("events"))
    # written by this release: in the shards
    run_mutation(lambda db: [db.insert("events", _event(i, 100 + i)) for i in range(9, 14)], org=ORG)
    run_mutation(lambda db: [db.insert("entities", _payment(i)) for i in range(7, 11)], org=ORG)

    def everything() -> tuple[list[str], list[str]]:
        return (_paginate(_timeline, "asc", 4), _paginate(_payments, "desc", 3))

    assert layout.unsharded_left(store, "events", "by_timestamp")  # 0016 not done
    events, payments = everything()
    assert len(events) == 14 == len(set(events)) and len(payments) == 11 == len(set(payments))
    docs = run_query(lambda db: db.get_many([*events, *payments]), org=ORG)
    assert events == _order(docs[:14], "timestamp") and payments == _order(docs[14:])[::-1]

    # a cursor of the single partition (the form the release before made) goes on from its place
    fifth = next(i for i in _items("events") if i["pk"] == f"{ORG}#{events[4]}")
    binding = run_query(lambda db: _timeline(db).order("asc")._binding(), org=ORG)
    position = {"pk": fifth["pk"], "sk": DOC_SK, "g5pk": fifth["g5pk"], "g5sk": fifth["g5sk"]}
    assert _paginate(_timeline, "asc", 4, encode_cursor(binding, position)) == events[5:]

    report = runner.run(store, ShardHotPartitions(), Options(batch=5))
    assert report.status == "done" and report.counts["changed"] == len(old)
    for item in _items("events") + _items("entities"):
        stored = {k: v for k, v in item.items() if re.fullmatch(r"g\d+(pk|sk)", k)}
        assert stored == declared_keys(item)
    store.memo.clear()  # the process learns the migration is done: reads take the shards alone
    assert not layout.unsharded_left(store, "events", "by_timestamp")
    requests_counter.reset()
    assert everything() == (events, payments)
    queried = [p["ExpressionAttributeValues"][":p"]["S"] for op, p in requests_counter.calls if op == "Query"]
    assert queried and all(_SHARD.search(pk) for pk in queried)
