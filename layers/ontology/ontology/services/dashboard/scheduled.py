"""The Schedules page's scheduled functions: the organization's ``scheduledFunctions`` (the
scheduler's outbox), latest first by the time they are due, a page at a time, in one state or any;
read through the table's ``by_organization`` index, never a Scan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ontology.errors import ValidationError

__all__ = ["PAGE_SIZE", "STATES", "job_row", "jobs_of", "scheduled"]

#: Scheduled functions per page.
PAGE_SIZE = 25
#: The states of a scheduled function (Convex's ``_scheduled_functions``).
STATES = ("pending", "inProgress", "success", "failed", "canceled")


def job_row(job: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": job["_id"],
        "name": job["name"],
        "args": job.get("args") or {},
        "state": job["state"],
        "error": job.get("error"),
        "createdTime": job["_creationTime"],
        "scheduledTime": job["scheduledTime"],
        "completedTime": job.get("completedTime"),
    }


def jobs_of(organization: str, state: str | None) -> Any:
    """The organization's scheduled functions (in ``state``, or any), latest first: a query."""
    from ontology.data.db import DatabaseReader

    jobs = (
        DatabaseReader(None, platform=True)
        .query("scheduledFunctions")
        .with_index("by_organization", lambda q: q.eq("organizationId", organization))
    )
    if state is not None:
        jobs = jobs.filter(lambda f: f.eq(f.field("state"), state))
    return jobs.order("desc")


def scheduled(organization: str, state: str | None, cursor: str | None) -> dict[str, Any]:
    """One page of the organization's scheduled functions (``cursor``: where the last page ended);
    VALIDATION_ERROR for an unknown state or a bad cursor."""
    if state is not None and state not in STATES:
        raise ValidationError(f"state is one of {', '.join(STATES)}", field="state")
    try:
        page: dict[str, Any] = jobs_of(organization, state).paginate(
            {"numItems": PAGE_SIZE, "cursor": cursor}
        )
    except ValidationError:
        raise ValidationError("cursor is the continueCursor of a page", field="cursor") from None
    return {**page, "page": [job_row(j) for j in page["page"]]}
