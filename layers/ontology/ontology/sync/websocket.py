"""The WebSocket API's Lambdas: ``$connect``, ``$disconnect``, ``$default``; the FIFO queue's
worker; and the keep-alive. The table stream's invalidator is :mod:`ontology.sync.invalidator`.

- ``$connect`` creates the connection's state; the path must be Convex's (``/api/sync`` or
  ``/api/<version>/sync``, passed on by the front of the API).
- ``$default`` puts each message on the sync queue (FIFO, grouped by connection id: the worker sees a
  connection's messages in the order they came, one batch at a time); a message over the size limit
  is refused here.
- ``$disconnect`` forgets the connection, its subscriptions and their watches.
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

from ontology.sync import push
from ontology.sync.queue import enqueue
from ontology.sync.state import SyncState

__all__ = [
    "connect_handler",
    "disconnect_handler",
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


#: Connections one keep-alive invocation pings; a shard with more hands the rest to another.
PING_PAGE = 2000


def keepalive_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Keep every open connection alive, in bounded pieces.

    The schedule's run starts one invocation per shard of the open connections (asynchronously:
    :data:`~ontology.sync.state.OPEN_SHARDS`) and returns. A shard's invocation takes its first
    :data:`PING_PAGE` connections, hands the rest of the shard to another invocation first, and pings
    its page now and every :data:`PING_EVERY_SECONDS` for the next minute. So no invocation visits
    more than a page, however many connections are open."""
    from ontology.sync.state import OPEN_SHARDS

    if "shard" not in event:
        for shard in range(OPEN_SHARDS):
            _again(context, {"shard": shard})
        return {"shards": OPEN_SHARDS}
    state = SyncState()
    shard = int(event["shard"])
    page, rest = state.open_page(shard, event.get("after"), PING_PAGE)
    if rest:
        _again(context, {"shard": shard, "after": rest})
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
            sent += sum(pool.map(ping, page))
    return {"pings": sent, "shard": shard}


#: The keep-alive's Lambda, after the deployment's prefix (the template names it after its handler).
KEEPALIVE_FUNCTION = "sync-keepalive"


def _again(context: Any, event: dict[str, Any]) -> None:
    """Invoke the keep-alive again, asynchronously, with ``event``."""
    from ontology.aws import client
    from ontology.settings import get_settings

    client("lambda").invoke(
        FunctionName=get_settings().function_prefix + KEEPALIVE_FUNCTION,
        InvocationType="Event",
        Payload=json.dumps(event, separators=(",", ":")).encode(),
    )


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
