"""The scheduler's jobs as the caller's organization sees them (Convex's ``_scheduled_functions``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictStr

from ontology.data.fields import IdOf, Timestamp
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import FIRST_PAGE
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Page, PaginationOpts, Result, SuccessResult

JobState = Literal["pending", "inProgress", "success", "failed", "canceled"]


class JobStateOut(Result):
    kind: JobState
    #: why it failed (``failed`` only)
    error: str | None = None


class ScheduledFunction(Result):
    id_: Annotated[str, AfterValidator(IdOf("scheduledFunctions"))] = Field(alias="_id")
    creationTime: float = Field(alias="_creationTime")
    name: str
    args: dict[str, Any]
    scheduledTime: Timestamp
    completedTime: Timestamp | None = None
    state: JobStateOut


def _public(job: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = {"kind": job["state"]}
    if job.get("error"):
        state["error"] = job["error"]
    out = {
        "_id": job["_id"],
        "_creationTime": job["_creationTime"],
        "name": job["name"],
        "args": job["args"],
        "scheduledTime": job["scheduledTime"],
        "state": state,
    }
    if job.get("completedTime") is not None:
        out["completedTime"] = job["completedTime"]
    return out


class ListArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"state": "pending", "paginationOpts": FIRST_PAGE}]}
    )

    state: JobState | None = None
    paginationOpts: PaginationOpts


@query(args=ListArgs, returns=Page[ScheduledFunction], auth="org_user", name="list")
def list_jobs(ctx: QueryCtx, args: ListArgs) -> dict[str, Any]:
    """The organization's scheduled functions, latest first: name, args, scheduledTime, state
    (pending → inProgress → success | failed | canceled), completedTime, error."""
    from ontology.data.db import DatabaseReader

    org = ctx.auth.require_identity().organizationId
    jobs = (
        DatabaseReader(None, platform=True)
        .query("scheduledFunctions")
        .with_index("by_organization", lambda q: q.eq("organizationId", org))
    )
    if args.state:
        state = args.state
        jobs = jobs.filter(lambda f: f.eq(f.field("state"), state))
    page = jobs.order("desc").paginate(args.paginationOpts.model_dump())
    return {**page, "page": [_public(j) for j in page["page"]]}


class CancelArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"jobId": "job_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}]})

    jobId: Annotated[StrictStr, Field(pattern=r"^job_[0-9A-HJKMNP-TV-Z]{26}$")]


@mutation(args=CancelArgs, returns=SuccessResult, auth="org_user", uses=("scheduler",))
def cancel(ctx: MutationCtx, args: CancelArgs) -> dict[str, bool]:
    """Cancel a pending scheduled function of the organization (a running or finished one stays)."""
    ctx.scheduler.cancel(args.jobId)
    return {"success": True}
