"""Documented bounds (collect cap, filter examination, transaction size) and uniqueness guards."""

from __future__ import annotations

import threading

import pytest

from ontology import (
    COLLECT_MAX,
    MAX_EXAMINED,
    ConflictError,
    LimitExceededError,
    TransactionTooLargeError,
    ValidationError,
    run_mutation,
    run_query,
)
from ontology.data.dynamodb import default_store
from ontology.data.transaction import MAX_TRANSACTION_ITEMS, _doc_attrs
from tests.data.helpers import ORG, OTHER_ORG, creator, entity


def _seed(n: int, kind: str = "video", **props) -> None:
    """Bulk-load n entities directly (tooling path), far faster than n transactions on moto."""
    from ontology import TABLES
    from ontology.data.db import _creation_time
    from ontology.data.documents import validate_document
    from ontology.data.keys import new_id

    items = []
    for i in range(n):
        doc_id = new_id("entities")
        full = {
            **validate_document("entities", entity(kind, f"{kind} {i}", t=i, n=i, **props)),
            "_id": doc_id,
            "_creationTime": _creation_time(),
        }
        items.append(_doc_attrs(ORG, doc_id, full, 1, (TABLES["entities"], ORG)))
    default_store().batch_write(items)  # 25 to a request


def videos(db):
    return db.query("entities").with_index("by_type", lambda q: q.eq("type", "video"))


def _events(n: int):
    """n events: one item each (no unique rule, no search index)."""
    from ontology.data.keys import new_id

    actor = new_id("entities")
    return lambda db: [
        db.insert("events", {"type": "content_changed", "actorId": actor, "timestamp": i}) for i in range(n)
    ]


def test_mutation_over_the_transaction_limit_fails_before_writing(table: str, requests_counter) -> None:
    requests_counter.reset()
    with pytest.raises(TransactionTooLargeError) as err:
        run_mutation(_events(MAX_TRANSACTION_ITEMS + 1), org=ORG)
    assert "Split the work" in err.value.message
    assert "TransactWriteItems" not in requests_counter.ops()
    assert run_query(lambda db: db.query("events").with_index("by_timestamp").collect(), org=ORG) == []
    # The largest mutation that fits goes through: every item of it is the mutation's own.
    run_mutation(_events(MAX_TRANSACTION_ITEMS), org=ORG)
    events = run_query(lambda db: db.query("events").with_index("by_timestamp").collect(), org=ORG)
    assert len(events) == MAX_TRANSACTION_ITEMS


def test_search_index_entries_count_toward_the_transaction(table: str, requests_counter) -> None:
    """An entity's name entries are items of its transaction: a posting per distinct term, and the
    term's dictionary entry when the term (or the term with the entity's type) is new to the
    organization's index. 34 entities with new one-word names are 102 items and do not fit; 33 are
    99 and do; once the terms are known, an entity of them is 2 items (its document, its posting):
    50 fit."""
    requests_counter.reset()
    with pytest.raises(TransactionTooLargeError):
        run_mutation(lambda db: [db.insert("entities", entity(name=f"e{i}")) for i in range(34)], org=ORG)
    assert "TransactWriteItems" not in requests_counter.ops()
    assert run_query(lambda db: db.query("entities").collect(), org=ORG) == []
    run_mutation(lambda db: [db.insert("entities", entity(name=f"e{i}")) for i in range(33)], org=ORG)
    assert len(run_query(lambda db: db.query("entities").collect(), org=ORG)) == 33
    requests_counter.reset()  # 50 more of those names: 100 items, one transaction
    run_mutation(lambda db: [db.insert("entities", entity(name=f"e{i % 33}")) for i in range(50)], org=ORG)
    assert requests_counter.ops().count("TransactWriteItems") == 1
    assert len(run_query(lambda db: db.query("entities").collect(), org=ORG)) == 83


@pytest.mark.slow
def test_collect_has_a_cap(table: str) -> None:
    _seed(COLLECT_MAX + 1)
    with pytest.raises(LimitExceededError) as err:
        run_query(lambda db: videos(db).collect(), org=ORG)
    assert err.value.code == "LIMIT_EXCEEDED"
    assert len(run_query(lambda db: videos(db).take(COLLECT_MAX), org=ORG)) == COLLECT_MAX


def test_filter_take_reads_pages_until_n_matches(table: str, requests_counter) -> None:
    _seed(300)
    requests_counter.reset()
    hits = run_query(
        lambda db: videos(db).filter(lambda q: q.gte(q.field("properties.n"), 250)).take(5), org=ORG
    )
    assert [d["properties"]["n"] for d in hits] == [250, 251, 252, 253, 254]
    assert requests_counter.ops().count("Query") > 1, "several pages were read"
    none = run_query(
        lambda db: videos(db).filter(lambda q: q.eq(q.field("properties.n"), -1)).take(5), org=ORG
    )
    assert none == []


