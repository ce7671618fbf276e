"""Keyed unique rules (a connection's from/to/type, a tag's entity/key/value): the document's id is
derived from its value, so its own key enforces the rule, with no guard item. Documents written
before (random ids, guard items) are honoured until migration 0011 turns their guards into aliases,
and after it."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data.db import DatabaseReader, guard_key, legacy_guards
from ontology.data.dynamodb import add_listener, default_store, remove_listener
from ontology.data.indexes import Unique
from ontology.data.keys import ALIAS_TB, DOC_SK, GUARD_SK, check_id, encode_tuple, keyed_id, new_id
from ontology.data.migrations import runner
from ontology.data.migrations.progress import born
from ontology.data.migrations.runner import Options
from ontology.data.migrations.versions.m0011_keyed_uniques import KeyedUniques
from ontology.data.schema import TABLES, Table
from ontology.data.visibility import Sight, Viewer
from ontology.errors import ConflictError, ValidationError
from tests.data.helpers import ORG, OTHER_ORG, connection, creator, entity, written_before

A = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8A"
B = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8B"
C = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8C"
FAN = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8F"
TRIPLE = {"fromEntityId": A, "toEntityId": B, "relationshipType": "authored"}
TAG = {"entityId": A, "key": "topic", "value": "math"}


def _derived(table_name: str, values: tuple[Any, ...], org: str = ORG) -> str:
    return keyed_id(table_name, org, encode_tuple(values, TABLES[table_name].keyed.fields))  # type: ignore[union-attr]


def _item(pk: str, sk: str = DOC_SK) -> dict[str, Any] | None:
    return default_store().get(pk, sk, consistent=True)


def _insert(table_name: str, doc: dict[str, Any], org: str = ORG) -> str:
    return run_mutation(lambda db: db.insert(table_name, doc), org=org)


def _lookup(table_name: str, values: dict[str, Any], org: str = ORG) -> dict[str, Any] | None:
    rule = TABLES[table_name].keyed.name  # type: ignore[union-attr]
    return run_query(lambda db: db.lookup_unique(table_name, rule, values), org=org)


class _Requests:
    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []

    def __call__(self, operation: str, params: dict[str, Any], response: Any) -> None:
        if operation == "GetItem":
            self.keys.append((params["Key"]["pk"]["S"], params["Key"]["sk"]["S"]))


def _gets(fn: Any) -> list[tuple[str, str]]:
    """The items ``fn`` read one by one (GetItem)."""
    requests = _Requests()
    add_listener(requests)
    try:
        fn()
    finally:
        remove_listener(requests)
    return requests.keys


# ------------------------------------------------------------------------------------ declaration


def test_a_keyed_rule_applies_to_every_document_and_a_table_has_one() -> None:
    with pytest.raises(ValueError, match="every document"):
        Unique("x", ("a",), when=lambda d: True, keyed=True)
    with pytest.raises(ValueError, match="one keyed unique rule"):
        Table(
            "twokeys",
            "tkk",
            "org",
            uniques=(Unique("a", ("a",), keyed=True), Unique("b", ("b",), keyed=True)),
        )
    assert TABLES["connections"].keyed is not None and TABLES["connections"].keyed.name == "triple"
    assert TABLES["tags"].keyed is not None and TABLES["tags"].keyed.name == "tag"
    assert TABLES["entities"].keyed is None


# ------------------------------------------------------------------------------------- new documents


def test_a_new_document_gets_the_id_its_value_derives_and_no_guard(table: str) -> None:
    cid = _insert("connections", connection(A, B))
    tid = _insert("tags", TAG)
    assert cid == _derived("connections", (A, B, "authored"))
    assert tid == _derived("tags", (A, "topic", "math"))
    assert check_id("connections", cid) == cid and check_id("tags", tid) == tid
    assert _item(f"{ORG}#{cid}")["tb"] == "connections"
    assert _item(guard_key(ORG, "connections", "triple", (A, B, "authored")), GUARD_SK) is None
    assert _item(guard_key(ORG, "tags", "tag", (A, "topic", "math")), GUARD_SK) is None
    # another organization, another type, another value: another id
    other = {
        _insert("connections", connection(A, B), org=OTHER_ORG),
        _insert("connections", connection(A, B, "owns")),
        _insert("connections", connection(B, A)),
    }
    assert len(other | {cid}) == 4
    with pytest.raises(ValidationError) as err:
        run_mutation(lambda db: db.insert("tags", {**TAG, "value": "x"}, doc_id=new_id("tags")), org=ORG)
    assert err.value.data["field"] == "id"


def test_a_duplicate_insert_is_a_conflict_with_the_rules_message(table: str) -> None:
    _insert("connections", connection(A, B))
    _insert("tags", TAG)
    with pytest.raises(ConflictError) as err:
        _insert("connections", connection(A, B, t=2, note="again"))
    assert str(err.value) == "this connection already exists"
    assert err.value.data == {"field": "relationshipType", "rule": "triple"}
    with pytest.raises(ConflictError) as err:
        _insert("tags", dict(TAG))
    assert str(err.value) == "this tag is already on the entity"
    assert err.value.data == {"field": "value", "rule": "tag"}
    with pytest.raises(ConflictError):  # twice in one mutation
        run_mutation(lambda db: [db.insert("tags", {**TAG, "key": "k"}) for _ in range(2)], org=ORG)
    assert _lookup("tags", {**TAG, "key": "k"}) is None


def test_a_duplicate_committed_while_a_mutation_runs_makes_it_run_again_and_fail(table: str) -> None:
    attempts: list[int] = []

    def racer(db: Any) -> str:
        attempts.append(1)
        mine = db.insert("connections", connection(A, B))
        if len(attempts) == 1:  # another mutation lands the same triple before this one commits
            run_mutation(lambda other: other.insert("connections", connection(A, B, t=5)), org=ORG)
        return str(mine)

    with pytest.raises(ConflictError) as err:
        run_mutation(racer, org=ORG)
    assert str(err.value) == "this connection already exists" and len(attempts) == 2
    assert _lookup("connections", TRIPLE)["createdAt"] == 5


def test_racing_inserts_of_one_tag_exactly_one_wins(table: str) -> None:
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            run_mutation(lambda db: db.insert("tags", dict(TAG)), org=ORG)
            results.append("won")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 5 + ["won"]
    tags = run_query(
        lambda db: db.query("tags").with_index("by_entity", lambda q: q.eq("entityId", A)).collect(), org=ORG
    )
    assert len(tags) == 1


@pytest.fixture
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a process learned of migration 0011 it keeps for the test (however slow the machine)."""
    monkeypatch.setattr("ontology.data.layout.LEGACY_RECHECK_SECONDS", 1e9)


