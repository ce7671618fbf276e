"""The documents of the partitions sharded since migration 0010 moved into their shards.

Three partitions of an organization took more writes a second than one GSI partition takes at the
scenario's load (docs/cost.md, "Hot keys"): its timeline (``events.by_timestamp``: every mutation
logs an event) and its payments in ``entities.by_type`` and ``by_type_status`` (a token sale writes
each purchase's payment several times). They are sharded now (:mod:`ontology.data.schema`): a
document's id picks its shard, and a read merges the shards. This rewrites the index keys of the
documents written before, each in one write of its own item (its ``g<N>pk`` gains the shard), so a
document is in exactly one GSI partition at any time: the unsharded one until its write, its shard
after. Until the migration is done, reads take the unsharded partition as one more shard
(:func:`ontology.data.layout.unsharded_left`), so every document is found once throughout.
"""

from __future__ import annotations

from collections.abc import Iterator

from ontology.data.layout import RESHARDED, SHARDS_MIGRATION
from ontology.data.migrations import Batch, Change, Item, Migration, replace, scan
from ontology.data.migrations.versions.m0010_document_indexes import rekeyed

TABLES = tuple(sorted({t for t, _ in RESHARDED}))


class ShardHotPartitions(Migration):
    id = SHARDS_MIGRATION
    description = "the timeline's and the payments' index entries move into their shards"
    source = scan(*TABLES, segments=4)
    batch_size = 100

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item.get("tb") not in TABLES:
                continue
            attrs = rekeyed(item)
            if attrs is not None:
                yield replace(item, attrs)

    def verify(self, item: Item) -> str | None:
        return None if rekeyed(item) is None else "its index keys are not the ones its table declares"
