"""Read sets decide which writes re-run a subscription: what a query read (documents, and the stretch
of an index it read), against what a commit wrote (each item's keys before and after)."""

from __future__ import annotations

import time
from typing import Any

from ontology import run_mutation, run_query
from ontology.data.tracking import ReadSet, WriteSet, recording, recording_writes
from ontology.sync.state import SyncState

ORG = "org_01M8AAAAAAAAAAAAAAAAAAAAAA"


def _entity(name: str, kind: str = "lesson") -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "type": kind,
        "name": name,
        "status": "active",
        "createdAt": now,
        "updatedAt": now,
        "properties": {},
    }


def _read(fn: Any) -> tuple[Any, ReadSet]:
    with recording() as reads:
        value = run_query(fn, org=ORG)
    return value, reads


def _write(fn: Any) -> WriteSet:
    with recording_writes() as writes:
        run_mutation(fn, org=ORG)
    return writes


def test_a_write_touches_the_one_document_subscription_of_many(table: str) -> None:
    ids = [
        doc_id
        for start in range(0, 60, 20)  # a name's search entries are items of its transaction too
        for doc_id in run_mutation(
            lambda db, start=start: [
                db.insert("entities", _entity(f"E{i}", "audience_member")) for i in range(start, start + 20)
            ],
            org=ORG,
        )
    ]
    sets = [_read(lambda db, i=i: db.get(i))[1] for i in ids]
    writes = _write(lambda db: db.patch(ids[17], {"name": "renamed"}))
    assert [i for i, s in enumerate(sets) if s.touches(writes)] == [17]


def test_a_listing_watches_what_it_read_and_not_past_it(table: str) -> None:
    run_mutation(lambda db: [db.insert("entities", _entity(f"C{i}")) for i in range(10)], org=ORG)

    def first_five(db: Any) -> Any:
        return db.query("entities").with_index("by_type", lambda q: q.eq("type", "lesson")).take(5)

    docs, reads = _read(first_five)
    assert len(docs) == 5
    rest = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "lesson")).collect(),
        org=ORG,
    )
    # a document past the fifth, not read: changing it changes nothing the listing returned
    assert not reads.touches(_write(lambda db: db.patch(rest[8]["_id"], {"name": "later"})))
    # one inside the stretch read: it re-runs
    assert reads.touches(_write(lambda db: db.patch(docs[2]["_id"], {"name": "inside"})))
    # a new lesson (newest last in ascending order) falls after the fifth: untouched; newest first: touched
    _, desc_reads = _read(
        lambda db: (
            db.query("entities").with_index("by_type", lambda q: q.eq("type", "lesson")).order("desc").take(5)
        )
    )
    new = _write(lambda db: db.insert("entities", _entity("Newest")))
    assert desc_reads.touches(new) and not reads.touches(new)
    # another type's index partition is another key
    assert not desc_reads.touches(_write(lambda db: db.insert("entities", _entity("L", "audience_member"))))


def test_a_read_to_the_end_watches_the_whole_range(table: str) -> None:
    docs, reads = _read(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "lesson")).collect()
    )
    assert docs == []
    assert reads.touches(_write(lambda db: db.insert("entities", _entity("First"))))


def test_watchers_are_found_by_key_whatever_else_is_watched(table: str, requests_counter: Any) -> None:
    ids = [
        doc_id
        for start in (0, 20)
        for doc_id in run_mutation(
            lambda db, start=start: [
                db.insert("entities", _entity(f"W{i}", "audience_member")) for i in range(start, start + 20)
            ],
            org=ORG,
        )
    ]
    state = SyncState()
    conns = []
    for n, doc_id in enumerate(ids):
        conn = state.create(f"conn{n}")
        state.watch(conn, "0", _read(lambda db, i=doc_id: db.get(i))[1])
        conns.append(conn)
    writes = _write(lambda db: db.patch(ids[5], {"name": "only this"}))
    requests_counter.calls.clear()
    found = state.watchers(writes)
    assert {(w.connection_id, w.query_id) for w in found} == {("conn5", "0")}
    # one BatchGetItem of the touched keys' markers, one Query per key someone watches: never more
    # with more subscriptions
    assert [op for op, _ in requests_counter.calls] == ["BatchGetItem", "Query"]
    state.drop("conn5")
    assert state.watchers(writes) == set()


def test_a_page_rerun_with_its_end_cursor_keeps_its_end(table: str) -> None:
    """Convex's ``usePaginatedQuery`` re-runs a page with ``endCursor``: a document written inside the
    page joins it, and the page ends where it ended (the next page starts there unchanged)."""
    run_mutation(lambda db: [db.insert("entities", _entity(f"P{i}")) for i in range(6)], org=ORG)

    def page(opts: dict[str, Any]) -> Any:
        return run_query(
            lambda db: (
                db.query("entities")
                .with_index("by_type", lambda q: q.eq("type", "lesson"))
                .order("desc")
                .paginate(opts)
            ),
            org=ORG,
        )

    first = page({"numItems": 3, "cursor": None})
    run_mutation(lambda db: db.insert("entities", _entity("Newest")), org=ORG)
    again = page({"numItems": 3, "cursor": None, "endCursor": first["continueCursor"], "id": 1})
    assert [d["name"] for d in again["page"]] == ["Newest"] + [d["name"] for d in first["page"]]
    assert again["continueCursor"] == first["continueCursor"] and again["isDone"] is False
    rest = page({"numItems": 10, "cursor": first["continueCursor"]})
    assert len(rest["page"]) == 3 and rest["isDone"]