def test_lookup_finds_the_document_by_its_key_in_one_read(table: str, steady: None) -> None:
    cid = _insert("connections", connection(A, B))
    assert _gets(lambda: _lookup("connections", TRIPLE)) == [(f"{ORG}#{cid}", DOC_SK)]
    # a value nobody holds: its key, and (once per process) whether the migration is done
    store = default_store()
    store.memo.clear()
    born(store, "0011-keyed-uniques", "keyed uniques", now=1)
    owns = {**TRIPLE, "relationshipType": "owns"}
    free = (f"{ORG}#{_derived('connections', (A, B, 'owns'))}", DOC_SK)
    assert _gets(lambda: _lookup("connections", owns)) == [
        free,
        ("platform#migrations", "0011-keyed-uniques"),
    ]
    assert _gets(lambda: _lookup("connections", owns)) == [free]
    assert _lookup("connections", TRIPLE)["_id"] == cid
    assert _lookup("connections", {**TRIPLE, "relationshipType": "owns"}) is None
    assert _lookup("connections", TRIPLE, org=OTHER_ORG) is None

    def in_a_mutation(db: Any) -> tuple[str, Any]:
        found = db.lookup_unique("connections", "triple", TRIPLE)
        db.delete(found["_id"])
        return found["_id"], db.lookup_unique("connections", "triple", TRIPLE)

    assert run_mutation(in_a_mutation, org=ORG) == (cid, None)
    assert _lookup("connections", TRIPLE) is None


