"""``ctx.scheduler``: run a function later, from a mutation or an action (Convex's ``runAfter``).

From a mutation, a job is an *outbox* document (``scheduledFunctions``, Convex's
``_scheduled_functions``) written in the mutation's own transaction: it exists — and so runs — if and
only if the mutation commits. Then:

1. the table's stream invokes the **dispatcher** (:func:`dispatch_handler`, filtered to new jobs),
   which sends the job to the jobs queue with ``DelaySeconds`` when it is due within 15 minutes, or
   creates a one-time EventBridge Scheduler ``at()`` schedule that sends it there later;
2. the queue invokes the **runner** (:func:`runner_handler`), which invokes the job's own Lambda
   asynchronously (so it runs with that function's permissions, within its own timeout) with
   ``{"_scheduledJob": <id>}``;
3. the function executes the job (:func:`ontology.runtime.jobs.execute_job`): a mutation exactly
   once, an action at most once; a function's error marks the job ``failed`` with its message.

Example::

    job_id = ctx.scheduler.run_after(0, "auth:send_verification_email", {"email": email})
    ctx.scheduler.cancel(job_id)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ontology.auth.identity import Identity
from ontology.data import keys, outbox
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.keys import now_ms
from ontology.data.outbox import TABLE
from ontology.data.transaction import run_mutation
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.registry import RegisteredFunction, function_name, resolve
from ontology.settings import get_settings

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_QUEUE_DELAY_SECONDS",
    "Scheduler",
    "dispatch_handler",
    "runner_handler",
]

MAX_QUEUE_DELAY_SECONDS = 900


def schedule_name(job_id: str) -> str:
    return f"one-job-{job_id}"


class Scheduler:
    """``ctx.scheduler``. In a mutation, ``writer`` is the mutation's own (platform view of the)
    transaction; in an action each call is its own small mutation."""

    def __init__(
        self, identity: Identity | None, writer: DatabaseWriter | None = None, after_commit: Any = None
    ) -> None:
        self._identity = identity
        self._writer = writer
        self._after_commit = after_commit

    def run_after(
        self, delay_seconds: float, fn: str | RegisteredFunction, args: Mapping[str, Any] | None = None
    ) -> str:
        if isinstance(delay_seconds, bool) or not isinstance(delay_seconds, int | float) or delay_seconds < 0:
            raise ValidationError("run_after: the delay is a number of seconds ≥ 0", field="delaySeconds")
        return self.run_at(now_ms() + int(delay_seconds * 1000), fn, args)

    def run_at(
        self, timestamp: float | datetime, fn: str | RegisteredFunction, args: Mapping[str, Any] | None = None
    ) -> str:
        """Run ``fn(args)`` at ``timestamp`` (ms since the epoch, or an aware datetime); a time in the
        past runs as soon as possible."""
        when = int(timestamp.timestamp() * 1000) if isinstance(timestamp, datetime) else timestamp
        if isinstance(when, bool) or not isinstance(when, int | float) or when < 0:
            raise ValidationError("run_at: the time is milliseconds since the epoch", field="timestamp")
        target = resolve(fn)
        if target.spec.kind not in ("mutation", "action"):
            raise ValidationError(f"only mutations and actions can be scheduled, not {target.spec.path}")
        payload = dict(args or {})
        try:
            target.spec.args.model_validate(payload)
        except Exception as exc:
            raise ValidationError(f"arguments of {target.spec.path} are invalid: {exc}") from None
        identity = self._identity

        def write(db: DatabaseWriter) -> str:
            return outbox.enqueue(
                db,
                target.spec.path,
                target.spec.kind,  # type: ignore[arg-type]  # checked above
                payload,
                when_ms=when,
                organization_id=identity.organizationId if identity else None,
                auth=identity.to_context() if identity else None,
            )

        if self._writer is not None:
            return write(self._writer)
        return run_mutation(write, org=None, platform=True)

    def cancel(self, job_id: str) -> None:
        """Cancel a pending job (a job already running or done is left as it is)."""

        def body(db: DatabaseWriter) -> bool:
            job = db.get(job_id, TABLE, field="jobId")
            if job is None or (self._identity and job.get("organizationId") != self._identity.organizationId):
                raise NotFoundError("No such scheduled function", jobId=job_id)
            if job["state"] != "pending":
                return False
            db.patch(job_id, {"state": "canceled", "completedTime": now_ms()}, TABLE)
            return bool(job["scheduledTime"] - job["createdAt"] > MAX_QUEUE_DELAY_SECONDS * 1000)

        if self._writer is not None:
            if body(self._writer) and self._after_commit is not None:
                self._after_commit(lambda: _delete_schedule(job_id))
            return
        if run_mutation(body, org=None, platform=True):
            _delete_schedule(job_id)


def _delete_schedule(job_id: str) -> None:
    from ontology.aws import client

    try:
        client("scheduler").delete_schedule(
            Name=schedule_name(job_id), GroupName=get_settings().schedule_group
        )
    except Exception as exc:  # already fired or never made: the runner skips canceled jobs anyway
        logger.info("no schedule to delete", extra={"jobId": job_id, "error": type(exc).__name__})


# ----------------------------------------------------------------------- dispatcher and runner Lambdas


def dispatch(job_id: str, scheduled_ms: float, *, now_ms: float | None = None) -> str:
    """Send a job on its way: the jobs queue (with a delay) or a one-time schedule. Idempotent."""
    from ontology.aws import client

    settings = get_settings()
    now = keys.now_ms() if now_ms is None else now_ms
    delay = max(0, math.ceil((scheduled_ms - now) / 1000))
    body = json.dumps({"jobId": job_id})
    if delay <= MAX_QUEUE_DELAY_SECONDS:
        client("sqs").send_message(QueueUrl=settings.jobs_queue_url, MessageBody=body, DelaySeconds=delay)
        return "queue"
    at = datetime.fromtimestamp(scheduled_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    scheduler = client("scheduler")
    # A ConflictException is the same stream record delivered again: the schedule is already there.
    with contextlib.suppress(scheduler.exceptions.ConflictException):
        scheduler.create_schedule(
            Name=schedule_name(job_id),
            GroupName=settings.schedule_group,
            ScheduleExpression=f"at({at})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={"Arn": settings.jobs_queue_arn, "RoleArn": settings.scheduler_role_arn, "Input": body},
        )
    return "schedule"


def dispatch_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """DynamoDB Streams → jobs: for each new ``scheduledFunctions`` document, dispatch it. Lambda
    retries from the first record that failed (dispatching is idempotent, so those after it that
    succeeded may go again), or bisects the batch when that is its first (ontology.runtime.streams)."""
    from ontology.runtime.streams import batch_response

    records = list(event.get("Records", []))
    failed: int | None = None
    for position, record in enumerate(records):
        try:
            if record.get("eventName") != "INSERT":
                continue
            image = record["dynamodb"]["NewImage"]
            if image.get("tb", {}).get("S") != TABLE:
                continue
            doc = json.loads(image["doc"]["S"])
            if doc.get("state") != "pending":
                continue
            dispatch(image["pk"]["S"].rsplit("#", 1)[1], doc["scheduledTime"])
        except Exception:
            logger.exception("dispatch failed")
            failed = position if failed is None else failed
    return batch_response(records, failed)


def runner_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Jobs queue → the job's own Lambda (so each job runs with its own function's permissions),
    invoked asynchronously; a job whose invocation could not be queued returns to the queue."""
    from ontology.aws import client

    failures = []
    for record in event.get("Records", []):
        try:
            job_id = json.loads(record["body"])["jobId"]
            job = DatabaseReader(None, platform=True).get(job_id, TABLE)
            if job is None or job["state"] != "pending":
                continue
            # Asynchronously: the runner never waits for a job (ten slow ones would not fit its own
            # timeout); each runs within its function's timeout, and one Lambda retries after a
            # crash finds the job no longer pending (a job runs once).
            client("lambda").invoke(
                FunctionName=function_name(job["name"], get_settings().function_prefix),
                InvocationType="Event",
                Payload=json.dumps({"_scheduledJob": job_id}).encode(),
            )
        except Exception:
            logger.exception("job delivery failed; the queue will retry it")
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}
