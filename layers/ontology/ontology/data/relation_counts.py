"""Counts of an entity's connections, kept in counters: the stream adds what a connection made or
unfollowed counts, the transactions that need a moment's state move the rest.

A creator's ``contentCount`` (its ``authored`` connections) and ``followerCount`` (the ``following``
connections reaching it) are sharded counters (:mod:`ontology.data.counters`) on the entity, named
after the fields the reference shows. The data layer keeps them itself, so no function or service
has to remember them:

- a ``following`` connection inserted adds 1 to its target's ``followerCount``; deleted, takes 1:
  **from the table's stream** (:func:`stream_adds`), by the search aggregator's batches, exactly
  once (:mod:`ontology.data.search_aggregates`): the follow's transaction writes no counter;
- an ``authored`` connection inserted adds 1 to its source's ``contentCount`` and 1 to the part of
  the count its target's **reach** says (below), from the stream too: the transaction reads the
  target (checked) and stamps the part on the connection's item (``rc``), which the stream's record
  carries;
- an ``authored`` connection deleted takes 1 and its part away, and an entity whose reach changes (a
  draft published, a post archived, a livestream ended, an entity deleted) moves 1 from its old part
  to its new one in the count of every creator that authored it (one Query of the ``authored``
  connections reaching it: only when its reach changes), **in the transaction** (:func:`settle`, run
  by every mutation before it commits): which part a removal takes, and which connections a change
  moves, are what the transaction reads at that moment; a reader of the stream a second later could
  not tell them. Additions commute, so a count is exact once the stream has caught up, whichever
  lands first.

Counts from the stream are **eventually consistent**: they trail the write by the stream's delay
(about a second); a subscription to a count still updates then, since the aggregator's write to a
shard is a table write like any other.

The **reach** of a content item is who besides staff sees it (``ontology.data.visibility``):
``public`` (the world: it has a public pointer), ``members`` (every member of its organization, not
the world), ``personal`` (some members only: their own, or what they take part in), or none (staff
only, or the item is missing). A caller's count is then one consistent Query of the counter's
shards (:func:`content_count`): staff read the total (every authored connection, as a COUNT of them
did); anyone else the parts they see, exactly what a count of the connections they may see gave: the
world ``public``, a member ``public`` + ``members`` (and, in the rare count that holds ``personal``
items, whose visibility depends on the member, the connections themselves).

Counts written before these counters existed are filled by migration ``0015-relation-counts``; until
it is done (:func:`migrated`) a caller counts the connections as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ontology.data import counters
from ontology.data.visibility import PUBLIC, is_public, rule_for

if TYPE_CHECKING:
    from ontology.data.db import DatabaseReader, DatabaseWriter
    from ontology.data.dynamodb import Store

__all__ = [
    "CONTENT",
    "FOLLOWERS",
    "MIGRATION",
    "PARTS",
    "STAMP",
    "content_count",
    "follower_count",
    "migrated",
    "reach",
    "settle",
    "stream_adds",
]

CONTENT = "contentCount"
FOLLOWERS = "followerCount"
#: The parts of a content count, by the reach of the items (the total holds every item).
PARTS = ("public", "members", "personal")
#: The migration that fills the counts of what was written before them (versions/m0015_…).
MIGRATION = "0015-relation-counts"
#: The attribute of a connection's item saying the stream counts its insertion: the part its
#: ``authored`` connection takes (:data:`NO_PART`: none, and every ``following`` connection).
STAMP = "rc"
NO_PART = "-"

Doc = dict[str, Any]


def reach(doc: Mapping[str, Any] | None) -> str | None:
    """Who besides staff sees an entity: ``public``, ``members``, ``personal`` or None (no one, or
    it is missing)."""
    if doc is None:
        return None
    if is_public("entities", doc):
        return "public"
    rule = rule_for("entities", doc)
    if rule.members is not None and rule.members(doc):
        return "members"
    if rule.own is not None or rule.parents:
        return "personal"
    return None


def _part(where: str | None, delta: int) -> dict[str, int]:
    return {where: delta} if where is not None else {}


# ------------------------------------------------------------------------------------ writing


def settle(db: DatabaseWriter) -> None:
    """Move the counts the mutation's buffered writes change, in its transaction (before commit)."""
    tx = db.tx
    written = list(tx.docs.items())
    for doc_id, full in written:
        t, scope = tx.where[doc_id]
        if t.name == "connections":
            _connection(db, scope, doc_id, full)
    for doc_id, full in written:
        t, scope = tx.where[doc_id]
        if t.name == "entities" and doc_id not in tx.inserted:
            old = tx.seen.get(f"{scope}#{doc_id}")
            if reach(old) != reach(full):
                _moved(db, scope, doc_id, reach(old), reach(full))