def test_delete_then_insert_again_gets_the_same_id(table: str) -> None:
    tid = _insert("tags", TAG)
    run_mutation(lambda db: db.delete(tid), org=ORG)
    assert _item(f"{ORG}#{tid}") is None and _lookup("tags", TAG) is None
    assert _insert("tags", TAG) == tid

    def again(db: Any) -> str:  # delete and insert in one mutation: one Put over the old item
        db.delete(tid)
        return str(db.insert("tags", TAG))

    assert run_mutation(again, org=ORG) == tid
    assert _lookup("tags", TAG)["_id"] == tid
    run_mutation(
        lambda db: [db.insert("tags", {**TAG, "key": "k"}), db.delete(_derived("tags", (A, "k", "math")))],
        org=ORG,
    )
    assert _lookup("tags", {**TAG, "key": "k"}) is None


def test_the_fields_of_a_keyed_rule_never_change(table: str) -> None:
    cid = _insert("connections", connection(A, B))
    for change in ({"relationshipType": "owns"}, {"toEntityId": C}):
        with pytest.raises(ValidationError) as err:
            run_mutation(lambda db, change=change: db.patch(cid, change), org=ORG)
        assert err.value.data["field"] == next(iter(change))
    with pytest.raises(ValidationError) as err:
        run_mutation(lambda db: db.replace(cid, {**connection(C, B), "_id": cid}), org=ORG)
    assert err.value.data["field"] == "fromEntityId"
    # the other fields change as before, and an unchanged keyed field may be passed back
    run_mutation(
        lambda db: db.patch(cid, {"metadata": {"weight": 2}, "relationshipType": "authored"}), org=ORG
    )
    assert _lookup("connections", TRIPLE)["metadata"] == {"weight": 2}


# ------------------------------------------------------------------ documents written before (guards)


def _old_world() -> dict[str, str]:
    """Documents as the earlier code wrote them, and new ones, in one organization: A takes part in
    conversation C (an old participation), B wrote a message in it."""
    return {
        "connection": written_before("connections", connection(A, B)),
        "participation": written_before("connections", connection(A, C, "participated_in")),
        "tag": written_before("tags", TAG),
        "new": _insert("connections", connection(B, C)),
        "creator": _insert("entities", creator("ada@x.io")),  # a guard of a rule that is not keyed
        "message": _insert(
            "entities", entity("message", "M", "active", senderId=B, conversationId=C, text="hello")
        ),
    }


def _check_old_documents_hold_their_values(old: dict[str, str]) -> None:
    with pytest.raises(ConflictError) as err:
        _insert("connections", connection(A, B))
    assert str(err.value) == "this connection already exists"
    with pytest.raises(ConflictError):
        _insert("tags", TAG)
    assert _lookup("connections", TRIPLE)["_id"] == old["connection"]
    assert _lookup("tags", TAG)["_id"] == old["tag"]
    new = {"fromEntityId": B, "toEntityId": C, "relationshipType": "authored"}
    assert _lookup("connections", new)["_id"] == old["new"]
    # a participant of the conversation reads its messages through the old participation
    participant = DatabaseReader(ORG, sight=Sight(Viewer(ORG, "customer", A)))
    assert participant.get(old["message"], "entities")["_id"] == old["message"]
    outsider = DatabaseReader(ORG, sight=Sight(Viewer(ORG, "customer", FAN)))
    assert outsider.get(old["message"], "entities") is None


