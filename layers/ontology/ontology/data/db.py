"""``ctx.db``: the reference's database API on the single DynamoDB table.

Reads (queries and mutations)::

    doc = db.get(creator_id)                          # one GetItem (consistent)
    docs = db.get_many(ids)                           # one BatchGetItem per 100 ids
    page = db.query("entities").with_index("by_type", lambda q: q.eq("type", "creator")).take(20)

Writes (mutations only) are buffered, visible to the mutation's own reads, and committed once by
:func:`ontology.data.transaction.run_mutation` in a single TransactWriteItems::

    new_id = db.insert("entities", {...}); db.patch(new_id, {...}); db.delete(other_id)

Unique values: a rule's value is held by a guard item (``<scope>#guard#<table>#<rule>#<value>``, its
``ref`` the document), written and deleted with the document. A keyed rule (``Unique.keyed``: a
connection's from/to/type, a tag) needs none: a new document's id is derived from its value
(:func:`ontology.data.keys.keyed_id`), so the insert's own condition (nothing at that key yet) is
the check. A document written before its rule was keyed keeps its id; migration 0011 replaced its
guard by an *alias* at the derived key (``tb`` ``_alias``, ``{"ref": <its id>}``), which a new
insert finds there like a document, ``lookup_unique`` follows, and the document's delete deletes.
Until that migration is done, the guards of keyed rules are honoured too (:func:`legacy_guards`).

The query builder and its bounds are in :mod:`ontology.data.query`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Literal, Self

from ontology.data import layout, typed
from ontology.data.count_folds import FOLD, FOLD_VERSION
from ontology.data.dynamodb import Store, default_store
from ontology.data.indexes import Unique, get_path
from ontology.data.keys import (
    ALIAS_TB,
    DOC_SK,
    GUARD_SK,
    check_id,
    encode_value,
    keyed_id,
    new_id,
    table_of_id,
)
from ontology.data.layout import migration_done
from ontology.data.query import Doc, Query
from ontology.data.schema import PLATFORM_SCOPE, Table, table
from ontology.data.tracking import record_point
from ontology.errors import (
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)

if TYPE_CHECKING:  # typing only: the visibility rules load with the first public read
    from ontology.data.visibility import PublicEntities, Sight

__all__ = [
    "KEYED_MIGRATION",
    "DatabaseReader",
    "DatabaseWriter",
    "Doc",
    "StaleReadError",
    "TxState",
    "guard_key",
    "legacy_guards",
    "migration_done",
]

#: A document's stored JSON may not exceed this (DynamoDB items are at most 400 KB, GSI keys included).
MAX_DOC_BYTES = 350_000

#: A guard the mutation released without reading it (its holder is known: the released document).
UNREAD: Any = object()
#: What a mutation's commit depends on of a document it reads (:meth:`DatabaseReader.get`).
Checked = bool | Literal["existence"]
_SYSTEM_FIELDS = ("_id", "_creationTime")

#: The migration that replaced the guards of keyed rules by aliases (versions/m0011_keyed_uniques.py).
KEYED_MIGRATION = "0011-keyed-uniques"
#: How long a process takes that migration for not done before reading its progress again.


def legacy_guards(store: Store) -> bool:
    """Whether the table may still hold guards of keyed rules (written before the rules were keyed):
    until :data:`KEYED_MIGRATION` is done (:func:`migration_done`)."""
    return not migration_done(store, KEYED_MIGRATION)


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


class StaleReadError(Exception):
    """Internal: a mutation read one document at two versions (through an index that had not caught
    up with the table, or across a concurrent write). The mutation runs again on fresh reads, as on
    a conflict (:func:`ontology.data.transaction.run_mutation`): acting on the older version — say,
    deleting a document an index still lists but the table no longer holds — would be wrong."""

    def __init__(self, pk: str) -> None:
        super().__init__(pk)
        self.pk = pk


class TxState:
    """What a mutation has read and buffered; turned into one transaction at commit."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        #: pk → version read (0: read as missing)
        self.reads: dict[str, int] = {}
        #: pk → version read without a condition (``get(..., checked=False)``): not in the commit
        self.loose: dict[str, int] = {}
        #: pk → the tombstone whose absence the commit checks (``checked="existence"``: a document
        #: read for its existence alone, :mod:`ontology.data.tombstones`)
        self.alive: dict[str, str] = {}
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
        #: pk → the ``ref`` of the alias read there (its ``seen`` is None: an alias is no document)
        self.aliases: dict[str, str] = {}
        #: alias pk → the document whose alias the commit deletes (the document is deleted)
        self.alias_drops: dict[str, str] = {}
        #: the search index entries the commit writes (ontology.data.search.IndexWrites, resolved
        #: against the dictionary) and their keys, for the sync protocol's write sets
        self.search_writes: Any = None
        self.search_touched: list[dict[str, Any]] = []
        #: the public pointers the commit puts or deletes (keys before and after, likewise)
        self.pointers_touched: list[dict[str, Any]] = []
        #: (counter pk, shard) → {"n": what this mutation adds, "cap": the shard's share of a cap,
        #: "seal": sealing it} (ontology.data.counters)
        self.counters: dict[tuple[str, str], dict[str, Any]] = {}
        #: counter pk → the shard this mutation adds to
        self.counter_shards: dict[str, str] = {}
        #: document id → attributes its item is written with beside the document: what the stream's
        #: consumers count it as (ontology.data.relation_counts)
        self.stamps: dict[str, dict[str, Any]] = {}
        #: pk → the count fold its item was read with and the fold's version: a write of the
        #: document keeps the fold if no fold was written since (ontology.data.count_folds)
        self.folds: dict[str, tuple[Any, int]] = {}


