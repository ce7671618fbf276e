"""Where a migration's items come from, a bounded page at a time, resumable from a cursor.

- :func:`scan` — every item of the table (optionally only some kinds), by a paginated, segment-parallel
  ``Scan`` with ``Limit``: each segment is read by its own worker, a page of at most the batch size at a
  time, and its cursor is the page's ``LastEvaluatedKey``. The only Scan of the platform: a migration
  is an operator's path, run with the operator's credentials, never a request path (no function's role
  may Scan). It reaches every item whatever its key, so a migration that changes keys, index keys or
  bookkeeping items (search postings, counters, guards) reads with it.
- :func:`documents` — one table's documents through an index over all of them (``by_creation_time``
  where the table keeps it, else e.g. events' ``by_timestamp``; a Query per page,
  organization after organization), then a consistent BatchGetItem of the page: no Scan, and only that
  table's items are read. It relies on today's index keys, so it suits backfills of a table's
  documents, not a migration that moves those keys.

A cursor is JSON (it is kept in the migration's progress item); ``None`` starts a segment, and a page
answers ``cursor=None`` when its segment is finished.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ontology.data.dynamodb import Store
from ontology.data.keys import DOC_SK
from ontology.data.schema import PLATFORM_SCOPE, table

__all__ = ["Page", "Source", "documents", "scan"]

#: Items of this kind are the migrations' own progress: no source ever hands them to a step.
PROGRESS_KIND = "_migration"


@dataclass(frozen=True)
class Page:
    """Raw (typed) items of one page, where the next page starts (None: the segment is done), and how
    many items the read examined (a filtered Scan examines more than it returns)."""

    items: list[dict[str, Any]]
    cursor: Any
    examined: int


class Source(ABC):
    """A way of reading a migration's items in pages. ``segments`` are read in parallel, each resuming
    from its own cursor."""

    segments: int = 1

    @abstractmethod
    def page(self, store: Store, segment: int, cursor: Any, limit: int) -> Page:
        """The next page (at most ``limit`` items examined) of ``segment`` after ``cursor``."""

    def estimate(self, store: Store) -> int | None:
        """About how many items the whole read examines (for progress and ETA); None: unknown."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """One line for ``one migrate status``: what is read, and how."""

    def with_segments(self, segments: int) -> Source:
        """This source read in ``segments`` segments (a run resumes with the segments it started
        with, whatever the declaration says now: its cursors belong to them)."""
        if segments != self.segments:
            raise ValueError(f"{self.describe()}: cannot be read in {segments} segments")
        return self


class TableScan(Source):
    def __init__(self, kinds: Sequence[str] = (), segments: int = 4, pk_prefix: str | None = None) -> None:
        if not 1 <= segments <= 64:
            raise ValueError("a scan has from 1 to 64 segments")
        self.kinds = tuple(kinds)
        self.segments = segments
        self.pk_prefix = pk_prefix

    def _filter(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        names = {"#tb": "tb"}
        values: dict[str, Any] = {":progress": {"S": PROGRESS_KIND}}
        parts = ["(attribute_not_exists(#tb) OR #tb <> :progress)"]
        if self.kinds:
            keys = []
            for i, kind in enumerate(self.kinds):
                values[f":k{i}"] = {"S": kind}
                keys.append(f":k{i}")
            parts.append(f"#tb IN ({', '.join(keys)})")
        if self.pk_prefix:
            names["#pk"] = "pk"
            values[":prefix"] = {"S": self.pk_prefix}
            parts.append("begins_with(#pk, :prefix)")
        return " AND ".join(parts), names, values

    def page(self, store: Store, segment: int, cursor: Any, limit: int) -> Page:
        expression, names, values = self._filter()
        items, last, examined = store.scan(
            segment=segment,
            segments=self.segments,
            limit=limit,
            start_key=cursor,
            filter_expression=expression,
            names=names,
            values=values,
        )
        return Page(items, last, examined)

    def estimate(self, store: Store) -> int | None:
        count = store.describe().get("ItemCount")
        return int(count) if count is not None else None

    def with_segments(self, segments: int) -> Source:
        return TableScan(self.kinds, segments, self.pk_prefix)

    def describe(self) -> str:
        what = ", ".join(self.kinds) if self.kinds else "every item"
        where = f" under {self.pk_prefix}" if self.pk_prefix else ""
        return f"Scan of {what}{where} ({self.segments} segments)"


class TableDocuments(Source):
    def __init__(self, table_name: str) -> None:
        self.table = table(table_name)
        # an index holding every document of the table: by_creation_time where the table keeps it
        whole = [i for i in self.table.indexes if i.partition == 0]
        if not whole:
            raise ValueError(
                f"{table_name} keeps no index over all its documents (its indexes are partitioned): "
                f"read it with scan({table_name!r})"
            )
        self.index = whole[0]

    def _next_organization(self, store: Store, after: dict[str, Any] | None) -> dict[str, Any] | None:
        """The key (in the organizations' creation-time index) of the organization after ``after``."""
        orgs = table("organizations").indexes[0]
        items, _, _ = store.query(
            index=orgs.gsi_name,
            pk_attr=orgs.pk_attr,
            pk=orgs.partition_key(PLATFORM_SCOPE, "organizations", []),
            sk_attr=orgs.sk_attr,
            sk_condition=None,
            forward=True,
            limit=1,
            start_key=after,
        )
        if not items:
            return None
        item = items[0]
        return {a: {"S": item[a]} for a in ("pk", "sk", orgs.pk_attr, orgs.sk_attr)}

    def page(self, store: Store, segment: int, cursor: Any, limit: int) -> Page:
        """Up to ``limit`` documents, going on from one shard of the index (or organization) to the
        next within the page, so a page holds a full batch where there is one."""
        state: dict[str, Any] | None = dict(cursor or {})
        found: list[dict[str, Any]] = []
        examined = 0
        while state is not None and len(found) < limit:
            if "org" not in state and self.table.scope != "platform":
                state = {"org": self._next_organization(store, None), "shard": 0, "after": None}
            if self.table.scope != "platform" and state["org"] is None:
                state = None
                break
            got, last, seen = self._read(store, state, limit - len(found))
            found += got
            examined += seen
            state = self._advance(store, state, last)
        # the index may trail the table: read the page's items themselves, consistently
        keys = [(item["pk"], DOC_SK) for item in found]
        raw = store.batch_get_raw(keys)
        return Page([raw[k] for k in keys if k in raw], state, examined)

    def _read(
        self, store: Store, state: dict[str, Any], limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
        scope = (
            PLATFORM_SCOPE if self.table.scope == "platform" else state["org"]["pk"]["S"].rsplit("#", 1)[1]
        )
        idx = self.index
        return store.query(
            index=idx.gsi_name,
            pk_attr=idx.pk_attr,
            pk=idx.sharded(idx.partition_key(scope, self.table.name, []), int(state.get("shard", 0))),
            sk_attr=idx.sk_attr,
            sk_condition=None,
            forward=True,
            limit=limit,
            start_key=state.get("after"),
        )

    def _advance(
        self, store: Store, state: dict[str, Any], last: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Where the read goes on: further in this shard, the next shard, the next organization."""
        if last is not None:
            return {**state, "after": last}
        shard = int(state.get("shard", 0))
        if shard + 1 < self.index.shards:
            return {**state, "shard": shard + 1, "after": None}
        if self.table.scope == "platform":
            return None
        following = self._next_organization(store, state["org"])
        return {"org": following, "shard": 0, "after": None} if following else None

    def describe(self) -> str:
        return f"the {self.table.name} documents, by their {self.index.name} index (Query, no Scan)"


def scan(*kinds: str, segments: int = 4, pk_prefix: str | None = None) -> Source:
    """Every item of the table, or only those whose ``tb`` is one of ``kinds`` (a table's name for
    its documents, ``_search``, ``_guard``, ``_rate``, …), optionally only under a partition
    key prefix; read by ``segments`` workers in parallel."""
    return TableScan(kinds, segments, pk_prefix)


def documents(table_name: str) -> Source:
    """The documents of one table (every organization's), read by Query and BatchGetItem."""
    return TableDocuments(table_name)
