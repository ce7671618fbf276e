"""``ctx.db``: the reference's database API on the single DynamoDB table.

Reads (queries and mutations)::

    doc = db.get(creator_id)                          # one GetItem (consistent)
    docs = db.get_many(ids)                           # one BatchGetItem per 100 ids
    page = (db.query("entities")
              .with_index("by_type", lambda q: q.eq("type", "creator"))
              .filter(lambda q: q.eq(q.field("status"), "active"))
              .order("desc")
              .paginate({"numItems": 20, "cursor": None}))

Writes (mutations only) are buffered, visible to the mutation's own reads, and committed once by
:func:`ontology.data.transaction.run_mutation` in a single TransactWriteItems::

    new_id = db.insert("entities", {...}); db.patch(new_id, {...}); db.delete(other_id)

Documented bounds (a read past them raises LIMIT_EXCEEDED, never returns a silently short result):

- ``collect()`` returns at most :data:`COLLECT_MAX` documents;
- a ``filter()`` examines at most :data:`MAX_EXAMINED` index entries per call;
- ``take(n)`` and ``paginate`` take ``n`` ≤ :data:`PAGE_MAX`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import EllipsisType
from typing import Any, Literal, Self

from ontology.data.cursor import CursorBinding, decode_cursor, encode_cursor
from ontology.data.filters import Expr, build_filter
from ontology.data.indexes import CREATION_TIME, Index, SearchIndex, Unique
from ontology.data.keys import KEY_MAX, check_id, encode_value, new_id, table_of_id
from ontology.data.schema import PLATFORM_SCOPE, Table, table, validate_document
from ontology.data.store import DOC_SK, GUARD_SK, Store, default_store
from ontology.errors import (
    ConflictError,
    LimitExceededError,
    NotFoundError,
    NotUniqueError,
    PayloadTooLargeError,
    ValidationError,
)

__all__ = [
    "COLLECT_MAX",
    "MAX_EXAMINED",
    "PAGE_MAX",
    "DatabaseReader",
    "DatabaseWriter",
    "Query",
    "TxState",
]

COLLECT_MAX = 1024
MAX_EXAMINED = 2048
PAGE_MAX = 1000
COUNT_MAX_REQUESTS = 64
#: A document's stored JSON may not exceed this (DynamoDB items are at most 400 KB, GSI keys included).
MAX_DOC_BYTES = 350_000

Doc = dict[str, Any]
#: A guard the mutation released without reading it (its holder is known: the released document).
UNREAD: Any = object()
_SYSTEM_FIELDS = ("_id", "_creationTime")


_clock_lock = threading.Lock()
_last_creation_time = 0.0


def _creation_time() -> float:
    """Milliseconds since the epoch, strictly increasing within a process (like Convex's
    ``_creationTime``, a float), so documents inserted one after another keep their order."""
    global _last_creation_time  # noqa: PLW0603
    with _clock_lock:
        now = round(time.time() * 1000, 3)
        _last_creation_time = now if now > _last_creation_time else round(_last_creation_time + 0.001, 3)
        return _last_creation_time


class TxState:
    """What a mutation has read and buffered; turned into one transaction at commit."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        #: pk → version read (0: read as missing)
        self.reads: dict[str, int] = {}
        #: pk → the document as first read (None: missing): later reads repeat it (repeatable read)
        self.seen: dict[str, Doc | None] = {}
        #: doc id → its new full document, or None when deleted
        self.docs: dict[str, Doc | None] = {}
        #: ids inserted by this mutation (an insert then delete writes nothing)
        self.inserted: set[str] = set()
        #: doc id → (table, scope) for buffered docs
        self.where: dict[str, tuple[Table, str]] = {}
        #: guard pk → {"seen": holder read (None: absent) or UNREAD, "holder": the releasing doc when
        #: unread, "ref": the holder after this mutation, "dirty": whether the mutation changes it}
        self.guards: dict[str, dict[str, Any]] = {}


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
        self.filters: dict[str, Any] = {}

    def search(self, field: str, text: str) -> SearchRange:
        if field != self._index.search_field:
            raise ValidationError(f"search index {self._index.name} searches {self._index.search_field!r}")
        if not isinstance(text, str):
            raise ValidationError("search text must be a string", field="search")
        self.text = text.casefold()
        return self

    def eq(self, field: str, value: Any) -> SearchRange:
        if field not in self._index.filter_fields:
            raise ValidationError(f"search index {self._index.name} filters on {self._index.filter_fields}")
        encode_value(value, field)
        self.filters[field] = value
        return self


