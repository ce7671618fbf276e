"""A scheduled job's delivery: ``{"_scheduledJob": <job id>}``, as the scheduler's runner invokes the
job's own function (:mod:`ontology.runtime.scheduler`). The job runs once
(:func:`ontology.runtime.jobs.execute_job`); the answer is ``{"jobId", "state"}``, its final state or
``skipped`` when it was no longer pending.

Example::

    ScheduledJobResolver().parse({"_scheduledJob": "job_…"}).job_id   # "job_…"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        from ontology.runtime.jobs import execute_job  # only a job's delivery needs it

        return {"jobId": event.raw_event["_scheduledJob"], "state": execute_job(event.job_id)}
