"""Convex's snapshot ZIP and single-table files, read and written.

Reading (as Convex's importer matches entries, anywhere in the archive): ``<P><table>/documents.jsonl``,
``<P><table>/generated_schema.jsonl``, ``<P>_storage/<id><ext>``, where ``<P>`` is a chain of
``_components/<name>/`` (the root app when empty); ``_tables/documents.jsonl`` gives each table's
number. ``README.md`` and other entries are ignored. Single-table files (``one import --table T``):
JSON lines (``.jsonl``), one JSON array (``.json``), or CSV with a header row (``.csv``).

Writing (:class:`SnapshotWriter`): the entries in Convex's order: ``README.md``,
``_tables/documents.jsonl``, each table's ``documents.jsonl`` and ``generated_schema.jsonl``
(``"uniform"``), then, with file storage, ``_storage/documents.jsonl`` and one entry per file.
Every entry is Deflate-compressed with unix mode 0644, streamed as ZIP64 as Convex's writer streams
it; no directory entries.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ontology.snapshot.values import SnapshotValueError, decode_line, decode_value, encode_line

__all__ = [
    "STORAGE_TABLE",
    "TABLES_TABLE",
    "Snapshot",
    "SnapshotFormatError",
    "SnapshotWriter",
    "StoredFile",
    "TableEntry",
    "extension_for",
    "open_snapshot",
    "read_table_file",
]

TABLES_TABLE, STORAGE_TABLE = "_tables", "_storage"
_DOCUMENTS = re.compile(r"^(.*/)?([^/]+)/documents\.jsonl$")
_SCHEMA = re.compile(r"^(.*/)?([^/]+)/generated_schema\.jsonl$")
_STORAGE_FILE = re.compile(r"^(.*/)?_storage/([^/.]+)(?:\.[^/]+)?$")
_COMPONENT = re.compile(r"_components/([^/]+)/")
#: The content types whose files' entries get an extension (mime2ext's, for the platform's types).
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "qt",
    "audio/mpeg": "mpga",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/webm": "weba",
    "audio/ogg": "oga",
    "application/pdf": "pdf",
    "application/json": "json",
    "application/zip": "zip",
    "application/octet-stream": "bin",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/csv": "csv",
}
README = """# A snapshot of an organization of the ONE platform

Written by `one export` in the format of Convex's snapshot export: each table's documents are
lines of JSON in <table_name>/documents.jsonl, its table number in _tables/documents.jsonl, and
(with --include-file-storage) the files in _storage/. `one import` and `npx convex import` read it.
"""


class SnapshotFormatError(ValueError):
    """The file is not a snapshot or table file this reader understands (a 4xx, never a crash)."""


def extension_for(content_type: str | None) -> str:
    """The ``.ext`` of a stored file's entry (empty when the type is unknown)."""
    ext = _EXTENSIONS.get((content_type or "").split(";")[0].strip().lower())
    return f".{ext}" if ext else ""


@dataclass
class StoredFile:
    """A file of ``_storage``: its metadata line (when the ZIP has one) and its entry."""

    id: str
    entry: str | None = None
    creation_time: float | None = None
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None


@dataclass
class TableEntry:
    name: str
    component: str  # "" for the root app
    documents: str | None = None  # the entry's name
    schema: str | None = None
    number: int | None = None


@dataclass
class Snapshot:
    """An opened snapshot ZIP: its root tables (name → entry), their numbers, its stored files, and
    what it holds that the platform does not import (components)."""

    archive: zipfile.ZipFile
    tables: dict[str, TableEntry] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    components: list[str] = field(default_factory=list)

    def documents(self, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, document) of a table, in the file's order."""
        entry = self.tables[name].documents
        if entry is None:
            return
        with self.archive.open(entry) as raw:
            for n, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
                if not line.strip():
                    continue
                yield n, _document(line, f"{entry}:{n}")

    def uniform(self, name: str) -> bool:
        """Whether a table's ``generated_schema.jsonl`` says ``"uniform"``: a bare integer of its lines
        is an int64 (``v.int64()``), not a number (without it, Convex infers a number)."""
        entry = self.tables[name].schema if name in self.tables else None
        if entry is None:
            return False
        with self.archive.open(entry) as raw:
            return raw.readline(64).strip() == b'"uniform"'

    def read_file(self, stored: StoredFile) -> bytes:
        assert stored.entry is not None
        return self.archive.read(stored.entry)

    def table_numbers(self) -> dict[int, str]:
        """Table number → name for the root component (``_tables``, else each table's first ``_id``)."""
        from ontology.snapshot.ids import STORAGE_TABLE_NUMBER, decode_id

        numbers = {t.number: t.name for t in self.tables.values() if t.number is not None}
        for t in self.tables.values():
            if t.number is None and t.documents is not None:
                for _, doc in self.documents(t.name):
                    decoded = decode_id(doc.get("_id"))
                    if decoded is not None:
                        t.number = decoded.table_number
                        numbers.setdefault(decoded.table_number, t.name)
                    break
        numbers.setdefault(STORAGE_TABLE_NUMBER, STORAGE_TABLE)
        return numbers


