"""Reading a document for its existence alone (``checked="existence"``): the commit does not name
the document's item, so concurrent readers of one popular document do not conflict on it, and yet
a mutation that read it alive never commits after its deletion (ontology/data/tombstones.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ontology import NotFoundError, run_mutation, run_query
from ontology.data import tombstones
from ontology.data.dynamodb import default_store
from ontology.data.keys import DOC_SK
from tests.data.helpers import ORG, connection, creator, entity


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch, table: str) -> list[list[dict[str, Any]]]:
    """The TransactItems of every commit."""
    store = default_store()
    original = store.transact_write
    seen: list[list[dict[str, Any]]] = []

    def spy(items: list[dict[str, Any]], **kwargs: Any) -> Any:
        seen.append(items)
        return original(items, **kwargs)

    monkeypatch.setattr(store, "transact_write", spy)
    return seen


def _keys(items: list[dict[str, Any]], op: str) -> list[tuple[str, str]]:
    return [
        (i[op]["Key"]["pk"]["S"], i[op]["Key"]["sk"]["S"])
        if "Key" in i[op]
        else (i[op]["Item"]["pk"]["S"], i[op]["Item"]["sk"]["S"])
        for i in items
        if op in i
    ]


def _follow(fan: str, star: str, during: Any = None) -> tuple[str, int]:
    """A follow as connections:create makes it (both ends read for their existence), ``during``
    run between its reads and its commit on its first attempt; (its id, attempts)."""
    attempts = 0

    def body(db: Any) -> str:
        nonlocal attempts
        attempts += 1
        src, dst = db.get_many([fan, star], "entities", checked="existence")
        if src is None or dst is None:
            raise NotFoundError("Entity not found")
        if during is not None and attempts == 1:
            during()
        return str(db.insert("connections", connection(fan, star, "following")))

    return run_mutation(body, org=ORG), attempts


def test_the_commit_checks_a_tombstone_not_the_document(table: str, sent: Any) -> None:
    fan = run_mutation(lambda db: db.insert("entities", entity("audience_member", "Fan")), org=ORG)
    star = run_mutation(lambda db: db.insert("entities", creator("star@x.io")), org=ORG)
    sent.clear()
    _, attempts = _follow(fan, star)
    assert attempts == 1
    (items,) = sent
    checked = _keys(items, "ConditionCheck")
    assert {pk for pk, _ in checked} == {
        tombstones.tombstone_pk(f"{ORG}#{fan}"),
        tombstones.tombstone_pk(f"{ORG}#{star}"),
    }
    assert all(sk in {f"{i:02d}" for i in range(tombstones.SHARDS)} for _, sk in checked)
    assert all(
        i["ConditionCheck"]["ConditionExpression"] == "attribute_not_exists(pk)"
        for i in items
        if "ConditionCheck" in i
    )
    assert (f"{ORG}#{star}", DOC_SK) not in checked  # the document's own item is not in the transaction


def test_a_patch_between_the_read_and_the_commit_does_not_conflict(table: str) -> None:
    fan = run_mutation(lambda db: db.insert("entities", entity("audience_member", "Fan")), org=ORG)
    star = run_mutation(lambda db: db.insert("entities", creator("star@x.io")), org=ORG)

    def rename() -> None:
        run_mutation(lambda db: db.patch(star, {"name": "Renamed"}), org=ORG)

    link, attempts = _follow(fan, star, during=rename)
    assert attempts == 1  # nothing the follow depends on changed: the two commute
    assert run_query(lambda db: db.get(link), org=ORG) is not None


def test_a_deletion_between_the_read_and_the_commit_makes_it_run_again_and_fail(
    table: str, sent: Any
) -> None:
    fan = run_mutation(lambda db: db.insert("entities", entity("audience_member", "Fan")), org=ORG)
    star = run_mutation(lambda db: db.insert("entities", entity("video", "Clip")), org=ORG)

    def delete() -> None:
        run_mutation(lambda db: db.delete(star, "entities"), org=ORG)

    with pytest.raises(NotFoundError):
        _follow(fan, star, during=delete)
    links = run_query(
        lambda db: (
            db.query("connections").with_index("to_entity", lambda q: q.eq("toEntityId", star)).collect()
        ),
        org=ORG,
    )
    assert links == []  # no connection to a deleted entity committed
    # the deletion put every tombstone of the document, kept a day (TTL)
    deletion = next(items for items in sent if any("Delete" in i for i in items))
    puts = [i["Put"]["Item"] for i in deletion if "Put" in i]
    assert sorted(p["sk"]["S"] for p in puts) == [f"{i:02d}" for i in range(tombstones.SHARDS)]
    assert {p["pk"]["S"] for p in puts} == {tombstones.tombstone_pk(f"{ORG}#{star}")}
    assert all(p["tb"]["S"] == tombstones.TOMBSTONE_TB and "ttl" in p for p in puts)


def test_a_follow_after_the_deletion_finds_the_entity_gone(table: str) -> None:
    fan = run_mutation(lambda db: db.insert("entities", entity("audience_member", "Fan")), org=ORG)
    star = run_mutation(lambda db: db.insert("entities", entity("video", "Clip")), org=ORG)
    run_mutation(lambda db: db.delete(star, "entities"), org=ORG)
    with pytest.raises(NotFoundError):
        _follow(fan, star)


def test_a_later_checked_read_or_a_missing_document_is_conditioned_on_its_version(
    table: str, sent: Any
) -> None:
    star = run_mutation(lambda db: db.insert("entities", creator("star@x.io")), org=ORG)
    missing = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
    sent.clear()

    def body(db: Any) -> None:
        db.get(star, "entities", checked="existence")
        db.get(star, "entities")  # the mutation now depends on all of it
        assert db.get(missing, "entities", checked="existence") is None
        db.insert("entities", entity("blog_post", "Post"))

    run_mutation(body, org=ORG)
    (items,) = sent
    checks = {
        k: i["ConditionCheck"]["ConditionExpression"]
        for i in items
        if "ConditionCheck" in i
        for k in [i["ConditionCheck"]["Key"]["pk"]["S"]]
    }
    assert checks == {f"{ORG}#{star}": "#v = :v", f"{ORG}#{missing}": "attribute_not_exists(pk)"}


def test_a_table_without_tombstones_reads_for_existence_as_a_checked_read(table: str, sent: Any) -> None:
    post = run_mutation(lambda db: db.insert("entities", entity("blog_post", "Post")), org=ORG)
    tag = run_mutation(
        lambda db: db.insert("tags", {"entityId": post, "key": "topic", "value": "x"}), org=ORG
    )
    sent.clear()
    run_mutation(
        lambda db: (
            db.get(tag, "tags", checked="existence"),
            db.insert("entities", entity("blog_post", "Other")),
        ),
        org=ORG,
    )
    (items,) = sent
    assert _keys(items, "ConditionCheck") == [(f"{ORG}#{tag}", DOC_SK)]


def test_an_authored_connection_depends_on_its_items_reach_and_runs_again_when_it_changes(table: str) -> None:
    """The creator's content count takes the part the item's reach says (ontology.data.relation_counts):
    that depends on more than the item's existence, so the count reads it checked, and a status
    change between the connection's reads and its commit makes it run again."""
    author = run_mutation(lambda db: db.insert("entities", creator("author@x.io")), org=ORG)
    post = run_mutation(lambda db: db.insert("entities", entity("blog_post", "Post", "draft")), org=ORG)
    attempts = 0

    def body(db: Any) -> str:
        nonlocal attempts
        attempts += 1
        src, dst = db.get_many([author, post], "entities", checked="existence")
        assert src is not None and dst is not None
        if attempts == 1:
            run_mutation(lambda other: other.patch(post, {"status": "published"}), org=ORG)
        return str(db.insert("connections", connection(author, post, "authored")))

    run_mutation(body, org=ORG)
    assert attempts == 2
