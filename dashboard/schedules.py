"""The dashboard's Schedules page: the organization's scheduled functions (``scheduledFunctions``,
the scheduler's outbox) and the platform's crons.

- ``GET  /dashboard/api/scheduled?organization=&state=&cursor=``: the organization's scheduled
  functions, latest first (by the time they are due), a page at a time, in one state or any; read
  through the table's ``by_organization`` index, never a Scan;
- ``POST /dashboard/api/scheduled/cancel`` ``{id}`` or ``{all: true}``: cancel a pending job, or every
  pending job of the organization (:data:`CANCEL_BATCH` per call, ``more`` says whether any is left),
  by ``scheduler:cancel`` in its own Lambda, as the caller: the same cancellation as
  ``ctx.scheduler.cancel``. Cancelling a canceled job again changes nothing; a job that is running or
  ended is refused (409 ``CONFLICT``), one of another organization is not found (404);
- ``GET  /dashboard/api/crons?organization=``: every cron of the template, its schedule, its next run
  and its last runs (the windows ``cronRuns`` recorded) with the states of the jobs each scheduled
  (an organization's owner sees their organization's jobs only);
- ``POST /dashboard/api/crons/run`` ``{name}``: run a cron now, as ``one cron run`` does (its Lambda,
  with EventBridge's scheduled event). A cron's run works for every organization, so only the
  platform's owners may: an organization's owner is refused (403 ``FORBIDDEN``, ``reason:
  PLATFORM_OWNERS_ONLY``).

The crons come from the template (``ONE_CRONS``, the dashboard's environment): the dashboard's package
holds no function's code.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ontology.auth.identity import Identity, has_role
from ontology.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    OneError,
    UpstreamError,
    ValidationError,
)
from ontology.services.dashboard import crons as dashboard_crons
from ontology.services.dashboard import job_row, jobs_of, scheduled

if TYPE_CHECKING:
    from dashboard.app import Request
    from ontology.runtime.crons import CronJob

__all__ = ["api_cancel", "api_cron_run", "api_crons", "api_scheduled", "call_as", "page_of"]

#: Pending jobs one ``{all: true}`` cancels (each in ``scheduler:cancel``'s Lambda).
CANCEL_BATCH = 25
_JOB_ID = re.compile(r"^job_[0-9A-HJKMNP-TV-Z]{26}$")
_ERRORS: dict[str, type[OneError]] = {
    "VALIDATION_ERROR": ValidationError,
    "NOT_FOUND": NotFoundError,
    "FORBIDDEN": ForbiddenError,
    "CONFLICT": ConflictError,
}


# ---------------------------------------------------------------- shared with the Files page


def acting(identity: Identity, organization: str) -> Identity:
    """Who a function runs as for the caller: the caller in their own organization; a platform owner
    looking at another organization, as a platform owner of that one."""
    if identity.organizationId == organization:
        return identity
    return Identity(
        userId=identity.userId, organizationId=organization, role="platform_owner", email=identity.email
    )


def call_as(identity: Identity, organization: str, path: str, args: dict[str, Any], request: Request) -> Any:
    """A public function's value, run in its own Lambda as the caller (:func:`acting`); its typed
    error raised again as the same error."""
    from dashboard.app import _invoke

    auth = acting(identity, organization).to_context()
    answer = _invoke(path, {"_sync": {"args": args, "auth": auth, "requestId": request.request_id}})
    if answer.get("status") == "success":
        return answer.get("value")
    data = dict(answer.get("errorData") or {})
    code = str(data.pop("code", ""))
    data.pop("requestId", None)
    error = _ERRORS.get(code, UpstreamError)
    raise error(str(answer.get("errorMessage") or f"{path} failed"), **data)


def page_of(request: Request, read: Any, size: int) -> dict[str, Any]:
    """One page of a query (``cursor``: where the last one ended), VALIDATION_ERROR for a bad cursor."""
    cursor = request.param("cursor")
    try:
        page: dict[str, Any] = read.paginate({"numItems": size, "cursor": cursor})
    except ValidationError:
        raise ValidationError("cursor is the continueCursor of a page", field="cursor") from None
    return page


# ---------------------------------------------------------------- scheduled functions


def api_scheduled(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    _, organization = _caller(request)
    return scheduled(organization, request.param("state"), request.param("cursor"))


def _cancel_one(identity: Identity, organization: str, job_id: str, request: Request) -> dict[str, Any]:
    from ontology.data.db import DatabaseReader

    platform = DatabaseReader(None, platform=True)
    job = platform.get(job_id, "scheduledFunctions")
    if job is None or job.get("organizationId") != organization:
        raise NotFoundError("No such scheduled function in the organization", field="id")
    if job["state"] == "canceled":
        return job_row(job)
    if job["state"] != "pending":
        raise ConflictError(
            f"Only a pending job can be canceled; this one is {job['state']}", field="id", state=job["state"]
        )
    call_as(identity, organization, "scheduler:cancel", {"jobId": job_id}, request)
    after = platform.get(job_id, "scheduledFunctions")
    return job_row(after or job)


def api_cancel(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    identity, organization = _caller(request)
    every = request.body.get("all")
    if every is not None and not isinstance(every, bool):
        raise ValidationError("all is true or false", field="all")
    if every:
        pending = jobs_of(organization, "pending").take(CANCEL_BATCH)
        for job in pending:
            call_as(identity, organization, "scheduler:cancel", {"jobId": job["_id"]}, request)
        return {"canceled": len(pending), "more": len(pending) == CANCEL_BATCH}
    job_id = request.param("id")
    if job_id is None or not _JOB_ID.match(job_id):
        raise ValidationError("id is a scheduled function's id (job_…), or send all: true", field="id")
    return {"job": _cancel_one(identity, organization, job_id, request)}


# ---------------------------------------------------------------- crons


def crons() -> list[CronJob]:
    """The template's crons (``ONE_CRONS``: name, function, schedule, unix, rateSeconds)."""
    from ontology.runtime.crons import CronJob

    try:
        listed = json.loads(os.environ.get("ONE_CRONS") or "[]")
    except ValueError:
        listed = []
    return [
        CronJob(c["name"], c["function"], c["schedule"], c.get("unix"), c.get("rateSeconds"))
        for c in listed
        if isinstance(c, dict)
    ]


