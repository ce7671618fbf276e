"""``one import``: a Convex snapshot (or one table's file) into an organization, through the write path.

1. **Plan.** The file is read once to list every document's ``_id`` and ``_creationTime``. Each gets
   its platform id, derived from the import's id (the file's SHA-256 and the organization) and its
   own: ``<prefix>_`` + its creation time (10 characters) + 16 characters of SHA-256 — so a second
   run of the same import names every document as the first did. A connection's or a tag's id is
   derived from its unique value, as every insert derives it. Each stored file gets a storage id the
   same way.
2. **Files** go to the organization's prefix of the bucket with their content type (size and SHA-256
   checked against the metadata); one already there with its size is left.
3. **Documents**, table by table (entities first), a batch to a transaction
   (:func:`ontology.data.transaction.run_mutation`), so their indexes, unique guards, search postings
   and public pointers are written as any mutation writes them (vectors follow from the table's
   stream). Every reference is rewritten: the schema's id fields and, in ``properties``/``metadata``,
   every string that is a valid Convex id of a table of the snapshot (or of ``_storage``). A document
   already there (a run before this one was stopped) is skipped; one the schema or a unique rule
   refuses is reported with its id and reason, and its batch is written without it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ontology.snapshot.archive import (
    STORAGE_TABLE,
    Snapshot,
    SnapshotFormatError,
    open_snapshot,
    read_table_file,
)
from ontology.snapshot.ids import STORAGE_TABLE_NUMBER, decode_id
from ontology.snapshot.org import ORG_TABLES, SnapshotTarget, org_documents

__all__ = ["ImportOptions", "ImportReport", "SnapshotImportError", "run_import"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SAFE = 2**53
_FIELD_NAME = re.compile(r"^[\x20-\x23\x25-\x7e][\x20-\x7e]{0,1023}$")
#: Entities first: every other table refers to them.
_ORDER = ("entities", "knowledge", "events", "connections", "tags")
MODES = ("requireEmpty", "append", "replace")


class SnapshotImportError(Exception):
    """The import cannot start: ``code`` is the stable code (VALIDATION_ERROR, CONFLICT)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ImportOptions:
    mode: str = "requireEmpty"
    table: str | None = None
    fmt: str | None = None
    batch: int = 25


@dataclass
class ImportReport:
    import_id: str = ""
    #: table → {"imported", "present" (there already: a resumed run), "refused"}
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: {"table", "id", "reason"} of every document or file not imported
    refused: list[dict[str, str]] = field(default_factory=list)
    #: tables (and components) of the file left out, and why
    skipped: dict[str, str] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=lambda: {"imported": 0, "present": 0, "refused": 0})
    replaced: int = 0
    ids: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


Progress = Callable[[str, int, int], None]


def _b32(value: int, length: int) -> str:
    return "".join(_CROCKFORD[(value >> (5 * (length - 1 - i))) & 31] for i in range(length))


def derived_id(prefix: str, import_id: str, old_id: str, creation_ms: float | None) -> str:
    """``<prefix>_`` + 10 characters of the creation time + 16 of SHA-256(import id, old id): a valid,
    time-ordered id of the table, the same on every run of the same import."""
    ms = int(creation_ms) if creation_ms is not None and 0 <= creation_ms < 2**48 else 0
    digest = int.from_bytes(hashlib.sha256(f"{import_id}#{old_id}".encode()).digest()[:10], "big")
    return f"{prefix}_{_b32(ms, 10)}{_b32(digest, 16)}"


# ------------------------------------------------------------------------------------ the source


