"""A connection's pending re-run: the subscriptions writes touched since its worker last ran them.

One item per connection, ``platform#sync#<connectionId>`` / ``pending``:

- ``q``: the query ids writes touched (a string set), ``g``: a generation every mark adds 1 to,
  ``t``: when the newest mark was made, ``last``: when a re-run of the connection last started.

The invalidator **marks** (:func:`mark`): one UpdateItem per touched connection and stream batch
adds the query ids. Only when nothing was pending does it **wake** the connection's worker
(:func:`wake`, a message on the connection's FIFO group): at once, or, when the connection re-ran less
than :data:`RERUN_SECONDS` ago, once that second has passed (through the delay queue). Every later
write merges into the pending re-run instead of queueing another.

The worker **reads** the pending ids (:func:`pending`), re-runs them, saves the connection, and
**clears** them (:func:`clear`) conditioned on the generation it read. A mark made meanwhile fails
that condition and the worker wakes the connection again (after :data:`RERUN_SECONDS`): no write is
left unanswered, and a worker that crashes before its clear leaves the ids pending for the message's
redelivery.

So a subscription has at most one pending re-run, however many writes touch it, and re-runs at most
once every :data:`RERUN_SECONDS` (plus the answer to its own connection's mutations, which re-runs
what the mutation touched at once).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ontology.settings import get_settings
from ontology.sync.queue import enqueue
from ontology.sync.state import PENDING_SK

if TYPE_CHECKING:
    from ontology.sync.state import Connection, SyncState

__all__ = [
    "RANGED",
    "RECHECK_SECONDS",
    "RERUN_SECONDS",
    "Marked",
    "Pending",
    "clear",
    "load",
    "mark",
    "pending",
    "recheck_at",
    "wake",
]

#: The shortest time between two re-runs of one connection's subscriptions.
RERUN_SECONDS = 1.0
#: How long after a write to an index range its subscriptions are marked again (the GSI they read
#: is eventually consistent, and typically follows within a second).
RECHECK_SECONDS = 1
#: The query id a recheck marks: every subscription of the connection that read an index range.
RANGED = "*r"
_SK = PENDING_SK


@dataclass(frozen=True)
class Pending:
    """What a connection's worker has to re-run: the query ids and the generation they were read at."""

    queries: tuple[str, ...] = ()
    generation: int = 0
    #: when the newest write among them was marked (a re-run starting later reads it)
    marked_at: float = 0.0


def _key(state: SyncState, connection_id: str) -> dict[str, Any]:
    from ontology.sync.state import conn_pk

    return {"pk": {"S": conn_pk(connection_id)}, "sk": {"S": _SK}}


class Marked:
    """What a mark found: the seconds to wait before waking the worker (None: a re-run was pending
    already, the queries merged into it) and when the connection's next recheck is due (0: none)."""

    __slots__ = ("delay", "recheck_at")

    def __init__(self, delay: float | None, recheck_at: float) -> None:
        self.delay, self.recheck_at = delay, recheck_at


def mark(state: SyncState, connection_id: str, queries: list[str], now: float | None = None) -> Marked:
    """Add ``queries`` to the connection's pending re-run."""
    from ontology.sync.state import connection_ttl

    now = time.time() if now is None else now
    resp = state.store.call(
        "UpdateItem",
        {
            "TableName": state.store.table_name,
            "Key": _key(state, connection_id),
            "UpdateExpression": "ADD q :q, g :one SET tb = :tb, t = :now, #ttl = if_not_exists(#ttl, :ttl)",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {
                ":q": {"SS": sorted(set(queries))},
                ":one": {"N": "1"},
                ":tb": {"S": "_sync"},
                ":now": {"N": repr(now)},
                ":ttl": {"N": str(int(connection_ttl(now)))},
            },
            "ReturnValues": "ALL_OLD",
        },
    )
    old = resp.get("Attributes") or {}
    recheck_at = float(old.get("rc", {}).get("N", 0))
    if old.get("q", {}).get("SS"):
        return Marked(None, recheck_at)
    last = float(old.get("last", {}).get("N", 0))
    return Marked(max(0.0, last + RERUN_SECONDS - now), recheck_at)


def recheck_at(state: SyncState, connection_id: str, due: float) -> None:
    """Record that the connection's recheck is due at ``due``."""
    state.store.call(
        "UpdateItem",
        {
            "TableName": state.store.table_name,
            "Key": _key(state, connection_id),
            "UpdateExpression": "SET rc = :due",
            "ExpressionAttributeValues": {":due": {"N": repr(due)}},
        },
    )


