"""The local stack's write-ahead journal: a write it acknowledged survives ``kill -9``.

moto keeps everything in memory. Every request that changes a table's item or a bucket's object marks
what it touched; when the request is done, and before its response leaves (the commit runs inside the
moto lock, in the same wrapper that serializes requests), the touched items' and objects' *current*
state is appended to ``journal.jsonl`` in the state folder in one ``write``: a full image per item
(or its deletion), so a transaction cancelled or rolled back leaves nothing, and replaying a record
twice changes nothing. The operating system has the bytes once ``write`` returns, so a killed process
loses nothing; a background thread ``fsync``s at most a second later, for a power cut.

At start the stack loads the last snapshot (:mod:`infra.local.state`), replays the journal over it
(a torn last line, from a process killed mid-write, is skipped with a warning), and compacts: a new
snapshot, an empty journal. While running, the journal is compacted again once it passes
:data:`COMPACT_BYTES`: the state is captured under the lock while the journal is rotated, written out
as the new snapshot, and only then is the old journal deleted (a crash in between replays both).

Records name tables and buckets by their logical id (physical names change each time the stack is
created), as snapshots do.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from infra.local import query_index
from infra.local.aws import MOTO_LOCK

log = logging.getLogger("one.local")

COMPACT_BYTES = 64 * 1024 * 1024
FSYNC_SECONDS = 1.0

_journal: Journal | None = None
_hooks_installed = False


class Journal:
    def __init__(self, state_dir: Path, tables: dict[str, str], buckets: dict[str, str]) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "journal.jsonl"
        self.rotated = state_dir / "journal.old.jsonl"
        self.table_ids = {physical: logical for logical, physical in tables.items()}
        self.bucket_ids = {physical: logical for logical, physical in buckets.items()}
        #: What the request in progress touched: (kind, physical name, key) in order, no repeats.
        self._touched: dict[tuple[str, str, str], Any] = {}
        self._fd = -1
        self._dirty = threading.Event()
        self.appended = 0

    # ---------------------------------------------------------------------------------- writing

    def open(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def touch(self, kind: str, name: str, key: Any) -> None:
        """Mark an item (``kind`` "ddb": key attributes) or object ("s3": key name) as changed."""
        if (kind == "ddb" and name in self.table_ids) or (kind == "s3" and name in self.bucket_ids):
            self._touched.setdefault((kind, name, json.dumps(key, sort_keys=True)), key)

    def commit(self) -> None:
        """Append the current state of everything touched since the last commit (under MOTO_LOCK)."""
        if not self._touched or self._fd < 0:
            self._touched.clear()
            return
        lines = [
            json.dumps(self._image(kind, name, key), separators=(",", ":"))
            for (kind, name, _), key in self._touched.items()
        ]
        self._touched.clear()
        data = ("\n".join(lines) + "\n").encode()
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        self.appended += len(data)
        self._dirty.set()

    def _image(self, kind: str, name: str, key: Any) -> dict[str, Any]:
        if kind == "ddb":
            from infra.local.state import _dynamodb_table

            _, table = _dynamodb_table(name)
            item = table.get_item(*_key_values(table, key)) if table is not None else None
            return {
                "t": "ddb",
                "table": self.table_ids[name],
                "key": key,
                "item": item.to_json()["Attributes"] if item is not None else None,
            }
        from infra.local.state import _s3_bucket

        bucket = _s3_bucket(name)
        obj = bucket.keys.get(key) if bucket is not None else None
        record: dict[str, Any] = {"t": "s3", "bucket": self.bucket_ids[name], "key": key, "object": None}
        if obj is not None:
            record["object"] = {
                "contentType": obj.metadata.get("Content-Type") or "application/octet-stream",
                "body": base64.b64encode(obj.value).decode(),
            }
        return record

    def sync_forever(self, stop: threading.Event) -> None:
        """fsync what was appended, at most FSYNC_SECONDS later (group commit)."""
        while not stop.is_set():
            if self._dirty.wait(FSYNC_SECONDS):
                self._dirty.clear()
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
                stop.wait(FSYNC_SECONDS)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    # --------------------------------------------------------------------------------- compaction

    def compact(self, snapshot: Callable[[], Callable[[], None]]) -> None:
        """Write a new snapshot and start an empty journal. ``snapshot()`` runs under MOTO_LOCK and
        captures the state, returning the function that writes it out (run outside the lock)."""
        with MOTO_LOCK:
            write = snapshot()
            self.close()
            if self.path.exists():
                if self.rotated.exists():  # a compaction that never finished: keep both, in order
                    with self.rotated.open("ab") as older:
                        older.write(self.path.read_bytes())
                        older.flush()
                        os.fsync(older.fileno())
                    self.path.unlink()
                else:
                    os.replace(self.path, self.rotated)
            self.open()
        write()
        with contextlib.suppress(FileNotFoundError):
            self.rotated.unlink()


def _key_values(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def replay(state_dir: Path, tables: dict[str, str], buckets: dict[str, str]) -> int:
    """Apply the journals (the rotated one first) to the stack's tables and buckets; returns how
    many records. A line that does not parse (a torn write at the end) is skipped with a warning."""
    from infra.local.state import _dynamodb_table, _s3_bucket

    applied = 0
    for path in (state_dir / "journal.old.jsonl", state_dir / "journal.jsonl"):
        if not path.exists():
            continue
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                last = not any(rest.strip() for rest in lines[number:])
                why = "torn (the stack stopped while writing it)" if last else "unreadable"
                log.warning("journal %s: line %d is %s; skipped", path.name, number, why)
                continue
            with MOTO_LOCK:
                if record["t"] == "ddb" and record["table"] in tables:
                    backend, table = _dynamodb_table(tables[record["table"]])
                    shard, table.stream_shard = table.stream_shard, None  # replaying is not writing
                    try:
                        if record["item"] is not None:
                            backend.put_item(table.name, record["item"])
                        else:
                            hash_value, range_value = _key_values(table, record["key"])
                            table.delete_item(hash_value, range_value)
                    finally:
                        table.stream_shard = shard
                        query_index.forget(table)
                elif record["t"] == "s3" and record["bucket"] in buckets:
                    _replay_object(_s3_bucket(buckets[record["bucket"]]), record)
            applied += 1
    return applied


def _replay_object(bucket: Any, record: dict[str, Any]) -> None:
    from moto.s3.models import s3_backends

    backend = next(
        b for account in s3_backends.values() for b in account.values() if bucket.name in b.buckets
    )
    if record["object"] is None:
        backend.delete_object(bucket.name, record["key"])
        return
    key = backend.put_object(bucket.name, record["key"], base64.b64decode(record["object"]["body"]))
    key.set_metadata({"Content-Type": record["object"]["contentType"]})


# ------------------------------------------------------------------------------------------ hooks


@contextlib.contextmanager
def committing() -> Iterator[None]:
    """Commit what the block touched (the request wrapper and the stack's own sweeps use it)."""
    try:
        yield
    finally:
        if _journal is not None:
            _journal.commit()


def activate(journal: Journal | None) -> None:
    """Make ``journal`` the one every moto request commits to (None: stop journaling)."""
    global _journal  # noqa: PLW0603
    _install_hooks()
    _journal = journal


def _install_hooks() -> None:
    """Mark what moto changes: every item change of a table with a stream goes through its shard
    (restores and replays switch the shard off, and are not journaled); objects through put/delete."""
    global _hooks_installed  # noqa: PLW0603
    if _hooks_installed:
        return
    from infra.local.aws import set_after_request
    from infra.local.moto_patches import install_moto_patches

    install_moto_patches()  # first: it replaces StreamShard.add, which is wrapped here
    set_after_request(lambda: _journal.commit() if _journal is not None else None)
    from moto.dynamodb.models.table import StreamShard
    from moto.s3.models import S3Backend

    add = StreamShard.add

    def shard_add(self: Any, old: Any, new: Any) -> None:
        add(self, old, new)
        if _journal is not None:
            item = new if new is not None else old
            key = {self.table.hash_key_attr: item.hash_key.to_json()}
            if self.table.range_key_attr:
                key[self.table.range_key_attr] = item.range_key.to_json()
            _journal.touch("ddb", self.table.name, key)

    StreamShard.add = shard_add  # type: ignore[method-assign]

    put_object, delete_object = S3Backend.put_object, S3Backend.delete_object

    def s3_put(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        result = put_object(self, bucket_name, key_name, *args, **kwargs)
        if _journal is not None:
            _journal.touch("s3", bucket_name, key_name)
        return result

    def s3_delete(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        result = delete_object(self, bucket_name, key_name, *args, **kwargs)
        if _journal is not None:
            _journal.touch("s3", bucket_name, key_name)
        return result

    S3Backend.put_object = s3_put  # type: ignore[method-assign]
    S3Backend.delete_object = s3_delete  # type: ignore[method-assign]
    _hooks_installed = True
