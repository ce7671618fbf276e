"""Creators' content and follower counts, filled into their counters from the connections.

A creator's ``contentCount`` and ``followerCount`` are counters kept as ``authored`` and
``following`` connections are written (``ontology.data.relation_counts``: by the table's stream, and
by the transactions that remove an authored item or change its reach). What was written before they
were holds no count. For each creator this counts its connections (the ``authored``
ones leaving it, each by the reach of the item it reaches; the ``following`` ones reaching it) and
sets the counters to that: shard ``00`` takes the difference between what it counted and what the
other shards hold.

Idempotent by construction: it sets, it does not add; a creator whose counters already say what its
connections do is skipped. A connection written meanwhile moves a shard (the code deployed with it
adds to the counters), so the change is conditioned on the creator and every shard being as read (a
shard absent when read is written 0, its key free): a shard that moved makes the runner read them
again and count again. A connection the stream has not counted yet when the migration counts it is
counted twice (by it, then by the stream): run on a table being written, a count may be one off per
such connection until the migration runs again (docs/data-model.md, "Counts"). Until the migration
is done, callers count the connections themselves (``relation_counts.migrated``), so no one reads a
counter that is not filled yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ontology.data.counters import COUNTER_TB, PART_PREFIX, counter_pk, shards_of
from ontology.data.migrations import Batch, Change, Item, Migration, scan
from ontology.data.migrations.base import Put, Update, key_of
from ontology.data.relation_counts import CONTENT, FOLLOWERS, MIGRATION, PARTS, reach

#: Content items read at once (one BatchGetItem).
CHUNK = 100


def _attr(part: str) -> str:
    return "n" if not part else f"{PART_PREFIX}{part}"


def _counted(store: Any, scope: str, creator_id: str) -> dict[str, dict[str, int]]:
    """What the creator's connections count: per counter, its total (``""``) and parts."""
    from ontology.data.db import DatabaseReader

    db = DatabaseReader(scope, store=store)
    content: dict[str, int] = {"": 0, **dict.fromkeys(PARTS, 0)}
    targets: list[str] = []

    def tally(ids: list[str]) -> None:
        for doc in db.get_many(ids, "entities"):
            where = reach(doc)
            if where is not None:
                content[where] += 1

    authored = db.query("connections").with_index(
        "from_type", lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "authored")
    )
    for conn in authored.iterate(CHUNK):
        content[""] += 1
        targets.append(str(conn["toEntityId"]))
        if len(targets) == CHUNK:
            tally(targets)
            targets = []
    if targets:
        tally(targets)
    followers = db.query("connections").with_index(
        "to_type", lambda q: q.eq("toEntityId", creator_id).eq("relationshipType", "following")
    )
    return {CONTENT: content, FOLLOWERS: {"": sum(1 for _ in followers.iterate(CHUNK))}}


class RelationCounts(Migration):
    id = MIGRATION
    description = "creators' content and follower counts filled into their counters"
    source = scan("entities", segments=4)
    batch_size = 50

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item.get("tb") != "entities":
                continue  # a shard the runner reads again after a conflict
            doc = json.loads(str(item["doc"]))
            if doc.get("type") != "creator":
                continue
            change = self._fill(batch, item)
            if change is not None:
                yield change

    @staticmethod
    def _fill(batch: Batch, item: Item) -> Change | None:
        scope, _, creator_id = str(item["pk"]).rpartition("#")
        reads: list[Item] = [item]
        writes: list[Put | Update] = []
        for name, want in _counted(batch.store, scope, creator_id).items():
            pk = counter_pk(scope, creator_id, name)
            keys = [(pk, f"{i:02d}") for i in range(shards_of(name))]
            found = batch.read(*keys)
            held = [shard or {} for shard in found]
            parts = set(want) | {
                a[len(PART_PREFIX) :] for shard in held for a in shard if a.startswith(PART_PREFIX)
            }
            first = {
                _attr(p): want.get(p, 0) - sum(int(s.get(_attr(p)) or 0) for s in held[1:]) for p in parts
            }
            if all(int(held[0].get(a) or 0) == v for a, v in first.items()):
                continue  # this counter says what the connections do
            for key, shard in zip(keys, found, strict=True):
                if shard is not None:
                    reads.append(shard)
                    if key == keys[0]:
                        writes.append(Update(key_of(shard), first))
                elif key == keys[0]:
                    writes.append(Put({"pk": key[0], "sk": key[1], "tb": COUNTER_TB, **first}))
                else:  # absent: written 0, so a shard made meanwhile fails the change
                    writes.append(Put({"pk": key[0], "sk": key[1], "tb": COUNTER_TB, "n": 0}))
        if not writes:
            return None
        return Change(tuple(reads), tuple(writes))
