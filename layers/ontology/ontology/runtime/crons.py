"""Crons declared in Python the way ``crons.ts`` declares them (Convex's ``cronJobs()``)::

    crons = CronJobs()
    crons.interval("cleanup expired tokens", {"minutes": 60}, "auth:cleanup_expired_tokens")
    crons.daily("daily content generation", {"hourUTC": 0, "minuteUTC": 0}, "content:generate_daily_content")
    crons.weekly("weekly analytics report", {"hourUTC": 9, "minuteUTC": 0, "dayOfWeek": "monday"}, …)
    crons.monthly("monthly billing", {"hourUTC": 10, "minuteUTC": 0, "day": 1}, …)
    crons.cron("every five minutes", "*/5 * * * *", …)

Each becomes an EventBridge schedule on its function's own Lambda in the generated template
(``rate(60 minutes)``, ``cron(0 0 * * ? *)``, …). A bad schedule fails at import, with the reason.
Every run knows its *window* (the schedule slot it was fired for), so a job can make running the same
window twice change nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["REGISTERED", "CronJob", "CronJobs"]

_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_AWS_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


@dataclass(frozen=True)
class CronJob:
    name: str
    function: str
    #: The EventBridge schedule expression: ``rate(…)`` or ``cron(…)`` (six fields, AWS dialect).
    expression: str
    #: The same schedule as a five-field Unix cron (for computing fire times), or None for a rate.
    unix: str | None
    rate_seconds: int | None

    @property
    def logical_suffix(self) -> str:
        return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", self.name) if w)

    def window_of(self, when: datetime) -> str:
        """The schedule slot a run at ``when`` belongs to: the last fire time at or before it."""
        when = when.astimezone(UTC)
        if self.rate_seconds is not None:
            slot = int(when.timestamp()) // self.rate_seconds * self.rate_seconds
            return datetime.fromtimestamp(slot, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        from croniter import croniter

        last: datetime = croniter(self.unix, when + timedelta(seconds=1)).get_prev(datetime)
        return last.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def next_fire(self, after: datetime, created: datetime | None = None) -> datetime:
        """The first fire time strictly after ``after``. A ``rate()`` schedule counts from when it was
        created, as EventBridge's do (``created``; without it, from the epoch); a ``cron()`` one
        follows the clock."""
        after = after.astimezone(UTC)
        if self.rate_seconds is not None:
            origin = int(created.timestamp()) if created is not None else 0
            steps = (int(after.timestamp()) - origin) // self.rate_seconds + 1
            return datetime.fromtimestamp(origin + max(steps, 1) * self.rate_seconds, tz=UTC)
        from croniter import croniter

        nxt: datetime = croniter(self.unix, after).get_next(datetime)
        return nxt.astimezone(UTC)


def _int(spec: Mapping[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer from {low} to {high}, not {value!r}")
    return value


def _check_keys(spec: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown schedule fields {sorted(unknown)}; allowed: {sorted(allowed)}")


class CronJobs:
    """A set of crons (Convex's ``cronJobs()``). ``functions/crons.py`` fills :data:`REGISTERED`."""

    def __init__(self) -> None:
        self.jobs: dict[str, CronJob] = {}

    def _add(self, name: str, function: Any, expression: str, unix: str | None, rate: int | None) -> CronJob:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"cron name {name!r}: letters, digits, spaces, '_.-', at most 64")
        if name in self.jobs:
            raise ValueError(f"cron {name!r} declared twice")
        path = function if isinstance(function, str) else function.spec.path
        if ":" not in path:
            raise ValueError(f"cron {name!r}: the function is 'module:function', not {path!r}")
        if unix is not None:
            from croniter import croniter

            if not croniter.is_valid(unix):
                raise ValueError(f"cron {name!r}: {unix!r} is not a valid cron expression")
        job = CronJob(name, path, expression, unix, rate)
        self.jobs[name] = job
        return job

    def interval(self, name: str, schedule: Mapping[str, Any], function: Any) -> CronJob:
        """Every ``{"seconds"|"minutes"|"hours": n}`` (EventBridge's finest period is one minute)."""
        _check_keys(schedule, {"seconds", "minutes", "hours"})
        if len(schedule) != 1:
            raise ValueError(f"cron {name!r}: give exactly one of seconds, minutes, hours")
        ((unit, n),) = schedule.items()
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"cron {name!r}: the interval must be a positive integer")
        seconds = n * {"seconds": 1, "minutes": 60, "hours": 3600}[unit]
        if seconds % 60:
            raise ValueError(f"cron {name!r}: EventBridge schedules whole minutes; {seconds}s is not")
        minutes = seconds // 60
        expression = f"rate({minutes} minute{'s' if minutes != 1 else ''})"
        return self._add(name, function, expression, None, seconds)

    def hourly(self, name: str, schedule: Mapping[str, Any], function: Any) -> CronJob:
        _check_keys(schedule, {"minuteUTC"})
        m = _int(schedule, "minuteUTC", 0, 59)
        return self._add(name, function, f"cron({m} * * * ? *)", f"{m} * * * *", None)

    def daily(self, name: str, schedule: Mapping[str, Any], function: Any) -> CronJob:
        _check_keys(schedule, {"hourUTC", "minuteUTC"})
        h, m = _int(schedule, "hourUTC", 0, 23), _int(schedule, "minuteUTC", 0, 59, 0)
        return self._add(name, function, f"cron({m} {h} * * ? *)", f"{m} {h} * * *", None)

    def weekly(self, name: str, schedule: Mapping[str, Any], function: Any) -> CronJob:
        _check_keys(schedule, {"hourUTC", "minuteUTC", "dayOfWeek"})
        h, m = _int(schedule, "hourUTC", 0, 23), _int(schedule, "minuteUTC", 0, 59, 0)
        day = str(schedule.get("dayOfWeek", "")).lower()
        if day not in _DAYS:
            raise ValueError(f"cron {name!r}: dayOfWeek must be one of {', '.join(_DAYS)}")
        aws = _AWS_DAYS[_DAYS.index(day)]
        return self._add(name, function, f"cron({m} {h} ? * {aws} *)", f"{m} {h} * * {aws}", None)

    def monthly(self, name: str, schedule: Mapping[str, Any], function: Any) -> CronJob:
        _check_keys(schedule, {"hourUTC", "minuteUTC", "day"})
        h, m = _int(schedule, "hourUTC", 0, 23), _int(schedule, "minuteUTC", 0, 59, 0)
        d = _int(schedule, "day", 1, 28)  # 29-31 do not exist every month: EventBridge would skip them
        return self._add(name, function, f"cron({m} {h} {d} * ? *)", f"{m} {h} {d} * *", None)

    def cron(self, name: str, expression: str, function: Any) -> CronJob:
        """A five-field Unix cron (minute hour day-of-month month day-of-week), in UTC."""
        fields = expression.split() if isinstance(expression, str) else []
        if len(fields) != 5:
            raise ValueError(f"cron {name!r}: {expression!r} needs five fields (minute hour dom month dow)")
        from croniter import croniter

        if not croniter.is_valid(expression):
            raise ValueError(f"cron {name!r}: {expression!r} is not a valid cron expression")
        minute, hour, dom, month, dow = fields
        if dom != "*" and dow != "*":
            raise ValueError(f"cron {name!r}: EventBridge cannot fix both day-of-month and day-of-week")
        dow_aws = "?" if dow == "*" else _aws_dow(dow)
        dom_aws = "?" if dow != "*" else dom
        return self._add(
            name, function, f"cron({minute} {hour} {dom_aws} {month} {dow_aws} *)", expression, None
        )


def _aws_dow(dow: str) -> str:
    """Unix day-of-week (0-7, Sunday 0 or 7) → EventBridge (SUN-SAT, or 1-7 with Sunday 1)."""

    def one(token: str) -> str:
        if token.isdigit():
            return _AWS_DAYS[int(token) % 7]
        return token.upper()

    return re.sub(r"[0-9A-Za-z]+", lambda m: one(m.group(0)), dow)


#: The platform's crons, declared in ``functions/crons.py``.
REGISTERED = CronJobs()