def test_documents_written_before_hold_their_values_until_and_after_the_migration(
    table: str, steady: None
) -> None:
    store = default_store()
    old = _old_world()
    assert legacy_guards(store)  # migration 0011 not done: guards are honoured
    _check_old_documents_hold_their_values(old)
    art = {**TAG, "value": "art"}
    art_keys = [
        (f"{ORG}#{_derived('tags', (A, 'topic', 'art'))}", DOC_SK),
        (guard_key(ORG, "tags", "tag", (A, "topic", "art")), GUARD_SK),
    ]
    assert _gets(lambda: _insert("tags", art)) == art_keys  # a free value: its key, then its guard

    report = runner.run(store, KeyedUniques(), Options(batch=2))
    assert report.status == "done" and report.counts["changed"] == 3
    for name, table_name, rule, value in (
        ("connection", "connections", "triple", (A, B, "authored")),
        ("participation", "connections", "triple", (A, C, "participated_in")),
        ("tag", "tags", "tag", (A, "topic", "math")),
    ):
        assert _item(guard_key(ORG, table_name, rule, value), GUARD_SK) is None
        alias = _item(f"{ORG}#{_derived(table_name, value)}")
        assert alias is not None and alias["tb"] == ALIAS_TB
        assert json.loads(alias["doc"]) == {"ref": old[name]}
        assert run_query(lambda db, t=table_name, v=value: db.get(_derived(t, v), t), org=ORG) is None
    assert _item(guard_key(ORG, "entities", "creator_email", ("ada@x.io",)), GUARD_SK) is not None

    store.memo.clear()  # the process learns the migration is done
    assert not legacy_guards(store)
    _check_old_documents_hold_their_values(old)
    run_mutation(lambda db: db.delete(_derived("tags", (A, "topic", "art"))), org=ORG)
    assert _gets(lambda: _insert("tags", art)) == art_keys[:1]  # no guard is read any more

    # deleting an old document frees its value (its alias goes with it)
    run_mutation(lambda db: db.delete(old["connection"]), org=ORG)
    assert _item(f"{ORG}#{_derived('connections', (A, B, 'authored'))}") is None
    assert _lookup("connections", TRIPLE) is None
    assert _insert("connections", connection(A, B)) == _derived("connections", (A, B, "authored"))

    # and deleting one and inserting its value again in one mutation puts the new one over the alias
    def again(db: Any) -> str:
        db.delete(old["tag"])
        return str(db.insert("tags", TAG))

    assert run_mutation(again, org=ORG) == _derived("tags", (A, "topic", "math"))
    assert _lookup("tags", TAG)["_id"] == _derived("tags", (A, "topic", "math"))
    assert _item(f"{ORG}#{old['tag']}") is None


def test_deleting_a_document_written_before_frees_its_value_before_the_migration(table: str) -> None:
    old = written_before("tags", TAG)
    guard = guard_key(ORG, "tags", "tag", (A, "topic", "math"))
    assert _item(guard, GUARD_SK) is not None
    run_mutation(lambda db: db.delete(old), org=ORG)
    assert _item(guard, GUARD_SK) is None and _lookup("tags", TAG) is None
    assert _insert("tags", TAG) == _derived("tags", (A, "topic", "math"))
    old2 = written_before("tags", {**TAG, "value": "art"})

    def again(db: Any) -> str:
        db.delete(old2)
        return str(db.insert("tags", {**TAG, "value": "art"}))

    assert run_mutation(again, org=ORG) == _derived("tags", (A, "topic", "art"))
    assert _item(guard_key(ORG, "tags", "tag", (A, "topic", "art")), GUARD_SK) is None
    assert runner.run(default_store(), KeyedUniques(), Options()).counts["changed"] == 0


def test_the_migration_stops_on_a_value_held_twice(table: str) -> None:
    old = written_before("tags", TAG)
    store = default_store()
    # a document of the same value at its derived key (written while the guard was not honoured)
    store.put(
        {
            "pk": f"{ORG}#{_derived('tags', (A, 'topic', 'math'))}",
            "sk": DOC_SK,
            "tb": "tags",
            "ct": 1,
            "v": 1,
            "doc": json.dumps(TAG),
        }
    )
    report = runner.run(store, KeyedUniques(), Options())
    assert report.status == "failed" and "keep one of the two documents" in (report.error or "")
    assert old in (report.error or "")
    run_mutation(lambda db: db.delete(_derived("tags", (A, "topic", "math"))), org=ORG)
    assert runner.run(store, KeyedUniques(), Options()).status == "done"
    assert _lookup("tags", TAG)["_id"] == old
