"""Waking the local pollers when there is something to deliver, instead of on their next tick.

AWS's event source mappings deliver a stream record or a queue message within milliseconds; pollers
that only looked every 200 ms would add that much to every reactive update. The journal calls
:func:`notify` after a request that changed a table, moto's SQS after a message is sent; a poller
waits with :func:`wait` (its tick stays as the fallback).
"""

from __future__ import annotations

import threading

__all__ = ["generation", "notify", "wait"]

_cond = threading.Condition()
_generation = 0


def notify() -> None:
    global _generation  # noqa: PLW0603
    with _cond:
        _generation += 1
        _cond.notify_all()


def generation() -> int:
    return _generation


def wait(seen: int, timeout: float) -> int:
    """Block until something happened after generation ``seen`` (or ``timeout``); the generation now."""
    with _cond:
        if _generation == seen:
            _cond.wait(timeout)
        return _generation
