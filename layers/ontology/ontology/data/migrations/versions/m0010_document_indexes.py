"""Every document's index keys as its table declares them now.

The index layout changed: indexes no query read are gone (entities' ``by_created`` and ``by_updated``,
events' ``by_type`` and ``by_creation_time``, …), some are answered by another index (``served_by``,
``merges``), ``events.by_actor``/``by_target`` are sparse, and the busiest partitions are sharded
(entities' ``by_creation_time`` per organization, the public pointers' ``by_type``). An index keeps
its GSI slot for good, so a document written before still reads correctly through the indexes that
kept theirs; this rewrites each document's ``g<N>pk``/``g<N>sk`` to what its table derives now, so the
sharded partitions hold the older documents too and no item carries keys of an index that is gone
(each costs bytes, and the item's copies in those GSIs cost write units and storage).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ontology.data.migrations import Batch, Change, Item, Migration, replace, scan
from ontology.data.schema import TABLES

_INDEX_KEY = re.compile(r"g\d+(pk|sk)")


def declared_keys(item: Item) -> dict[str, Any]:
    """The index keys the item's table derives from its document now."""
    t = TABLES[str(item["tb"])]
    scope, _, doc_id = str(item["pk"]).rpartition("#")
    ct = item["ct"]
    if isinstance(ct, Decimal):
        ct = int(ct) if ct == ct.to_integral_value() else float(ct)
    doc = {**json.loads(str(item["doc"])), "_id": doc_id, "_creationTime": ct}
    keys: dict[str, Any] = {}
    for idx in t.indexes:
        if idx.holds(doc):
            keys[idx.pk_attr], keys[idx.sk_attr] = idx.keys_for(scope, t.name, doc)
    return keys


def rekeyed(item: Item) -> dict[str, Any] | None:
    """The item with its declared index keys, or None when it already has exactly those."""
    stored = {k: v for k, v in item.items() if _INDEX_KEY.fullmatch(k)}
    declared = declared_keys(item)
    if stored == declared:
        return None
    return {**{k: v for k, v in item.items() if not _INDEX_KEY.fullmatch(k)}, **declared}


class DocumentIndexes(Migration):
    id = "0010-document-indexes"
    description = "every document's index keys as its table declares them (pruned, sparse, sharded)"
    source = scan(*TABLES, segments=4)
    batch_size = 100

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            attrs = rekeyed(item)
            if attrs is not None:
                yield replace(item, attrs)

    def verify(self, item: Item) -> str | None:
        return None if rekeyed(item) is None else "its index keys are not the ones its table declares"
