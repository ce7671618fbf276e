"""Running a scheduled job, exactly once for a mutation and at most once for an action.

A mutation runs in one transaction with the job's ``pending → success`` update, conditioned on the
job's version, so however often the event is delivered it runs once; an action is first claimed
(``pending → inProgress``). A function's error marks the job ``failed`` with the error's message.
The job documents themselves are written by :mod:`ontology.data.outbox` (through
:class:`ontology.runtime.scheduler.Scheduler`).

Example::

    execute_job(job_id)  # "success", "failed" or "skipped"
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ontology.auth.identity import Identity
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.keys import now_ms
from ontology.data.outbox import TABLE
from ontology.data.transaction import run_mutation
from ontology.errors import OneError, status_and_code
from ontology.runtime.context import MutationCtx, _execute, invoke, run_after_commit
from ontology.runtime.registry import resolve

__all__ = ["JobRun", "due_jobs", "execute_job", "pending_jobs", "run_due", "run_job", "run_pending"]

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class JobRun:
    """What running a job did: its final state (``skipped`` when it was no longer pending), and for a
    job that ran, its function, on whose behalf it ran, and the HTTP status and code of the error it
    failed with (as a call over HTTP would have been answered)."""

    state: str
    function: str | None = None
    identity: Identity | None = None
    organization: str | None = None
    status: int = 200
    code: str | None = None


def execute_job(job_id: str) -> str:
    """Run a scheduled job; returns its final state, or ``skipped`` when it was not pending."""
    return run_job(job_id).state


def run_job(job_id: str) -> JobRun:
    """Run a scheduled job: what it did (:class:`JobRun`)."""
    job = DatabaseReader(None, platform=True).get(job_id, TABLE, field="jobId")
    if job is None or job["state"] != "pending":
        return JobRun("skipped")
    fn = resolve(job["name"])
    identity = Identity.from_context(job.get("auth"))
    org = job.get("organizationId")

    def ran(state: str, exc: BaseException | None = None) -> JobRun:
        if exc is None:
            return JobRun(state, fn.spec.path, identity, org)
        return JobRun(state, fn.spec.path, identity, org, *status_and_code(exc))

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
            committed = run_mutation(body, org=org, platform=True)
        except Exception as exc:
            logger.warning("scheduled mutation failed", extra={"jobId": job_id, "function": fn.spec.path})
            if _finish(job_id, "failed", expect="pending", error=_error_text(exc)):
                return ran("failed", exc)
            return JobRun("skipped")
        if not committed:
            return JobRun("skipped")
        run_after_commit(holder["ctx"], fn.spec.path)
        return ran("success")
    if not _finish(job_id, "inProgress", expect="pending"):
        return JobRun("skipped")
    try:
        invoke(fn, job["args"], identity)
    except Exception as exc:
        logger.warning("scheduled action failed", extra={"jobId": job_id, "function": fn.spec.path})
        _finish(job_id, "failed", expect="inProgress", error=_error_text(exc))
        return ran("failed", exc)
    _finish(job_id, "success", expect="inProgress")
    return ran("success")


def _pending() -> list[dict[str, Any]]:
    return list(
        DatabaseReader(None, platform=True)
        .query(TABLE)
        .with_index("by_state", lambda q: q.eq("state", "pending"))
        .collect()
    )


def pending_jobs() -> list[str]:
    """The ids of every pending job (tools and in-process tests, which have no stream)."""
    return [job["_id"] for job in _pending()]


def due_jobs() -> list[dict[str, Any]]:
    """The pending jobs whose time has come (their documents), in the order they were scheduled."""
    now = now_ms()
    return [job for job in _pending() if job["scheduledTime"] <= now]


def run_pending() -> dict[str, str]:
    """Run every pending job now, whatever its time (tools and in-process tests, which have no queue
    and no stream): job id → its final state."""
    return {job_id: execute_job(job_id) for job_id in pending_jobs()}


def run_due(after: Callable[[dict[str, Any]], None] | None = None) -> dict[str, str]:
    """Run the jobs that are due, then those they schedule that are due, until none is: what the
    scheduler delivers now, leaving the future (a watchdog) pending; ``after(job)`` is called after
    each. Job id → its final state."""
    states: dict[str, str] = {}
    while due := due_jobs():
        for job in due:
            states[job["_id"]] = execute_job(job["_id"])
            if after is not None:
                after(job)
    return states
