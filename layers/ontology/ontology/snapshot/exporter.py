"""``one export``: an organization as a Convex snapshot ZIP.

The organization's tables get the numbers a fresh Convex deployment gives a schema's tables (10001,
10002, … in alphabetical order); every document's platform id becomes a Convex id of its table
(16 bytes: 14 of SHA-256 of the platform id, then the day number of its creation, as Convex makes
them), and every reference with it: the schema's id fields, and every string in ``properties`` or
``metadata`` that is an id of one of these tables or a storage id (``_storage``, table 540). Numbers
are float64 (the platform's numbers are JavaScript's), but an integer beyond 2**53, which only an
int64 holds. A counted property (a token's holders, a clone's interactions) is written as its readers
see it, its counter included. The mapping platform id → Convex id is written beside the ZIP
(``<zip>.export-ids.json``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ontology.snapshot.archive import STORAGE_TABLE, SnapshotWriter, extension_for
from ontology.snapshot.ids import STORAGE_TABLE_NUMBER, make_id
from ontology.snapshot.org import ORG_TABLES, SnapshotTarget, org_items
from ontology.snapshot.values import INT64_MAX, INT64_MIN, SnapshotValueError, encode_document

__all__ = [
    "ExportReport",
    "convex_id",
    "convex_value",
    "run_export",
    "stored_document",
    "table_numbers",
    "write_export",
]

_SAFE = 2**53
_STORAGE_PREFIX = "sto_"
#: Entities whose counters are read together.
_FILL_PAGE = 100


@dataclass
class ExportReport:
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    #: {"table", "id", "reason"} of a document that cannot be written (a value beyond an int64)
    refused: list[dict[str, str]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


Progress = Callable[[str, int, int], None]


def table_numbers() -> dict[str, int]:
    """The organization's tables and their numbers: 10001, … in alphabetical order."""
    return {name: 10001 + i for i, name in enumerate(sorted(ORG_TABLES))}


