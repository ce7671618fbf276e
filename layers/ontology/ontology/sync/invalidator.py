"""The table stream's invalidator: for every changed item it finds the subscriptions whose read set
holds its key (before or after the change) and queues one invalidation per connection on the sync
queue (FIFO, grouped by connection); a subscription read through an index range is invalidated once
more a second later, through the recheck queue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ontology.auth.ratelimit import RATE_PREFIX
from ontology.data.dynamodb import deserialize
from ontology.data.search import unwatched
from ontology.data.tracking import WriteSet
from ontology.settings import get_settings
from ontology.sync.queue import enqueue
from ontology.sync.state import SyncState, Watcher, is_sync_item

__all__ = ["invalidate_handler", "write_set_of"]


def write_set_of(record: Mapping[str, Any]) -> WriteSet | None:
    """The keys a stream record's change touched (its item before and after), or None for the sync
    protocol's own items, the rate limits' counters (nothing reads those) and the search index's
    aggregates (no result depends on them: :func:`ontology.data.search.unwatched`)."""
    change = record.get("dynamodb") or {}
    keys = deserialize(change.get("Keys") or {})
    if not isinstance(keys.get("pk"), str) or is_sync_item(keys["pk"]) or keys["pk"].startswith(RATE_PREFIX):
        return None
    images = [deserialize(change[image]) if change.get(image) else None for image in ("OldImage", "NewImage")]
    if unwatched(keys["pk"], *images):
        return None
    writes = WriteSet()
    for image in images:
        if image is not None:
            writes.add_item(image)
    writes.points.add((keys["pk"], str(keys["sk"])))
    return writes


def _invalidations(touched: dict[str, list[str]], batch_id: str) -> list[dict[str, Any]]:
    return [
        {
            "Id": str(i),
            "MessageBody": json.dumps({"c": c, "inv": q}, separators=(",", ":")),
            "MessageGroupId": c,
            "MessageDeduplicationId": hashlib.sha256(f"{batch_id}|{c}".encode()).hexdigest(),
        }
        for i, (c, q) in enumerate(sorted(touched.items()))
    ]


def invalidate_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Table stream → one invalidation per touched connection (its touched query ids), in the order
    of the stream.

    A subscription found through an index range is invalidated twice: now, and once more
    RECHECK_SECONDS later through the recheck queue (which delivers back here). The GSI the query
    reads is eventually consistent and may not show the write yet when the first re-run reads it; the
    second re-run does (DynamoDB's GSIs typically follow within a second), and pushes only if the
    result changed.
    """
    records = event.get("Records", [])
    if records and records[0].get("eventSource") == "aws:sqs":
        return _recheck(records)
    state = SyncState()
    touched: dict[str, list[str]] = {}
    ranged: dict[str, list[str]] = {}
    ids: list[str] = []
    writes = WriteSet()  # the batch's changes together: one lookup of their keys' markers
    for record in records:
        changed = write_set_of(record)
        if changed is None:
            continue
        ids.append(str(record.get("eventID") or ""))
        writes.points |= changed.points
        for attr, entries in changed.index.items():
            writes.index.setdefault(attr, set()).update(entries)
    watchers: set[Watcher] = state.watchers(writes) if writes else set()
    for w in sorted(watchers, key=lambda w: (w.connection_id, w.query_id)):
        for into in (touched, ranged) if w.ranged else (touched,):
            queries = into.setdefault(w.connection_id, [])
            if w.query_id not in queries:
                queries.append(w.query_id)
    batch_id = hashlib.sha256("|".join(ids).encode()).hexdigest()
    if touched:
        enqueue(_invalidations(touched, batch_id))
    if ranged and get_settings().sync_recheck_queue_url:
        enqueue(
            [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"c": c, "inv": q, "b": batch_id}),
                    "DelaySeconds": 1,
                }
                for i, (c, q) in enumerate(sorted(ranged.items()))
            ],
            url=get_settings().sync_recheck_queue_url,
        )
    return {"batchItemFailures": [], "invalidated": sum(len(q) for q in touched.values())}


def _recheck(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The recheck queue's delayed invalidations → the connections' FIFO groups."""
    entries = []
    for i, record in enumerate(records):
        body = json.loads(record["body"])
        entries += [
            {**e, "Id": str(i)}
            for e in _invalidations({str(body["c"]): list(body["inv"])}, f"recheck|{body.get('b')}")
        ]
    if entries:
        enqueue(entries)
    return {"batchItemFailures": []}
