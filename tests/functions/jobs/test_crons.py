"""Crons declared in Python: EventBridge expressions, validation at declaration, time windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ontology.runtime.crons import REGISTERED, CronJobs


def test_the_platforms_crons_and_their_expressions() -> None:
    import functions.crons  # noqa: F401 - declares them

    expressions = {j.function: j.expression for j in REGISTERED.jobs.values()}
    assert expressions == {
        "auth:cleanup_expired_tokens": "rate(60 minutes)",
        "content:generate_daily_content": "cron(0 0 * * ? *)",
        "analytics:generate_weekly_report": "cron(0 9 ? * MON *)",
        "billing:process_monthly_billing": "cron(0 10 1 * ? *)",
        "purchases:reconcile": "rate(5 minutes)",
    }


def test_template_schedules_each_cron_on_its_own_function() -> None:
    from infra.template.document import load_template

    resources = load_template()["Resources"]
    scheduled = {
        props["Handler"]: e["Properties"]["Schedule"]
        for res in resources.values()
        for props in [res.get("Properties", {})]
        for e in (props.get("Events") or {}).values()
        if e["Type"] == "Schedule"
    }
    assert scheduled == {
        "auth.cleanup_expired_tokens": "rate(60 minutes)",
        "content.generate_daily_content": "cron(0 0 * * ? *)",
        "analytics.generate_weekly_report": "cron(0 9 ? * MON *)",
        "billing.process_monthly_billing": "cron(0 10 1 * ? *)",
        "purchases.reconcile": "rate(5 minutes)",
        # not a cron of the registry: the sync protocol's keep-alive (docs/architecture.md)
        "sync.keepalive": "rate(1 minute)",
        # nor the backups' planner, on the operator's schedule when one is given (docs/deploying.md)
        "backups.plan": {"Ref": "BackupSchedule"},
    }


@pytest.mark.parametrize(
    ("declare", "reason"),
    [
        (lambda c: c.interval("x", {"minutes": 0}, "a:b"), "positive"),
        (lambda c: c.interval("x", {"seconds": 30}, "a:b"), "whole minutes"),
        (lambda c: c.interval("x", {"minutes": 5, "hours": 1}, "a:b"), "exactly one"),
        (lambda c: c.daily("x", {"hourUTC": 24}, "a:b"), "hourUTC"),
        (lambda c: c.daily("x", {"hourUTC": 1, "minute": 0}, "a:b"), "unknown schedule fields"),
        (lambda c: c.weekly("x", {"hourUTC": 1, "dayOfWeek": "funday"}, "a:b"), "dayOfWeek"),
        (lambda c: c.monthly("x", {"hourUTC": 1, "day": 31}, "a:b"), "day"),
        (lambda c: c.cron("x", "61 * * * *", "a:b"), "not a valid cron"),
        (lambda c: c.cron("x", "* * *", "a:b"), "five fields"),
        (lambda c: c.cron("x", "0 0 1 * MON", "a:b"), "both day-of-month and day-of-week"),
        (lambda c: c.daily("x", {"hourUTC": 1}, "no-colon"), "module:function"),
        (lambda c: c.daily("bad/name", {"hourUTC": 1}, "a:b"), "cron name"),
    ],
)
def test_bad_schedules_fail_when_declared_with_the_reason(declare, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        declare(CronJobs())


def test_a_cron_naming_an_unknown_function_fails_the_template() -> None:
    from infra.template.builder import build_template

    bogus = REGISTERED.daily("bogus cron", {"hourUTC": 3}, "nothing:here")
    try:
        with pytest.raises(ValueError, match="not a registered function"):
            build_template()
    finally:
        del REGISTERED.jobs[bogus.name]


def test_unix_cron_translation() -> None:
    c = CronJobs()
    assert c.cron("a", "*/5 * * * 1-5", "a:b").expression == "cron(*/5 * ? * MON-FRI *)"
    assert c.cron("b", "30 2 1 * *", "a:b").expression == "cron(30 2 1 * ? *)"


def test_windows_are_the_schedule_slot_of_a_run() -> None:
    c = CronJobs()
    hourly = c.interval("h", {"minutes": 60}, "a:b")
    weekly = c.weekly("w", {"hourUTC": 9, "minuteUTC": 0, "dayOfWeek": "monday"}, "a:b")
    monthly = c.monthly("m", {"hourUTC": 10, "day": 1}, "a:b")
    t = datetime(2026, 11, 25, 17, 42, 10, tzinfo=UTC)
    assert hourly.window_of(t) == "2026-11-25T17:00:00Z"
    assert weekly.window_of(t) == "2026-11-23T09:00:00Z"
    assert weekly.window_of(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)) == "2026-11-23T09:00:00Z"
    assert monthly.window_of(t) == "2026-11-01T10:00:00Z"
    assert weekly.next_fire(t) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_rate_schedule_counts_from_its_creation_as_eventbridge_does() -> None:
    hourly = CronJobs().interval("h", {"minutes": 60}, "a:b")
    created = datetime(2026, 11, 25, 17, 42, 10, tzinfo=UTC)
    # First run an hour after the schedule was created, then every hour from there, not on the hour.
    assert hourly.next_fire(created, created) == datetime(2026, 11, 25, 18, 42, 10, tzinfo=UTC)
    later = datetime(2026, 11, 26, 3, 50, tzinfo=UTC)
    assert hourly.next_fire(later, created) == datetime(2026, 11, 26, 4, 42, 10, tzinfo=UTC)
    # Each hour-long window still holds exactly one run: the run's window is its idempotency key.
    first = hourly.next_fire(created, created)
    windows = [hourly.window_of(first + timedelta(hours=k)) for k in range(48)]
    assert len(set(windows)) == 48 and windows[0] == "2026-11-25T18:00:00Z"
