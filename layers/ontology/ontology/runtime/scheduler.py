"""``ctx.scheduler``: run a function later, from a mutation or an action (Convex's ``runAfter``).

From a mutation, a job is an *outbox* document (``scheduledFunctions``, Convex's
``_scheduled_functions``) written in the mutation's own transaction: it exists — and so runs — if and
only if the mutation commits. Then:

1. the table's stream invokes the **dispatcher** (:func:`dispatch_handler`, filtered to new jobs),
   which sends the job to the jobs queue with ``DelaySeconds`` when it is due within 15 minutes, or
   creates a one-time EventBridge Scheduler ``at()`` schedule that sends it there later;
2. the queue invokes the **runner** (:func:`runner_handler`), which invokes the job's own Lambda
   (so it runs with that function's permissions) with ``{"_scheduledJob": <id>}``;
3. the function executes the job (:func:`execute_job`): a mutation runs in one transaction with the
   job's ``pending → success`` update, conditioned on the job's version — so however often the event
   is delivered, it runs exactly once; an action is first claimed (``pending → inProgress``), so it
   runs at most once. A function's error marks the job ``failed`` with the error's message.

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
from typing import TYPE_CHECKING, Any

from ontology.auth.identity import Identity
from ontology.data import keys
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.keys import now_ms
from ontology.data.transaction import run_mutation
from ontology.errors import NotFoundError, OneError, ValidationError
from ontology.runtime.registry import RegisteredFunction, resolve
from ontology.settings import get_settings

if TYPE_CHECKING:
    from ontology.runtime.context import MutationCtx

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_QUEUE_DELAY_SECONDS",
    "Scheduler",
    "dispatch_handler",
    "execute_job",
    "runner_handler",
]

MAX_QUEUE_DELAY_SECONDS = 900
TABLE = "scheduledFunctions"


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
        doc: dict[str, Any] = {
            "name": target.spec.path,
            "args": payload,
            "scheduledTime": int(when),
            "state": "pending",
            "kind": target.spec.kind,
            "createdAt": now_ms(),
        }
        if self._identity is not None:
            doc["organizationId"] = self._identity.organizationId
            doc["auth"] = self._identity.to_context()
        if self._writer is not None:
            return self._writer.insert(TABLE, doc)
        return run_mutation(lambda db: db.insert(TABLE, doc), org=None, platform=True)

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


# --------------------------------------------------------------------------------------- execution


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, OneError):
        return f"{exc.code}: {exc.message}"[:2000]
    return "INTERNAL: the function failed"


def _finish(job_id: str, state: str, *, expect: str, error: str | None = None) -> bool:
    def body(db: DatabaseWriter) -> bool:
        job = db.get(job_id, TABLE)
        if job is None or job["state"] != expect:
            return False
        fields: dict[str, Any] = {"state": state, "completedTime": now_ms()}
        if error:
            fields["error"] = error
        db.patch(job_id, fields, TABLE)
        return True

    return run_mutation(body, org=None, platform=True)


def execute_job(job_id: str) -> str:
    """Run a scheduled job; returns its final state, or ``skipped`` when it was not pending."""
    from ontology.runtime.context import MutationCtx, _execute, invoke, run_after_commit

    job = DatabaseReader(None, platform=True).get(job_id, TABLE, field="jobId")
    if job is None or job["state"] != "pending":
        return "skipped"
    fn = resolve(job["name"])
    identity = Identity.from_context(job.get("auth"))
    org = job.get("organizationId")
    if fn.spec.kind == "mutation":
        holder: dict[str, MutationCtx] = {}

        def body(db: DatabaseWriter) -> bool:
            current = db.get(job_id, TABLE)  # read: the commit is conditioned on this version
            if current is None or current["state"] != "pending":
                return False
            view = db.view(org=org, platform=fn.spec.platform)
            ctx = MutationCtx(identity, view)
            holder["ctx"] = ctx
            _execute(fn, job["args"], identity, ctx)
            db.patch(job_id, {"state": "success", "completedTime": now_ms()}, TABLE)
            return True

        try:
            ran = run_mutation(body, org=org, platform=True)
        except Exception as exc:
            logger.warning("scheduled mutation failed", extra={"jobId": job_id, "function": fn.spec.path})
            return (
                "failed" if _finish(job_id, "failed", expect="pending", error=_error_text(exc)) else "skipped"
            )
        if not ran:
            return "skipped"
        run_after_commit(holder["ctx"], fn.spec.path)
        return "success"
    if not _finish(job_id, "inProgress", expect="pending"):
        return "skipped"
    try:
        invoke(fn, job["args"], identity)
    except Exception as exc:
        logger.warning("scheduled action failed", extra={"jobId": job_id, "function": fn.spec.path})
        _finish(job_id, "failed", expect="inProgress", error=_error_text(exc))
        return "failed"
    _finish(job_id, "success", expect="inProgress")
    return "success"


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
    """DynamoDB Streams → jobs: for each new ``scheduledFunctions`` document, dispatch it."""
    failures = []
    for record in event.get("Records", []):
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
            failures.append({"itemIdentifier": record.get("dynamodb", {}).get("SequenceNumber", "")})
    return {"batchItemFailures": failures}


def function_name(spec_path: str) -> str:
    """The deployed name of a function (the template names them ``<stack>-<module>-<name>``)."""
    module, name = spec_path.split(":")
    return f"{get_settings().function_prefix}{module}-{name}".replace("_", "-")


def runner_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Jobs queue → the job's own Lambda (so each job runs with its own function's permissions)."""
    from ontology.aws import client

    failures = []
    for record in event.get("Records", []):
        try:
            job_id = json.loads(record["body"])["jobId"]
            job = DatabaseReader(None, platform=True).get(job_id, TABLE)
            if job is None or job["state"] != "pending":
                continue
            resp = client("lambda").invoke(
                FunctionName=function_name(job["name"]),
                Payload=json.dumps({"_scheduledJob": job_id}).encode(),
            )
            if resp.get("FunctionError"):
                raise RuntimeError(f"{job['name']} crashed: {resp['Payload'].read()[:500]!r}")
        except Exception:
            logger.exception("job delivery failed; the queue will retry it")
            failures.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failures}
