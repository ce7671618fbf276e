"""The table stream's invalidator: for every changed item it finds the subscriptions whose read set
holds its key (before or after the change) and marks them pending on their connection
(:mod:`ontology.sync.pending`): a connection with nothing pending yet has its worker woken (a message on
the sync queue, FIFO and grouped by connection), one that has merges the new ids into the re-run it
waits for. A subscription read through an index range is marked once more a second later, through the
recheck queue.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

from ontology.auth.ratelimit import RATE_PREFIX
from ontology.data.dynamodb import deserialize
from ontology.data.search import unwatched
from ontology.data.tracking import WriteSet
from ontology.settings import get_settings
from ontology.sync import pending
from ontology.sync.queue import enqueue
from ontology.sync.state import SyncState, Watcher, is_sync_item

__all__ = ["BATCH_MESSAGE", "invalidate_handler", "write_set_of"]

#: The message of the invalidator's line for each stream batch (the dashboard's sync health sums them).
BATCH_MESSAGE = "sync invalidation"


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


def _mark(
    state: SyncState, touched: dict[str, list[str]], tag: str, ranged: set[str] | None = None
) -> tuple[int, list[str]]:
    """Mark each connection's touched queries pending and wake the workers of those that had nothing
    pending; the number of queries marked, and the connections of ``ranged`` whose recheck is to be
    sent (none is due in the next half of :data:`~ontology.sync.pending.RECHECK_SECONDS`)."""
    now = time.time()
    wakes, rechecks = [], []
    for c, queries in sorted(touched.items()):
        marked = pending.mark(state, c, queries, now)
        if marked.delay is not None:
            wakes.append((c, marked.delay))
        if ranged and c in ranged and marked.recheck_at < now + pending.RECHECK_SECONDS / 2:
            rechecks.append(c)
    if wakes:
        pending.wake(wakes, tag)
    return sum(len(q) for q in touched.values()), rechecks


def invalidate_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Table stream → one invalidation per touched connection (its touched query ids), in the order
    of the stream.

    A subscription found through an index range is marked twice: now, and once more a second later
    through the recheck queue (which delivers back here). The GSI the query reads is eventually
    consistent and may not show the write yet when the first re-run reads it; the second re-run does
    (DynamoDB's GSIs typically follow within a second), and pushes only if the result changed. The
    recheck queue also delays the wakes of connections that re-ran less than a second ago.
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
    url = get_settings().sync_recheck_queue_url
    marked, rechecks = _mark(state, touched, batch_id, set(ranged) if url else None) if touched else (0, [])
    if rechecks:
        # one recheck a connection at a time: a write while one is due at least half a second later
        # is covered by it
        due = time.time() + pending.RECHECK_SECONDS
        enqueue(
            [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"c": c, "rc": 1, "b": batch_id}, separators=(",", ":")),
                    "DelaySeconds": pending.RECHECK_SECONDS,
                }
                for i, c in enumerate(rechecks)
            ],
            url=url,
        )
        for c in rechecks:
            pending.recheck_at(state, c, due)
    if ids:
        _log_batch(len(records), len(ids), len(touched), marked, len(rechecks))
    return {"batchItemFailures": [], "invalidated": marked}


def _log_batch(records: int, changes: int, connections: int, queries: int, rechecks: int) -> None:
    """One line per stream batch: its records, the changes a subscription could watch, the
    connections and queries it marked pending, the rechecks it sent."""
    from ontology.runtime.observability import logger

    logger.info(
        BATCH_MESSAGE,
        extra={
            "function": "sync:invalidator",
            "organization": None,
            "records": records,
            "changes": changes,
            "connections": connections,
            "invalidated": queries,
            "rechecks": rechecks,
        },
    )


def _recheck(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The recheck queue's messages: delayed rechecks (marked pending now) and delayed wakes (due now:
    on to the connections' FIFO groups)."""
    state = SyncState()
    forwards: list[dict[str, Any]] = []
    for record in records:
        body = json.loads(record["body"])
        if "wake" in body:
            forwards.append({**pending.forward(body), "Id": str(len(forwards))})
        elif "rc" in body:
            _mark(state, {str(body["c"]): [pending.RANGED]}, f"recheck|{body.get('b')}")
        else:
            _mark(state, {str(body["c"]): [str(q) for q in body["inv"]]}, f"recheck|{body.get('b')}")
    if forwards:
        enqueue(forwards)
    return {"batchItemFailures": []}
