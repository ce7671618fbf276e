"""Crons over every organization, in bounded pieces: no invocation has to visit them all.

A cron that works per organization is a **driver**: its run (EventBridge's event, or ``one cron
run``) reads one page of organizations — a Query of the platform partition, never a Scan — and
schedules one **worker** job per organization (or per group of them) through the platform's own
scheduler (``scheduledFunctions``), then the next page as a job of ``fanout:page``, a mutation: each
page runs exactly once, however often it is delivered. The page's jobs and the next page are written
in one transaction with a record per group in ``cronRuns`` (``<cron>#fanout``, the run's window, the
group's first organization), so a driver delivered again — AWS delivers at least once — finds them
recorded and schedules nothing more.

A worker does its organization's work a page at a time; when its invocation's budget is spent it
schedules itself again from where it stopped (:func:`continue_later`, recorded the same way) and
returns. Before it starts, it schedules its own next attempt a little later (:func:`work`), which it
cancels once done: an error (its job marked ``failed`` with it) or an invocation that died leaves
that attempt to run, up to :data:`RETRIES` times, as Lambda retries a failed asynchronous
invocation. What the work itself does is
recorded per item as before (:mod:`ontology.services.cron_runs`), so a piece done twice changes
nothing more.

Example::

    @action(args=CronArgs, internal=True, platform=True)
    def generate_daily_content(ctx, args):
        return fanout.drive(ctx, JOB, args, "content:generate_for_organization")
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from ontology import deadline
from ontology.data.db import DatabaseWriter
from ontology.data.fields import OrganizationId
from ontology.errors import ValidationError
from ontology.runtime.registry import Args
from ontology.services.cron_runs import CronArgs, done, mark_done, run_time, window_for

__all__ = [
    "ORGANIZATIONS_PER_PAGE",
    "RETRIES",
    "Budget",
    "PageArgs",
    "WorkerArgs",
    "continue_later",
    "drive",
    "fan_out_page",
    "retry_later",
    "schedule_once",
    "work",
]

#: Organizations one page reads; each scheduled job writes about four items of its transaction.
ORGANIZATIONS_PER_PAGE = 20
#: Organizations one worker job may be given (a group: its first organization names it).
MAX_GROUP = 25
#: How often a worker that failed is scheduled again (Lambda retries a failed event twice).
RETRIES = 2
#: Seconds before a worker's next attempt, per attempt: past its Lambda's timeout (60), so the next
#: attempt never overlaps the one it stands in for.
RETRY_DELAY_SECONDS = 120
#: Seconds a worker works before it continues in a job of its own (its Lambda has 60).
WORK_SECONDS = 30.0
#: Seconds of its invocation a worker never works into.
RESERVE_SECONDS = 20.0
#: The function that runs each page after the first.
PAGE_FUNCTION = "fanout:page"

FunctionPath = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$", max_length=128)]
Window = Annotated[StrictStr, Field(max_length=64)]
Cursor = Annotated[StrictStr, Field(max_length=4096)]


class PageArgs(Args):
    """One page of a cron's organizations: a job of ``worker`` per group of ``group`` of them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cron": "analytics:generate_weekly_report",
                    "worker": "analytics:report_organization",
                    "window": "2026-11-23T09:00:00Z",
                    "time": "2026-11-23T09:00:00Z",
                    "cursor": None,
                    "group": 1,
                }
            ]
        }
    )

    cron: FunctionPath
    worker: FunctionPath
    window: Window
    time: Annotated[StrictStr, Field(max_length=40)]
    cursor: Cursor | None = None
    group: Annotated[StrictInt, Field(ge=1, le=MAX_GROUP)] = 1


