"""The query builder of ``ctx.db.query(table)``: index ranges, filters, order, and the terminal reads.

Example::

    page = (db.query("entities")
              .with_index("by_type", lambda q: q.eq("type", "creator"))
              .filter(lambda q: q.eq(q.field("status"), "active"))
              .order("desc")
              .paginate({"numItems": 20, "cursor": None}))

A query reads its index a page at a time through its reader (:mod:`ontology.data.db`), recording
what it read, and merges in the mutation's own buffered writes. Documented bounds (a read past them
raises LIMIT_EXCEEDED, never returns a silently short result):

- ``collect()`` returns at most :data:`COLLECT_MAX` documents;
- a ``filter()`` examines at most :data:`MAX_EXAMINED` index entries per call;
- ``take(n)`` and ``paginate`` take ``n`` ≤ :data:`PAGE_MAX`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ontology.data import layout
from ontology.data.count_folds import note as note_fold
from ontology.data.cursor import CursorBinding, decode_cursor, encode_cursor
from ontology.data.filters import Expr, build_filter
from ontology.data.indexes import CREATION_TIME, Index, SearchIndex, get_path
from ontology.data.keys import DOC_SK, KEY_MAX, encode_value
from ontology.data.schema import Table
from ontology.data.search import Searcher, SearchTerms, parse_query, position_key
from ontology.data.tracking import record_point, record_range
from ontology.errors import LimitExceededError, NotUniqueError, ValidationError

if TYPE_CHECKING:  # typing only: the reader hands itself to the queries it builds
    from ontology.data.db import DatabaseReader

__all__ = ["COLLECT_MAX", "MAX_EXAMINED", "PAGE_MAX", "Doc", "IndexRange", "Query", "SearchRange"]

COLLECT_MAX = 1024
#: What a query of a table without a ``by_creation_time`` index starts with (it must name one).
_NO_INDEX = Index("by_creation_time", (), 0, "no such index: the table reads by a named index")

MAX_EXAMINED = 2048
PAGE_MAX = 1000
COUNT_MAX_REQUESTS = 64

#: A document as read: its fields, ``_id`` and ``_creationTime``.
Doc = dict[str, Any]


# ------------------------------------------------------------------------------------------- ranges


class IndexRange:
    """The ``q`` of ``with_index(name, lambda q: ...)``: eq on a prefix of the index's fields, then
    at most one lower (gt/gte) and one upper (lt/lte) bound on the next field."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self._fields = index.range_fields
        self.eqs: list[Any] = []
        self.lower: tuple[str, Any] | None = None
        self.upper: tuple[str, Any] | None = None
        self._range_field: str | None = None

    def _next_field(self, field: str, op: str) -> None:
        if not isinstance(field, str):
            raise ValidationError(f"index range: {op} takes a field name first")
        if self._range_field is not None and (op == "eq" or field != self._range_field):
            raise ValidationError(
                f"index {self._index.name}: {op}({field!r}) after a range on {self._range_field!r}; "
                "bounds apply to one field after the equalities"
            )
        expected = self._fields[len(self.eqs)] if len(self.eqs) < len(self._fields) else None
        if self._range_field is None and field != expected:
            hint = f"the next field is {expected!r}" if expected else "all fields are already fixed"
            raise ValidationError(f"index {self._index.name}: {op}({field!r}) out of order; {hint}")

    def eq(self, field: str, value: Any) -> IndexRange:
        self._next_field(field, "eq")
        encode_value(value, field)
        self.eqs.append(value)
        return self

    def _bound(self, op: str, field: str, value: Any) -> IndexRange:
        self._next_field(field, op)
        encode_value(value, field)
        side = "lower" if op in {"gt", "gte"} else "upper"
        if getattr(self, side) is not None:
            raise ValidationError(f"index {self._index.name}: two {side} bounds on {field!r}")
        setattr(self, side, (op, value))
        self._range_field = field
        return self

    def gt(self, field: str, value: Any) -> IndexRange:
        return self._bound("gt", field, value)

    def gte(self, field: str, value: Any) -> IndexRange:
        return self._bound("gte", field, value)

    def lt(self, field: str, value: Any) -> IndexRange:
        return self._bound("lt", field, value)

    def lte(self, field: str, value: Any) -> IndexRange:
        return self._bound("lte", field, value)

    def describe(self) -> dict[str, Any]:
        """A canonical description (encoded values), which a cursor is bound to."""

        def bound(b: tuple[str, Any] | None) -> list[str] | None:
            return [b[0], encode_value(b[1])] if b else None

        return {
            "eq": [encode_value(v) for v in self.eqs],
            "lower": bound(self.lower),
            "upper": bound(self.upper),
        }

    def matches(self, values: list[Any]) -> bool:
        """Whether a document with these (range field) values falls inside the range."""
        key = [encode_value(v) for v in values]
        for i, v in enumerate(self.eqs):
            if key[i] != encode_value(v):
                return False
        pos = len(self.eqs)
        if self.lower:
            op, v = self.lower
            ev = encode_value(v)
            if key[pos] < ev or (op == "gt" and key[pos] == ev):
                return False
        if self.upper:
            op, v = self.upper
            ev = encode_value(v)
            if key[pos] > ev or (op == "lt" and key[pos] == ev):
                return False
        return True