def test_filter_take_errors_past_the_examination_bound(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bound's behaviour, at a lower bound than the layer's (2,048 items seeded took most of a
    # minute on moto): the same code reads the module's value at every call.
    from ontology.data import query

    bound = 256
    assert bound < MAX_EXAMINED
    monkeypatch.setattr(query, "MAX_EXAMINED", bound)
    _seed(bound + 10)
    with pytest.raises(LimitExceededError):
        run_query(lambda db: videos(db).filter(lambda q: q.eq(q.field("properties.n"), -1)).take(1), org=ORG)
    # paginate returns a short page with a cursor instead, and can carry on
    page = run_query(
        lambda db: (
            videos(db)
            .filter(lambda q: q.eq(q.field("properties.n"), bound + 5))
            .paginate({"numItems": 1, "cursor": None})
        ),
        org=ORG,
    )
    assert page["page"] == [] and page["isDone"] is False
    page = run_query(
        lambda db: (
            videos(db)
            .filter(lambda q: q.eq(q.field("properties.n"), bound + 5))
            .paginate({"numItems": 1, "cursor": page["continueCursor"]})
        ),
        org=ORG,
    )
    assert [d["properties"]["n"] for d in page["page"]] == [bound + 5]


@pytest.mark.parametrize("n", [0, -1, 1001, 2.5, True, "3"])
def test_bad_page_sizes(table: str, n: object) -> None:
    with pytest.raises(ValidationError):
        run_query(lambda db: videos(db).paginate({"numItems": n, "cursor": None}), org=ORG)


def test_cursor_of_another_query_or_org_is_rejected(table: str) -> None:
    _seed(5)
    page = run_query(lambda db: videos(db).paginate({"numItems": 2, "cursor": None}), org=ORG)
    cursor = page["continueCursor"]
    with pytest.raises(ValidationError):
        run_query(lambda db: videos(db).paginate({"numItems": 2, "cursor": cursor}), org=OTHER_ORG)
    with pytest.raises(ValidationError):
        run_query(lambda db: videos(db).order("desc").paginate({"numItems": 2, "cursor": cursor}), org=ORG)
    with pytest.raises(ValidationError):
        run_query(
            lambda db: (
                db.query("entities")
                .with_index("by_type", lambda q: q.eq("type", "podcast"))
                .paginate({"numItems": 2, "cursor": cursor})
            ),
            org=ORG,
        )


def test_creator_email_is_unique_within_an_org_case_insensitively(table: str) -> None:
    run_mutation(lambda db: db.insert("entities", creator("ada@example.com")), org=ORG)
    with pytest.raises(ConflictError) as err:
        run_mutation(lambda db: db.insert("entities", creator("ADA@example.com ")), org=ORG)
    assert err.value.data["field"] == "properties.email"
    # another organization may have its own creator with that email
    run_mutation(lambda db: db.insert("entities", creator("ada@example.com")), org=OTHER_ORG)


def test_changing_a_unique_value_frees_the_old_one(table: str) -> None:
    cid = run_mutation(lambda db: db.insert("entities", creator("old@example.com")), org=ORG)

    def change(db):
        doc = db.get(cid)
        db.patch(cid, {"properties": {**doc["properties"], "email": "new@example.com"}})

    run_mutation(change, org=ORG)
    run_mutation(lambda db: db.insert("entities", creator("old@example.com")), org=ORG)
    with pytest.raises(ConflictError):
        run_mutation(lambda db: db.insert("entities", creator("new@example.com")), org=ORG)
    run_mutation(lambda db: db.delete(cid), org=ORG)
    run_mutation(lambda db: db.insert("entities", creator("new@example.com")), org=ORG)


def test_user_email_is_unique_on_the_platform(table: str) -> None:
    user = {"email": "u@example.com", "createdAt": 1, "updatedAt": 1}
    run_mutation(lambda db: db.insert("users", user), org=None, platform=True)
    with pytest.raises(ConflictError):
        run_mutation(
            lambda db: db.insert("users", {**user, "email": "U@Example.com"}), org=None, platform=True
        )
    found = run_query(
        lambda db: db.lookup_unique("users", "email", {"email": "u@EXAMPLE.com"}), org=None, platform=True
    )
    assert found["email"] == "u@example.com"


def test_racing_inserts_of_one_email_exactly_one_wins(table: str) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            run_mutation(lambda db: db.insert("entities", creator("race@example.com", name=f"R{i}")), org=ORG)
            results.append("won")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["won"]
    creators = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "creator")).collect(),
        org=ORG,
    )
    assert len(creators) == 1
