"""Counts that documents stored move into their counters' shards.

A livestream's ``messageCount``, a clone's ``totalInteractions`` and a token's ``circulatingSupply``
and ``holders`` are counters now (``ontology.data.counters``): a count reads as what its document
stores plus its counter's shards, and no write changes what the document stores. This moves each
stored count into its counter and sets the stored one to 0, in one transaction per document: shard
``00`` for a plain counter, and for a capped one (a token's supply under its ``totalSupply``) the
shards in order, each up to its share of the cap, so later additions find the room the cap leaves.

Idempotent by construction: a document whose stored counts are 0 has nothing to move, and the
transaction that moves them zeroes them. Additions made meanwhile (the code already adds to the
counters) are kept: the change is conditioned on the shards it writes being as read, and is made
again on fresh reads if one moved; the document's version is bumped, so a mutation that read it
before runs again. Readers see the same count before, during and after.

The chain's nonce items need no move: the pool's first signing account is the deployer, whose
``chainNonces`` item keeps its key (``<chain id>:<deployer address>``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from ontology.data.counters import COUNTED, COUNTER_TB, counter_pk, shard_caps, shards_of, stored
from ontology.data.migrations import Batch, Change, Item, Migration, scan
from ontology.data.migrations.base import Put, Update, key_of

#: Counted properties with a cap: the property holding the cap.
CAPS = {("token", "circulatingSupply"): "totalSupply"}


def _moves(item: Item) -> list[tuple[str, int, int]]:
    """(counter name, stored count, cap or 0) of each count the document still stores."""
    doc = json.loads(str(item["doc"]))
    kind = str(doc.get("type"))
    out = []
    for counted in COUNTED.get(kind, ()):
        if counted.of is not None:
            continue  # a recording counts its stream's: nothing of its own
        count = stored(doc, counted.name)
        if count > 0:
            cap_field = CAPS.get((kind, counted.name))
            cap = int((doc.get("properties") or {}).get(cap_field) or 0) if cap_field else 0
            out.append((counted.name, count, cap))
    return out


def _split(count: int, cap: int, held: list[int]) -> list[int]:
    """How much of ``count`` each shard takes: all in shard 00 without a cap; with one, the shards in
    order up to their share (what is left over, past the cap, in shard 00)."""
    if not cap:
        return [count] + [0] * (len(held) - 1)
    parts = [0] * len(held)
    left = count
    for i, share in enumerate(shard_caps(cap, len(held))):
        take = min(max(share - held[i], 0), left)
        parts[i], left = take, left - take
    parts[0] += left
    return parts


class CounterShards(Migration):
    id = "0014-counter-shards"
    description = "counts stored in documents move into their counters' shards"
    source = scan("entities", segments=4)
    batch_size = 50

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            moves = _moves(item)
            if moves:
                yield self._move(batch, item, moves)

    @staticmethod
    def _move(batch: Batch, item: Item, moves: list[tuple[str, int, int]]) -> Change:
        scope, _, doc_id = str(item["pk"]).rpartition("#")
        doc = json.loads(str(item["doc"]))
        reads: list[Item] = [item]
        writes: list[Put | Update] = []
        for name, count, cap in moves:
            pk = counter_pk(scope, doc_id, name)
            keys = [(pk, f"{i:02d}") for i in range(shards_of(name))]
            found = batch.read(*keys)
            held = [int((shard or {}).get("n") or 0) for shard in found]
            for key, shard, part in zip(keys, found, _split(count, cap, held), strict=True):
                if not part:
                    continue
                if shard is None:
                    writes.append(Put({"pk": key[0], "sk": key[1], "tb": COUNTER_TB, "n": part}))
                else:
                    reads.append(shard)
                    writes.append(Update(key_of(shard), {"n": int(shard.get("n") or 0) + part}))
            doc["properties"][name] = 0
        writes.insert(
            0, Update(key_of(item), {"doc": json.dumps(doc, separators=(",", ":"), ensure_ascii=False)})
        )
        return Change(tuple(reads), tuple(writes))

    def verify(self, item: Item) -> str | None:
        moves = _moves(item)
        return None if not moves else f"still stores {', '.join(name for name, _, _ in moves)}"
