"""A scheduled job's delivery: ``{"_scheduledJob": <job id>}``, as the scheduler's runner invokes the
job's own function (:mod:`ontology.runtime.scheduler`). The job runs once
(:func:`ontology.runtime.jobs.run_job`); the answer is ``{"jobId", "state"}``, its final state or
``skipped`` when it was no longer pending. A job that ran logs the call's summary line (source
``job``, on behalf of whoever scheduled it, with its DynamoDB units), as a call over HTTP does.

Example::

    ScheduledJobResolver().parse({"_scheduledJob": "job_…"}).job_id   # "job_…"
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ontology.runtime.observability import log_call
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers.base import EventResolver

__all__ = ["ScheduledJobEvent", "ScheduledJobResolver"]


class ScheduledJobEvent:
    """A job to run, by its id (the job's document names the function and holds its arguments)."""

    __slots__ = ("raw_event",)

    def __init__(self, raw_event: Mapping[str, Any]) -> None:
        self.raw_event = raw_event

    @property
    def job_id(self) -> str:
        return str(self.raw_event["_scheduledJob"])


class ScheduledJobResolver(EventResolver[ScheduledJobEvent]):
    """The delivery of a scheduled job (an event with ``_scheduledJob``)."""

    source = "job"

    def _parse(self, event: Mapping[str, Any]) -> ScheduledJobEvent | None:
        return ScheduledJobEvent(event) if "_scheduledJob" in event else None

    def _answer(self, fn: RegisteredFunction, event: ScheduledJobEvent, context: Any) -> dict[str, Any]:
        from ontology.data.dynamodb import consumed
        from ontology.runtime.jobs import run_job  # only a job's delivery needs it

        started = time.perf_counter()
        with consumed() as units:
            run = run_job(event.job_id)
        if run.function is not None:
            log_call(
                run.function,
                source=self.source,
                request_id=getattr(context, "aws_request_id", None),
                identity=run.identity,
                http_status=run.status,
                code=run.code,
                started=started,
                units=units,
                organization=run.organization,
            )
        return {"jobId": event.raw_event["_scheduledJob"], "state": run.state}
