"""What crons share: the time window a run is for, and a record of what was done in each window, so
that running the same window twice — or three times at once — changes nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.keys import now_ms
from ontology.runtime.registry import Args

__all__ = ["CronArgs", "done", "mark_done", "run_time", "window_for"]


class CronArgs(Args):
    """A cron's arguments: the time it was fired for (EventBridge's ``time``; now when absent)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"time": "2026-11-25T17:00:00Z"}]})

    time: Annotated[StrictStr, Field(max_length=40)] | None = None


def run_time(args: CronArgs) -> datetime:
    if not args.time:
        return datetime.now(UTC)
    return datetime.fromisoformat(args.time.replace("Z", "+00:00")).astimezone(UTC)


def window_for(function_path: str, when: datetime) -> str:
    """The schedule slot of ``function_path``'s cron that ``when`` falls in (its crons.py entry)."""
    from ontology.runtime.registry import code_module

    code_module("crons")
    from ontology.runtime.crons import REGISTERED

    for job in REGISTERED.jobs.values():
        if job.function == function_path:
            return job.window_of(when)
    return when.strftime("%Y-%m-%d")


def done(db: DatabaseReader, job: str, window: str, item: str) -> Doc | None:
    """The record of ``item`` done by ``job`` in ``window`` (a consistent read of its guard)."""
    return db.lookup_unique("cronRuns", "run", {"job": job, "window": window, "item": item})


def mark_done(
    db: DatabaseWriter, job: str, window: str, item: str, result: dict[str, Any] | None = None
) -> str:
    """Record ``item`` as done in this transaction; CONFLICT if another run recorded it first."""

    doc: dict[str, Any] = {"job": job, "window": window, "item": item, "createdAt": now_ms()}
    if result is not None:
        doc["result"] = result
    return db.insert("cronRuns", doc)
