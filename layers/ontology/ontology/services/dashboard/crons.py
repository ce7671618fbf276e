"""The Schedules page's crons: each cron, its schedule, its next run and its last runs (the windows its
``cronRuns`` records name) with the states of the jobs each run scheduled. Read once for both of the
dashboard's doors: ``GET /dashboard/api/crons`` (the crons its ``ONE_CRONS`` names) and the system
query ``_system/dashboard:crons`` (the crons ``crons.py`` declares: the same list, read where the
functions' code is), which re-runs when a cron records a run or one of its jobs changes state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ontology.auth.identity import Identity, has_role
from ontology.services.dashboard.access import authorize

if TYPE_CHECKING:
    from ontology.runtime.crons import CronJob

__all__ = ["RUNS_SHOWN", "crons", "declared"]

#: The last runs shown per cron, and the ``cronRuns`` records read to find them.
RUNS_SHOWN = 5
RUN_RECORDS = 200
_JOB_ID = re.compile(r"^job_[0-9A-HJKMNP-TV-Z]{26}$")


def declared() -> list[CronJob]:
    """The crons ``crons.py`` declares (in a Lambda built from the functions' code)."""
    from ontology.runtime.crons import REGISTERED
    from ontology.runtime.registry import code_module

    code_module("crons")
    return list(REGISTERED.jobs.values())


def _outcome(states: Mapping[str, int], now_ms: float, due: list[float]) -> str:
    """A run's outcome from its jobs' states: running while one is under way or due, then failed
    when one failed, then success; ``none`` when it scheduled nothing (for the organization)."""
    if states.get("inProgress") or any(t <= now_ms for t in due):
        return "running"
    if states.get("failed"):
        return "failed"
    if states.get("success"):
        return "success"
    return "pending" if states.get("pending") else "none"


def _runs(job: CronJob, organization: str | None, now_ms: float) -> list[dict[str, Any]]:
    """The cron's last runs: the windows its ``cronRuns`` records name (``<function>#fanout``, a
    Query of ``by_job``), latest first, with how many of the jobs each scheduled are in each state
    (but the pages' jobs and the canceled retries: a worker schedules its next attempt before it
    works, and cancels it once done)."""
    from ontology.data.db import DatabaseReader

    platform = DatabaseReader(None, platform=True)
    records = (
        platform.query("cronRuns")
        .with_index("by_job", lambda q: q.eq("job", f"{job.function}#fanout"))
        .order("desc")
        .take(RUN_RECORDS)
    )
    windows: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        if record["window"] in windows or len(windows) < RUNS_SHOWN:
            windows.setdefault(record["window"], []).append(record)
    ids = [str((r.get("result") or {}).get("jobId")) for rs in windows.values() for r in rs]
    found = {
        j["_id"]: j
        for j in platform.get_many([i for i in ids if _JOB_ID.match(i)], "scheduledFunctions")
        if j
    }
    runs = []
    for window, rs in windows.items():
        states: dict[str, int] = {}
        due: list[float] = []
        for r in rs:
            work = found.get(str((r.get("result") or {}).get("jobId")))
            # a page's job is no work; a canceled one is a retry its worker did not need
            if work is None or work["name"] == "fanout:page" or work["state"] == "canceled":
                continue
            orgs = (work.get("args") or {}).get("organizationIds") or []
            if organization is not None and organization not in orgs:
                continue
            states[work["state"]] = states.get(work["state"], 0) + 1
            if work["state"] == "pending":
                due.append(work["scheduledTime"])
        started = min(r["createdAt"] for r in rs)
        runs.append(
            {"window": window, "at": started, "jobs": states, "outcome": _outcome(states, now_ms, due)}
        )
    return runs


def crons(jobs: Iterable[CronJob], identity: Identity | None, organization: str | None) -> dict[str, Any]:
    """Every cron of ``jobs`` with its next run and last runs (a platform owner sees every
    organization's jobs, an organization's owner their own), and whether the caller may run one;
    refused as :func:`~ontology.services.dashboard.access.authorize` refuses."""
    from ontology.data.keys import now_ms

    organization = authorize(identity, organization)
    owner = identity is not None and has_role(identity, "platform_owner")
    mine = None if owner else organization
    now = datetime.now(UTC)
    return {
        "crons": [
            {
                "name": job.name,
                "function": job.function,
                "schedule": job.expression,
                "nextRun": int(job.next_fire(now).timestamp() * 1000),
                "runs": _runs(job, mine, now_ms()),
            }
            for job in jobs
        ],
        "mayRun": owner,
    }
