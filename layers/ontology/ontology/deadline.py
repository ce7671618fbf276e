"""How long the running invocation has left, so that what it waits for gives up before Lambda stops it.

A function routed through the HTTP API has at most 29 seconds (the API answers 503 at 30), a job's
action its own timeout. A provider call that waited on past that would leave the client with the
gateway's bare 503 and the work half done; bounded by :func:`budget`, it fails first with a typed
UPSTREAM_ERROR the client can read, while the function still has time to answer.

The handler starts the clock from Lambda's context (:func:`started`); outside an invocation (a
script, a test) nothing bounds a call but its own default.

Example::

    timeout = deadline.budget(60.0)   # ≤ 60 s, and ≥ 1 s less than the invocation has left
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["MARGIN_SECONDS", "budget", "remaining", "started"]

#: What an invocation keeps for itself after a call gave up: its error answered, its log written.
MARGIN_SECONDS = 1.0
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("one_deadline", default=None)


@contextlib.contextmanager
def started(context: Any) -> Iterator[None]:
    """The invocation's clock, from a Lambda context (``get_remaining_time_in_millis``) for the block."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    at = time.monotonic() + remaining_ms() / 1000 if callable(remaining_ms) else None
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds the invocation has left (None outside one)."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


def budget(default: float, *, floor: float = 1.0) -> float:
    """How long a call may wait: ``default``, cut to what the invocation has left less
    :data:`MARGIN_SECONDS` (never under ``floor``)."""
    left = remaining()
    if left is None:
        return default
    return max(floor, min(default, left - MARGIN_SECONDS))
