"""What AWS does between services, done locally: Lambda's pollers and EventBridge's schedules.

moto stores streams, queues and schedules but never delivers from them. These pollers read them
through the same APIs Lambda's event source mappings and EventBridge use, and invoke the template's
functions with the events AWS would send:

- :class:`StreamPoller` — the table's stream → the dispatcher (with the mapping's filter criteria);
- :class:`QueuePoller` — the jobs queue → the runner (deleting what it did not report as failed);
- :class:`SchedulePoller` — one-time ``at()`` schedules that are due → their target queue;
- :class:`CronPoller` — the template's ``Schedule`` events → their functions, on time (croniter).

Each has ``poll_once()`` (the tests drive them step by step) and runs in a loop in the local stack.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local.runner import LambdaRunner

log = logging.getLogger("one.local")


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style filter: a dict pattern matches key by key, a list of values by membership."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(p, value[k]) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return value in pattern
    return bool(pattern == value)


class StreamPoller:
    """The table's stream → its event source mappings (each with its own filter criteria). Locally the
    stream is read once for all of them, and each mapping keeps its own backlog: a batch a function
    failed is delivered to it again (as Lambda retries), never to the others."""

    def __init__(
        self,
        runner: LambdaRunner,
        streams: Any,
        stream_arn: str,
        target: str,
        filters: list[dict[str, Any]],
        *,
        also: tuple[tuple[str, list[dict[str, Any]]], ...] = (),
    ) -> None:
        self.runner, self.streams, self.stream_arn, self.target = runner, streams, stream_arn, target
        self.filters = filters
        self.mappings = [(target, filters), *also]
        self._backlog: dict[str, list[dict[str, Any]]] = {t: [] for t, _ in self.mappings}
        self._iterators: dict[str, str] = {}
        self._shard_list: list[dict[str, Any]] = []
        self._shards_until = 0.0

    def _shards(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if now >= self._shards_until:  # shards change rarely: look again every few seconds
            self._shard_list = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
                "Shards"
            ]
            self._shards_until = now + 5.0
        return self._shard_list

    def poll_once(self) -> int:
        """Deliver new records; returns how many were delivered (to any mapping)."""
        for shard in self._shards():
            sid = shard["ShardId"]
            if sid not in self._iterators:
                self._iterators[sid] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            resp = self.streams.get_records(ShardIterator=self._iterators[sid], Limit=100)
            for target, filters in self.mappings:
                self._backlog[target] += [
                    r for r in resp.get("Records", []) if not filters or any(matches(f, r) for f in filters)
                ]
            if resp.get("NextShardIterator"):
                self._iterators[sid] = resp["NextShardIterator"]
        delivered = 0
        for target, _ in self.mappings:
            records = self._backlog[target][:100]
            if not records:
                continue
            result = self.runner.invoke(target, {"Records": records}) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            if failed:
                log.warning("%s failed %d records; they stay for the next poll", target, len(failed))
                continue  # the batch is delivered again (as Lambda retries)
            del self._backlog[target][: len(records)]
            delivered += len(records)
        return delivered


class QueuePoller:
    def __init__(self, runner: LambdaRunner, sqs: Any, queue_url: str, queue_arn: str, target: str) -> None:
        self.runner, self.sqs, self.queue_url, self.queue_arn, self.target = (
            runner,
            sqs,
            queue_url,
            queue_arn,
            target,
        )

    def _record(self, m: dict[str, Any]) -> dict[str, Any]:
        """A received message as Lambda's SQS mapping hands it to the function."""
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }

    def poll_once(self, wait_seconds: int = 0) -> int:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=60,
            AttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        records = [self._record(m) for m in messages]
        result = self.runner.invoke(self.target, {"Records": records}) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages) - len(failed)


class FifoQueuePoller(QueuePoller):
    """A FIFO queue as Lambda's SQS mapping serves one: each message group's batch goes to its own
    invocation, groups in parallel, one batch per group at a time (SQS itself holds a group's next
    messages back until the batch in flight is deleted). A failed record is made visible again at
    once, ahead of the rest of its group."""

    def __init__(self, *args: Any, workers: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fifo")
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def poll_once(self, wait_seconds: int = 0) -> int:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=120,
            AttributeNames=["All"],
        )
        groups: dict[str, list[dict[str, Any]]] = {}
        for m in resp.get("Messages", []):
            groups.setdefault(m.get("Attributes", {}).get("MessageGroupId", ""), []).append(m)
        for group, messages in groups.items():
            with self._lock:
                self._busy.add(group)
            self._pool.submit(self._deliver, group, messages)
        return sum(len(m) for m in groups.values())

    def idle(self) -> bool:
        with self._lock:
            return not self._busy

    def _deliver(self, group: str, messages: list[dict[str, Any]]) -> None:
        try:
            records = [self._record(m) for m in messages]
            try:
                result = self.runner.invoke(self.target, {"Records": records}) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                log.exception("%s failed a batch; it is delivered again", self.target)
                failed = {m["MessageId"] for m in messages}
            for m in messages:
                if m["MessageId"] in failed:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        finally:
            with self._lock:
                self._busy.discard(group)
            from infra.local import wake

            wake.notify(wake.queue_channel(self.queue_url))  # the group's next messages are free to go