def _states(db: DatabaseWriter, scope: str, entity_id: str) -> tuple[Doc | None, Doc | None]:
    """An entity as committed before the mutation and as it leaves it (read, checked, when the
    mutation has not read it, or read it for its existence alone, as ``connections:create`` reads a
    connection's ends: a concurrent change of it makes the mutation run again)."""
    tx = db.tx
    pk = f"{scope}#{entity_id}"
    if entity_id in tx.docs:
        before = None if entity_id in tx.inserted else tx.seen.get(pk)
        return before, tx.docs[entity_id]
    if pk not in tx.seen or (pk in tx.alive and pk not in tx.reads):
        db.view(org=scope).get(entity_id, "entities")  # the count depends on its reach: checked
    now = tx.seen.get(pk)
    return now, now


def _connection(db: DatabaseWriter, scope: str, doc_id: str, full: Doc | None) -> None:
    tx = db.tx
    old = None if doc_id in tx.inserted else tx.seen.get(f"{scope}#{doc_id}")
    if (old is None) == (full is None):
        return  # a connection rewritten in place (its triple cannot change) counts as it did
    conn = full or old
    assert conn is not None
    kind = conn.get("relationshipType")
    if kind == "following" and full is not None:
        tx.stamps[doc_id] = {STAMP: NO_PART}  # the stream counts it (and its deletion: stream_adds)
    elif kind == "authored":
        before, after = _states(db, scope, str(conn["toEntityId"]))
        if full is not None:  # the stream adds it, in the part its item has as this commits
            tx.stamps[doc_id] = {STAMP: reach(after) or NO_PART}
            return
        where = reach(before)
        counters.add_in(tx, scope, str(conn["fromEntityId"]), CONTENT, -1, parts=_part(where, -1))


def _moved(db: DatabaseWriter, scope: str, entity_id: str, old: str | None, new: str | None) -> None:
    """An entity's reach changed: move it between the parts of every creator that authored it (its
    connections the mutation writes itself were counted by :func:`_connection`)."""
    tx = db.tx
    authored = (
        db.view(org=scope)
        .query("connections")
        .with_index("to_type", lambda q: q.eq("toEntityId", entity_id).eq("relationshipType", "authored"))
        .collect()
    )
    for conn in authored:
        if conn["_id"] in tx.docs:
            continue
        moves = {**_part(old, -1), **_part(new, 1)}
        counters.add_in(tx, scope, str(conn["fromEntityId"]), CONTENT, 0, parts=moves)


# ------------------------------------------------------------------------------------ the stream


def _image(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    from ontology.data.dynamodb import deserialize

    return deserialize(dict(raw)) if raw else None


def stream_adds(change: Mapping[str, Any]) -> list[tuple[str, str, dict[str, int]]]:
    """What one stream record (its ``dynamodb`` part) adds to the counts: ``(counter partition,
    counter name, {attribute: delta})`` — a ``following`` connection inserted with its stamp (the
    code before the stamp counted it in its transaction) or deleted, an ``authored`` one inserted
    with its stamp. Anything else adds nothing here."""
    old, new = _image(change.get("OldImage")), _image(change.get("NewImage"))
    if (old is None) == (new is None):
        return []
    item = new or old
    assert item is not None
    if item.get("tb") != "connections" or item.get("sk") != "D" or not isinstance(item.get("doc"), str):
        return []
    if new is not None and STAMP not in new:
        return []
    from ontology.data import typed

    doc = typed.decode(item["doc"])
    scope = str(item["pk"]).rsplit("#", 1)[0]
    kind = doc.get("relationshipType")
    delta = 1 if new is not None else -1
    if kind == "following":
        return [(counters.counter_pk(scope, str(doc["toEntityId"]), FOLLOWERS), FOLLOWERS, {"n": delta})]
    if kind == "authored" and new is not None:
        deltas = {"n": 1}
        if new[STAMP] in PARTS:
            deltas[f"{counters.PART_PREFIX}{new[STAMP]}"] = 1
        return [(counters.counter_pk(scope, str(doc["fromEntityId"]), CONTENT), CONTENT, deltas)]
    return []


# ------------------------------------------------------------------------------------ reading


def migrated(store: Store) -> bool:
    """Whether the counts of what was written before the counters are filled (:data:`MIGRATION`)."""
    from ontology.data.db import migration_done

    return migration_done(store, MIGRATION)


def content_count(db: DatabaseReader, creator_id: str) -> int | None:
    """How many content items ``creator_id`` authored that ``db``'s caller sees (one consistent
    Query of the counter), or None where the counter cannot say (before :data:`MIGRATION` is done, or
    a member's count holding items only some members see): the caller counts the connections."""
    if not migrated(db._store):
        return None
    held = counters.totals(db, creator_id, CONTENT)
    if db.sees_everything:
        return max(0, held[""])
    sight = db._sight
    assert sight is not None
    if sight.viewer.audience(db.org) == PUBLIC:
        return max(0, held.get("public", 0))
    if held.get("personal", 0) > 0:
        return None
    return max(0, held.get("public", 0) + held.get("members", 0))


def follower_count(db: DatabaseReader, entity_id: str) -> int | None:
    """How many ``following`` connections reach ``entity_id`` (one consistent Query of the counter),
    or None before :data:`MIGRATION` is done."""
    if not migrated(db._store):
        return None
    return max(0, counters.totals(db, entity_id, FOLLOWERS)[""])
