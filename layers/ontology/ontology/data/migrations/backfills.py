"""Backfills: an index built for the documents written before it existed, as a migration.

A write maintains every index its table declares from the moment the code declaring it is deployed:
GSI keys and search postings in the write's transaction, vectors from the table's stream. The
documents already in a live table have none of it. A backfill is a migration (``one migrate run``:
in the background, in bounded batches, resumable from its cursors, with progress in ``one migrate
status``) that gives each of them what a write would have given it:

- :class:`SearchBackfill` (``table``): the postings and dictionary entries each document's search
  indexes need and it lacks, written conditioned on the document as read (``0012`` is one);
- :class:`VectorBackfill` (``table``): each document with a vector is stamped (its ``vb`` attribute,
  the migration's id), and the stamp's change on the stream is what makes the table's vector indexer
  put the vector into S3 Vectors, as for any write (:func:`ontology.data.vectors.index_records`). The
  operator's credentials need no S3 Vectors right, and a dry run writes nothing anywhere.

A regular (GSI) index's keys are rewritten by ``0010-document-indexes``' step (its keys as the table
declares them now). Adding an index to a live table is then: declare it (schema), deploy (writes
maintain it), add a migration module subclassing the backfill with a new id, deploy, and ``one
migrate run <id>`` (docs/migrations.md, "Backfilling an index").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from ontology.data.db import DatabaseReader
from ontology.data.keys import DOC_SK
from ontology.data.migrations.base import Batch, Change, Item, Key, Migration, Put, Update, update
from ontology.data.schema import table
from ontology.data.search import SEARCH_TB, indexed, terms_pk
from ontology.data.vectors import BACKFILL_STAMP

__all__ = ["VECTOR_STAMP", "SearchBackfill", "VectorBackfill", "expected_postings", "missing_postings"]

#: The attribute a vector backfill stamps on a document: the id of the backfill that indexed it.
VECTOR_STAMP = BACKFILL_STAMP


def expected_postings(item: Item) -> tuple[dict[Key, Item], dict[Key, set[str]]]:
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


def missing_postings(
    item: Item, read: Callable[..., list[Item | None]]
) -> tuple[list[Item], list[Put | Update], list[str]]:
    """What the search index lacks for ``item``: the items read that a write replaces, the writes,
    and a word on each."""
    postings, entries = expected_postings(item)
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


class SearchBackfill(Migration):
    """The search postings of every document of ``table`` (declare ``id``, ``description``,
    ``table`` and ``source = documents(table)``, or ``scan(table)`` where the table keeps no index
    over all its documents)."""

    table: ClassVar[str]
    batch_size = 25

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item.get("tb") != self.table or item.get("sk") != DOC_SK:
                continue  # after a conflict the runner steps every item a change read: the document counts
            reads, writes, _ = missing_postings(item, batch.read)
            if writes:  # each write conditioned on the document (and what it replaces) as read
                yield Change((item, *reads), tuple(writes))

    def verify_read(self, item: Item, read: Callable[..., list[Item | None]]) -> str | None:
        _, _, notes = missing_postings(item, read)
        return "; ".join(notes[:3]) if notes else None


def _has_vector(item: Item) -> bool:
    """Whether the document holds a vector one of its table's vector indexes takes."""
    t = table(str(item["tb"]))
    if not t.vector_indexes:
        return False
    doc: dict[str, Any] = DatabaseReader._to_doc({**item, "ct": float(item["ct"])})
    for index in t.vector_indexes:
        vector = doc.get(index.vector_field)
        if isinstance(vector, list) and len(vector) == index.dimensions:
            return True
    return False


class VectorBackfill(Migration):
    """The vectors of every document of ``table`` put into its S3 Vectors indexes, through the
    table's stream: each document holding a vector is stamped with this migration's id (declare
    ``id``, ``description``, ``table`` and ``source = scan(table)`` or ``documents(table)``)."""

    table: ClassVar[str]
    batch_size = 25
    #: the vector indexer puts a document's vector again when its stamp changes; the document's own
    #: version need not change (no mutation's read of it is made stale by a stamp)
    bump_version = False

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item.get("tb") != self.table or item.get("sk") != DOC_SK:
                continue
            if item.get(VECTOR_STAMP) == self.id or not _has_vector(item):
                continue  # stamped by this backfill already, or nothing to index
            yield update(item, set={VECTOR_STAMP: self.id})

    def verify(self, item: Item) -> str | None:
        if item.get("tb") != self.table or item.get("sk") != DOC_SK or not _has_vector(item):
            return None
        return None if item.get(VECTOR_STAMP) == self.id else "not stamped: its vector was not put again"