# ------------------------------------------------------------------------------------------ reading


class DatabaseReader:
    """Read access for one organization (and, for platform code, the platform partition)."""

    def __init__(
        self,
        org: str | None,
        *,
        store: Store | None = None,
        platform: bool = False,
        tx: TxState | None = None,
    ) -> None:
        self.org = org
        self.platform = platform
        self._store = store or default_store()
        self._tx = tx

    def view(self, *, platform: bool | None = None, org: str | EllipsisType | None = ...) -> Self:
        """The same store and transaction seen with another scope: a mutation's platform view (its
        jobs, guards of platform tables), or another organization's, for platform code."""
        return type(self)(
            self.org if isinstance(org, EllipsisType) else org,
            store=self._store,
            platform=self.platform if platform is None else platform,
            tx=self._tx,
        )

    def reader(self) -> DatabaseReader:
        """A read-only view of the same store and transaction (a query run inside a mutation)."""
        return DatabaseReader(self.org, store=self._store, platform=self.platform, tx=self._tx)

    # ---- scopes and keys

    def scope_of(self, t: Table) -> str:
        if t.scope == "platform":
            if not self.platform:
                raise ValidationError(f"table '{t.name}' is not accessible here")
            return PLATFORM_SCOPE
        if not self.org:
            raise ValidationError(f"table '{t.name}' needs an organization")
        return self.org

    def _doc_pk(self, t: Table, doc_id: str) -> str:
        return f"{self.scope_of(t)}#{doc_id}"

    def _table_of(self, doc_id: Any, expected: str | None, field: str) -> Table:
        if expected is not None:
            check_id(expected, doc_id, field=field)
            return table(expected)
        name = table_of_id(doc_id)
        if name is None:
            raise ValidationError(f"{field} is not a document id", field=field)
        return table(name)

    def _record_read(self, pk: str, version: int) -> None:
        if self._tx is not None and pk not in self._tx.reads:
            self._tx.reads[pk] = version

    @staticmethod
    def _to_doc(item: Mapping[str, Any]) -> Doc:
        doc: Doc = json.loads(item["doc"])
        doc["_id"] = item["pk"].rsplit("#", 1)[1]
        doc["_creationTime"] = item["ct"]
        return doc

    def _buffered(self, doc_id: str) -> tuple[bool, Doc | None]:
        if self._tx is not None and doc_id in self._tx.docs:
            doc = self._tx.docs[doc_id]
            return True, (dict(doc) if doc is not None else None)
        return False, None

    # ---- point reads

    def get(self, doc_id: str, table_name: str | None = None, *, field: str = "id") -> Doc | None:
        """The document with this id, or None. With ``table_name``, an id of another table is a
        VALIDATION_ERROR (the reference's ``v.id("entities")``)."""
        t = self._table_of(doc_id, table_name, field)
        hit, doc = self._buffered(doc_id)
        if hit:
            return doc
        pk = self._doc_pk(t, doc_id)
        if self._tx is not None and pk in self._tx.seen:
            seen = self._tx.seen[pk]
            return dict(seen) if seen is not None else None
        item = self._store.get(pk, DOC_SK, consistent=True)
        self._record_read(pk, int(item["v"]) if item else 0)
        doc = self._to_doc(item) if item else None
        if self._tx is not None:
            self._tx.seen.setdefault(pk, dict(doc) if doc is not None else None)
        return doc

    def get_many(
        self, ids: list[str], table_name: str | None = None, *, field: str = "ids"
    ) -> list[Doc | None]:
        """Documents for ``ids``, in order (None where missing), in one BatchGetItem per 100 ids."""
        keys: dict[str, str] = {}
        for doc_id in ids:
            t = self._table_of(doc_id, table_name, field)
            hit, _ = self._buffered(doc_id)
            if not hit:
                keys[doc_id] = self._doc_pk(t, doc_id)
        if self._tx is not None:  # repeatable reads: what this mutation read already, it reads again
            cached = {i: pk for i, pk in keys.items() if pk in self._tx.seen}
            for i in cached:
                keys.pop(i)
        found = self._store.batch_get([(pk, DOC_SK) for pk in keys.values()]) if keys else {}
        out: list[Doc | None] = []
        for doc_id in ids:
            hit, doc = self._buffered(doc_id)
            if hit:
                out.append(doc)
                continue
            if doc_id not in keys:
                seen = self._tx.seen[self._doc_pk(self._table_of(doc_id, table_name, field), doc_id)]  # type: ignore[union-attr]
                out.append(dict(seen) if seen is not None else None)
                continue
            item = found.get(keys[doc_id])
            self._record_read(keys[doc_id], int(item["v"]) if item else 0)
            doc = self._to_doc(item) if item else None
            if self._tx is not None:
                self._tx.seen.setdefault(keys[doc_id], dict(doc) if doc is not None else None)
            out.append(doc)
        return out

    def lookup_unique(self, table_name: str, rule: str, values: Mapping[str, Any]) -> Doc | None:
        """The document holding a unique value (consistent: reads the guard item, not an index).

        ``db.lookup_unique("connections", "triple", {"fromEntityId": a, "toEntityId": b,
        "relationshipType": "holds_tokens"})``
        """
        t = table(table_name)
        u = _unique(t, rule)
        key = u.value_of(_nest(values))
        if key is None:
            raise ValidationError(f"unique rule {rule}: give {', '.join(u.fields)}")
        ref = self._guard_ref(t, u, key)
        return self.get(ref, table_name) if ref else None

    def _guard_pk(self, t: Table, u: Unique, value: tuple[Any, ...]) -> str:
        encoded = "".join(encode_value(v, f) for v, f in zip(value, u.fields, strict=True))
        return f"{self.scope_of(t)}#guard#{t.name}#{u.name}#{encoded}"

    def _guard_ref(self, t: Table, u: Unique, value: tuple[Any, ...]) -> str | None:
        """Who holds a unique value: the guard item's ``ref`` (consistent read, recorded in a mutation)."""
        gpk = self._guard_pk(t, u, value)
        if self._tx is not None and gpk in self._tx.guards:
            entry = self._tx.guards[gpk]
            if entry["seen"] is not UNREAD:
                ref: str | None = entry["ref"]
                return ref
        item = self._store.get(gpk, GUARD_SK, consistent=True)
        holder = json.loads(item["doc"])["ref"] if item else None
        if self._tx is not None:
            entry = self._tx.guards.setdefault(gpk, {"ref": holder, "dirty": False})
            entry["seen"] = holder
            if not entry["dirty"]:
                entry["ref"] = holder
            return entry["ref"]  # type: ignore[no-any-return]
        return holder

    # ---- queries

    def query(self, table_name: str) -> Query:
        return Query(self, table(table_name))


