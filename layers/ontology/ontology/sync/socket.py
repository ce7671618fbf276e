"""The WebSocket API's Lambdas: ``$connect``, ``$disconnect``, ``$default``; the stream's invalidator;
the FIFO queue's worker; and the keep-alive.

- ``$connect`` creates the connection's state; the path must be Convex's (``/api/sync`` or
  ``/api/<version>/sync``, passed on by the front of the API).
- ``$default`` puts each message on the sync queue (FIFO, grouped by connection id: the worker sees a
  connection's messages in the order they came, one batch at a time); a message over the size limit
  is refused here.
- ``$disconnect`` forgets the connection, its subscriptions and their watches.
- The invalidator reads the table's stream: for every changed item it finds the subscriptions whose
  read set holds its key (before or after the change) and queues one invalidation per connection.
- The keep-alive sends ``Ping`` to every open connection every 15 s (Convex's clients reconnect after
  30 to 60 s of silence, API Gateway drops a connection idle for 10 minutes).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ontology.auth.ratelimit import RATE_PREFIX
from ontology.data.store import deserialize
from ontology.data.tracking import WriteSet
from ontology.settings import get_settings
from ontology.sync import push
from ontology.sync.queue import enqueue
from ontology.sync.state import SyncState, Watcher, is_sync_item

__all__ = [
    "connect_handler",
    "disconnect_handler",
    "invalidate_handler",
    "keepalive_handler",
    "message_handler",
    "worker_handler",
]

log = logging.getLogger(__name__)

SYNC_PATH = re.compile(r"^/api/(?:[A-Za-z0-9._-]{1,32}/)?sync$")
PING_EVERY_SECONDS = 15
#: The keep-alive runs once a minute and pings this many times, PING_EVERY_SECONDS apart.
PINGS_PER_RUN = 4
#: Pings in flight at once (a round over thousands of connections stays well within 15 s).
PING_THREADS = 32


def _connection_id(event: Mapping[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("connectionId") or "")


def connect_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    path = (event.get("headers") or {}).get("x-one-sync-path") or "/api/sync"
    connection_id = _connection_id(event)
    if not connection_id or not SYNC_PATH.match(str(path)):
        return {"statusCode": 404, "body": "Not Found"}
    SyncState().create(connection_id)
    return {"statusCode": 200}


def disconnect_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    connection_id = _connection_id(event)
    if connection_id:
        SyncState().drop(connection_id)
    return {"statusCode": 200}


def message_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    connection_id = _connection_id(event)
    body = event.get("body") or ""
    if len(body.encode("utf-8", "surrogatepass")) > push.MAX_MESSAGE_BYTES:
        push.post(connection_id, {"type": "FatalError", "error": "The message is larger than 128 KB"})
        push.close(connection_id)
        return {"statusCode": 413}
    request_id = str((event.get("requestContext") or {}).get("requestId") or time.time_ns())
    enqueue(
        [
            {
                "Id": "0",
                # not ASCII-escaped: a 128 KB message stays within SQS's 256 KB
                "MessageBody": json.dumps(
                    {"c": connection_id, "m": body}, separators=(",", ":"), ensure_ascii=False
                ),
                "MessageGroupId": connection_id,
                "MessageDeduplicationId": hashlib.sha256(request_id.encode()).hexdigest(),
            }
        ]
    )
    return {"statusCode": 200}


def worker_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    from ontology.sync.worker import handle_records

    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return handle_records(event, remaining_ms=remaining)


def write_set_of(record: Mapping[str, Any]) -> WriteSet | None:
    """The keys a stream record's change touched (its item before and after), or None for the sync
    protocol's own items and the rate limits' counters (nothing reads those)."""
    change = record.get("dynamodb") or {}
    keys = deserialize(change.get("Keys") or {})
    if not isinstance(keys.get("pk"), str) or is_sync_item(keys["pk"]) or keys["pk"].startswith(RATE_PREFIX):
        return None
    writes = WriteSet()
    for image in ("OldImage", "NewImage"):
        if change.get(image):
            writes.add_item(deserialize(change[image]))
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


def keepalive_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Ping every open connection now and every PING_EVERY_SECONDS for the next minute."""
    state = SyncState()
    sent = 0
    for i in range(PINGS_PER_RUN):
        if i:
            remaining = getattr(context, "get_remaining_time_in_millis", lambda: 60_000)()
            if remaining < (PING_EVERY_SECONDS + 5) * 1000:
                break
            time.sleep(PING_EVERY_SECONDS)
        # each ping runs in a copy of this invocation's context (what it signs its calls with, locally)
        ping = functools.partial(_ping_in, contextvars.copy_context(), state)
        with ThreadPoolExecutor(max_workers=PING_THREADS) as pool:
            sent += sum(pool.map(ping, state.open_connections()))
    return {"pings": sent}


def _ping_in(context: contextvars.Context, state: SyncState, connection_id: str) -> int:
    return context.copy().run(_ping, state, connection_id)


def _ping(state: SyncState, connection_id: str) -> int:
    try:
        push.post(connection_id, {"type": "Ping"})
        return 1
    except push.ConnectionGoneError:
        state.drop(connection_id)
    except Exception:
        log.warning("ping failed", extra={"connection": connection_id}, exc_info=True)
    return 0
