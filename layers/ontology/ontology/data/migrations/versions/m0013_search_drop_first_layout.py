"""The full-text index's first layout deleted: its postings (and their GSI copies), its dictionary and
its statistics shards (:mod:`ontology.data.search_legacy`), once ``0012-search-postings-by-value`` has
rebuilt every document's index in the present layout. After it, a search of an organization reads
the present layout only (it still looks for the first layout's dictionary entries of its terms until a
release drops that reading)."""

from __future__ import annotations

from collections.abc import Iterator

from ontology.data.migrations import Batch, Change, Item, Migration, delete, scan
from ontology.data.migrations.progress import PARTITION
from ontology.data.search_legacy import TB, is_first_layout

BUILT = "0012-search-postings-by-value"


class SearchFirstLayoutNotRebuiltError(RuntimeError):
    """The first layout is still the only index of some documents."""


class SearchDropFirstLayout(Migration):
    id = "0013-search-drop-first-layout"
    description = "full-text index: the first layout's postings, dictionary and statistics deleted"
    source = scan(TB, segments=4)
    batch_size = 100

    def step(self, batch: Batch) -> Iterator[Change]:
        (built,) = batch.read((PARTITION, BUILT))
        if built is None or built.get("status") != "done":
            raise SearchFirstLayoutNotRebuiltError(f"run {BUILT} first: it rebuilds what this deletes")
        for item in batch:
            if is_first_layout(str(item["pk"])):
                yield delete(item)

    def verify(self, item: Item) -> str | None:
        return "an item of the first layout" if is_first_layout(str(item["pk"])) else None