class DatabaseReader:
    """Read access for one organization (and, for platform code, the platform partition).

    With a ``sight`` (a public function's ``ctx.db``), every read answers what its caller may see
    (:mod:`ontology.data.visibility`): documents they may not read are left out, fields only staff
    read are removed, and a public entity of another organization is found by its id."""

    def __init__(
        self,
        org: str | None,
        *,
        store: Store | None = None,
        platform: bool = False,
        tx: TxState | None = None,
        sight: Sight | None = None,
    ) -> None:
        self.org = org
        self.platform = platform
        self._store = store or default_store()
        self._tx = tx
        self._sight = sight

    def view(self, *, platform: bool | None = None, org: str | EllipsisType | None = ...) -> Self:
        """The same store and transaction seen with another scope: a mutation's platform view (its
        jobs, guards of platform tables), or another organization's, for platform code."""
        viewed = type(self)(
            self.org if isinstance(org, EllipsisType) else org,
            store=self._store,
            platform=self.platform if platform is None else platform,
            tx=self._tx,
        )
        viewed._sight = self._sight
        return viewed

    @property
    def sees_everything(self) -> bool:
        """Whether every document of this reader's organization is the caller's to read (no sight, or
        the organization's staff)."""
        return self._sight is None or self._sight.sees_all(self.org)

    def holding(self, doc_id: str) -> DatabaseReader:
        """This reader in the organization its caller read ``doc_id`` from: itself, or (a public
        entity of another organization) that organization's, seen as the world sees it. For the
        related reads of a public page::

            creator = ctx.db.get(creator_id, "entities")
            authored = ctx.db.holding(creator_id).query("connections").with_index(...)
        """
        home = self._sight.homes.get(doc_id) if self._sight is not None else None
        if home is None or home == self.org:
            return self
        return self.view(org=home)

    def public_entities(self, entity_type: str, order: str = "asc") -> PublicEntities:
        """What the world sees of one entity type across the platform, in creation order (pointers
        read a page at a time, their entities in one BatchGetItem per page)."""
        from ontology.data.visibility import PublicEntities

        return PublicEntities(
            self, DatabaseReader(None, store=self._store, platform=True), entity_type, order
        )

    def holder_keys(
        self, scope: str, table_name: str, rule: str, value: tuple[Any, ...]
    ) -> list[tuple[str, str]]:
        """The keys (pk, sk) of the items whose presence says that ``value`` of a unique rule is held
        in ``scope``: its guard; for a keyed rule, its derived id's key (a document or an alias),
        and its guard while :func:`legacy_guards` (for the visibility rules' batched reads)."""
        t = table(table_name)
        u = _unique(t, rule)
        gpk = _guard_key(scope, t, u, value)
        if not u.keyed:
            return [(gpk, GUARD_SK)]
        keys = [(f"{scope}#{_keyed_id(scope, t, u, value)}", DOC_SK)]
        return [*keys, (gpk, GUARD_SK)] if legacy_guards(self._store) else keys

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
        if self._tx is None:
            return
        known = self._tx.reads.get(pk)
        if known is None:
            loose = self._tx.loose.get(pk)
            if loose is not None and loose != version:
                raise StaleReadError(pk)  # read unchecked at one version, now at another
            self._tx.reads[pk] = version
        elif known != version:
            # Two reads of one document disagree: a GSI (eventually consistent) had not caught up
            # with the table, or a write landed in between. Either way the commit would fail on it.
            raise StaleReadError(pk)

    def _keep_fold(self, item: Mapping[str, Any], *, consistent: bool = False) -> None:
        """A mutation's read of an item with a count fold: what its write carries on. A consistent
        read (the item by its key) replaces what an index's copy, which may lag, said of it."""
        if self._tx is None or FOLD not in item:
            return
        read = (item[FOLD], int(item.get(FOLD_VERSION, 0)))
        if consistent:
            self._tx.folds[str(item["pk"])] = read
        else:
            self._tx.folds.setdefault(str(item["pk"]), read)

    @staticmethod
    def _to_doc(item: Mapping[str, Any]) -> Doc:
        item = layout.current(item)  # an item of an older layout, as the code reads it
        doc: Doc = typed.decode(item["doc"])
        doc["_id"] = item["pk"].rsplit("#", 1)[1]
        doc["_creationTime"] = item["ct"]
        return doc

    def _buffered(self, doc_id: str) -> tuple[bool, Doc | None]:
        if self._tx is not None and doc_id in self._tx.docs:
            doc = self._tx.docs[doc_id]
            return True, (dict(doc) if doc is not None else None)
        return False, None

    # ---- point reads

    def get(
        self, doc_id: str, table_name: str | None = None, *, field: str = "id", checked: Checked = True
    ) -> Doc | None:
        """The document with this id, or None. With ``table_name``, an id of another table is a
        VALIDATION_ERROR (the reference's ``v.id("entities")``).

        In a mutation, ``checked=False`` reads the document as it is now without making the commit
        depend on it (no condition on its version): for a document many concurrent mutations read
        and none of them writes (a livestream its chat messages hang from), where what the mutation
        takes from it does not change, or may change a moment before the commit without harm. The
        mutation then no longer conflicts with every other one that reads it. A later checked read
        (or write) of the same document conditions the commit on the version read first.

        ``checked="existence"``: the commit depends on the document still existing, not on its
        version (a table with ``tombstones``; elsewhere a checked read): for a mutation that uses
        nothing of it but that it exists — a connection's ends — so that the many mutations reading
        one popular document do not conflict on it, while none commits after its deletion
        (:mod:`ontology.data.tombstones` gives the argument). A document read as missing stays a
        checked read: the commit depends on its staying missing."""
        t = self._table_of(doc_id, table_name, field)
        if self._sight is not None:
            return self._sight.get(self, t, doc_id)
        return self._get(t, doc_id, checked=checked)

    def _check_seen(self, pk: str) -> None:
        """A document first read unchecked is read again, checked: the commit depends on it now."""
        tx = self._tx
        if tx is not None and pk not in tx.reads and pk in tx.loose:
            tx.reads[pk] = tx.loose[pk]

    def _reread(self, t: Table, pk: str, checked: Checked) -> None:
        """A document this mutation read before is read again (``checked`` as :meth:`get`'s)."""
        assert self._tx is not None
        if checked is True or (checked == "existence" and self._tx.seen.get(pk) is None):
            self._check_seen(pk)
        elif checked == "existence":
            self._depend_on_existence(t, pk)

    def _note_read(self, t: Table, pk: str, version: int, checked: Checked) -> None:
        """What the commit depends on of a document read at ``version`` (0: missing)."""
        if checked is True or (checked == "existence" and not version):
            self._record_read(pk, version)
        elif self._tx is not None:
            self._tx.loose[pk] = version
            if checked == "existence":
                self._depend_on_existence(t, pk)

    def _depend_on_existence(self, t: Table, pk: str) -> None:
        assert self._tx is not None
        if not t.tombstones:
            self._check_seen(pk)  # no tombstones to check: its version is the condition
            return
        from ontology.data import tombstones

        self._tx.alive.setdefault(pk, tombstones.pick())

    def _get(self, t: Table, doc_id: str, *, checked: Checked = True) -> Doc | None:
        return self._point(t, doc_id, checked=checked)[0]

    def _point(self, t: Table, doc_id: str, *, checked: Checked = True) -> tuple[Doc | None, str | None]:
        """What is at a document's key: (the document, None), or (None, the id an alias there names),
        or (None, None). An alias is no document: ``get`` answers None for it. ``checked=False``: a
        read the commit does not depend on (:meth:`get`)."""
        hit, doc = self._buffered(doc_id)
        if hit:
            return doc, None
        pk = self._doc_pk(t, doc_id)
        if self._tx is not None and pk in self._tx.seen:
            self._reread(t, pk, checked)
            seen = self._tx.seen[pk]
            return (dict(seen) if seen is not None else None), self._tx.aliases.get(pk)
        item = self._store.get(pk, DOC_SK, consistent=True)
        record_point(pk, DOC_SK)
        version = int(item["v"]) if item else 0
        self._note_read(t, pk, version, checked)
        if item is not None:
            self._keep_fold(item, consistent=True)
        doc, alias = self._doc_or_alias(item)
        if self._tx is not None:
            self._tx.seen.setdefault(pk, dict(doc) if doc is not None else None)
            if alias is not None:
                self._tx.aliases[pk] = alias
        return doc, alias

    def _doc_or_alias(self, item: Mapping[str, Any] | None) -> tuple[Doc | None, str | None]:
        if item is None:
            return None, None
        if item.get("tb") == ALIAS_TB:
            return None, str(json.loads(item["doc"])["ref"])
        return self._to_doc(item), None

    def get_many(
        self, ids: list[str], table_name: str | None = None, *, field: str = "ids", checked: Checked = True
    ) -> list[Doc | None]:
        """Documents for ``ids``, in order (None where missing), in one BatchGetItem per 100 ids
        (``checked`` as :meth:`get`'s)."""
        if self._sight is not None:
            return self._sight.get_many(self, [self._table_of(i, table_name, field) for i in ids], ids)
        return self._get_many(ids, table_name, field=field, checked=checked)

    def _get_many(
        self, ids: list[str], table_name: str | None = None, *, field: str = "ids", checked: Checked = True
    ) -> list[Doc | None]:
        keys: dict[str, str] = {}
        for doc_id in ids:
            t = self._table_of(doc_id, table_name, field)
            hit, _ = self._buffered(doc_id)
            if not hit:
                keys[doc_id] = self._doc_pk(t, doc_id)
        if self._tx is not None:  # repeatable reads: what this mutation read already, it reads again
            cached = {i: pk for i, pk in keys.items() if pk in self._tx.seen}
            for i, pk in cached.items():
                keys.pop(i)
                self._reread(self._table_of(i, table_name, field), pk, checked)
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
            record_point(keys[doc_id], DOC_SK)
            t = self._table_of(doc_id, table_name, field)
            self._note_read(t, keys[doc_id], int(item["v"]) if item else 0, checked)
            doc, alias = self._doc_or_alias(item)
            if self._tx is not None:
                self._tx.seen.setdefault(keys[doc_id], dict(doc) if doc is not None else None)
                if alias is not None:
                    self._tx.aliases[keys[doc_id]] = alias
            out.append(doc)
        return out

    def lookup_unique(self, table_name: str, rule: str, values: Mapping[str, Any]) -> Doc | None:
        """The document holding a unique value (consistent: reads the guard item, not an index; for a
        keyed rule, the key its value derives: the document itself, or an alias naming it).

        ``db.lookup_unique("connections", "triple", {"fromEntityId": a, "toEntityId": b,
        "relationshipType": "holds_tokens"})``
        """
        t = table(table_name)
        u = _unique(t, rule)
        key = u.value_of(_nest(values))
        if key is None:
            raise ValidationError(f"unique rule {rule}: give {', '.join(u.fields)}")
        if u.keyed:
            doc, ref = self._point(t, _keyed_id(self.scope_of(t), t, u, key))
            if doc is not None:
                return doc if self._sight is None else self._sight.shown(self, t, doc)
            if ref is None:
                ref = self._legacy_holder(t, u, key)
        else:
            ref = self._guard_ref(t, u, key)
        return self.get(ref, table_name) if ref else None

    def _guard_pk(self, t: Table, u: Unique, value: tuple[Any, ...]) -> str:
        return _guard_key(self.scope_of(t), t, u, value)

    def _legacy_holder(self, t: Table, u: Unique, value: tuple[Any, ...]) -> str | None:
        """Who holds a keyed rule's value by a guard written before the rule was keyed (None once
        migration 0011 is done, or when this mutation releases it). A plain consistent read, not
        checked at commit: no code writes such a guard any more, and the one there can only go, with
        its document, or to an alias at the derived key (which the insert's condition sees)."""
        if not legacy_guards(self._store):
            return None
        gpk = self._guard_pk(t, u, value)
        entry = self._tx.guards.get(gpk) if self._tx is not None else None
        if entry is not None and entry.get("dirty") and entry["ref"] is None:
            return None
        item = self._store.get(gpk, GUARD_SK, consistent=True)
        record_point(gpk, GUARD_SK)
        return str(json.loads(item["doc"])["ref"]) if item else None

    def _guard_ref(self, t: Table, u: Unique, value: tuple[Any, ...]) -> str | None:
        """Who holds a unique value: the guard item's ``ref`` (consistent read, recorded in a mutation)."""
        gpk = self._guard_pk(t, u, value)
        if self._tx is not None and gpk in self._tx.guards:
            entry = self._tx.guards[gpk]
            if entry["seen"] is not UNREAD:
                ref: str | None = entry["ref"]
                return ref
        item = self._store.get(gpk, GUARD_SK, consistent=True)
        record_point(gpk, GUARD_SK)
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