def api_crons(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    identity, organization = _caller(request)
    return dashboard_crons(crons(), identity, organization)


def api_cron_run(request: Request) -> dict[str, Any]:
    """Run a cron now: its function's Lambda, invoked as EventBridge invokes it (asynchronously, with
    the scheduled event it sends; the run is for the window the time falls in, so a window already
    done changes nothing more). The answer says it started; its run shows in ``GET crons``."""
    import uuid

    from dashboard.app import _caller
    from ontology.aws import client
    from ontology.runtime.registry import function_name
    from ontology.settings import get_settings

    identity, _ = _caller(request)
    if not has_role(identity, "platform_owner"):
        raise ForbiddenError(
            "A cron's run works for every organization: the platform's owners run it",
            reason="PLATFORM_OWNERS_ONLY",
        )
    name = request.param("name")
    job = next((j for j in crons() if j.name == name), None)
    if job is None:
        raise NotFoundError(f"No cron named {name!r}", field="name")
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": when,
        "detail": {},
    }
    try:  # as EventBridge invokes it: asynchronously (its retries and dead-letter queue apply)
        resp = client("lambda").invoke(
            FunctionName=function_name(job.function, get_settings().function_prefix),
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )
    except Exception as exc:
        raise UpstreamError(f"The cron {name!r} could not be run") from exc
    if int(resp.get("StatusCode", 0)) != 202:
        raise UpstreamError(f"The cron {name!r} could not be run")
    return {"name": job.name, "time": when, "status": "started"}