class WorkerArgs(Args):
    """A worker job: its organizations, the run it is part of, and where its work resumes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organizationIds": ["org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"],
                    "window": "2026-11-23T09:00:00Z",
                    "time": "2026-11-23T09:00:00Z",
                }
            ]
        }
    )

    organizationIds: Annotated[list[OrganizationId], Field(min_length=1, max_length=MAX_GROUP)]
    window: Window
    time: Annotated[StrictStr, Field(max_length=40)]
    #: where the work resumes (a continuation of a worker whose budget was spent)
    cursor: Cursor | None = None
    #: what the pieces before this one carried over (a partial aggregate)
    carry: dict[str, Any] | None = None
    #: which attempt this is (a failed job is scheduled again)
    attempt: Annotated[StrictInt, Field(ge=0, le=RETRIES)] = 0
    #: which piece of the organization's work this is (0: the first)
    part: Annotated[StrictInt, Field(ge=0)] = 0


def _fanout_job(cron: str) -> str:
    return f"{cron}#fanout"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fan_out_page(ctx: Any, args: PageArgs) -> dict[str, Any]:
    """In a mutation: one page of organizations, a job per group not yet scheduled for this window,
    and the next page, in the mutation's transaction. What was already scheduled is skipped."""
    from ontology.runtime.registry import resolve

    worker = resolve(args.worker)
    if not (worker.spec.internal and worker.spec.platform and worker.spec.kind in ("mutation", "action")):
        raise ValidationError(f"{args.worker} is no platform job", field="worker")
    db: DatabaseWriter = ctx.db
    job = _fanout_job(args.cron)
    page = db.query("organizations").paginate({"numItems": ORGANIZATIONS_PER_PAGE, "cursor": args.cursor})
    orgs = [str(o["_id"]) for o in page["page"]]
    scheduled = 0
    for start in range(0, len(orgs), args.group):
        group = orgs[start : start + args.group]
        if done(db, job, args.window, group[0]):
            continue
        job_id = ctx.scheduler.run_after(
            0, args.worker, {"organizationIds": group, "window": args.window, "time": args.time}
        )
        mark_done(db, job, args.window, group[0], {"jobId": job_id, "organizations": len(group)})
        scheduled += 1
    more = not page["isDone"]
    if more:
        cursor = str(page["continueCursor"])
        item = f"page:{_digest(cursor)}"
        if not done(db, job, args.window, item):
            job_id = ctx.scheduler.run_after(0, PAGE_FUNCTION, {**args.model_dump(), "cursor": cursor})
            mark_done(db, job, args.window, item, {"jobId": job_id})
    return {"organizations": len(orgs), "scheduled": scheduled, "more": more}


def drive(ctx: Any, cron: str, args: CronArgs, worker: str, *, group: int = 1) -> dict[str, Any]:
    """A cron's run: its window, and the first page of its organizations fanned out (the rest follow
    as jobs). ``ctx`` is the cron's action context."""
    when = run_time(args)
    window = window_for(cron, when)
    page = {
        "cron": cron,
        "worker": worker,
        "window": window,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cursor": None,
        "group": group,
    }
    return {"window": window, **ctx.run_mutation(PAGE_FUNCTION, page)}


class Budget:
    """How long a worker keeps going before it continues in a job of its own: :data:`WORK_SECONDS`
    from now, and never closer than :data:`RESERVE_SECONDS` to the invocation's end."""

    def __init__(self) -> None:
        self._until = time.monotonic() + WORK_SECONDS
        self._reserve = RESERVE_SECONDS

    def spent(self) -> bool:
        left = deadline.remaining()
        return time.monotonic() >= self._until or (left is not None and left < self._reserve)


def schedule_once(
    cron: str, window: str, item: str, fn: str, args: dict[str, Any], *, delay: float = 0
) -> str | None:
    """Schedule ``fn(args)`` unless this window's ``item`` of ``cron`` was already scheduled, in one
    transaction with its record; the job's id, or None."""
    from ontology.data.transaction import run_mutation
    from ontology.runtime.scheduler import Scheduler

    job = _fanout_job(cron)

    def body(db: DatabaseWriter) -> str | None:
        if done(db, job, window, item):
            return None
        job_id = Scheduler(None, writer=db).run_after(delay, fn, args)
        mark_done(db, job, window, item, {"jobId": job_id})
        return job_id

    return run_mutation(body, org=None, platform=True)


def continue_later(
    cron: str, worker: str, args: WorkerArgs, cursor: str | None, carry: dict[str, Any] | None = None
) -> str | None:
    """Schedule the next piece of a worker's organization, from ``cursor`` (once per piece)."""
    following = {
        **args.model_dump(exclude_none=True),
        "cursor": cursor,
        "part": args.part + 1,
        "attempt": 0,
    }
    if carry is not None:
        following["carry"] = carry
    item = f"{args.organizationIds[0]}:part:{args.part + 1}"
    return schedule_once(cron, args.window, item, worker, following, delay=0)


def retry_later(cron: str, worker: str, args: WorkerArgs) -> str | None:
    """Schedule a failed worker's piece again (once per attempt), or None when its retries are spent."""
    if args.attempt >= RETRIES:
        return None
    again = {**args.model_dump(exclude_none=True), "attempt": args.attempt + 1}
    item = f"{args.organizationIds[0]}:part:{args.part}:attempt:{args.attempt + 1}"
    return schedule_once(
        cron, args.window, item, worker, again, delay=RETRY_DELAY_SECONDS * (args.attempt + 1)
    )


def work(cron: str, worker: str, args: WorkerArgs, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a worker's piece with its next attempt scheduled first, as a watchdog: cancelled once the
    piece is done; left to run when it raised (its job is marked failed with the error) or when its
    invocation died (a timeout: the job stays ``inProgress``, and Lambda's own retry skips it)."""
    from ontology.runtime.scheduler import Scheduler

    watchdog = retry_later(cron, worker, args)
    result = body()
    if watchdog is not None:
        Scheduler(None).cancel(watchdog)
    return result