def _document(line: str, where: str) -> dict[str, Any]:
    """A line as Convex's export writes it (``generated_schema`` ``"uniform"``). A table of an older
    export (no marker, or an inferred shape) is read the same way: the shape only told an int64 from
    a float64, which the platform's numbers do not keep apart below 2**53, and which values were
    bytes (those stay the text they were written as)."""
    try:
        doc = decode_line(line)
    except (SnapshotValueError, ValueError) as exc:
        raise SnapshotFormatError(f"{where}: {exc}") from None
    if not isinstance(doc, dict):
        raise SnapshotFormatError(f"{where}: a line must hold one JSON object")
    return doc


def _component_of(prefix: str | None) -> str | None:
    """``""`` for the root app, the component path for ``_components/a/_components/b/``, None for a
    prefix that is no component chain (its other leading folders are ignored, as Convex does)."""
    if not prefix:
        return ""
    names = []
    rest = prefix
    while rest:
        m = _COMPONENT.match(rest)
        if m is None:
            # other leading folders: ignored, what follows them is read
            slash = rest.find("/")
            rest = rest[slash + 1 :]
            continue
        names.append(m.group(1))
        rest = rest[m.end() :]
    return "/".join(names)


def open_snapshot(path: Path) -> Snapshot:
    """Open a snapshot ZIP and index its entries (nothing is read but ``_tables`` and ``_storage``'s
    metadata)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SnapshotFormatError(f"{path} is not a ZIP file ({exc})") from None
    snap = Snapshot(archive)
    components: set[str] = set()
    metadata: str | None = None
    for info in archive.infolist():
        name = info.filename
        if info.is_dir():
            continue
        if m := _DOCUMENTS.match(name):
            component, table = _component_of(m.group(1)), m.group(2)
            if component:
                components.add(component)
            elif table == STORAGE_TABLE and component == "":
                metadata = name
            elif component == "":
                snap.tables.setdefault(table, TableEntry(table, "")).documents = name
        elif m := _SCHEMA.match(name):
            component, table = _component_of(m.group(1)), m.group(2)
            if component == "" and not table.startswith("_"):
                snap.tables.setdefault(table, TableEntry(table, "")).schema = name
        elif (m := _STORAGE_FILE.match(name)) and _component_of(m.group(1)) == "":
            snap.files.setdefault(m.group(2), StoredFile(m.group(2))).entry = name
    snap.components = sorted(components)
    tables_entry = snap.tables.pop(TABLES_TABLE, None)
    for name in [n for n in snap.tables if n.startswith("_")]:
        del snap.tables[name]  # other system tables are never imported
    if tables_entry is not None and tables_entry.documents is not None:
        _read_tables(snap, tables_entry.documents)
    if metadata is not None:
        _read_storage_metadata(snap, metadata)
    return snap


def _read_tables(snap: Snapshot, entry: str) -> None:
    for n, line in enumerate(snap.archive.read(entry).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = _document(line, f"{entry}:{n}")
        name, number = row.get("name"), row.get("id")
        if not isinstance(name, str) or isinstance(number, bool) or not isinstance(number, int | float):
            raise SnapshotFormatError(f'{entry}:{n}: a line is {{"name": <table>, "id": <number>}}')
        if name in snap.tables:
            snap.tables[name].number = int(number)


def _read_storage_metadata(snap: Snapshot, entry: str) -> None:
    for n, line in enumerate(snap.archive.read(entry).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = _document(line, f"{entry}:{n}")
        file_id = row.get("_id")
        if not isinstance(file_id, str):
            raise SnapshotFormatError(f"{entry}:{n}: a stored file's line has no _id")
        stored = snap.files.setdefault(file_id, StoredFile(file_id))
        ct = row.get("_creationTime")
        stored.creation_time = float(ct) if isinstance(ct, int | float) and not isinstance(ct, bool) else None
        stored.sha256 = row.get("sha256") if isinstance(row.get("sha256"), str) else None
        size = row.get("size")
        stored.size = int(size) if isinstance(size, int | float) and not isinstance(size, bool) else None
        content_type = row.get("contentType")
        stored.content_type = content_type if isinstance(content_type, str) else None


# ------------------------------------------------------------------------------ single-table files


def _csv_cell(text: str) -> Any:
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text[:1] in "-0123456789":
        try:
            number = json.loads(text)
        except ValueError:
            return text
        if isinstance(number, int | float) and not isinstance(number, bool):
            return float(number)
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def read_table_file(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, document) of a single-table file: ``jsonl`` (one object a line),
    ``json`` (one array of objects), ``csv`` (a header row, then a document a row). The format is
    ``fmt`` or the file's extension. JSON values are read as Convex's import reads them: an integer
    as an int64, any other number a float64, ``$bytes``/``$integer``/``$float`` objects typed."""
    kind = (fmt or path.suffix.lstrip(".")).lower()
    if kind in ("jsonl", "jsonlines", "ndjson"):
        with path.open(encoding="utf-8") as lines:
            for n, line in enumerate(lines, start=1):
                if line.strip():
                    yield n, _document(line, f"{path.name}:{n}")
        return
    if kind in ("json", "jsonarray"):
        try:
            value = decode_value(path.read_bytes())
        except SnapshotValueError as exc:
            raise SnapshotFormatError(f"{path.name}: {exc}") from None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise SnapshotFormatError(f"{path.name}: a .json file holds one array of objects")
        yield from enumerate(value, start=1)
        return
    if kind == "csv":
        with path.open(encoding="utf-8", newline="") as rows:
            reader = csv.reader(rows)
            header = next(reader, None)
            if not header:
                return
            for n, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise SnapshotFormatError(
                        f"{path.name}:{n}: {len(row)} cells; the header has {len(header)}"
                    )
                doc = {k: _csv_cell(v) for k, v in zip(header, row, strict=True)}
                yield n, {k: v for k, v in doc.items() if v is not None}
        return
    raise SnapshotFormatError(
        f"{path.name}: unknown format {kind!r} (a .zip, or with --table: .jsonl, .json, .csv)"
    )