def _unique(t: Table, rule: str) -> Unique:
    for u in t.uniques:
        if u.name == rule:
            return u
    raise ValidationError(f"table '{t.name}' has no unique rule '{rule}'")


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"properties.email": x} → {"properties": {"email": x}} (unique rules take dotted paths)."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        cur = out
        *parents, last = path.split(".")
        for p in parents:
            cur = cur.setdefault(p, {})
        cur[last] = value
    return out


class Query:
    """A query over one index of one table; immutable builder, then one of the terminal reads."""

    def __init__(self, db: DatabaseReader, t: Table) -> None:
        self._db = db
        self._table = t
        self._index: Index = t.index("by_creation_time")
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
        q = self._copy()
        q._index, q._range, q._indexed = index, rng, True
        return q

    def with_search_index(self, name: str, build: Callable[[SearchRange], Any]) -> Query:
        index = self._table.index(name)
        if not isinstance(index, SearchIndex):
            raise ValidationError(f"{name} is not a search index")
        rng = SearchRange(index)
        build(rng)
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
        q = self._copy()
        q._order = order  # type: ignore[assignment]
        return q

    # ---- key conditions

    def _key_condition(self) -> tuple[str, tuple[str, ...] | None] | None:
        """(gsi pk, sort key condition); None when the range is empty."""
        scope = self._db.scope_of(self._table)
        idx = self._index
        rng = self._range
        if isinstance(rng, SearchRange):
            pk = idx.partition_key(scope, self._table.name, [])
            prefix = "5" + "".join(_escape_search(rng.text or ""))
            return pk, ("begins_with", prefix)
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
            self._db.scope_of(self._table), self._table.name, self._index.name, self._describe()
        )

    # ---- the read loop

    def _matches_filters(self, doc: Doc) -> bool:
        if isinstance(self._range, SearchRange):
            from ontology.data.indexes import get_path

            for f, v in self._range.filters.items():
                if encode_value(get_path(doc, f)) != encode_value(v):
                    return False
        return all(_truthy(f.evaluate(doc)) for f in self._filters)

    def _in_range(self, doc: Doc) -> bool:
        if isinstance(self._range, SearchRange):
            text = doc.get(self._index.search_field)  # type: ignore[attr-defined]
            return isinstance(text, str) and text.casefold().startswith(self._range.text or "")
        values = [*self._index.values_of(doc), doc[CREATION_TIME]]
        return self._range.matches(values[: len(self._index.range_fields)])

    def _sort_key(self, doc: Doc) -> str:
        scope = self._db.scope_of(self._table)
        return self._index.keys_for(scope, self._table.name, doc)[1]

    def _stream(
        self, start: dict[str, str] | None, page_hint: int
    ) -> Iterator[tuple[Doc, dict[str, str], bool]]:
        """Documents in index order from ``start`` (exclusive): (doc, its position, more may follow).

        In a mutation, the mutation's own buffered writes are merged in (and replace stored
        versions), so a query reads its own writes.
        """
        cond = self._key_condition()
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
                after = start[self._index.sk_attr]
                buffered = [(k, d) for k, d in buffered if (k > after if self._order == "asc" else k < after)]
        stored = self._stored(cond, start, page_hint, shadowed)
        yield from _merge(stored, iter(buffered), self._order, self._position)

    def _position(self, doc: Doc) -> dict[str, str]:
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
        cond: tuple[str, tuple[str, ...] | None] | None,
        start: dict[str, str] | None,
        page_hint: int,
        shadowed: set[str],
    ) -> Iterator[tuple[str, Doc, bool]]:
        """Stored documents in index order: (sort key, doc, whether nothing is stored after it)."""
        if cond is None:
            return
        pk, sk_cond = cond
        start_key = {k: {"S": v} for k, v in start.items()} if start else None
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
            for i, item in enumerate(items):
                doc = self._to_doc_recorded(item)
                if doc["_id"] in shadowed:
                    continue
                yield item[self._index.sk_attr], doc, (i == last and not lek)
            if not lek:
                return
            start_key = lek

    def _to_doc_recorded(self, item: Mapping[str, Any]) -> Doc:
        self._db._record_read(item["pk"], int(item["v"]))
        return self._db._to_doc(item)

    @property
    def _filtered(self) -> bool:
        return bool(self._filters) or isinstance(self._range, SearchRange)

    def _read(
        self, n: int, start: dict[str, str] | None, *, strict_examined: bool
    ) -> tuple[list[Doc], dict[str, str] | None, bool]:
        """Up to ``n`` matching documents after ``start``: (docs, position after the last, done)."""
        page_hint = n if not self._filtered else min(max(2 * n, 64), MAX_EXAMINED)
        page_hint = max(1, min(page_hint, PAGE_MAX))
        out: list[Doc] = []
        position = start
        for examined, (doc, pos, more) in enumerate(self._stream(start, page_hint), start=1):
            position = pos
            if self._matches_filters(doc):
                out.append(doc)
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
        docs, position, done = self._read(n, start, strict_examined=False)
        return {
            "page": docs,
            "isDone": done,
            "continueCursor": encode_cursor(binding, None if done else position),
        }

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
            or isinstance(self._range, SearchRange)
            or (self._db._tx is not None and self._db._tx.docs)
        ):
            return len(self.collect())
        cond = self._key_condition()
        if cond is None:
            return 0
        pk, sk_cond = cond
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


