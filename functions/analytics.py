"""Analytics jobs: every Monday, a report of each organization's week."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, StrictInt

from ontology.data.fields import JsonObject, NonNegative
from ontology.errors import ConflictError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.services import fanout
from ontology.services.cron_runs import CronArgs, done, mark_done
from ontology.services.fanout import WorkerArgs
from ontology.services.ontology_ops import log_event, now_ms

JOB = "analytics:generate_weekly_report"
WORKER = "analytics:report_organization"
PAGE = 500


class RangeArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"start": 1795003200000, "end": 1795608000000, "cursor": None}]}
    )

    start: NonNegative
    end: NonNegative
    cursor: str | None = None


@query(args=RangeArgs, internal=True, platform=True)
def events_page(ctx: QueryCtx, args: RangeArgs) -> dict[str, Any]:
    """One page of the organization's events with start ≤ timestamp < end."""
    return (
        ctx.db.query("events")
        .with_index("by_timestamp", lambda q: q.gte("timestamp", args.start).lt("timestamp", args.end))
        .paginate({"numItems": PAGE, "cursor": args.cursor})
    )


class SaveReportArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "window": "2026-11-23T09:00:00Z",
                    "start": 1795003200000,
                    "end": 1795608000000,
                    "eventCounts": {"creator_created": 2},
                    "newFollowers": 1,
                    "revenue": 1999,
                }
            ]
        }
    )

    window: str
    start: NonNegative
    end: NonNegative
    eventCounts: dict[str, StrictInt]
    newFollowers: StrictInt
    revenue: NonNegative
    extra: JsonObject | None = None


@mutation(args=SaveReportArgs, internal=True, platform=True)
def save_report(ctx: MutationCtx, args: SaveReportArgs) -> str | None:
    org = ctx.auth.require_identity().organizationId
    if done(ctx.db, JOB, args.window, org):
        return None
    now = now_ms()
    report_id = ctx.db.insert(
        "entities",
        {
            "type": "report",
            "name": f"Weekly report, week of {args.window[:10]}",
            "status": "published",
            "createdAt": now,
            "updatedAt": now,
            "properties": {
                "kind": "weekly",
                "window": args.window,
                "periodStart": args.start,
                "periodEnd": args.end,
                "eventCounts": args.eventCounts,
                "totalEvents": sum(args.eventCounts.values()),
                "newFollowers": args.newFollowers,
                "revenue": args.revenue,
            },
        },
    )
    log_event(
        ctx.db,
        "report_generated",
        actor_id=report_id,
        target_id=report_id,
        timestamp=now,
        metadata={"kind": "weekly", "window": args.window},
    )
    mark_done(ctx.db, JOB, args.window, org, {"reportId": report_id})
    return report_id


def _tally(events: list[dict[str, Any]], carry: dict[str, Any]) -> dict[str, Any]:
    """The week's counts so far (``carry``) with one more page of events."""
    counts = Counter(carry.get("eventCounts", {}))
    counts.update(e["type"] for e in events)
    revenue = carry.get("revenue", 0) + sum(
        e["metadata"].get("amount", 0)
        for e in events
        if e["type"] == "revenue_generated"
        and isinstance(e.get("metadata"), dict)
        and isinstance(e["metadata"].get("amount"), int | float)
    )
    # a follow is logged as it is made (connections:create): user_engaged, action "followed"
    followers = carry.get("newFollowers", 0) + sum(
        1
        for e in events
        if e["type"] == "user_engaged"
        and isinstance(e.get("metadata"), dict)
        and e["metadata"].get("action") == "followed"
    )
    return {"eventCounts": dict(counts), "newFollowers": followers, "revenue": revenue}


@action(args=CronArgs, internal=True, platform=True)
def generate_weekly_report(ctx: ActionCtx, args: CronArgs) -> dict[str, Any]:
    """Mondays: per organization, a ``report`` entity with the past week's event counts by type, new
    followers and revenue (the sum of ``revenue_generated`` amounts); logs ``report_generated``. One
    report per organization per week, however often the week runs. The run schedules one
    ``analytics:report_organization`` job per organization, a page of them at a time
    (``fanout:page``)."""
    return fanout.drive(ctx, JOB, args, WORKER)


@action(args=WorkerArgs, internal=True, platform=True)
def report_organization(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    """The weekly report of one organization: its week's events a page at a time (a piece whose
    budget is spent continues in a job of its own, with the counts so far), then the report, once
    per week."""
    return fanout.work(JOB, WORKER, args, lambda: _report(ctx, args))


def _report(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    from ontology.data.db import DatabaseReader

    window, (org,) = args.window, args.organizationIds
    if done(DatabaseReader(None, platform=True), JOB, window, org):
        return {"window": window, "created": 0, "skipped": 1}
    end_dt = datetime.fromisoformat(window.replace("Z", "+00:00"))
    end = int(end_dt.timestamp() * 1000)
    start = int((end_dt - timedelta(days=7)).timestamp() * 1000)
    org_ctx = ctx.for_organization(org)
    budget = fanout.Budget()
    tally, cursor = dict(args.carry or {}), args.cursor
    while True:
        page = org_ctx.run_query(events_page, {"start": start, "end": end, "cursor": cursor})
        tally = _tally(page["page"], tally)
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
        if budget.spent():
            fanout.continue_later(JOB, WORKER, args, cursor, carry=tally)
            return {"window": window, "created": 0, "skipped": 0, "continued": True}
    try:
        saved = org_ctx.run_mutation(
            save_report,
            {
                "window": window,
                "start": start,
                "end": end,
                "eventCounts": tally.get("eventCounts", {}),
                "newFollowers": tally.get("newFollowers", 0),
                "revenue": tally.get("revenue", 0),
            },
        )
    except ConflictError:
        saved = None
    return {"window": window, "created": 1 if saved else 0, "skipped": 0 if saved else 1}