def pending(state: SyncState, connection_id: str) -> Pending:
    """The connection's pending re-run (strongly consistent)."""
    item = state.store.get(str(_key(state, connection_id)["pk"]["S"]), _SK, consistent=True)
    return _pending_of(item)


def load(state: SyncState, connection_id: str) -> tuple[Connection | None, Pending]:
    """The connection and its pending re-run, in one strongly consistent BatchGetItem."""
    from ontology.sync.state import Connection, conn_pk

    pk = conn_pk(connection_id)
    items = state.store.batch_get_items([(pk, "conn"), (pk, _SK)], consistent=True)
    conn = items.get((pk, "conn"))
    return (Connection.from_item(connection_id, conn) if conn else None), _pending_of(items.get((pk, _SK)))


def _pending_of(item: dict[str, Any] | None) -> Pending:
    if not item or not item.get("q"):
        return Pending()
    queries = tuple(sorted(str(q) for q in item["q"]))
    return Pending(queries, int(item.get("g") or 0), float(item.get("t") or 0))


def clear(
    state: SyncState, connection_id: str, read: Pending, started: float, as_of: float | None = None
) -> bool:
    """The re-run of ``read`` (started at ``started``, its reads as of ``as_of``: the start unless
    some were shared, :mod:`ontology.data.read_cache`) is done: forget it, unless a mark came since or
    its reads are older than the newest mark (False: the caller wakes the connection again). Records
    when the re-run started either way."""
    if not read.queries:
        return True
    fresh = as_of is None or read.marked_at <= as_of
    if fresh and _update(
        state, connection_id, "REMOVE q SET #last = :s", "g = :g", started, generation=read.generation
    ):
        return True
    # the connection may be gone (dropped meanwhile): then nothing is recorded
    _update(state, connection_id, "SET #last = :s", "attribute_exists(pk)", started)
    return False


def _update(
    state: SyncState,
    connection_id: str,
    expression: str,
    condition: str,
    started: float,
    *,
    generation: int = 0,
) -> bool:
    """One conditional UpdateItem of the pending item; False when its condition failed."""
    values = {":s": {"N": repr(started)}}
    if ":g" in condition:
        values[":g"] = {"N": str(generation)}
    try:
        state.store.call(
            "UpdateItem",
            {
                "TableName": state.store.table_name,
                "Key": _key(state, connection_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#last": "last"},
                "ExpressionAttributeValues": values,
            },
        )
        return True
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return False


def _fifo_entry(connection_id: str, tag: str) -> dict[str, Any]:
    return {
        "Id": "0",
        "MessageBody": json.dumps({"c": connection_id, "pend": 1}, separators=(",", ":")),
        "MessageGroupId": connection_id,
        "MessageDeduplicationId": hashlib.sha256(f"{connection_id}|pend|{tag}".encode()).hexdigest(),
    }


Entries = list[dict[str, Any]]


def wake_entries(wakes: list[tuple[str, float]], tag: str) -> tuple[Entries, Entries]:
    """The messages that wake ``(connection, delay)``s: FIFO entries for those due now, delay-queue
    entries (which :func:`forward` hands to the FIFO queue) for the others. ``tag`` makes them
    unique per batch (a batch delivered again is deduplicated by the FIFO queue)."""
    now_entries: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    delayed = bool(get_settings().sync_recheck_queue_url)
    for i, (c, delay) in enumerate(sorted(wakes)):
        if delay <= 0 or not delayed:
            now_entries.append({**_fifo_entry(c, tag), "Id": str(i)})
        else:
            later.append(
                {
                    "Id": str(i),
                    "MessageBody": json.dumps({"c": c, "wake": tag}, separators=(",", ":")),
                    "DelaySeconds": min(900, math.ceil(delay)),
                }
            )
    return now_entries, later


def wake(wakes: list[tuple[str, float]], tag: str) -> None:
    """Wake the workers of ``(connection, delay)``s (see :func:`wake_entries`)."""
    now_entries, later = wake_entries(wakes, tag)
    if now_entries:
        enqueue(now_entries)
    if later:
        enqueue(later, url=get_settings().sync_recheck_queue_url)


def forward(body: dict[str, Any]) -> dict[str, Any]:
    """A delayed wake, due now: its FIFO entry."""
    return _fifo_entry(str(body["c"]), f"wake|{body.get('wake')}")
