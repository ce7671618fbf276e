"""ctx.scheduler: jobs run if and only if their mutation commits, exactly once (mutations) or at most
once (actions), however often AWS delivers them; cancel; run_at in the past; long delays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ontology import NotFoundError, run_query
from ontology.auth.identity import Identity
from ontology.runtime.context import invoke
from ontology.runtime.functions import action, mutation
from ontology.runtime.registry import Args

PAGE = {"numItems": 50, "cursor": None}


class ScheduleArgs(Args):
    delay: float = 0
    name: str = "scheduled post"
    fail: bool = False
    at: float | None = None
    target: str = "entities:create"
    payload: dict[str, Any] | None = None


@mutation(args=ScheduleArgs)
def schedule_post(ctx: Any, args: ScheduleArgs) -> str:
    payload = {"type": "blog_post", "name": args.name} if args.target == "entities:create" else {}
    payload = args.payload if args.payload is not None else payload
    if args.at is not None:
        job = ctx.scheduler.run_at(args.at, args.target, payload)
    else:
        job = ctx.scheduler.run_after(args.delay, args.target, payload)
    if args.fail:
        raise NotFoundError("the mutation fails after scheduling")
    return job


class JobArgs(Args):
    jobId: str


@mutation(args=JobArgs)
def cancel_job(ctx: Any, args: JobArgs) -> None:
    ctx.scheduler.cancel(args.jobId)


@action(args=ScheduleArgs)
def schedule_from_action(ctx: Any, args: ScheduleArgs) -> str:
    return ctx.scheduler.run_after(args.delay, "entities:create", {"type": "blog_post", "name": args.name})


@pytest.fixture
def owner(stack: Any) -> Identity:
    from ontology import run_mutation
    from ontology.auth.people import create_user_with_organization, new_organization_id

    org = new_organization_id()
    made = run_mutation(
        lambda db: create_user_with_organization(
            db,
            org_id=org,
            email=f"o-{org.lower()}@x.io",
            name="O",
            email_verified=True,
            organization_name="O",
        ),
        org=org,
        platform=True,
    )
    return Identity(made["userId"], org, "org_owner", made["entityId"])


def _posts(owner: Identity, name: str = "scheduled post") -> list[dict[str, Any]]:
    docs = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "blog_post")).collect(),
        org=owner.organizationId,
    )
    return [d for d in docs if d["name"] == name]


def _job(job_id: str) -> dict[str, Any]:
    return run_query(lambda db: db.get(job_id, "scheduledFunctions"), org=None, platform=True)


def test_a_job_scheduled_by_a_failing_mutation_never_runs(stack, owner) -> None:
    with pytest.raises(NotFoundError):
        invoke(schedule_post, {"fail": True}, owner)
    assert stack.drain() == 0
    assert _posts(owner) == []
    jobs = run_query(lambda db: db.query("scheduledFunctions").collect(), org=None, platform=True)
    assert jobs == [], "the outbox document went with the failed transaction"


def test_a_committed_job_runs_exactly_once_even_delivered_twice(stack, owner) -> None:
    job_id = invoke(schedule_post, {}, owner)
    assert _job(job_id)["state"] == "pending"
    records = stack.stream.streams.get_records(
        ShardIterator=stack.stream.streams.get_shard_iterator(
            StreamArn=stack.stream.stream_arn,
            ShardId=stack.stream.streams.describe_stream(StreamArn=stack.stream.stream_arn)[
                "StreamDescription"
            ]["Shards"][0]["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
    )["Records"]
    stack.drain()
    # The stream record again (Lambda delivers at least once), and the queue message again.
    stack.runner.invoke("SchedulerDispatcherFunction", {"Records": records})
    stack.drain()
    stack.runner.invoke(
        "SchedulerRunnerFunction", {"Records": [{"messageId": "dup", "body": json.dumps({"jobId": job_id})}]}
    )
    out = stack.runner.invoke("EntitiesCreateFunction", {"_scheduledJob": job_id})
    assert out == {"jobId": job_id, "state": "skipped"}
    assert len(_posts(owner)) == 1
    job = _job(job_id)
    assert job["state"] == "success" and job["completedTime"] >= job["scheduledTime"]


def test_racing_deliveries_of_one_mutation_job_run_it_once(stack, owner) -> None:
    import threading

    job_id = invoke(schedule_post, {}, owner)
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        results.append(stack.runner.invoke("EntitiesCreateFunction", {"_scheduledJob": job_id})["state"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["skipped"] * 3 + ["success"]
    assert len(_posts(owner)) == 1


def test_cancel_before_the_run(stack, owner) -> None:
    job_id = invoke(schedule_post, {"delay": 300}, owner)
    stack.drain()  # queued with a 300 s delay: not deliverable yet
    assert _job(job_id)["state"] == "pending"
    invoke(cancel_job, {"jobId": job_id}, owner)
    stack.runner.invoke(
        "SchedulerRunnerFunction", {"Records": [{"messageId": "m", "body": json.dumps({"jobId": job_id})}]}
    )
    assert stack.runner.invoke("EntitiesCreateFunction", {"_scheduledJob": job_id})["state"] == "skipped"
    assert _job(job_id)["state"] == "canceled"
    assert _posts(owner) == []


def test_long_delays_use_a_one_time_schedule(stack, owner) -> None:
    job_id = invoke(schedule_post, {"delay": 3 * 3600}, owner)
    stack.drain()
    names = [s["Name"] for s in stack.scheduler_client.list_schedules(GroupName=stack.group)["Schedules"]]
    assert f"one-job-{job_id}" in names
    schedule = stack.scheduler_client.get_schedule(Name=f"one-job-{job_id}", GroupName=stack.group)
    assert schedule["ScheduleExpression"].startswith("at(") and schedule["Target"]["Arn"].endswith(
        ":" + stack.physical["JobsQueue"].rsplit("/", 1)[1]
    )
    assert stack.schedules.poll_once(datetime.now(UTC) + timedelta(hours=1)) == 0, "not due yet"
    assert stack.schedules.poll_once(datetime.now(UTC) + timedelta(hours=4)) == 1
    stack.drain()
    assert _job(job_id)["state"] == "success" and len(_posts(owner)) == 1


def test_cancel_deletes_a_pending_one_time_schedule(stack, owner) -> None:
    job_id = invoke(schedule_post, {"delay": 3 * 3600}, owner)
    stack.drain()
    invoke(cancel_job, {"jobId": job_id}, owner)
    names = [s["Name"] for s in stack.scheduler_client.list_schedules(GroupName=stack.group)["Schedules"]]
    assert f"one-job-{job_id}" not in names
    assert stack.schedules.poll_once(datetime.now(UTC) + timedelta(hours=4)) == 0
    assert _job(job_id)["state"] == "canceled" and _posts(owner) == []


def test_run_at_in_the_past_runs_promptly(stack, owner) -> None:
    past = (datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1000
    job_id = invoke(schedule_post, {"at": past}, owner)
    stack.drain()
    assert _job(job_id)["state"] == "success" and len(_posts(owner)) == 1


def test_scheduling_from_an_action(stack, owner) -> None:
    job_id = invoke(schedule_from_action, {"name": "from action"}, owner)
    stack.drain()
    assert _job(job_id)["state"] == "success" and len(_posts(owner, "from action")) == 1


def test_an_action_runs_at_most_once(stack, owner) -> None:
    job_id = invoke(schedule_post, {"target": "auth:cleanup_expired_tokens"}, owner)
    first = stack.runner.invoke("AuthCleanupExpiredTokensFunction", {"_scheduledJob": job_id})
    second = stack.runner.invoke("AuthCleanupExpiredTokensFunction", {"_scheduledJob": job_id})
    assert (first["state"], second["state"]) == ("success", "skipped")
    stack.drain()
    assert _job(job_id)["state"] == "success"


def test_an_action_interrupted_after_its_claim_is_not_run_again(stack, owner) -> None:
    from ontology.runtime.jobs import _finish

    job_id = invoke(schedule_post, {"target": "auth:cleanup_expired_tokens"}, owner)
    assert _finish(job_id, "inProgress", expect="pending")  # claimed, then the Lambda died
    assert (
        stack.runner.invoke("AuthCleanupExpiredTokensFunction", {"_scheduledJob": job_id})["state"]
        == "skipped"
    )
    assert _job(job_id)["state"] == "inProgress"


def test_a_failing_job_is_marked_failed_with_its_error(stack, owner) -> None:
    from ontology import run_mutation

    run_mutation(
        lambda db: db.insert(
            "entities",
            {
                "type": "creator",
                "name": "C",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {"email": "c@x.io", "username": "c", "displayName": "C"},
            },
        ),
        org=owner.organizationId,
    )

    @mutation(args=ScheduleArgs)
    def schedule_duplicate(ctx: Any, args: ScheduleArgs) -> str:
        return ctx.scheduler.run_after(0, "creators:create", {"email": "C@x.io", "name": "C2", "niche": []})

    job_id = invoke(schedule_duplicate, {}, owner)
    stack.drain()
    job = _job(job_id)
    assert job["state"] == "failed" and job["error"].startswith("CONFLICT")
    listed = invoke(
        __import__("ontology.runtime.registry", fromlist=["resolve"]).resolve("scheduler:list"),
        {"paginationOpts": PAGE},
        owner,
    )["page"]
    assert {j["_id"]: j["state"]["kind"] for j in listed}[job_id] == "failed"


def test_scheduling_validates_target_and_arguments(stack, owner) -> None:
    from ontology import ValidationError

    @mutation(args=ScheduleArgs)
    def bad(ctx: Any, args: ScheduleArgs) -> None:
        if args.name == "query":
            ctx.scheduler.run_after(0, "creators:get", {"id": "x"})
        elif args.name == "args":
            ctx.scheduler.run_after(0, "entities:create", {"type": "spaceship"})
        else:
            ctx.scheduler.run_after(-1, "entities:create", {})

    for case in ("query", "args", "delay"):
        with pytest.raises(ValidationError):
            invoke(bad, {"name": case}, owner)


def test_cancel_of_another_orgs_job_is_not_found(stack, owner) -> None:
    from dataclasses import replace

    job_id = invoke(schedule_post, {"delay": 300}, owner)
    stranger = replace(owner, organizationId="org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S")
    with pytest.raises(NotFoundError):
        invoke(cancel_job, {"jobId": job_id}, stranger)
    assert _job(job_id)["state"] == "pending"


def test_the_stream_filter_admits_only_new_jobs() -> None:
    from infra.local.pollers import matches, stream_mappings
    from infra.template.document import load_template

    (dispatcher,) = [m for m in stream_mappings(load_template()) if m.target == "SchedulerDispatcherFunction"]
    (pattern,) = dispatcher.filters
    job = {"eventName": "INSERT", "dynamodb": {"NewImage": {"tb": {"S": "scheduledFunctions"}}}}
    assert matches(pattern, job)
    assert not matches(pattern, {**job, "eventName": "MODIFY"})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"NewImage": {"tb": {"S": "entities"}}}})


def test_a_job_that_cannot_be_dispatched_goes_to_the_stream_failure_queue(stack, owner, monkeypatch) -> None:
    """The dispatcher's mapping with the template's settings: its record retried 10 times, then
    skipped, and Lambda's invocation record sent to the failure destination with the dispatcher's own
    role (SAM grants it sqs:SendMessage there; the local stack enforces it). The jobs behind it go on."""
    import boto3

    from ontology.runtime import scheduler

    def down(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the jobs queue is down")

    stack.drain()  # what earlier tests left to dispatch, then what they gave up on, out of the way
    sqs = boto3.client("sqs")
    sqs.purge_queue(QueueUrl=stack.physical["StreamFailureQueue"])
    monkeypatch.setattr(scheduler, "dispatch", down)
    monkeypatch.setattr(stack.stream, "retry_delay", 0)  # the same retries, without the waits
    lost = invoke(schedule_post, {"name": "lost"}, owner)
    for _ in range(50):
        stack.stream.poll_once()
    assert stack.stream.pending() == 0
    monkeypatch.undo()
    invoke(schedule_post, {"name": "next"}, owner)
    stack.drain()
    assert len(_posts(owner, "next")) == 1
    assert _job(lost)["state"] == "pending"
    (message,) = sqs.receive_message(QueueUrl=stack.physical["StreamFailureQueue"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 11
    assert record["requestContext"]["functionArn"].endswith(
        ":" + stack.physical["SchedulerDispatcherFunction"]
    )
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert record["DDBStreamBatchInfo"]["streamArn"] == stack.stream.stream_arn


@pytest.fixture
def call_lines() -> Any:
    """The calls' summary lines (``"message": "call"``) logged meanwhile, as Powertools writes them."""
    import logging

    from ontology.runtime.observability import CALL_MESSAGE, logger

    class Lines(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[dict[str, Any]] = []

        def emit(self, record: logging.LogRecord) -> None:
            line = json.loads(self.format(record))
            if line.get("message") == CALL_MESSAGE:
                self.lines.append(line)

    handler = Lines()
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_jobs_run_logs_its_calls_summary_line_as_its_scheduler(
    stack: Any, owner: Identity, call_lines: list[dict[str, Any]]
) -> None:
    """A job that runs logs one summary line (source ``job``) on behalf of whoever scheduled it, with
    its organization and DynamoDB units, so the dashboard's Logs and Health count it; a failed one
    names its error's code; a delivery that finds the job already done logs none."""
    done = invoke(schedule_post, {}, owner)
    missing = {"id": "ent_01JD0000000000000000000000", "name": "gone"}
    failing = invoke(schedule_post, {"target": "entities:update", "payload": missing}, owner)
    stack.runner.invoke("EntitiesCreateFunction", {"_scheduledJob": done})
    stack.runner.invoke("EntitiesCreateFunction", {"_scheduledJob": done})  # delivered again: skipped
    assert stack.runner.invoke("EntitiesUpdateFunction", {"_scheduledJob": failing})["state"] == "failed"
    ok, failed = [line for line in call_lines if line["source"] == "job"]
    assert ok["function"] == "entities:create" and ok["status"] == "success" and ok["http_status"] == 200
    assert (ok["organization"], ok["user_id"]) == (owner.organizationId, owner.userId)
    # (the units as DynamoDB answered them: moto alone answers no write units for a transaction; the
    # local stack does, tests/infra/test_dashboard_stack.py)
    assert ok["rcu"] > 0 and "wcu" in ok and ok["request_id"]
    assert failed["function"] == "entities:update" and failed["status"] == "error"
    assert (failed["code"], failed["http_status"]) == ("NOT_FOUND", 404)


def test_a_crons_run_logs_its_calls_summary_line(stack: Any, call_lines: list[dict[str, Any]]) -> None:
    event = {
        "version": "0",
        "id": "cron-line",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-25T17:00:00Z",
        "detail": {},
    }
    stack.runner.invoke("AuthCleanupExpiredTokensFunction", event)
    (line,) = [line for line in call_lines if line["source"] == "schedule"]
    assert line["function"] == "auth:cleanup_expired_tokens" and line["status"] == "success"
    assert line.get("organization") is None and line.get("user_id") is None and "duration_ms" in line