class SearchRange:
    """The ``q`` of ``with_search_index``: ``search(field, text)`` then ``eq`` on filter fields."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self.text: str | None = None
        self.terms: SearchTerms = SearchTerms((), None)
        self.filters: dict[str, Any] = {}

    def search(self, field: str, text: str) -> SearchRange:
        if field != self._index.search_field:
            raise ValidationError(f"search index {self._index.name} searches {self._index.search_field!r}")
        if self.text is not None:
            raise ValidationError("a search filter expression has one search()")
        self.terms = parse_query(text)
        self.text = text
        return self

    def eq(self, field: str, value: Any) -> SearchRange:
        if self.text is None:
            raise ValidationError("search(): the search expression comes first, then eq() filters")
        if field not in self._index.filter_fields:
            known = ", ".join(self._index.filter_fields) or "nothing"
            raise ValidationError(
                f"search index {self._index.name} filters on {known}, not {field!r}", field=field
            )
        if field in self.filters:
            raise ValidationError(f"search(): two eq() filters on {field!r}", field=field)
        encode_value(value, field)
        self.filters[field] = value
        return self


# ------------------------------------------------------------------------------------------ reading


# ------------------------------------------------------------------------------------------- queries


class Query:
    """A query over one index of one table; immutable builder, then one of the terminal reads."""

    def __init__(self, db: DatabaseReader, t: Table) -> None:
        self._db = db
        self._table = t
        self._index: Index = t.index("by_creation_time") if t.creation_time is not None else _NO_INDEX
        #: the index the query reads as (another than ``_index`` where it merges ``_index``'s stretches)
        self._view: Index = self._index
        self._range: IndexRange | SearchRange = IndexRange(self._index)
        self._filters: list[Expr] = []
        self._order: Literal["asc", "desc"] = "asc"
        self._indexed = False

    def _copy(self) -> Query:
        q = Query.__new__(Query)
        q.__dict__.update(self.__dict__)
        q._filters = list(self._filters)
        return q

    # ---- builders

    def with_index(self, name: str, build: Callable[[IndexRange], Any] | None = None) -> Query:
        if self._indexed:
            raise ValidationError("with_index: the query already has an index")
        index = self._table.index(name)
        if isinstance(index, SearchIndex):
            raise ValidationError(f"{name} is a search index: use with_search_index")
        rng = IndexRange(index)
        if build is not None:
            result = build(rng)
            if result is not None and not isinstance(result, IndexRange):
                raise ValidationError("with_index: the range function must return q")
        if len(rng.eqs) < index.partition:
            need = ", ".join(index.fields[: index.partition])
            raise ValidationError(f"index {name} needs eq on {need}")
        if index.sparse and any(v is None for v in rng.eqs[: index.partition]):
            fixed = ", ".join(index.fields[: index.partition])
            raise ValidationError(f"index {name} holds only documents with {fixed} set: it has no null entry")
        q = self._copy()
        if index.merges:
            q._view, q._index, q._range, q._indexed = index, self._table.index(index.merges), rng, True
            return q
        if index.served_by:
            index, rng = q._served(index, rng)
        q._index, q._view, q._range, q._indexed = index, index, rng, True
        return q

    def _served(self, virtual: Index, rng: IndexRange) -> tuple[Index, IndexRange]:
        """The serving index's range for a range of an index it serves; the further fields' equalities
        become filters (the order is the same: those fields are fixed)."""
        if len(rng.eqs) < len(virtual.fields):
            need = ", ".join(virtual.fields[len(rng.eqs) :])
            raise ValidationError(
                f"index {virtual.name} is answered by {virtual.served_by}: fix {need} with eq as well"
            )
        base = self._table.index(virtual.served_by)
        served = IndexRange(base)
        served.eqs = rng.eqs[: len(base.fields)]
        served.lower, served.upper = rng.lower, rng.upper
        for f, value in zip(virtual.fields[len(base.fields) :], rng.eqs[len(base.fields) :], strict=True):
            self._filters.append(build_filter(_equal(f, value)))
        return base, served

    def with_search_index(self, name: str, build: Callable[[SearchRange], Any]) -> Query:
        index = self._table.index(name)
        if not isinstance(index, SearchIndex):
            raise ValidationError(f"{name} is not a search index")
        if self._indexed:
            raise ValidationError("with_search_index: the query already has an index")
        rng = SearchRange(index)
        result = build(rng)
        if result is not None and not isinstance(result, SearchRange):
            raise ValidationError("with_search_index: the search function must return q")
        if rng.text is None:
            raise ValidationError(f"search index {name}: call q.search({index.search_field!r}, text)")
        q = self._copy()
        q._index, q._range, q._indexed = index, rng, True
        return q

    def filter(self, build: Callable[[Any], Any]) -> Query:
        q = self._copy()
        q._filters.append(build_filter(build))
        return q

    def order(self, order: str) -> Query:
        if order not in ("asc", "desc"):
            raise ValidationError("order must be 'asc' or 'desc'", field="order")
        if isinstance(self._range, SearchRange):
            raise ValidationError("search results come in relevance order; order() does not apply")
        q = self._copy()
        q._order = order  # type: ignore[assignment]
        return q

    # ---- key conditions

    def _key_condition(self, over: Index | None = None) -> tuple[str, tuple[str, ...] | None] | None:
        """(gsi pk, sort key condition) of the range over ``over`` (the index read; for a merged read,
        the merged index: its condition is in the order of each stretch); None when it is empty."""
        if self._index is _NO_INDEX:
            names = ", ".join(i.name for i in (*self._table.indexes, *self._table.virtual_indexes))
            raise ValidationError(
                f"table '{self._table.name}' is read through one of its indexes ({names}): "
                "it keeps no by_creation_time index"
            )
        scope = self._db.scope_of(self._table)
        idx = over or self._index
        rng = self._range
        if isinstance(rng, SearchRange):
            raise AssertionError("a search reads its own index (_search_read)")
        pk = idx.partition_key(scope, self._table.name, rng.eqs[: idx.partition])
        fields = idx.range_fields
        prefix = "".join(
            encode_value(v, f)
            for v, f in zip(rng.eqs[idx.partition :], fields[idx.partition :], strict=False)
        )
        if rng.lower is None and rng.upper is None:
            return pk, (("begins_with", prefix) if prefix else None)
        field = fields[len(rng.eqs)]
        lo, hi = prefix, prefix + KEY_MAX
        if rng.lower:
            op, v = rng.lower
            lo = prefix + encode_value(v, field) + (KEY_MAX if op == "gt" else "")
        if rng.upper:
            op, v = rng.upper
            hi = prefix + encode_value(v, field) + (KEY_MAX if op == "lte" else "")
        if lo > hi:
            return None
        if not lo:
            # DynamoDB refuses an empty string in a key condition: "BETWEEN '' AND hi" is "<= hi"
            return pk, ("lte", hi)
        return pk, ("between", lo, hi)

    def _describe(self) -> dict[str, Any]:
        rng = self._range
        desc = (
            {"search": rng.text, "filters": {k: encode_value(v) for k, v in sorted(rng.filters.items())}}
            if isinstance(rng, SearchRange)
            else rng.describe()
        )
        return {"range": desc, "filter": [f.to_json() for f in self._filters], "order": self._order}

    def _binding(self) -> CursorBinding:
        return CursorBinding.of(
            self._db.scope_of(self._table), self._table.name, self._view.name, self._describe()
        )

    # ---- the read loop

    def _matches_filters(self, doc: Doc) -> bool:
        return all(_truthy(f.evaluate(doc)) for f in self._filters)

    def _in_range(self, doc: Doc) -> bool:
        assert not isinstance(self._range, SearchRange)
        if not self._index.holds(doc):
            return False
        values = [*self._view.values_of(doc), doc[CREATION_TIME]]
        return self._range.matches(values[: len(self._view.range_fields)])

    @property
    def _multi(self) -> bool:
        """Whether the query reads several GSI partitions merged (shards, or a merged index)."""
        return self._view is not self._index or self._shards > 1

    @property
    def _shards(self) -> int:
        """The shards of the partition the query reads (1: one GSI partition)."""
        rng = self._range
        if isinstance(rng, SearchRange):
            return 1
        return self._index.shards_for(rng.eqs[: self._index.partition])

    def _sort_key(self, doc: Doc) -> str:
        """The document's place in the query's order: its index sort key (in a merged read, without
        the merged field's value that leads it)."""
        scope = self._db.scope_of(self._table)
        gsk = self._index.keys_for(scope, self._table.name, doc)[1]
        if self._view is not self._index:
            field = self._index.fields[len(self._view.fields)]
            return gsk[len(encode_value(get_path(doc, field), field)) :]
        return gsk

    def _pos_key(self, position: Mapping[str, str]) -> str:
        return position["k"] if self._multi else position[self._index.sk_attr]

    def _stream(
        self, start: dict[str, str] | None, page_hint: int
    ) -> Iterator[tuple[Doc, dict[str, str], bool]]:
        """Documents in index order from ``start`` (exclusive): (doc, its position, more may follow).

        In a mutation, the mutation's own buffered writes are merged in (and replace stored
        versions), so a query reads its own writes.
        """
        cond = None if self._multi else self._key_condition()
        buffered: list[tuple[str, Doc]] = []
        shadowed: set[str] = set()
        tx = self._db._tx
        if tx is not None:
            for doc_id, doc in tx.docs.items():
                t, _scope = tx.where[doc_id]
                if t.name != self._table.name:
                    continue
                shadowed.add(doc_id)
                if doc is not None and self._in_range(doc):
                    buffered.append((self._sort_key(doc), doc))
            buffered.sort(key=lambda kv: kv[0], reverse=self._order == "desc")
            if start is not None:
                after = self._pos_key(start)
                buffered = [(k, d) for k, d in buffered if (k > after if self._order == "asc" else k < after)]
        if self._multi:
            stored = self._stored_merged(start, page_hint, shadowed)
        elif cond is not None:
            stored = self._stored(cond[0], cond[1], start, page_hint, shadowed)
        else:
            stored = iter(())
        yield from _merge(stored, iter(buffered), self._order, self._position)

    def _stretches(self) -> tuple[list[tuple[str, str]], tuple[str, str]] | None:
        """The GSI partitions a merged read takes, each with the sort-key prefix that leads its
        entries, and the bounds (in the query's order) within each; None when the range is empty."""
        view = self._key_condition(self._view)
        if view is None:
            return None
        bounds = _condition_bounds(view[1])
        assert isinstance(self._range, IndexRange)
        scope = self._db.scope_of(self._table)
        pk = self._index.partition_key(scope, self._table.name, self._range.eqs[: self._index.partition])
        if self._view is self._index:  # shards: the same stretch of each
            n = self._shards
            shards = [(self._index.sharded(pk, s, n), "") for s in range(n)]
            if layout.unsharded_left(self._db._store, self._table.name, self._index.name):
                # documents written before the partition was sharded, until the migration moves them
                shards.append((pk, ""))
            return shards, bounds
        # a merged index: one stretch per value of the merged field, found by skipping from one to the
        # next (a write of any value, a new one too, touches the partition a subscription watches)
        record_range(self._index.pk_attr, pk, self._index.sk_attr, "", KEY_MAX)
        field = self._index.fields[len(self._view.fields)]
        stretches: list[tuple[str, str]] = []
        skip: tuple[str, ...] | None = None
        while True:
            items, _, _ = self._db._store.query(
                index=self._index.gsi_name,
                pk_attr=self._index.pk_attr,
                pk=pk,
                sk_attr=self._index.sk_attr,
                sk_condition=skip,
                forward=True,
                limit=1,
                start_key=None,
            )
            if not items:
                return stretches, bounds
            lead = encode_value(get_path(self._db._to_doc(items[0]), field), field)
            stretches.append((pk, lead))
            skip = ("between", lead + KEY_MAX, KEY_MAX)

    def _stored_merged(
        self, start: dict[str, str] | None, page_hint: int, shadowed: set[str]
    ) -> Iterator[tuple[str, Doc, bool]]:
        """The stored documents of every stretch, merged in the query's order."""
        found = self._stretches()
        if found is None:
            return
        stretches, (lo, hi) = found
        if not stretches:
            return
        after = start["k"] if start else None
        # each stretch a page of its share and half as much again (documents spread by id fill the
        # shards unevenly): one request per stretch for most pages, and what a page reads stays near
        # what it returns
        per = max(8, -(-page_hint * 3 // (2 * len(stretches))))
        streams = []
        for pk, lead in stretches:
            resumed = _resume(lead + lo, lead + hi, lead, after, self._order == "asc")
            if resumed is not None:
                sk_cond, skip_key = resumed
                streams.append(self._stored(pk, sk_cond, None, per, shadowed, lead=lead, skip_key=skip_key))
        merged = heapq.merge(*streams, key=lambda entry: entry[0], reverse=self._order == "desc")
        previous: tuple[str, Doc, bool] | None = None
        for entry in merged:
            if previous is not None:
                yield previous[0], previous[1], False
            previous = entry
        if previous is not None:
            yield previous[0], previous[1], True

    def _position(self, doc: Doc) -> dict[str, str]:
        if self._multi:
            return {"k": self._sort_key(doc)}
        scope = self._db.scope_of(self._table)
        gpk, gsk = self._index.keys_for(scope, self._table.name, doc)
        return {
            "pk": f"{scope}#{doc['_id']}",
            "sk": DOC_SK,
            self._index.pk_attr: gpk,
            self._index.sk_attr: gsk,
        }

    def _stored(
        self,
        pk: str,
        sk_cond: tuple[str, ...] | None,
        start: dict[str, str] | None,
        page_hint: int,
        shadowed: set[str],
        *,
        lead: str = "",
        skip_key: str | None = None,
    ) -> Iterator[tuple[str, Doc, bool]]:
        """Stored documents in index order: (sort key, doc, whether nothing is stored after it).

        For one stretch of a merged read, the yielded keys lose their ``lead`` and the entry at
        ``skip_key`` (where the read resumes, exclusive) is left out."""
        forward = self._order == "asc"
        start_key = {k: {"S": v} for k, v in start.items()} if start else None
        # What a subscription must watch: from where the read starts to the last entry examined (the
        # whole condition once the read reaches its end), widened as entries are read.
        lo, hi = _condition_bounds(sk_cond)
        if start:
            lo, hi = (start[self._index.sk_attr], hi) if forward else (lo, start[self._index.sk_attr])
        watched = record_range(self._index.pk_attr, pk, self._index.sk_attr, lo, hi)
        if watched is not None:  # nothing read yet: an empty stretch at the start
            watched.lo, watched.hi = (lo, lo) if forward else (hi, hi)
        while True:
            items, lek, _ = self._db._store.query(
                index=self._index.gsi_name,
                pk_attr=self._index.pk_attr,
                pk=pk,
                sk_attr=self._index.sk_attr,
                sk_condition=sk_cond,
                forward=self._order == "asc",
                limit=page_hint,
                start_key=start_key,
            )
            if self._filtered:
                # A filter's hit rate is unknown: read pages twice as large each time (fewer round
                # trips on sparse matches, little waste on dense ones).
                page_hint = min(page_hint * 2, PAGE_MAX)
            last = len(items) - 1
            docs = [self._to_doc_recorded(item) for item in items]
            for item in items:  # a listed document's counts are read from its fold (count_folds)
                note_fold(item)
            if self._db._sight is not None:  # what deciding this page takes, read for the page at once
                self._db._sight.prepare(self._db, self._db.scope_of(self._table), self._table.name, docs)
            for i, (item, doc) in enumerate(zip(items, docs, strict=True)):
                if watched is not None:
                    if forward:
                        watched.hi = item[self._index.sk_attr]
                    else:
                        watched.lo = item[self._index.sk_attr]
                    if i == last and not lek:
                        watched.lo, watched.hi = lo, hi
                if doc["_id"] in shadowed or item[self._index.sk_attr] == skip_key:
                    continue
                yield item[self._index.sk_attr][len(lead) :], doc, (i == last and not lek)
            if not lek:
                if watched is not None:
                    watched.lo, watched.hi = lo, hi
                return
            start_key = lek

    def _to_doc_recorded(self, item: Mapping[str, Any]) -> Doc:
        self._db._record_read(item["pk"], int(item["v"]))
        self._db._keep_fold(item)
        return self._db._to_doc(item)

    @property
    def _filtered(self) -> bool:
        """Whether some documents read may be left out (a filter, or a caller who does not see all)."""
        return bool(self._filters) or not self._db.sees_everything

    def _shown(self, doc: Doc) -> Doc | None:
        """The document as the caller sees it (None: they do not)."""
        sight = self._db._sight
        return doc if sight is None else sight.show(self._db.scope_of(self._table), self._table.name, doc)

    def _search_read(
        self, n: int, start: dict[str, str] | None
    ) -> tuple[list[Doc], dict[str, str] | None, bool]:
        """Up to ``n`` matches in relevance order after ``start`` (a position from a cursor)."""
        rng = self._range
        assert isinstance(rng, SearchRange) and isinstance(self._index, SearchIndex)
        if not rng.terms:
            return [], None, True
        db, t = self._db, self._table
        scope = db.scope_of(t)
        items: dict[str, Mapping[str, Any]] = {}

        def load(ids: list[str]) -> dict[str, Doc]:
            found = db._store.batch_get([(f"{scope}#{i}", DOC_SK) for i in ids])
            out: dict[str, Doc] = {}
            for item in found.values():
                if item.get("tb") == t.name and "doc" in item:
                    doc = db._to_doc(item)
                    items[doc["_id"]] = item
                    out[doc["_id"]] = doc
            if db._sight is not None:
                db._sight.prepare(db, scope, t.name, list(out.values()))
            return out

        extra: list[Doc] = []
        shadowed: set[str] = set()
        tx = db._tx
        if tx is not None:  # a mutation reads its own writes
            for doc_id, doc in tx.docs.items():
                if tx.where[doc_id][0].name == t.name:
                    shadowed.add(doc_id)
                    if doc is not None:
                        extra.append(doc)
        searcher = Searcher(
            store=db._store,
            index=self._index,
            scope=scope,
            table=t.name,
            terms=rng.terms,
            filters=rng.filters,
            load=load,
            record_range=record_range,
            record_point=record_point,
        )
        after = position_key(start) if start else None
        keep: Callable[[Doc], bool] | None = None
        if self._filters or db._sight is not None:

            def keep(doc: Doc) -> bool:
                return self._matches_filters(doc) and self._shown(doc) is not None

        hits, done = searcher.top(n, after=after, keep=keep, extra=extra, shadowed=shadowed)
        for hit in hits:
            item = items.get(hit.id)
            if item is not None:  # a stored document: what the result depends on
                record_point(item["pk"], DOC_SK)
                db._record_read(item["pk"], int(item["v"]))
        docs = [shown for h in hits if (shown := self._shown(dict(h.doc))) is not None]
        if done or not hits:
            return docs, None, True
        return docs, hits[-1].position(), False

    def _read(
        self,
        n: int,
        start: dict[str, str] | None,
        *,
        strict_examined: bool,
        until: dict[str, str] | None = None,
    ) -> tuple[list[Doc], dict[str, str] | None, bool]:
        """Up to ``n`` matching documents after ``start`` (and, with ``until``, none past that
        position): (docs, position after the last, done)."""
        if isinstance(self._range, SearchRange):
            return self._search_read(n, start)
        page_hint = n if not self._filtered else min(max(2 * n, 64), MAX_EXAMINED)
        page_hint = max(1, min(page_hint, PAGE_MAX))
        out: list[Doc] = []
        position = start
        end = self._pos_key(until) if until else None
        for examined, (doc, pos, more) in enumerate(self._stream(start, page_hint), start=1):
            if end is not None and (
                self._pos_key(pos) > end if self._order == "asc" else self._pos_key(pos) < end
            ):
                return out, until, False  # the page ends where it ended before
            position = pos
            shown = self._shown(doc) if self._matches_filters(doc) else None
            if shown is not None:
                out.append(shown)
                if len(out) >= n:
                    return out, (position if more else None), not more
            if not more:
                break
            if examined >= MAX_EXAMINED:
                if strict_examined:
                    raise LimitExceededError(
                        f"the filter examined {MAX_EXAMINED} documents without finding {n} matches; "
                        "narrow the index range or paginate",
                        limit=MAX_EXAMINED,
                    )
                return out, position, False
        return out, None, True

    # ---- terminal reads

    def collect(self) -> list[Doc]:
        """Every matching document; more than :data:`COLLECT_MAX` is LIMIT_EXCEEDED (use paginate)."""
        docs, _, _ = self._read(COLLECT_MAX + 1, None, strict_examined=True)
        if len(docs) > COLLECT_MAX:
            raise LimitExceededError(
                f"collect() stops at {COLLECT_MAX} documents; use paginate() or take()", limit=COLLECT_MAX
            )
        return docs

    def take(self, n: int) -> list[Doc]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > COLLECT_MAX:
            raise ValidationError(f"take(n): n must be an integer from 0 to {COLLECT_MAX}", field="n")
        if n == 0:
            return []
        return self._read(n, None, strict_examined=True)[0]

    def first(self) -> Doc | None:
        docs = self.take(1)
        return docs[0] if docs else None

    def unique(self) -> Doc | None:
        docs = self.take(2)
        if len(docs) > 1:
            raise NotUniqueError(f"unique(): more than one document in {self._table.name}.{self._index.name}")
        return docs[0] if docs else None

    def paginate(self, opts: Mapping[str, Any]) -> dict[str, Any]:
        """``{"numItems": n, "cursor": str | None}`` → ``{"page", "isDone", "continueCursor"}``."""
        if not isinstance(opts, Mapping):
            raise ValidationError("paginationOpts must be an object", field="paginationOpts")
        n = opts.get("numItems")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= PAGE_MAX:
            raise ValidationError(
                f"numItems must be an integer from 1 to {PAGE_MAX}", field="paginationOpts.numItems"
            )
        cursor = opts.get("cursor")
        binding = self._binding()
        start: dict[str, str] | None = None
        if cursor is not None:
            start, done = decode_cursor(cursor, binding)
            if done:
                return {"page": [], "isDone": True, "continueCursor": encode_cursor(binding, None)}
            start = self._check_position(start)
        end_cursor = opts.get("endCursor")
        if end_cursor is not None:
            # Convex's usePaginatedQuery: a page re-run after a write keeps the end it had, so no
            # document falls between two pages (the page grows or shrinks instead)
            until, until_done = decode_cursor(end_cursor, binding)
            until = self._check_position(until)
            if not until_done and until is not None:
                docs, _, _ = self._read(PAGE_MAX, start, strict_examined=False, until=until)
                return {"page": docs, "isDone": False, "continueCursor": end_cursor}
            n = PAGE_MAX
        docs, position, done = self._read(n, start, strict_examined=False)
        return {
            "page": docs,
            "isDone": done,
            "continueCursor": encode_cursor(binding, None if done else position),
        }

    def _check_position(self, position: dict[str, str] | None) -> dict[str, str] | None:
        """A cursor's position in the form this query's reads take. One made while the partition
        was one GSI partition, now sharded, goes on from its sort key (a shard's entries have the
        same sort keys); one of another form (an index since merged) starts no read."""
        if position is None or isinstance(self._range, SearchRange):
            return position
        single = {"pk", "sk", self._index.pk_attr, self._index.sk_attr}
        if not all(isinstance(v, str) for v in position.values()):
            keys: set[str] = set()
        else:
            keys = set(position)
        if self._multi and self._view is self._index and keys == single:
            return {"k": position[self._index.sk_attr]}
        if keys != ({"k"} if self._multi else single):
            raise ValidationError(
                "this cursor was made for the index as it was stored before; start again without one",
                field="paginationOpts.cursor",
            )
        return position

    def iterate(self, page_size: int = 100) -> Iterator[Doc]:
        """Every matching document, read a page (one request) at a time as ``paginate`` reads them,
        without ``collect``'s bound: for jobs that walk a whole index."""
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= PAGE_MAX:
            raise ValidationError(f"iterate(page_size): from 1 to {PAGE_MAX}", field="page_size")
        start: dict[str, str] | None = None
        while True:
            docs, position, done = self._read(page_size, start, strict_examined=False)
            yield from docs
            if done or position is None:
                return
            start = position

    def count(self) -> int:
        """How many documents match (Select=COUNT pages; bounded to COUNT_MAX_REQUESTS requests)."""
        if (
            self._filters
            or self._multi
            or isinstance(self._range, SearchRange)
            or (self._db._tx is not None and self._db._tx.docs)
        ):
            return len(self.collect())
        cond = self._key_condition()
        if cond is None:
            return 0
        pk, sk_cond = cond
        record_range(self._index.pk_attr, pk, self._index.sk_attr, *_condition_bounds(sk_cond))
        total, start_key, requests = 0, None, 0
        while True:
            requests += 1
            if requests > COUNT_MAX_REQUESTS:
                raise LimitExceededError("count() read too many pages", limit=COUNT_MAX_REQUESTS)
            _, lek, count = self._db._store.query(
                index=self._index.gsi_name,
                pk_attr=self._index.pk_attr,
                pk=pk,
                sk_attr=self._index.sk_attr,
                sk_condition=sk_cond,
                forward=True,
                limit=None,
                start_key=start_key,
                count_only=True,
            )
            total += count
            if not lek:
                return total
            start_key = lek

    def __iter__(self) -> Iterator[Doc]:
        return iter(self.collect())


def _condition_bounds(sk_cond: tuple[str, ...] | None) -> tuple[str, str]:
    """The sort keys a key condition admits, as an inclusive [lo, hi]."""
    if sk_cond is None:
        return "", KEY_MAX
    if sk_cond[0] == "begins_with":
        return sk_cond[1], sk_cond[1] + KEY_MAX
    if sk_cond[0] == "lte":
        return "", sk_cond[1]
    return sk_cond[1], sk_cond[2]


def _resume(
    lo: str, hi: str, lead: str, after: str | None, forward: bool
) -> tuple[tuple[str, ...], str | None] | None:
    """A stretch's key condition from ``after`` on (exclusive), and the key to leave out; None when
    nothing of the stretch is left."""
    skip: str | None = None
    if after is not None:
        if forward:
            lo = max(lo, lead + after + "\x01")  # no key holds a \x00: the next key is at least this
        else:
            hi, skip = min(hi, lead + after), lead + after
    if lo > hi:
        return None
    return _bounded(lo, hi), skip


def _bounded(lo: str, hi: str) -> tuple[str, ...]:
    """A key condition for lo <= sort key <= hi (DynamoDB refuses an empty bound)."""
    return ("lte", hi) if not lo else ("between", lo, hi)


def _equal(field: str, value: Any) -> Callable[[Any], Any]:
    def build(q: Any) -> Any:
        return q.eq(q.field(field), value)

    return build


def _truthy(value: Any) -> bool:
    from ontology.data.keys import UNDEFINED

    return value is not UNDEFINED and bool(value)


def _merge(
    stored: Iterator[tuple[str, Doc, bool]],
    buffered: Iterator[tuple[str, Doc]],
    order: str,
    position: Callable[[Doc], dict[str, str]],
) -> Iterator[tuple[Doc, dict[str, str], bool]]:
    """Merge stored and buffered documents (each sorted by index key): (doc, position, more follow).

    Lazy: the next stored page is requested only when the consumer asks for the next document.
    """
    desc = order == "desc"
    rest = list(buffered)
    a = next(stored, None)
    while a is not None or rest:
        b = rest[0] if rest else None
        if b is None or (a is not None and ((a[0] > b[0]) if desc else (a[0] < b[0]))):
            assert a is not None
            doc, final = a[1], a[2]
            yield doc, position(doc), not (final and not rest)
            a = None if final else next(stored, None)
        else:
            rest.pop(0)
            yield b[1], position(b[1]), bool(rest) or a is not None
    return
