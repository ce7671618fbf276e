"""Scheduled backups: every organization exported as a Convex snapshot ZIP to the files bucket
(docs/deploying.md, "Backups"). Deployed only when the stack's ``BackupSchedule`` is set.

- :func:`plan`, on the schedule (EventBridge): one message per organization onto the backup queue,
  ``{"organizationId", "at"}`` (``at``: the schedule's time), read from the organizations' creation-
  time index page by page. It reads no organization's documents.
- :func:`export`, one message at a time from the queue: that organization's snapshot (documents, as
  ``one export`` writes them, without the files, which stay in the bucket) streamed to the function's
  temporary storage, then put to ``backups/<organization>/<at>.zip``. The same message again writes
  the same key: a retry after a failure replaces a partial attempt, never adds one. The bucket's
  lifecycle rule deletes backups after ``BackupRetentionDays``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["backup_key", "export", "plan"]

#: Where a backup goes in the files bucket (its lifecycle rule's prefix).
PREFIX = "backups/"
_SEND_BATCH = 10  # SendMessageBatch's most


def backup_key(org: str, at: str) -> str:
    """``backups/<org>/<at>.zip``, ``at`` as ``20261207T081500Z``."""
    return f"{PREFIX}{org}/{at}.zip"


def _at(event: dict[str, Any]) -> str:
    """The schedule's time (the event's ``time``; now, when invoked by hand) as ``YYYYMMDDTHHMMSSZ``."""
    when = event.get("time")
    try:
        moment = datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else datetime.now(UTC)
    except ValueError:
        moment = datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _organizations() -> Any:
    """Every organization's id, page by page of the organizations' creation-time index."""
    from ontology.data.dynamodb import default_store
    from ontology.data.schema import PLATFORM_SCOPE
    from ontology.snapshot.org import partition_items

    for item in partition_items(default_store(), PLATFORM_SCOPE, "organizations", "by_creation_time", None):
        yield str(item["pk"]).rsplit("#", 1)[1]


def plan(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The schedule's Lambda: one backup job per organization onto the backup queue."""
    from ontology.aws import client

    queue = os.environ["ONE_BACKUP_QUEUE_URL"]
    at = _at(event)
    sqs = client("sqs")
    sent = 0
    batch: list[dict[str, str]] = []

    def send() -> None:
        resp = sqs.send_message_batch(QueueUrl=queue, Entries=batch)
        if resp.get("Failed"):
            raise RuntimeError(f"backup jobs not queued: {resp['Failed']}")  # the schedule retries
        batch.clear()

    for org in _organizations():
        body = json.dumps({"organizationId": org, "at": at})
        batch.append({"Id": str(len(batch)), "MessageBody": body})
        sent += 1
        if len(batch) == _SEND_BATCH:
            send()
    if batch:
        send()
    logger.info("backups planned", extra={"organizations": sent, "at": at})
    return {"organizations": sent, "at": at}


def _export_one(org: str, at: str) -> dict[str, Any]:
    from ontology.data.dynamodb import default_store
    from ontology.data.storage import _s3
    from ontology.settings import get_settings
    from ontology.snapshot.exporter import write_export
    from ontology.snapshot.org import SnapshotTarget

    bucket = get_settings().files_bucket
    s3 = _s3()
    target = SnapshotTarget(default_store(), s3, bucket, org, "scheduled backup")
    key = backup_key(org, at)
    with tempfile.TemporaryFile(dir=os.environ.get("ONE_BACKUP_TMP") or None) as out:
        report = write_export(target, out, include_files=False, progress=lambda *_: None)
        size = out.tell()
        out.seek(0)
        s3.put_object(Bucket=bucket, Key=key, Body=out, ContentType="application/zip")
    logger.info(
        "backup written",
        extra={"organization": org, "key": key, "bytes": size, "documents": sum(report.counts.values())},
    )
    if report.refused:
        logger.warning("backup left documents out", extra={"organization": org, "refused": report.refused})
    return {"organizationId": org, "key": key, "documents": report.counts, "refused": len(report.refused)}


def export(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The queue's Lambda: each message's organization exported to its backup key (a failed message
    is reported, and comes back after the queue's visibility timeout)."""
    failures = []
    for record in event.get("Records", []):
        try:
            job = json.loads(record["body"])
            _export_one(str(job["organizationId"]), str(job["at"]))
        except Exception:
            logger.exception("backup failed; the queue delivers the job again")
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}