_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")


class SchedulePoller:
    """Fires due one-time ``at()`` schedules at their SQS targets, then deletes them."""

    def __init__(self, scheduler: Any, sqs: Any, group: str, queue_urls: dict[str, str]) -> None:
        self.scheduler, self.sqs, self.group, self.queue_urls = scheduler, sqs, group, queue_urls

    def poll_once(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        fired = 0
        for summary in self.scheduler.list_schedules(GroupName=self.group).get("Schedules", []):
            schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName=self.group)
            m = _AT.match(schedule.get("ScheduleExpression", ""))
            if not m or datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC) > now:
                continue
            target = schedule["Target"]
            url = self.queue_urls.get(target["Arn"])
            if url is None:
                log.warning(
                    "schedule %s targets %s, which the local stack does not serve",
                    summary["Name"],
                    target["Arn"],
                )
                continue
            self.sqs.send_message(QueueUrl=url, MessageBody=target.get("Input", "{}"))
            self.scheduler.delete_schedule(Name=summary["Name"], GroupName=self.group)
            fired += 1
        return fired


#: Lambda's retries of a failed asynchronous invocation (an EventBridge rule invokes its target
#: asynchronously): two more attempts, one minute after the first and two after the second, then the
#: function's dead-letter queue. ``ONE_LOCAL_ASYNC_RETRY_SECONDS`` ("60,120") shortens the waits.
ASYNC_RETRY_SECONDS = (60.0, 120.0)


def async_retry_delays(env: dict[str, str] | None = None) -> tuple[float, ...]:
    """The waits before each retry of a failed asynchronous invocation (``ONE_LOCAL_ASYNC_RETRY_SECONDS``)."""
    import os

    raw = (os.environ if env is None else env).get("ONE_LOCAL_ASYNC_RETRY_SECONDS", "")
    if not raw.strip():
        return ASYNC_RETRY_SECONDS
    try:
        delays = tuple(float(x) for x in raw.split(","))
    except ValueError:
        raise ValueError(f"ONE_LOCAL_ASYNC_RETRY_SECONDS={raw!r}: seconds, comma separated") from None
    if len(delays) != len(ASYNC_RETRY_SECONDS) or any(d < 0 for d in delays):
        raise ValueError("ONE_LOCAL_ASYNC_RETRY_SECONDS: two waits (Lambda retries twice), not negative")
    return delays


