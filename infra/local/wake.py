"""Waking the local pollers when there is something to deliver, instead of on their next tick.

AWS's event source mappings deliver a stream record or a queue message within milliseconds; pollers
that only looked every 200 ms would add that much to every reactive update. moto's stream calls
:func:`notify` ("stream") when it records a change, moto's SQS (the queue's own channel) when a
message is sent or freed; a poller waits on its channel with :func:`wait` (its tick stays as the
fallback).
"""

from __future__ import annotations

import threading

__all__ = ["generation", "notify", "queue_channel", "wait"]

_cond = threading.Condition()
_generations: dict[str, int] = {}


def queue_channel(queue: str) -> str:
    """A queue's channel, from its name or URL (``…/123456789012/one-local-sync.fifo``)."""
    return "queue:" + queue.rstrip("/").rsplit("/", 1)[-1]


def notify(channel: str) -> None:
    with _cond:
        _generations[channel] = _generations.get(channel, 0) + 1
        _cond.notify_all()


def generation(channel: str) -> int:
    return _generations.get(channel, 0)


def wait(channel: str, seen: int, timeout: float) -> int:
    """Block until ``channel`` moved past generation ``seen`` (or ``timeout``); its generation now."""
    with _cond:
        if _generations.get(channel, 0) == seen:
            _cond.wait_for(lambda: _generations.get(channel, 0) != seen, timeout)
        return _generations.get(channel, 0)