def convex_id(platform_id: str, table_number: int, creation_ms: float | None = None) -> str:
    """The Convex id a platform id is exported as (the same on every export)."""
    day = int(creation_ms // 86_400_000) if creation_ms is not None and creation_ms >= 0 else 0
    internal = hashlib.sha256(f"one-export#{platform_id}".encode()).digest()[:14] + min(day, 65535).to_bytes(
        2, "big"
    )
    return make_id(table_number, internal)


def convex_value(value: Any) -> Any:
    """A platform value as Convex's: an integer a float64 holds is a float64 (a JavaScript number), a
    larger one an int64; an int64 the import kept as one (``{"$integer": …}``, read as an
    :class:`~ontology.data.typed.Int64`) an int64; bytes and NaN/±Infinity as they are."""
    from ontology.data.typed import Int64

    if isinstance(value, bool) or value is None or isinstance(value, str | float | bytes):
        return value
    if isinstance(value, int):
        if -_SAFE < value < _SAFE and not isinstance(value, Int64):
            return float(value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise SnapshotValueError(f"{value} does not fit in an int64")
        return int(value)
    if isinstance(value, list):
        return [convex_value(v) for v in value]
    if isinstance(value, dict):
        return {k: convex_value(v) for k, v in value.items()}
    return value


def stored_document(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item's document with its typed values as the import kept them (an int64 an
    :class:`~ontology.data.typed.Int64`, bytes, NaN/±Infinity)."""
    from ontology.data import layout, typed

    item = dict(layout.current(item))
    doc: dict[str, Any] = typed.decode(item["doc"], int64=True)
    doc["_id"] = str(item["pk"]).rsplit("#", 1)[1]
    doc["_creationTime"] = item["ct"]
    return doc


def _spooled(doc: dict[str, Any]) -> bytes:
    """A document as a spool's line: its typed values in Convex's JSON encoding (read back by
    :func:`ontology.data.typed.decode` with ``int64``)."""
    from ontology.data.typed import wrap

    text = json.dumps(wrap(doc), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8", "surrogatepass")


class _Spool:
    """A table's lines on disk: written in any order, read back in ``_id`` order. What stays in
    memory is an (id, offset, length) a line."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.index: list[tuple[str, int, int]] = []
        self.size = 0

    def add(self, key: str, line: bytes) -> None:
        self.index.append((key, self.size, len(line)))
        self.file.write(line)
        self.size += len(line)

    def sorted_lines(self) -> Iterator[bytes]:
        self.file.flush()
        for _, offset, length in sorted(self.index):
            self.file.seek(offset)
            yield self.file.read(length)

    def lines(self) -> Iterator[bytes]:
        self.file.flush()
        self.file.seek(0)
        yield from self.file

    def close(self) -> None:
        self.file.close()


class _Exporter:
    def __init__(self, target: SnapshotTarget, include_files: bool) -> None:
        from ontology.data.keys import table_of_id

        self.target = target
        self.include_files = include_files
        self.numbers = table_numbers()
        self.table_of_id = table_of_id
        self.ids: dict[str, str] = {}
        self.report = ExportReport()

    def _map(self, value: str, created: float | None = None) -> str:
        known = self.ids.get(value)
        if known is not None:
            return known
        if value.startswith(_STORAGE_PREFIX):
            from ontology.data.storage import _STORAGE_ID

            if _STORAGE_ID.match(value):
                self.ids[value] = convex_id(value, STORAGE_TABLE_NUMBER, created)
                return self.ids[value]
            return value
        name = self.table_of_id(value)
        if name not in self.numbers:
            return value
        self.ids[value] = convex_id(value, self.numbers[name], created)
        return self.ids[value]

    def _rewrite(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._map(value)
        if isinstance(value, list):
            return [self._rewrite(v) for v in value]
        if isinstance(value, dict):
            return {k: self._rewrite(v) for k, v in value.items()}
        return value

    def collect(self, progress: Progress) -> dict[str, _Spool]:
        """Every document read once, from the organization's index partitions, to a spool of its
        table (as stored, counted properties filled in), every id mapped on the way (a reference
        may name a later document, so lines are written once every id is known)."""
        from ontology.data.counters import fill

        raw = {name: _Spool() for name in self.numbers}
        page: list[dict[str, Any]] = []

        def flush() -> None:
            # counted properties as their readers see them (stored part and counter)
            fill(page, org=self.target.org, store=self.target.store)
            for doc in page:
                raw["entities"].add("", _spooled(doc))
            page.clear()

        listed = org_items(self.target.store, self.target.org, tuple(self.numbers))
        for seen, (name, item) in enumerate(listed, start=1):
            doc = stored_document(item)
            self._map(str(doc["_id"]), float(doc["_creationTime"]))
            if name == "entities":
                page.append(doc)
                if len(page) >= _FILL_PAGE:
                    flush()
            else:
                raw[name].add("", _spooled(doc))
            progress("reading", seen, 0)
        flush()
        return raw

    def lines(self, name: str, raw: _Spool) -> _Spool:
        """The table's lines as Convex writes them, in a spool read back in ``_id`` order."""
        from ontology.data.typed import decode

        out = _Spool()
        for text in raw.lines():
            doc = decode(text.decode("utf-8", "surrogatepass"), int64=True)
            body = {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")}
            new_id = self.ids[str(doc["_id"])]
            try:
                exported = {
                    **convex_value(self._rewrite(body)),
                    "_id": new_id,
                    "_creationTime": float(doc["_creationTime"]),
                }
                out.add(new_id, (encode_document(exported) + "\n").encode("utf-8"))
            except SnapshotValueError as exc:
                self.report.refused.append({"table": name, "id": str(doc["_id"]), "reason": str(exc)})
        raw.close()
        self.report.counts[name] = len(out.index)
        return out

    def stored_files(self) -> list[dict[str, Any]]:
        """The organization's files: ``{key, id, size, created}``, by a listing of its prefix of the
        bucket (the operator's ``s3:ListBucket``; no function lists the bucket)."""
        found = []
        paginator = self.target.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.target.bucket, Prefix=f"{self.target.org}/"):
            for obj in page.get("Contents", []):
                storage_id = obj["Key"].split("/", 1)[1]
                if not storage_id.startswith(_STORAGE_PREFIX):
                    continue
                found.append(
                    {
                        "key": obj["Key"],
                        "id": storage_id,
                        "size": int(obj["Size"]),
                        "created": obj["LastModified"].timestamp() * 1000,
                    }
                )
        return found

    def file_metadata(self, listed: list[dict[str, Any]], progress: Progress) -> list[dict[str, Any]]:
        """Each file's metadata line (its SHA-256 read through the file as it streams by)."""
        out = []
        for n, f in enumerate(listed, start=1):
            resp = self.target.s3.get_object(Bucket=self.target.bucket, Key=f["key"])
            digest, size = hashlib.sha256(), 0
            for chunk in resp["Body"].iter_chunks(1 << 20):
                digest.update(chunk)
                size += len(chunk)
            content_type = resp.get("ContentType") or None
            f["contentType"] = content_type
            out.append(
                {
                    "_id": self._map(f["id"], f["created"]),
                    "_creationTime": float(f["created"]),
                    "sha256": base64.b64encode(digest.digest()).decode(),
                    "size": size,
                    "contentType": content_type,
                    "internalId": str(
                        uuid.UUID(bytes=hashlib.sha256(f["id"].encode()).digest()[:16], version=4)
                    ),
                }
            )
            progress(STORAGE_TABLE, n, len(listed))
        return out

    def files(self, listed: list[dict[str, Any]]) -> Iterator[tuple[str, bytes]]:
        for f in listed:
            data = self.target.s3.get_object(Bucket=self.target.bucket, Key=f["key"])["Body"].read()
            yield f"{self.ids[f['id']]}{extension_for(f['contentType'])}", data


def write_export(
    target: SnapshotTarget, out: IO[bytes], *, include_files: bool, progress: Progress
) -> ExportReport:
    """Write the organization's snapshot to ``out`` (see the module's docstring).

    Memory: the id mapping (platform id → Convex id) and, per document, its new id and where its
    line is in a temporary file; a page of entities (for their counters); one file at a time."""
    started = time.monotonic()
    exporter = _Exporter(target, include_files)
    raw = exporter.collect(progress)
    listed = exporter.stored_files() if include_files else []
    for f in listed:
        exporter._map(f["id"], f["created"])
    tables = [(name, exporter.lines(name, spool)) for name, spool in raw.items()]
    try:
        writer = SnapshotWriter(out)
        writer.write_tables(sorted(((n, i) for n, i in exporter.numbers.items()), key=lambda p: p[1]))
        tables.sort(key=lambda t: (t[1].size, t[0]))  # smallest first, as Convex
        for n, (name, spool) in enumerate(tables, start=1):
            writer.write_table(name, spool.sorted_lines())
            progress("writing", n, len(tables))
        if include_files:
            metadata = exporter.file_metadata(listed, progress)
            writer.write_storage(metadata, exporter.files(listed))
            exporter.report.files = len(metadata)
        writer.close()
    finally:
        for _, spool in tables:
            spool.close()
    exporter.report.ids = dict(exporter.ids)
    exporter.report.elapsed = time.monotonic() - started
    return exporter.report


def run_export(
    target: SnapshotTarget, path: Path, *, include_files: bool, progress: Progress
) -> ExportReport:
    """Write the organization's snapshot to ``path`` (through ``path.partial``, renamed once whole)."""
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as out:
        report = write_export(target, out, include_files=include_files, progress=progress)
    tmp.replace(path)
    return report