def test_a_search_watches_its_terms_lists_and_results(table: str) -> None:
    """A search subscription re-runs when a document gains or loses a searched term, or a result
    changes; a write elsewhere in the index leaves it alone."""
    ids = run_mutation(
        lambda db: [
            db.insert("entities", _entity(n)) for n in ("Trail Running", "Road Running", "Yoga Flow")
        ],
        org=ORG,
    )

    def search(db: Any) -> Any:
        return (
            db.query("entities")
            .with_search_index("search_entities", lambda q: q.search("name", "trail runn"))
            .take(5)
        )

    found, reads = _read(search)
    assert {d["_id"] for d in found} == set(ids[:2])
    assert reads.touches(_write(lambda db: db.insert("entities", _entity("Trail Mix"))))
    assert reads.touches(_write(lambda db: db.patch(ids[0], {"name": "Hill Walking"})))
    assert reads.touches(_write(lambda db: db.patch(ids[1], {"properties": {"note": "edited"}})))
    assert not reads.touches(_write(lambda db: db.patch(ids[2], {"name": "Yoga Stretch"})))


def test_a_search_does_not_run_again_for_its_statistics(table: str) -> None:
    """BM25's statistics (each term's df, the index's totals) change with every write of the
    organization, from the stream's aggregator: no search watches them, so they re-run none. What
    changes its result does: a term of it gaining a list (a first document of another type)."""
    from ontology.data.search_aggregates import aggregate
    from ontology.sync.invalidator import write_set_of
    from tests.data.helpers import stream_records

    run_mutation(
        lambda db: [db.insert("entities", _entity(n)) for n in ("Trail Running", "Road Running")], org=ORG
    )

    def search(db: Any) -> Any:
        return (
            db.query("entities")
            .with_search_index("search_entities", lambda q: q.search("name", "trail runn"))
            .take(5)
        )

    _, reads = _read(search)
    run_mutation(lambda db: db.insert("entities", _entity("Yoga Running Flow")), org=ORG)  # df, totals
    seen = len(stream_records())
    assert aggregate(stream_records()) is None
    theirs = stream_records()[seen:]
    aggregates = [r for r in theirs if "#terms#" in str(r["dynamodb"]["Keys"]["pk"]["S"])]
    aggregates += [r for r in theirs if str(r["dynamodb"]["Keys"]["pk"]["S"]).endswith("#totals")]
    assert aggregates  # the aggregator wrote the organization's df and totals
    for record in aggregates:
        assert write_set_of(record) is None
    assert reads.touches(_write(lambda db: db.insert("entities", _entity("Trail Shoes", "video"))))


def test_a_follower_count_runs_again_when_the_stream_counts_a_follow(table: str, monkeypatch: Any) -> None:
    """A follow's transaction writes no counter: the stream's aggregator adds it (ontology.data.
    relation_counts). A subscription that read the count watches the counter's partition, so the
    aggregator's write re-runs it, as the invalidator sees it on the stream; the follow itself does
    not touch the count it read."""
    from ontology.data.dynamodb import default_store
    from ontology.data.migrations.progress import born
    from ontology.data.relation_counts import MIGRATION, follower_count
    from ontology.data.search_aggregates import aggregate
    from ontology.sync.invalidator import write_set_of
    from tests.data.helpers import stream_records

    monkeypatch.setattr("ontology.data.layout.LEGACY_RECHECK_SECONDS", 1e9)
    store = default_store()
    store.memo.clear()
    born(store, MIGRATION, "relation counts", now=1)
    creator, fan = run_mutation(
        lambda db: [db.insert("entities", _entity(n, "audience_member")) for n in ("Ada", "Fan")], org=ORG
    )
    count, reads = _read(lambda db: follower_count(db, creator))
    assert count == 0
    follow = {"fromEntityId": fan, "toEntityId": creator, "relationshipType": "following", "createdAt": 1}
    seen = len(stream_records())
    run_mutation(lambda db: db.insert("connections", follow), org=ORG)
    (own,) = stream_records()[seen:]
    own_writes = write_set_of(own)
    assert own_writes is not None and not reads.touches(own_writes)
    seen = len(stream_records())
    assert aggregate(stream_records()) is None
    counted = [
        r for r in stream_records()[seen:] if "#count#followerCount" in r["dynamodb"]["Keys"]["pk"]["S"]
    ]
    assert counted  # the aggregator's ADD to one of the counter's shards
    for record in counted:
        writes = write_set_of(record)
        assert writes is not None and reads.touches(writes)
    assert run_query(lambda db: follower_count(db, creator), org=ORG) == 1