@dataclass
class _Source:
    """What is imported: table → an iterator of (line, document), table numbers, stored files."""

    tables: list[str]
    read: Callable[[str], Iterator[tuple[int, dict[str, Any]]]]
    numbers: dict[int, str]
    snapshot: Snapshot | None
    skipped: dict[str, str]
    #: whether a table's bare integers are int64s (a ZIP's ``"uniform"`` table), not numbers
    int64: Callable[[str], bool] = lambda name: False


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_source(path: Path, options: ImportOptions) -> _Source:
    is_zip = (options.fmt or path.suffix.lstrip(".")).lower() == "zip"
    if is_zip:
        if options.table:
            raise SnapshotImportError(
                "VALIDATION_ERROR", "--table is for a single table's file, not a ZIP snapshot"
            )
        snap = open_snapshot(path)
        skipped = {
            f"_components/{c}": "components are not imported (the platform has none)" for c in snap.components
        }
        tables = []
        for name in snap.tables:
            if name in ORG_TABLES:
                tables.append(name)
            elif name in _platform_tables():
                skipped[name] = "a platform table (accounts, sessions…): not part of an organization"
            else:
                skipped[name] = "not a table of the platform's schema"
        tables.sort(key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))
        uniform = {name: snap.uniform(name) for name in tables}
        return _Source(tables, snap.documents, snap.table_numbers(), snap, skipped, uniform.__getitem__)
    if not options.table:
        raise SnapshotImportError(
            "VALIDATION_ERROR", "a .jsonl, .json or .csv file holds one table: give --table"
        )
    if options.table not in ORG_TABLES:
        known = ", ".join(ORG_TABLES)
        raise SnapshotImportError(
            "VALIDATION_ERROR", f"--table {options.table}: an organization's tables are {known}"
        )
    table_name = options.table

    def read(name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        return read_table_file(path, options.fmt)

    numbers: dict[int, str] = {}
    for _, doc in read(table_name):
        decoded = decode_id(doc.get("_id"))
        if decoded is not None:
            numbers[decoded.table_number] = table_name
        break
    return _Source([table_name], read, numbers, None, {})


def _platform_tables() -> set[str]:
    from ontology.data.schema import TABLES

    return {n for n, t in TABLES.items() if t.scope == "platform"}


# ------------------------------------------------------------------------------------ the values


class _RefusalError(Exception):
    """A document the platform cannot hold as it is (a value, a reference)."""


#: The fields that hold any value (Convex's ``v.any()``): where a value JSON has no type for is kept
#: in Convex's JSON encoding (ontology.data.typed).
TYPED_FIELDS = ("properties", "metadata")


def platform_value(value: Any, path: str, *, typed: bool = False, int64: bool = True) -> Any:
    """A Convex value as the platform's documents hold it: a float64 that is a whole number (below
    2**53, not -0) is an integer, as the platform's numbers are; an int64 beyond 2**53 an integer.

    ``typed`` (inside ``properties``/``metadata``): bytes, NaN/±Infinity and an int64 below 2**53
    (``int64``: the file tells an int64 from a number) are kept in Convex's JSON encoding
    (``{"$bytes": …}``, ``{"$float": …}``, ``{"$integer": …}``), so that an export writes them back
    as they were. Elsewhere (the schema's typed fields) bytes and NaN/±Infinity are refused, and an
    int64 is an integer."""
    from ontology.data.typed import Int64, wrap

    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if typed and int64 and abs(value) < _SAFE:
            return wrap(Int64(value))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            if typed:
                return wrap(value)
            raise _RefusalError(
                f"{path}: {value} is not a finite number (only properties and metadata hold one)"
            )
        minus_zero = value == 0 and math.copysign(1.0, value) < 0
        if value.is_integer() and abs(value) < _SAFE and not minus_zero:
            return int(value)
        return value  # a fraction, or -0.0
    if isinstance(value, bytes):
        if typed:
            return wrap(value)
        raise _RefusalError(f"{path}: bytes are held only in properties and metadata")
    if isinstance(value, list):
        return [platform_value(v, f"{path}[{i}]", typed=typed, int64=int64) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            if not isinstance(k, str) or not _FIELD_NAME.match(k):
                raise _RefusalError(
                    f"{where}: not a Convex field name (printable ASCII, not starting with $)"
                )
            inside = typed or (not path and k in TYPED_FIELDS)
            out[k] = platform_value(v, where, typed=inside, int64=int64)
        return out
    raise _RefusalError(f"{path}: a {type(value).__name__} is not a value")


# ------------------------------------------------------------------------------------ the import


class _Importer:
    def __init__(
        self, target: SnapshotTarget, source: _Source, import_id: str, options: ImportOptions
    ) -> None:
        from ontology.data.keys import ID_PREFIXES

        self.target = target
        self.source = source
        self.import_id = import_id
        self.options = options
        self.prefixes = ID_PREFIXES
        self.ids: dict[str, str] = {}  # old → new, documents and files
        #: table → documents a transaction takes, once a batch was too large for one
        self.sizes: dict[str, int] = {}
        #: table → its documents in the file (counted by the plan)
        self.totals: dict[str, int] = {}
        self.report = ImportReport(import_id=import_id)

    # ---- plan

    def plan(self) -> None:
        """Every document's new id (keyed tables' after the others, from their rewritten values)."""
        from ontology.data.schema import table

        for name in self.source.tables:
            if table(name).keyed is not None:
                continue
            for line, doc in self.source.read(name):
                old = self._old_id(doc, line)
                ct = doc.get("_creationTime")
                created = float(ct) if isinstance(ct, int | float) and not isinstance(ct, bool) else None
                self.ids[old] = derived_id(self.prefixes[name], self.import_id, old, created)
                self.totals[name] = self.totals.get(name, 0) + 1
        if self.source.snapshot is not None:
            for file_id, stored in self.source.snapshot.files.items():
                self.ids[file_id] = derived_id("sto", self.import_id, file_id, stored.creation_time)
        for name in self.source.tables:
            t = table(name)
            if t.keyed is None:
                continue
            for line, doc in self.source.read(name):
                old = self._old_id(doc, line)
                self.totals[name] = self.totals.get(name, 0) + 1
                try:
                    body = self._body(name, doc)
                except _RefusalError:
                    continue
                value = t.keyed.value_of(body)
                if value is not None:
                    self.ids[old] = _keyed_id(self.target.org, name, value)

    @staticmethod
    def _old_id(doc: dict[str, Any], line: int) -> str:
        old = doc.get("_id")
        return old if isinstance(old, str) and old else f"line:{line}"

    def _reference(self, value: str) -> str:
        """The new id of an old one (a reference: a valid Convex id of a table of the file), or the
        string unchanged."""
        decoded = decode_id(value)
        if decoded is None:
            return value
        new = self.ids.get(value)
        if new is not None:
            return new
        name = self.source.numbers.get(decoded.table_number)
        if decoded.table_number == STORAGE_TABLE_NUMBER or name == STORAGE_TABLE:
            return derived_id("sto", self.import_id, value, None)  # a file the snapshot does not hold
        if name in ORG_TABLES:
            # a document the file does not hold: the id it would have had (it points at nothing,
            # as it did in Convex)
            return derived_id(self.prefixes[name], self.import_id, value, None)
        return value

    def _rewrite(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._reference(value)
        if isinstance(value, list):
            return [self._rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: self._rewrite(v) for k, v in value.items()}
        return value

    def _body(self, table_name: str, doc: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")}
        int64 = self.source.int64(table_name)
        return platform_value(self._rewrite(body), "", int64=int64)  # type: ignore[no-any-return]

    # ---- the organization as it is

    def existing(self) -> tuple[dict[str, list[str]], set[str]]:
        """The organization's documents of the imported tables that this import did not write
        (table → ids), leaving out what a membership writes: the member's own entity and the event
        of their joining."""
        from ontology.data.db import DatabaseReader

        reader = DatabaseReader(None, store=self.target.store, platform=True)
        members = reader.query("memberships").with_index(
            "by_organization", lambda q: q.eq("organizationId", self.target.org)
        )
        own = {str(m["entityId"]) for m in members.collect() if m.get("entityId")}
        mine = set(self.ids.values())
        others: dict[str, list[str]] = {}
        for name, doc in org_documents(self.target.store, self.target.org, tuple(self.source.tables)):
            if doc["_id"] in mine or doc["_id"] in own or _joined(name, doc, own):
                continue
            others.setdefault(name, []).append(str(doc["_id"]))
        return others, own

    def check_mode(self, progress: Progress) -> None:
        others, _ = self.existing()
        if not others:
            return
        if self.options.mode == "requireEmpty":
            held = ", ".join(f"{len(ids)} {name}" for name, ids in sorted(others.items()))
            raise SnapshotImportError(
                "CONFLICT",
                f"organization {self.target.org} already holds {held}: import into an empty one, or "
                "give --append or --replace",
            )
        if self.options.mode == "replace":
            self._delete(others, progress)

    def _delete(self, others: dict[str, list[str]], progress: Progress) -> None:
        todo = [(name, doc_id) for name, ids in others.items() for doc_id in ids]
        done = 0
        for start in range(0, len(todo), self.options.batch):
            part = todo[start : start + self.options.batch]
            self._delete_batch(part)
            done += len(part)
            progress("replace: deleting", done, len(todo))
        self.report.replaced = len(todo)

    def _delete_batch(self, part: list[tuple[str, str]]) -> None:
        """Delete ``part`` in one transaction, or in halves when it is more than one takes (a deleted
        entity puts its tombstones, its search postings go with it)."""
        from ontology.data.transaction import run_mutation
        from ontology.errors import OneError, TransactionTooLargeError

        def body(db: Any) -> None:
            for name, doc_id in part:
                if db.get(doc_id, name) is not None:
                    db.delete(doc_id, name)

        try:
            run_mutation(body, org=self.target.org, platform=True, store=self.target.store)
        except TransactionTooLargeError as exc:
            if len(part) == 1:
                raise SnapshotImportError(exc.code, f"{part[0][0]} {part[0][1]}: {exc.message}") from None
            half = len(part) // 2
            self._delete_batch(part[:half])
            self._delete_batch(part[half:])
        except OneError as exc:
            raise SnapshotImportError(exc.code, f"replace: {exc.message}") from None

    # ---- files

    def files(self, progress: Progress) -> None:
        snap = self.source.snapshot
        if snap is None or not snap.files:
            return
        total = len(snap.files)
        for n, (file_id, stored) in enumerate(sorted(snap.files.items()), start=1):
            outcome = self._file(file_id, stored)
            self.report.files[outcome] += 1
            if outcome != "refused":
                self.report.ids[file_id] = self.ids[file_id]
            progress("_storage", n, total)

    def _file(self, file_id: str, stored: Any) -> str:
        from ontology.data.storage import MAX_UPLOAD_BYTES

        def refuse(reason: str) -> str:
            self.report.refused.append({"table": STORAGE_TABLE, "id": file_id, "reason": reason})
            return "refused"

        assert self.source.snapshot is not None
        if stored.entry is None:
            return refuse("the ZIP holds its metadata but not the file")
        decoded = decode_id(file_id)
        if decoded is None or decoded.table_number != STORAGE_TABLE_NUMBER:
            return refuse("not a storage id")
        new_id = self.ids[file_id]
        key = f"{self.target.org}/{new_id}"
        data = self.source.snapshot.read_file(stored)
        if stored.size is not None and stored.size != len(data):
            return refuse(f"its metadata says {stored.size} bytes; the file holds {len(data)}")
        if stored.sha256 is not None:
            import base64

            if base64.b64encode(hashlib.sha256(data).digest()).decode() != stored.sha256:
                return refuse("its SHA-256 is not the one its metadata gives")
        if not data or len(data) > MAX_UPLOAD_BYTES:
            return refuse(f"a file holds 1 to {MAX_UPLOAD_BYTES} bytes")
        content_type = stored.content_type or "application/octet-stream"
        try:
            head = self.target.s3.head_object(Bucket=self.target.bucket, Key=key)
            if int(head["ContentLength"]) == len(data):
                return "present"
        except self.target.s3.exceptions.ClientError:
            pass
        self.target.s3.put_object(Bucket=self.target.bucket, Key=key, Body=data, ContentType=content_type)
        return "imported"

    # ---- documents

    def documents(self, progress: Progress) -> None:
        for name in self.source.tables:
            counts = self.report.counts.setdefault(name, {"imported": 0, "present": 0, "refused": 0})
            total = self.totals.get(name, 0)
            rows = self._rows(name)  # streamed from the file: a batch at a time in memory
            done = 0
            while part := list(itertools.islice(rows, self.sizes.get(name, self.options.batch))):
                self._write_batch(name, part, counts)
                done += len(part)
                progress(name, done, total)
            if not total:
                progress(name, 0, 0)

    def _rows(self, name: str) -> Iterator[tuple[str, str | None, dict[str, Any] | None, float | None, str]]:
        """(old id, new id, body, creation time, refusal) of each document of a table."""
        for line, doc in self.source.read(name):
            old = self._old_id(doc, line)
            ct = doc.get("_creationTime")
            created = float(ct) if isinstance(ct, int | float) and not isinstance(ct, bool) else None
            try:
                body = self._body(name, doc)
            except _RefusalError as exc:
                yield old, None, None, created, str(exc)
                continue
            yield old, self.ids.get(old), body, created, ""

    def _write_batch(self, name: str, rows: list[Any], counts: dict[str, int]) -> None:
        from ontology.data.transaction import run_mutation
        from ontology.errors import OneError, TransactionTooLargeError

        pending = []
        for old, new, body, created, refusal in rows:
            if refusal or new is None:
                self._refuse(name, old, refusal or "its unique value could not be derived", counts)
            else:
                pending.append((old, new, body, created))
        while pending:
            try:
                written = run_mutation(
                    lambda db: _insert_all(db, name, pending),
                    org=self.target.org,
                    platform=True,
                    store=self.target.store,
                )
            except _DocumentRefusedError as exc:
                old = pending[exc.index][0]
                self._refuse(name, old, exc.reason, counts)
                del pending[exc.index]
                continue
            except TransactionTooLargeError:
                if len(pending) == 1:
                    self._refuse(name, pending[0][0], "too large for one transaction", counts)
                    return
                half = len(pending) // 2
                self.sizes[name] = min(half, self.sizes.get(name, half))  # the table's later batches too
                self._write_batch(name, [(o, n, b, c, "") for o, n, b, c in pending[:half]], counts)
                self._write_batch(name, [(o, n, b, c, "") for o, n, b, c in pending[half:]], counts)
                return
            except OneError as exc:
                raise SnapshotImportError(exc.code, f"{name}: {exc.message}") from None
            counts["imported"] += written
            counts["present"] += len(pending) - written
            for old, new, _, _ in pending:
                self.report.ids[old] = new
            return

    def _refuse(self, name: str, old: str, reason: str, counts: dict[str, int]) -> None:
        counts["refused"] += 1
        self.report.refused.append({"table": name, "id": old, "reason": reason})


def _joined(table_name: str, doc: dict[str, Any], own: set[str]) -> bool:
    return table_name == "events" and doc.get("type") == "user_joined" and doc.get("actorId") in own


class _DocumentRefusedError(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def _insert_all(db: Any, name: str, pending: list[tuple[str, str, dict[str, Any], float | None]]) -> int:
    """Insert the batch's documents not there yet; a refused one stops the whole transaction (nothing
    of it is written) and is named, so that the batch is written again without it."""
    from ontology.data.schema import table
    from ontology.errors import OneError, TransactionTooLargeError

    keyed = table(name).keyed is not None
    present = {d["_id"] for d in db.get_many([new for _, new, _, _ in pending], name) if d is not None}
    written = 0
    for index, (_, new, body, created) in enumerate(pending):
        if new in present:
            continue
        try:
            if keyed:
                db.insert(name, body, creation_time=created)
            else:
                db.insert(name, body, doc_id=new, creation_time=created)
        except TransactionTooLargeError:
            raise
        except OneError as exc:
            raise _DocumentRefusedError(index, f"{exc.code}: {exc.message}") from None
        written += 1
    return written


def _keyed_id(org: str, table_name: str, value: tuple[Any, ...]) -> str:
    from ontology.data.keys import encode_value, keyed_id
    from ontology.data.schema import table

    t = table(table_name)
    assert t.keyed is not None
    return keyed_id(
        table_name, org, "".join(encode_value(v, f) for v, f in zip(value, t.keyed.fields, strict=True))
    )


def run_import(
    target: SnapshotTarget, path: Path, options: ImportOptions, progress: Progress
) -> ImportReport:
    """Import ``path`` into the target's organization (see the module's docstring)."""
    if options.mode not in MODES:
        raise SnapshotImportError("VALIDATION_ERROR", f"mode must be one of {', '.join(MODES)}")
    started = time.monotonic()
    try:
        source = _open_source(path, options)
        import_id = hashlib.sha256(
            f"{_file_digest(path)}#{target.org}#{options.table or ''}".encode()
        ).hexdigest()[:32]
        importer = _Importer(target, source, import_id, options)
        importer.report.skipped.update(source.skipped)
        importer.plan()
        importer.check_mode(progress)
        importer.files(progress)
        importer.documents(progress)
    except SnapshotFormatError as exc:
        raise SnapshotImportError("VALIDATION_ERROR", str(exc)) from None
    importer.report.elapsed = time.monotonic() - started
    return importer.report
