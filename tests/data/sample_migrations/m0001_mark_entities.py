"""Every entity document counts how often it was marked: a step that is not idempotent by itself
(it adds one each time), made once per item by the layout stamp. ``verify`` checks each was marked
exactly once."""

from __future__ import annotations

from collections.abc import Iterator

from ontology.data.migrations import Batch, Change, Item, Migration, scan, update


class MarkEntities(Migration):
    id = "0001-mark-entities"
    description = "every entity document gets mk = mk + 1, once (layout 1)"
    source = scan("entities", segments=2)
    batch_size = 10
    layout = 1

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            yield update(item, set={"mk": int(item.get("mk", 0)) + 1})

    def verify(self, item: Item) -> str | None:
        return None if item.get("mk") == 1 else f"marked {item.get('mk', 0)} times"
