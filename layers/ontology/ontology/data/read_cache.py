"""Reads a container's subscription re-runs share, for at most a second.

Ten thousand viewers of one live chat re-run the same page each second; read from DynamoDB each
time, the livestream's item and the page's index partition would take ten thousand reads a second, past
what one partition serves. Within :func:`shared_reads` (the sync protocol's re-runs of pending
subscriptions, :mod:`ontology.runtime.resolvers.sync`) a read the container made less than
:data:`MAX_AGE` seconds ago is answered from memory: each container reads a shared key at most once a
second, however many subscriptions it re-runs.

A re-run answered so reflects the table as of its oldest read (:attr:`SharedReads.as_of`), not as of
its start. The worker clears the subscription's pending writes only when they were marked before that
time; a newer one stays pending, and the subscription re-runs again a second later (by then the entry
has expired), so a subscriber always reaches the latest state within about two seconds, and never
misses a write. Nothing else reads through it: a function called over HTTP, a mutation's reads and the
writer's own subscriptions after its mutation all read DynamoDB.

Bounded: :data:`MAX_ENTRIES` responses and :data:`MAX_BYTES` of them, the oldest dropped first.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["MAX_AGE", "SharedReads", "lookup", "remember", "shared_reads"]

#: Seconds a response is shared for (the sync protocol re-runs a subscription at most once a second).
MAX_AGE = 1.0
MAX_ENTRIES = 512
MAX_BYTES = 16 * 1024 * 1024
#: The read-only requests shared.
SHARED_OPERATIONS = frozenset({"GetItem", "Query", "BatchGetItem"})


class SharedReads:
    """One call's use of the shared reads: when the oldest response it was given was read."""

    __slots__ = ("as_of", "hits")

    def __init__(self, start: float) -> None:
        self.as_of = start
        self.hits = 0


_entries: OrderedDict[str, tuple[float, int, dict[str, Any]]] = OrderedDict()
_bytes = [0]
_active: ContextVar[SharedReads | None] = ContextVar("shared_reads", default=None)


def now() -> float:
    """The clock the shared reads are timed by."""
    return time.time()


@contextlib.contextmanager
def shared_reads() -> Iterator[SharedReads]:
    """Reads in the block may be answered from what the container read in the last second."""
    use = SharedReads(time.time())
    token = _active.set(use)
    try:
        yield use
    finally:
        _active.reset(token)


def _key(operation: str, params: dict[str, Any]) -> str:
    return operation + json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def lookup(operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The shared response to the request, or None (no shared reads here, or none fresh enough)."""
    use = _active.get()
    if use is None or operation not in SHARED_OPERATIONS:
        return None
    key = _key(operation, params)
    entry = _entries.get(key)
    if entry is None:
        return None
    read_at, _, response = entry
    if time.time() - read_at > MAX_AGE:
        _drop(key)
        return None
    use.as_of = min(use.as_of, read_at)
    use.hits += 1
    return copy.deepcopy(response)


def remember(operation: str, params: dict[str, Any], read_at: float, response: dict[str, Any]) -> None:
    """Keep a response read (sent) at ``read_at`` for the calls after it, when shared reads are on."""
    if _active.get() is None or operation not in SHARED_OPERATIONS:
        return
    key = _key(operation, params)
    size = len(json.dumps(response, separators=(",", ":"), default=str))
    if size > MAX_BYTES // 8:
        return
    _drop(key)
    _entries[key] = (read_at, size, copy.deepcopy(response))
    _bytes[0] += size
    while len(_entries) > MAX_ENTRIES or _bytes[0] > MAX_BYTES:
        _drop(next(iter(_entries)))


def _drop(key: str) -> None:
    entry = _entries.pop(key, None)
    if entry is not None:
        _bytes[0] -= entry[1]


def clear() -> None:
    """Forget every shared response (a new container)."""
    _entries.clear()
    _bytes[0] = 0
