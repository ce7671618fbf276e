"""Snapshots of the local stack's data, under the state folder (``.one/state``).

moto keeps everything in memory. A snapshot writes every table and bucket of the stack to disk by its
*logical* id (physical names change each time the stack is created); the new stack loads it at start
and replays the write-ahead journal (:mod:`infra.local.journal`) over it, which holds every write
acknowledged since. Snapshots are written when the journal is compacted (at start, when it grows
large, and at shutdown). Each file goes to a temporary file first, then replaces the old one, so a
crash mid-write never loses the previous snapshot. Restored items do not re-emit stream records
(they are not new writes).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.local import query_index
from infra.local.aws import MOTO_LOCK

_write_lock = threading.Lock()


def _dynamodb_table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    for account in dynamodb_backends.values():
        for backend in account.values():
            if name in backend.tables:
                return backend, backend.tables[name]
    return None, None


def _s3_bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    for account in s3_backends.values():
        for backend in account.values():
            if name in backend.buckets:
                return backend.buckets[name]
    return None


def _atomic_write(path: Path, data: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def capture(state_dir: Path, tables: dict[str, str], buckets: dict[str, str]) -> Callable[[], dict[str, int]]:
    """Capture ``{logical id: physical name}`` tables and buckets now (call under MOTO_LOCK for one
    consistent moment); returns the function that writes the snapshot out and answers the counts."""
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    for logical, physical in tables.items():
        _, table = _dynamodb_table(physical)
        items = [item.to_json()["Attributes"] for item in table.all_items()] if table else []
        files[f"dynamodb-{logical}.jsonl"] = "".join(json.dumps(i) + "\n" for i in items)
        counts[logical] = len(items)
    for logical, physical in buckets.items():
        bucket = _s3_bucket(physical)
        objects = []
        if bucket is not None:
            for key in list(bucket.keys.keys()):
                obj = bucket.keys[key]
                objects.append(
                    {
                        "key": key,
                        "contentType": obj.metadata.get("Content-Type") or "application/octet-stream",
                        "body": base64.b64encode(obj.value).decode(),
                    }
                )
        files[f"s3-{logical}.json"] = json.dumps(objects)
        counts[logical] = len(objects)

    def write() -> dict[str, int]:
        state_dir.mkdir(parents=True, exist_ok=True)
        with _write_lock:
            for name, data in files.items():
                _atomic_write(state_dir / name, data)
        return counts

    return write


def save(state_dir: Path, tables: dict[str, str], buckets: dict[str, str]) -> dict[str, int]:
    """Snapshot ``{logical id: physical name}`` tables and buckets; returns counts."""
    with MOTO_LOCK:
        write = capture(state_dir, tables, buckets)
    return write()


def load(state_dir: Path, tables: dict[str, str], buckets: dict[str, str], s3: Any) -> dict[str, int]:
    """Load snapshots into the new stack's resources; returns counts."""
    counts: dict[str, int] = {}
    for logical, physical in tables.items():
        path = state_dir / f"dynamodb-{logical}.jsonl"
        if not path.exists():
            continue
        with MOTO_LOCK:
            backend, table = _dynamodb_table(physical)
            shard = table.stream_shard
            table.stream_shard = None  # restoring is not writing: no stream records
            try:
                n = 0
                for line in path.read_text().splitlines():
                    if line.strip():
                        backend.put_item(physical, json.loads(line))
                        n += 1
            finally:
                table.stream_shard = shard
            query_index.forget(table)  # loaded behind the shard's back: rebuilt on first query
        counts[logical] = n
    for logical, physical in buckets.items():
        path = state_dir / f"s3-{logical}.json"
        if not path.exists():
            continue
        objects = json.loads(path.read_text())
        for obj in objects:
            s3.put_object(
                Bucket=physical,
                Key=obj["key"],
                Body=base64.b64decode(obj["body"]),
                ContentType=obj["contentType"],
            )
        counts[logical] = len(objects)
    return counts