def _escape_search(text: str) -> str:
    return encode_value(text)[1:-2]


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


# ------------------------------------------------------------------------------------------ writing


class DatabaseWriter(DatabaseReader):
    """Buffered writes of a mutation. Nothing reaches the table until the mutation commits."""

    def __init__(
        self,
        org: str | None,
        *,
        store: Store | None = None,
        platform: bool = False,
        tx: TxState | None = None,
    ) -> None:
        super().__init__(org, store=store, platform=platform, tx=tx or TxState(org or PLATFORM_SCOPE))

    @property
    def tx(self) -> TxState:
        assert self._tx is not None
        return self._tx

    def insert(self, table_name: str, doc: Mapping[str, Any], *, doc_id: str | None = None) -> str:
        """Validate and buffer a new document; returns its id (``doc_id``: one made by ``new_id``
        beforehand, when other documents of the same transaction must name it)."""
        t = table(table_name)
        scope = self.scope_of(t)
        if not isinstance(doc, Mapping):
            raise ValidationError("a document must be an object")
        clean = validate_document(table_name, doc)
        if doc_id is None:
            doc_id = new_id(table_name)
        else:
            check_id(table_name, doc_id)
            if doc_id in self.tx.docs:
                raise ValidationError(f"{doc_id} is already written by this mutation")
        full = {**clean, "_id": doc_id, "_creationTime": _creation_time()}
        self._check_storable(t, scope, full)
        self._claim_uniques(t, doc_id, None, full)
        self.tx.docs[doc_id] = full
        self.tx.where[doc_id] = (t, scope)
        self.tx.inserted.add(doc_id)
        return doc_id

    def patch(self, doc_id: str, fields: Mapping[str, Any], table_name: str | None = None) -> Doc:
        """Shallow-merge ``fields`` into the document (a None value removes the field)."""
        t = self._table_of(doc_id, table_name, "id")
        current = self.get(doc_id, t.name)
        if current is None:
            raise NotFoundError(f"{t.name} document not found", id=doc_id)
        if not isinstance(fields, Mapping):
            raise ValidationError("patch takes an object of fields")
        merged = {k: v for k, v in current.items() if k not in _SYSTEM_FIELDS}
        for key, value in fields.items():
            if key in _SYSTEM_FIELDS:
                if value != current[key]:
                    raise ValidationError(f"'{key}' is a system field and cannot be written", field=key)
                continue
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return self._write(t, current, merged)

    def replace(self, doc_id: str, doc: Mapping[str, Any], table_name: str | None = None) -> Doc:
        """Replace the whole document (system fields may be passed back unchanged)."""
        t = self._table_of(doc_id, table_name, "id")
        current = self.get(doc_id, t.name)
        if current is None:
            raise NotFoundError(f"{t.name} document not found", id=doc_id)
        body = {}
        for key, value in doc.items():
            if key in _SYSTEM_FIELDS:
                if value != current[key]:
                    raise ValidationError(f"'{key}' is a system field and cannot be written", field=key)
                continue
            body[key] = value
        return self._write(t, current, body)

    def delete(self, doc_id: str, table_name: str | None = None) -> None:
        t = self._table_of(doc_id, table_name, "id")
        current = self.get(doc_id, t.name)
        if current is None:
            raise NotFoundError(f"{t.name} document not found", id=doc_id)
        self._claim_uniques(t, doc_id, current, None)
        self.tx.docs[doc_id] = None
        self.tx.where[doc_id] = (t, self.scope_of(t))

    def _write(self, t: Table, current: Doc, body: Mapping[str, Any]) -> Doc:
        clean = validate_document(t.name, body)
        full = {**clean, "_id": current["_id"], "_creationTime": current["_creationTime"]}
        scope = self.scope_of(t)
        self._check_storable(t, scope, full)
        self._claim_uniques(t, current["_id"], current, full)
        self.tx.docs[current["_id"]] = full
        self.tx.where[current["_id"]] = (t, scope)
        return dict(full)

    @staticmethod
    def _check_storable(t: Table, scope: str, full: Doc) -> None:
        for idx in t.indexes:
            idx.keys_for(scope, t.name, full)  # raises VALIDATION_ERROR for unindexable values
        size = len(json.dumps(full, separators=(",", ":")).encode("utf-8", "surrogatepass"))
        if size > MAX_DOC_BYTES:
            raise PayloadTooLargeError(f"document is {size} bytes; the limit is {MAX_DOC_BYTES}")

    def _claim_uniques(self, t: Table, doc_id: str, old: Doc | None, new: Doc | None) -> None:
        """Move the document's unique values from ``old`` to ``new``, guard by guard."""
        for u in t.uniques:
            old_v = u.value_of(old) if old else None
            new_v = u.value_of(new) if new else None
            if old_v == new_v:
                continue
            if old_v is not None:
                entry = self.tx.guards.setdefault(
                    self._guard_pk(t, u, old_v), {"seen": UNREAD, "holder": doc_id, "ref": doc_id}
                )
                entry["ref"], entry["dirty"] = None, True
            if new_v is not None:
                holder = self._guard_ref(t, u, new_v)
                if holder is not None and holder != doc_id:
                    raise ConflictError(
                        u.message or f"{t.name}: {'/'.join(u.fields)} must be unique",
                        field=u.fields[-1],
                        rule=u.name,
                    )
                entry = self.tx.guards[self._guard_pk(t, u, new_v)]
                entry["ref"], entry["dirty"] = doc_id, True
