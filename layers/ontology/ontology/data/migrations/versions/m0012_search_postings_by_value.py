"""Every organization's full-text index rebuilt in its present layout from the documents.

The first layout (:mod:`ontology.data.search_legacy`) kept one posting list per term, copied into a
GSI list per combination of filter values, and the terms' document frequencies and the statistics in
each transaction. The present one (:mod:`ontology.data.search`) lists a term's postings per value of
the index's first filter field and keeps no GSI copy; the dictionary entry names those values; the
frequencies and totals come from the table's stream. This migration writes, for every document of
a table with a search index, the postings and the dictionary entries it has in the present layout
(those a write since the code shipped has not written already); the stream's aggregator counts them
as they appear. ``0013-search-drop-first-layout`` then deletes the first layout's items. Until both
are done a search reads both layouts, so every document is found throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ontology.data.db import DatabaseReader
from ontology.data.keys import DOC_SK
from ontology.data.migrations import Batch, Change, Item, Key, Migration, Put, Update, documents
from ontology.data.schema import table
from ontology.data.search import SEARCH_TB, indexed, terms_pk

TABLE = "entities"  # the one table with a search index


def expected(item: Item) -> tuple[dict[Key, Item], dict[Key, set[str]]]:
    """A document item's postings (key → item) and the first filter values its terms' dictionary
    entries must name (key → values), in the present layout."""
    t = table(item["tb"])
    scope = str(item["pk"]).split("#", 1)[0]
    doc = DatabaseReader._to_doc({**item, "ct": float(item["ct"])})
    postings: dict[Key, Item] = {}
    entries: dict[Key, set[str]] = {}
    for index in t.search_indexes:
        entry = indexed(index, scope, t.name, doc)
        if entry is None:
            continue
        postings.update(entry.postings)
        for term, value in entry.lists:
            entries.setdefault((terms_pk(scope, t.name, index.name, term), term), set()).add(value)
    return postings, entries


def _missing(
    item: Item, read: Callable[..., list[Item | None]]
) -> tuple[list[Item], list[Put | Update], list[str]]:
    """What the present layout lacks for ``item``: the items read that a write replaces, the writes,
    and a word on each."""
    postings, entries = expected(item)
    keys = [*postings, *entries]
    found = dict(zip(keys, read(*keys), strict=True)) if keys else {}
    reads: list[Item] = []
    writes: list[Put | Update] = []
    notes: list[str] = []
    for key, attrs in postings.items():
        have = found[key]
        if have != attrs:
            if have is not None:
                reads.append(have)
            writes.append(Put(attrs))
            notes.append(f"posting {key[0]} {'differs' if have else 'missing'}")
    for key, values in entries.items():
        have = found[key]
        if have is None:
            writes.append(Put({"pk": key[0], "sk": key[1], "tb": SEARCH_TB, "vals": set(values)}))
            notes.append(f"dictionary entry {key[1]} missing")
        elif not values <= set(have.get("vals") or ()):
            reads.append(have)
            writes.append(Update(key, set={"vals": set(have.get("vals") or ()) | values}))
            notes.append(f"dictionary entry {key[1]} lacks {sorted(values - set(have.get('vals') or ()))}")
    return reads, writes, notes


class SearchPostingsByValue(Migration):
    id = "0012-search-postings-by-value"
    description = "full-text index: postings listed per first filter value, rebuilt from the documents"
    source = documents(TABLE)
    batch_size = 25

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item.get("tb") != TABLE or item.get("sk") != DOC_SK:
                continue  # after a conflict the runner steps every item a change read: the document counts
            reads, writes, _ = _missing(item, batch.read)
            if writes:  # each write conditioned on the document (and what it replaces) as read
                yield Change((item, *reads), tuple(writes))

    def verify_read(self, item: Item, read: Callable[..., list[Item | None]]) -> str | None:
        _, _, notes = _missing(item, read)
        return "; ".join(notes[:3]) if notes else None
