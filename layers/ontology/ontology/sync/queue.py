"""Sending to the sync protocol's queues (the FIFO queue that orders each connection's work, by
default; the recheck queue by ``url``), and the FIFO queue's timing.

**Timing.** SQS holds a message group back while any of its messages is in flight, so a record the
worker failed would hold its connection's updates until the queue's visibility timeout, and Lambda
lets a queue's visibility timeout be no shorter than its consumer's timeout. The worker therefore
sets the visibility of what it fails itself (:func:`retry_later`): a failed record and the
connection's records behind it come back after :data:`RETRY_SECONDS` (1, 2, 4, 8 s by the receive
that failed), and the record's last receive (:data:`MAX_RECEIVES`, the queue's redrive count) closes
the connection, so its client reconnects and resynchronises, and sends the record on to the
dead-letter queue at once. The visibility timeout itself only applies when the worker cannot say
(it crashed or ran out of time), and the worker stops taking new records once less than
:data:`ITEM_SECONDS` of its time is left, handing them back at once. So:

- :data:`ITEM_SECONDS` covers the longest item: an action invoked for a client (its Lambda timeout is
  60 s) and the posts after it;
- :data:`WORKER_TIMEOUT` leaves a few seconds to start items in;
- :data:`VISIBILITY_TIMEOUT` is the wait after a crash: at least the worker's timeout (Lambda refuses
  a mapping otherwise) and not the six times AWS recommends for standard queues (whose margin lets
  Lambda retry a throttled invocation before the batch comes back): six times would hold a
  connection's updates for eight minutes after a crash. A throttled batch that comes back is received
  again in order; a record applied twice closes its connection (:func:`ontology.sync.worker.process`).
"""

from __future__ import annotations

from typing import Any

from ontology.settings import get_settings

__all__ = [
    "ITEM_SECONDS",
    "MAX_RECEIVES",
    "RETRY_SECONDS",
    "VISIBILITY_TIMEOUT",
    "WORKER_CONCURRENCY",
    "WORKER_TIMEOUT",
    "enqueue",
    "retry_later",
    "retry_seconds",
]

#: The sync queue's redrive count: a record received this many times goes to the dead-letter queue.
MAX_RECEIVES = 5
#: Seconds a failed record (and its connection's records behind it) waits, by the receive that failed.
RETRY_SECONDS = (1, 2, 4, 8)
#: The longest one item may take: an action's Lambda timeout (60 s) and the posts that follow it.
ITEM_SECONDS = 70
#: The worker's Lambda timeout.
WORKER_TIMEOUT = 80
#: The sync queue's visibility timeout: how long a batch the worker could not answer for is held.
VISIBILITY_TIMEOUT = 90
#: Workers at once (the queue's event source's maximum concurrency). It bounds the function containers
#: busy with re-runs at once, so a key every subscriber reads is read at most this many times a second
#: (:mod:`ontology.data.read_cache`); at about 50 ms a re-run it answers 10,000 re-runs a second.
WORKER_CONCURRENCY = 500


def retry_seconds(receives: int) -> int:
    """How long a record that failed on its ``receives``-th receive waits (0 on its last: it goes on
    to the dead-letter queue at once)."""
    if receives >= MAX_RECEIVES:
        return 0
    return RETRY_SECONDS[min(max(receives, 1), len(RETRY_SECONDS)) - 1]


def enqueue(entries: list[dict[str, Any]], url: str = "") -> None:
    """``SendMessageBatch`` entries, ten at a time; a refused one raises."""
    from ontology.aws import client

    sqs = client("sqs")
    url = url or get_settings().sync_queue_url
    for start in range(0, len(entries), 10):
        batch = entries[start : start + 10]
        resp = sqs.send_message_batch(QueueUrl=url, Entries=batch)
        if resp.get("Failed"):
            raise RuntimeError(f"sync queue refused {len(resp['Failed'])} messages")


def retry_later(waits: list[tuple[str, int]], url: str = "") -> None:
    """Make received records (``(receipt handle, seconds)``) visible again after their seconds
    (``ChangeMessageVisibilityBatch``, ten at a time); a refused one raises."""
    from ontology.aws import client

    sqs = client("sqs")
    url = url or get_settings().sync_queue_url
    for start in range(0, len(waits), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for i, (handle, seconds) in enumerate(waits[start : start + 10])
        ]
        resp = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        if resp.get("Failed"):
            raise RuntimeError(f"sync queue refused {len(resp['Failed'])} visibility changes")
