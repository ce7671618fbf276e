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
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.snapshot.archive import STORAGE_TABLE, SnapshotWriter, extension_for
from infra.snapshot.ids import STORAGE_TABLE_NUMBER, make_id
from infra.snapshot.target import ORG_TABLES, SnapshotTarget, org_documents
from infra.snapshot.values import INT64_MAX, INT64_MIN, SnapshotValueError, encode_document

__all__ = ["ExportReport", "convex_id", "convex_value", "run_export", "table_numbers"]

_SAFE = 2**53
_STORAGE_PREFIX = "sto_"


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
    larger one an int64."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        if -_SAFE < value < _SAFE:
            return float(value)
        if not INT64_MIN <= value <= INT64_MAX:
            raise SnapshotValueError(f"{value} does not fit in an int64")
        return value
    if isinstance(value, list):
        return [convex_value(v) for v in value]
    if isinstance(value, dict):
        return {k: convex_value(v) for k, v in value.items()}
    return value


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

    def collect(self, progress: Progress) -> dict[str, list[dict[str, Any]]]:
        docs: dict[str, list[dict[str, Any]]] = {name: [] for name in self.numbers}
        for seen, (name, doc) in enumerate(
            org_documents(self.target.store, self.target.org, tuple(self.numbers)), start=1
        ):
            docs[name].append(doc)
            progress("reading", seen, 0)
        from ontology.data.counters import fill

        # counted properties as their readers see them (stored part and counter), as a function returns
        fill(docs["entities"], org=self.target.org, store=self.target.store)
        for rows in docs.values():  # ids first: a reference may name a later document
            for doc in rows:
                self._map(str(doc["_id"]), float(doc["_creationTime"]))
        return docs

    def lines(self, name: str, rows: list[dict[str, Any]]) -> list[bytes]:
        out: list[tuple[str, bytes]] = []
        for doc in rows:
            body = {k: v for k, v in doc.items() if k not in ("_id", "_creationTime")}
            new_id = self.ids[str(doc["_id"])]
            exported = {
                **convex_value(self._rewrite(body)),
                "_id": new_id,
                "_creationTime": float(doc["_creationTime"]),
            }
            try:
                out.append((new_id, (encode_document(exported) + "\n").encode("utf-8")))
            except SnapshotValueError as exc:
                self.report.refused.append({"table": name, "id": str(doc["_id"]), "reason": str(exc)})
        out.sort(key=lambda pair: pair[0])
        self.report.counts[name] = len(out)
        return [line for _, line in out]

    def stored_files(self) -> list[dict[str, Any]]:
        """The organization's files: ``{key, id, size, contentType, created}``, by a listing of its
        prefix of the bucket (the operator's ``s3:ListBucket``; no function lists the bucket)."""
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

    def files(
        self, listed: list[dict[str, Any]], progress: Progress
    ) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
        for n, f in enumerate(listed, start=1):
            resp = self.target.s3.get_object(Bucket=self.target.bucket, Key=f["key"])
            data = resp["Body"].read()
            content_type = resp.get("ContentType") or None
            new_id = self._map(f["id"], f["created"])
            metadata = {
                "_id": new_id,
                "_creationTime": float(f["created"]),
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                "size": len(data),
                "contentType": content_type,
                "internalId": str(uuid.UUID(bytes=hashlib.sha256(f["id"].encode()).digest()[:16], version=4)),
            }
            progress(STORAGE_TABLE, n, len(listed))
            yield f"{new_id}{extension_for(content_type)}", data, metadata


def run_export(
    target: SnapshotTarget, path: Path, *, include_files: bool, progress: Progress
) -> ExportReport:
    """Write the organization's snapshot to ``path`` (see the module's docstring)."""
    started = time.monotonic()
    exporter = _Exporter(target, include_files)
    docs = exporter.collect(progress)
    listed = exporter.stored_files() if include_files else []
    for f in listed:
        exporter._map(f["id"], f["created"])
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as out:
        writer = SnapshotWriter(out)
        writer.write_tables(sorted(((n, i) for n, i in exporter.numbers.items()), key=lambda p: p[1]))
        tables = [(name, exporter.lines(name, rows)) for name, rows in docs.items()]
        tables.sort(key=lambda t: (sum(len(line) for line in t[1]), t[0]))  # smallest first, as Convex
        for n, (name, lines) in enumerate(tables, start=1):
            writer.write_table(name, lines)
            progress("writing", n, len(tables))
        if include_files:
            metadata: list[dict[str, Any]] = []
            entries: list[tuple[str, bytes]] = []
            for entry, data, meta in exporter.files(listed, progress):
                metadata.append(meta)
                entries.append((entry, data))
            writer.write_storage(metadata, iter(entries))
            exporter.report.files = len(entries)
        writer.close()
    tmp.replace(path)
    exporter.report.ids = dict(exporter.ids)
    exporter.report.elapsed = time.monotonic() - started
    return exporter.report
