"""A failed cron is retried as Lambda retries an asynchronous invocation (EventBridge invokes its
target asynchronously): the same event twice more, then the function's dead-letter queue; and a
cron retried after doing part of its slot's work finishes it without doing any of it twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.pollers import CronPoller, dead_letter_queues
from infra.local.runner import ASYNC_RETRY_SECONDS, async_retry_delays
from infra.template.document import load_template
from ontology import run_query
from tests.functions.jobs.conftest import creator, make_org

SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WEEKLY = "weekly analytics report"


class FailingRunner:
    """Fails the first ``failures`` invocations; remembers every event."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[dict[str, Any]] = []

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if len(self.events) <= self.failures:
            raise RuntimeError(f"boom {len(self.events)}")
        return {"ok": True}


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def _weekly() -> tuple[str, str, Any]:
    from infra.local.pollers import cron_events

    return next(c for c in cron_events(load_template()) if c[1] == WEEKLY)


def _poller(runner: Any, sqs: Any = None) -> CronPoller:
    cron = _weekly()
    return CronPoller(
        runner, [cron], sqs=sqs, dead_letters={cron[0]: "http://queue/dlq"}, retry_delays=(0.0, 0.0)
    )


def test_a_failed_run_is_retried_twice_with_the_same_event() -> None:
    runner = FailingRunner(failures=2)
    poller = _poller(runner)
    assert poller.deliver(WEEKLY, SLOT) is True
    assert len(runner.events) == 3
    assert len({e["id"] for e in runner.events}) == 1
    assert {e["time"] for e in runner.events} == {"2026-11-23T09:00:00Z"}
    assert [a[2] for a in poller.attempts] == [0, 1, 2]
    assert poller.attempts[-1][3] is None


def test_a_run_failing_three_times_goes_to_the_dead_letter_queue() -> None:
    runner, dlq = FailingRunner(failures=3), Queue()
    poller = _poller(runner, dlq)
    assert poller.deliver(WEEKLY, SLOT) is False
    assert len(runner.events) == 3  # the first attempt and two retries, no more
    (message,) = dlq.sent
    assert message["QueueUrl"] == "http://queue/dlq"
    assert json.loads(message["MessageBody"]) == runner.events[0]
    attrs = message["MessageAttributes"]
    assert set(attrs) == {"RequestID", "ErrorCode", "ErrorMessage"}
    assert "boom 3" in attrs["ErrorMessage"]["StringValue"]


def test_the_retry_waits_are_lambdas_unless_shortened() -> None:
    assert async_retry_delays({}) == ASYNC_RETRY_SECONDS == (60.0, 120.0)
    assert async_retry_delays({"ONE_LOCAL_ASYNC_RETRY_SECONDS": "0.5,1"}) == (0.5, 1.0)
    with pytest.raises(ValueError, match="two waits"):
        async_retry_delays({"ONE_LOCAL_ASYNC_RETRY_SECONDS": "1"})


def test_every_cron_function_has_its_dead_letter_queue() -> None:
    from infra.local.pollers import cron_events

    template = load_template()
    physical = {"JobsDeadLetterQueue": "http://queue/jobs-dlq"}
    queues = dead_letter_queues(template, physical)
    from ontology.runtime.crons import REGISTERED

    platform_crons = [c for c in cron_events(template) if c[1] in REGISTERED.jobs]
    assert len(platform_crons) == len(REGISTERED.jobs)
    for logical_id, _name, _job in platform_crons:
        assert queues.get(logical_id) == "http://queue/jobs-dlq", logical_id


def test_a_cron_retried_after_part_of_its_work_does_the_rest_once(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weekly report's run crashes after scheduling the first organization's job; Lambda's retry
    (the same event) schedules both (the page is one transaction: the crash left nothing), and each
    organization gets its report once."""
    import ontology.services.fanout as fanout
    from infra.local.runner import LambdaRunner
    from ontology.runtime.jobs import run_due

    orgs = [make_org("Gamma"), make_org("Delta")]
    creator(orgs[0], "Gia")
    real = fanout.mark_done
    calls: list[str] = []

    def crash_on_second(db: Any, job: str, window: str, item: str, result: Any = None) -> str:
        calls.append(item)
        if len(calls) == 2:
            raise RuntimeError("the function crashed half way")
        return real(db, job, window, item, result)

    monkeypatch.setattr(fanout, "mark_done", crash_on_second)
    runner = LambdaRunner(load_template())
    poller = CronPoller(runner, [_weekly()], retry_delays=(0.0, 0.0))
    assert poller.deliver(WEEKLY, SLOT) is True
    assert [a[3] is None for a in poller.attempts] == [False, True]
    scheduled = run_query(lambda db: db.query("scheduledFunctions").collect(), org=None, platform=True)
    assert sorted(j["args"]["organizationIds"][0] for j in scheduled) == sorted(orgs)
    assert set(run_due().values()) == {"success"}

    def reports(org: str) -> list[dict[str, Any]]:
        return run_query(
            lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "report")).collect(),
            org=org,
        )

    assert [len(reports(org)) for org in orgs] == [1, 1]