class CronPoller:
    """Fires the template's ``Schedule`` events on time, as EventBridge rules do.

    An EventBridge rule invokes its function asynchronously, so a run that fails is Lambda's to retry:
    the same event twice more (after :func:`async_retry_delays`), then to the function's dead-letter
    queue (``dead_letters``: logical id → queue URL) with Lambda's attributes. A cron must therefore
    be idempotent for its slot (see :mod:`ontology.services.cron_runs`). ``one cron run`` invokes
    once, synchronously, as ``aws lambda invoke`` would.
    """

    def __init__(
        self,
        runner: LambdaRunner,
        crons: list[tuple[str, str, Any]],
        created: datetime | None = None,
        *,
        sqs: Any = None,
        dead_letters: dict[str, str] | None = None,
        retry_delays: tuple[float, ...] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.runner = runner
        self.crons = crons  # (logical id, cron name, CronJob)
        start = datetime.now(UTC)
        #: When the schedules were created (the stack's first start): ``rate()`` ones count from it.
        self.created = created or start
        self._next = {name: job.next_fire(start, self.created) for _, name, job in crons}
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self.sqs = sqs
        self.dead_letters = dead_letters or {}
        self.retry_delays = async_retry_delays() if retry_delays is None else retry_delays
        self._stop = stop or threading.Event()
        #: (cron name, event id, attempt, error or None) of every scheduled invocation, for ``one cron``
        #: and the tests.
        self.attempts: list[tuple[str, str, int, str | None]] = []

    def _logical_id(self, name: str) -> str:
        for logical_id, cron_name, _job in self.crons:
            if cron_name == name:
                return logical_id
        raise KeyError(f"no cron named {name!r}; known: {', '.join(n for _, n, _ in self.crons)}")

    @staticmethod
    def event(logical_id: str, when: datetime) -> dict[str, Any]:
        """The scheduled event EventBridge sends for a fire time."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{logical_id}"],
            "detail": {},
        }

    def _run(self, name: str, slot: datetime) -> None:
        try:
            self.deliver(name, slot)
        finally:
            with self._lock:
                self._running.discard(name)

    def deliver(self, name: str, slot: datetime) -> bool:
        """One scheduled fire, as Lambda's asynchronous invocation handles it: the event, retried
        with the same id after each failure, then dead-lettered. True when an attempt succeeded."""
        logical_id = self._logical_id(name)
        event = self.event(logical_id, slot)
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                if self._stop.wait(self.retry_delays[attempt - 1]):
                    return False  # the stack is stopping
                log.warning("cron %s: retry %d of event %s", name, attempt, event["id"])
            try:
                log.info("cron %s -> %s", name, logical_id)
                self.runner.invoke(logical_id, event)
            except Exception as exc:
                error = f"{getattr(exc, 'lambda_error_type', None) or type(exc).__name__}: {exc}"
                self.attempts.append((name, event["id"], attempt, error))
                log.exception("cron %s failed (attempt %d)", name, attempt + 1)
                continue
            self.attempts.append((name, event["id"], attempt, None))
            return True
        self._dead_letter(name, logical_id, event, self.attempts[-1][3] or "")
        return False

    def _dead_letter(self, name: str, logical_id: str, event: dict[str, Any], error: str) -> None:
        """What Lambda does once its retries are spent: the event to the function's dead-letter queue,
        with the request id, an error code and the first kilobyte of the error as attributes."""
        url = self.dead_letters.get(logical_id)
        if url is None or self.sqs is None:
            log.error("cron %s: retries spent, the event is dropped (no dead-letter queue)", name)
            return
        self.sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error[:1024] or "error"},
            },
        )
        log.error("cron %s: retries spent, the event went to the dead-letter queue", name)

    def fire(self, name: str, when: datetime | None = None) -> Any:
        """Run one cron now (``one cron run``), with the scheduled event EventBridge would send."""
        logical_id = self._logical_id(name)
        log.info("cron %s -> %s", name, logical_id)
        return self.runner.invoke(logical_id, self.event(logical_id, when or datetime.now(UTC)))

    def poll_once(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        fired = 0
        for _, name, job in self.crons:
            with self._lock:
                due = self._next[name] <= now
                if due:
                    slot = self._next[name]
                    self._next[name] = job.next_fire(now, self.created)
            if due:
                with self._lock:
                    if name in self._running:
                        continue  # still running (or retrying) since its last slot
                    self._running.add(name)
                threading.Thread(target=self._run, args=(name, slot), daemon=True).start()
                fired += 1
        return fired


def dead_letter_queues(template: dict[str, Any], physical: dict[str, str]) -> dict[str, str]:
    """Function logical id → the URL of its ``DeadLetterQueue`` (an SQS queue of the template)."""
    out: dict[str, str] = {}
    for logical_id, res in template["Resources"].items():
        target = ((res.get("Properties") or {}).get("DeadLetterQueue") or {}).get("TargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target and target["Fn::GetAtt"][0] in physical:
            out[logical_id] = physical[target["Fn::GetAtt"][0]]
    return out


def cron_events(template: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(function logical id, cron name, CronJob) for every Schedule event of the template."""
    from ontology.runtime.crons import REGISTERED
    from ontology.runtime.registry import _import_module

    _import_module("crons")
    by_expression = {(j.expression, f"cron: {j.name}"): j for j in REGISTERED.jobs.values()}
    out = []
    for logical_id, res in template["Resources"].items():
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "Schedule":
                props = event["Properties"]
                job = by_expression.get((props["Schedule"], props.get("Description", "")))
                if job is None:
                    job = _infrastructure_schedule(logical_id, props)
                if job is not None:
                    out.append((logical_id, job.name, job))
    return out


def stream_filters(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    events = template["Resources"][logical_id]["Properties"].get("Events", {})
    filters = []
    for event in events.values():
        if event.get("Type") == "DynamoDB":
            for f in event["Properties"].get("FilterCriteria", {}).get("Filters", []):
                filters.append(json.loads(f["Pattern"]))
    return filters


def _infrastructure_schedule(logical_id: str, props: dict[str, Any]) -> Any:
    """A platform schedule that is no registered cron (the sync keep-alive's ``rate(1 minute)``)."""
    from ontology.runtime.crons import CronJob

    m = re.match(r"^rate\((\d+) (minute|minutes|hour|hours)\)$", props["Schedule"])
    if not m:
        return None
    seconds = int(m.group(1)) * (60 if m.group(2).startswith("minute") else 3600)
    return CronJob(
        name=props.get("Description") or logical_id,
        function=logical_id,
        expression=props["Schedule"],
        unix=None,
        rate_seconds=seconds,
    )