# ------------------------------------------------------------------------------------------ writing


class SnapshotWriter:
    """A snapshot ZIP written entry by entry, in Convex's order, in the container Convex's export
    writes (:mod:`ontology.snapshot.zipstream`)."""

    def __init__(self, out: IO[bytes] | Path) -> None:
        from ontology.snapshot.zipstream import StreamingZipWriter

        self._owned = open(out, "wb") if isinstance(out, Path) else None  # noqa: SIM115 - closed by close()
        self.zip = StreamingZipWriter(self._owned or out)  # type: ignore[arg-type]
        self.write_entry("README.md", README.encode("utf-8"))

    def write_entry(self, name: str, data: bytes) -> None:
        self.zip.write(name, data)

    def write_tables(self, numbers: list[tuple[str, int]]) -> None:
        lines = b"".join(encode_line({"name": n, "id": i}, sort_keys=False) for n, i in numbers)
        self.write_entry(f"{TABLES_TABLE}/documents.jsonl", lines)

    def write_table(self, name: str, lines: Iterable[bytes]) -> None:
        self.zip.write_chunks(f"{name}/documents.jsonl", lines)
        self.write_entry(f"{name}/generated_schema.jsonl", b'"uniform"\n')

    def write_storage(self, metadata: list[dict[str, Any]], files: Iterator[tuple[str, bytes]]) -> None:
        lines = b"".join(encode_line(m, sort_keys=False) for m in metadata)
        self.write_entry(f"{STORAGE_TABLE}/documents.jsonl", lines)
        for name, data in files:
            self.write_entry(f"{STORAGE_TABLE}/{name}", data)  # one file held at a time

    def close(self) -> None:
        self.zip.close()
        if self._owned is not None:
            self._owned.close()