def _encoded(u: Unique, value: tuple[Any, ...]) -> str:
    return "".join(encode_value(v, f) for v, f in zip(value, u.fields, strict=True))


def _guard_key(scope: str, t: Table, u: Unique, value: tuple[Any, ...]) -> str:
    return f"{scope}#guard#{t.name}#{u.name}#{_encoded(u, value)}"


def _keyed_id(scope: str, t: Table, u: Unique, value: tuple[Any, ...]) -> str:
    return keyed_id(t.name, scope, _encoded(u, value))


def guard_key(scope: str, table_name: str, rule: str, value: tuple[Any, ...]) -> str:
    """The key of the guard item holding ``value`` of a unique rule (whether an email is taken:
    ``guard_key("platform", "users", "email", ("ada@example.com",))``). A keyed rule's values have
    no guard once migration 0011 is done (:meth:`DatabaseReader.holder_keys`)."""
    t = table(table_name)
    return _guard_key(scope, t, _unique(t, rule), value)


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

    def insert(
        self,
        table_name: str,
        doc: Mapping[str, Any],
        *,
        doc_id: str | None = None,
        creation_time: float | None = None,
    ) -> str:
        """Validate and buffer a new document; returns its id (``doc_id``: one made by ``new_id``
        beforehand, when other documents of the same transaction must name it). ``creation_time``:
        the document's ``_creationTime`` when it has one already (an import keeps Convex's)."""
        t = table(table_name)
        scope = self.scope_of(t)
        if not isinstance(doc, Mapping):
            raise ValidationError("a document must be an object")
        from ontology.data.documents import validate_document  # models build on a write's first use

        clean = validate_document(table_name, doc)
        keyed = t.keyed.value_of(clean) if t.keyed is not None else None
        if keyed is not None:
            doc_id = self._keyed_insert_id(t, scope, keyed, doc_id)
        elif doc_id is None:
            doc_id = new_id(table_name)
        else:
            check_id(table_name, doc_id)
            if doc_id in self.tx.docs:
                raise ValidationError(f"{doc_id} is already written by this mutation")
        number = isinstance(creation_time, int | float) and not isinstance(creation_time, bool)
        if creation_time is not None and not (number and 0 <= creation_time < 2**53):
            raise ValidationError("_creationTime must be a number of milliseconds", field="_creationTime")
        created = _creation_time() if creation_time is None else float(creation_time)
        full = {**clean, "_id": doc_id, "_creationTime": created}
        self._check_storable(t, scope, full)
        if keyed is not None:
            self._claim_key(t, doc_id, keyed)
        self._claim_uniques(t, doc_id, None, full)
        self.tx.docs[doc_id] = full
        self.tx.where[doc_id] = (t, scope)
        if not self.tx.reads.get(f"{scope}#{doc_id}"):  # a key that held an item is written over it
            self.tx.inserted.add(doc_id)
        return doc_id

    def _keyed_insert_id(self, t: Table, scope: str, value: tuple[Any, ...], given: str | None) -> str:
        assert t.keyed is not None
        doc_id = _keyed_id(scope, t, t.keyed, value)
        if given is not None and given != doc_id:
            raise ValidationError(
                f"a {t.name} document's id is derived from its {', '.join(t.keyed.fields)}: give no id",
                field="id",
            )
        return doc_id

    def _claim_key(self, t: Table, doc_id: str, value: tuple[Any, ...]) -> None:
        """Check that the keyed value is free: nothing at its derived key (a document, or an alias
        this mutation does not delete with its document) and, until migration 0011 is done, no
        guard of it. The insert's Put is conditioned on the key as read, so a concurrent insert of
        the same value makes one of the two run again, and then fail here."""
        u = t.keyed
        assert u is not None
        doc, alias = self._point(t, doc_id)
        pk = self._doc_pk(t, doc_id)
        if alias is not None and pk in self.tx.alias_drops:
            alias = None  # its document is deleted by this mutation: the Put replaces the alias
        held = doc is not None or alias is not None or self._legacy_holder(t, u, value) is not None
        if held:
            raise ConflictError(
                u.message or f"{t.name}: {'/'.join(u.fields)} must be unique",
                field=u.fields[-1],
                rule=u.name,
            )
        self.tx.alias_drops.pop(pk, None)  # one write per key: the Put (conditioned on it as read)

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
        self._release_key(t, doc_id, current)
        self.tx.docs[doc_id] = None
        self.tx.where[doc_id] = (t, self.scope_of(t))

    def _release_key(self, t: Table, doc_id: str, current: Doc) -> None:
        """A deleted document's keyed value: free with its key when its id is the derived one; else
        (written before the rule was keyed) its alias goes, and its guard while one may be left."""
        u = t.keyed
        value = u.value_of(current) if u is not None else None
        if u is None or value is None:
            return
        scope = self.scope_of(t)
        derived = _keyed_id(scope, t, u, value)
        if derived == doc_id:
            return
        self.tx.alias_drops[f"{scope}#{derived}"] = doc_id
        if legacy_guards(self._store):
            entry = self.tx.guards.setdefault(
                self._guard_pk(t, u, value), {"seen": UNREAD, "holder": doc_id, "ref": doc_id}
            )
            entry["ref"], entry["dirty"] = None, True

    def _write(self, t: Table, current: Doc, body: Mapping[str, Any]) -> Doc:
        from ontology.data.documents import validate_document  # models build on a write's first use

        if t.name == "entities":  # counted properties move only through their counters
            from ontology.data.counters import keep_counts

            body = keep_counts(current, dict(body))
        clean = validate_document(t.name, body)
        full = {**clean, "_id": current["_id"], "_creationTime": current["_creationTime"]}
        if t.keyed is not None:
            for path in t.keyed.fields:
                if get_path(current, path) != get_path(full, path):
                    raise ValidationError(
                        f"'{path}' cannot change: {', '.join(t.keyed.fields)} identify a {t.name} "
                        "document (delete it and insert another)",
                        field=path,
                    )
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
        for vidx in t.vector_indexes:
            vector = full.get(vidx.vector_field)
            if vector is not None:
                from ontology.data.vectors import check_vector

                check_vector(vector, vidx.dimensions, field=vidx.vector_field)
        try:
            text = json.dumps(full, separators=(",", ":"))
        except TypeError:  # bytes read from an imported document (ontology.data.typed)
            text = json.dumps(typed.wrap(full), separators=(",", ":"))
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_DOC_BYTES:
            raise PayloadTooLargeError(f"document is {size} bytes; the limit is {MAX_DOC_BYTES}")

    def _claim_uniques(self, t: Table, doc_id: str, old: Doc | None, new: Doc | None) -> None:
        """Move the document's unique values from ``old`` to ``new``, guard by guard (a keyed rule's
        value is its key: :meth:`_claim_key`, :meth:`_release_key`)."""
        for u in t.uniques:
            if u.keyed:
                continue
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
