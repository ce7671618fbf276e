"""ctx.db CRUD on moto: insert, get, patch, replace, delete, typed ids, tenancy."""

from __future__ import annotations

import pytest

from ontology import (
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
    run_mutation,
    run_query,
)
from ontology.data.db import DatabaseReader
from ontology.data.keys import new_id
from tests.data.helpers import ORG, OTHER_ORG, connection, creator, entity


def insert(doc: dict, table: str = "entities", org: str = ORG) -> str:
    return run_mutation(lambda db: db.insert(table, doc), org=org)


def get(doc_id: str, org: str = ORG, table: str | None = None):
    return run_query(lambda db: db.get(doc_id, table), org=org)


def test_insert_then_get_returns_system_fields(table: str) -> None:
    cid = insert(creator("ada@example.com"))
    doc = get(cid)
    assert doc["_id"] == cid
    assert isinstance(doc["_creationTime"], int | float)
    assert doc["properties"]["email"] == "ada@example.com"
    assert doc["properties"]["totalFollowers"] == 0


def test_get_missing_is_none(table: str) -> None:
    assert get(new_id("entities")) is None


def test_get_with_an_id_of_another_table_is_a_validation_error(table: str) -> None:
    cid = insert(entity())
    with pytest.raises(ValidationError) as err:
        get(cid, table="connections")
    assert "entities" in err.value.message
    with pytest.raises(ValidationError):
        get("not-an-id")


def test_patch_merges_and_none_removes(table: str) -> None:
    eid = insert(entity(status="draft", body="x"))
    run_mutation(lambda db: db.patch(eid, {"status": "published", "name": "New"}), org=ORG)
    doc = get(eid)
    assert (doc["status"], doc["name"], doc["properties"]) == ("published", "New", {"body": "x"})
    run_mutation(lambda db: db.patch(eid, {"status": None}), org=ORG)
    assert "status" not in get(eid)


def test_patch_validates_the_merged_document(table: str) -> None:
    eid = insert(entity())
    with pytest.raises(ValidationError) as err:
        run_mutation(lambda db: db.patch(eid, {"type": "spaceship"}), org=ORG)
    assert err.value.field == "type"
    assert get(eid)["type"] == "blog_post"


def test_system_fields_cannot_be_changed(table: str) -> None:
    eid = insert(entity())
    with pytest.raises(ValidationError):
        run_mutation(lambda db: db.patch(eid, {"_creationTime": 5}), org=ORG)
    doc = get(eid)
    run_mutation(lambda db: db.replace(eid, {**doc, "name": "Replaced"}), org=ORG)
    assert get(eid)["name"] == "Replaced"


def test_replace_drops_fields_not_given(table: str) -> None:
    eid = insert(entity(status="draft", body="x"))
    run_mutation(lambda db: db.replace(eid, entity(status=None, name="Only")), org=ORG)
    doc = get(eid)
    assert "status" not in doc and doc["properties"] == {} and doc["name"] == "Only"


def test_delete_and_not_found(table: str) -> None:
    eid = insert(entity())
    run_mutation(lambda db: db.delete(eid), org=ORG)
    assert get(eid) is None
    for op in (
        lambda db: db.delete(eid),
        lambda db: db.patch(eid, {"name": "x"}),
        lambda db: db.replace(eid, entity()),
    ):
        with pytest.raises(NotFoundError):
            run_mutation(op, org=ORG)


def test_reads_see_the_mutations_own_writes(table: str) -> None:
    def body(db):
        a = db.insert("entities", entity(name="A", t=5))
        assert db.get(a)["name"] == "A"
        db.patch(a, {"name": "A2"})
        b = db.insert("entities", entity(name="B", t=6))
        listed = db.query("entities").with_index("by_type", lambda q: q.eq("type", "blog_post")).collect()
        db.delete(b)
        after = db.query("entities").with_index("by_type", lambda q: q.eq("type", "blog_post")).collect()
        return [d["name"] for d in listed], [d["name"] for d in after], db.get(b)

    listed, after, gone = run_mutation(body, org=ORG)
    assert listed == ["A2", "B"]
    assert after == ["A2"]
    assert gone is None


def test_a_failed_mutation_writes_nothing(table: str) -> None:
    def body(db):
        db.insert("entities", entity(name="never"))
        raise NotFoundError("stop")

    with pytest.raises(NotFoundError):
        run_mutation(body, org=ORG)
    assert run_query(lambda db: db.query("entities").collect(), org=ORG) == []


def test_tenancy_an_org_cannot_read_another_orgs_documents(table: str) -> None:
    eid = insert(entity(name="secret"))
    assert get(eid, org=OTHER_ORG) is None
    assert run_query(lambda db: db.query("entities").collect(), org=OTHER_ORG) == []
    with pytest.raises(NotFoundError):
        run_mutation(lambda db: db.patch(eid, {"name": "stolen"}), org=OTHER_ORG)
    assert get(eid)["name"] == "secret"


def test_query_context_cannot_write(table: str) -> None:
    db = DatabaseReader(ORG)
    assert not hasattr(db, "insert") and not hasattr(db, "patch") and not hasattr(db, "delete")


def test_oversized_document_is_payload_too_large(table: str) -> None:
    with pytest.raises(PayloadTooLargeError):
        insert(entity(blob="x" * 70_000))


def test_get_many_is_one_batch_in_order(table: str, requests_counter) -> None:
    ids = [insert(entity(name=f"e{i}")) for i in range(5)]
    missing = new_id("entities")
    requests_counter.reset()
    docs = run_query(lambda db: db.get_many([ids[3], missing, ids[0]]), org=ORG)
    assert [d and d["name"] for d in docs] == ["e3", None, "e0"]
    assert requests_counter.ops() == ["BatchGetItem"]


def test_connection_triple_is_unique(table: str) -> None:
    a, b = insert(entity()), insert(entity())
    insert(connection(a, b, "references"), "connections")
    with pytest.raises(ConflictError):
        insert(connection(a, b, "references"), "connections")
    insert(connection(a, b, "part_of"), "connections")  # another type is another triple
    found = run_query(
        lambda db: db.lookup_unique(
            "connections", "triple", {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"}
        ),
        org=ORG,
    )
    assert found["relationshipType"] == "references"


def test_an_insert_may_keep_a_creation_time_it_already_has(table: str) -> None:
    """An import keeps a document's ``_creationTime`` (Convex's float ms): it orders the table's
    ``by_creation_time`` index as any other document's."""
    recent, ancient = (
        run_mutation(lambda db, n=n, t=t: db.insert("entities", entity(name=n), creation_time=t), org=ORG)
        for n, t in (("Recent", 1741615391483.5596), ("Ancient", 1000.25))
    )
    docs = run_query(lambda db: db.query("entities").collect(), org=ORG)
    assert [(d["_id"], d["_creationTime"]) for d in docs] == [
        (ancient, 1000.25),
        (recent, 1741615391483.5596),
    ]
    for bad in (float("nan"), -1.0, True, 2.0**53, "1"):
        with pytest.raises(ValidationError):
            run_mutation(lambda db, bad=bad: db.insert("entities", entity(), creation_time=bad), org=ORG)
