"""Sending to the sync protocol's queues (the FIFO queue that orders each connection's work, by
default; the recheck queue by ``url``)."""

from __future__ import annotations

from typing import Any

from ontology.settings import get_settings

__all__ = ["enqueue"]


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
