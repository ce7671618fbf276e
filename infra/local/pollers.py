"""What AWS does between services, done locally: Lambda's pollers and EventBridge's schedules.

moto stores streams, queues and schedules but never delivers from them. These pollers read them
through the same APIs Lambda's event source mappings and EventBridge use, and invoke the template's
functions with the events AWS would send:

- :class:`StreamPoller` — the table's stream → its mappings, each with the template's settings:
  filters, batch size, partial batch responses, bisection, retries, record age, parallelization and
  the failure destination (docs/local-stack.md, "Retries and failure destinations");
- :class:`QueuePoller` — a standard queue → its function (deleting what it did not report as failed;
  the rest comes back after the queue's own visibility timeout, and goes to the dead-letter queue
  after the queue's ``maxReceiveCount``, as SQS does);
- :class:`FifoQueuePoller` — the sync FIFO queue, each message group in its own invocation;
- :class:`SchedulePoller` — one-time ``at()`` schedules that are due → their target queue;
- :class:`CronPoller` — the template's ``Schedule`` events → their functions, on time (croniter).

Each has ``poll_once()`` (the tests drive them step by step) and runs in a loop in the local stack.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.runner import LambdaRunner, async_retry_delays, send_to_dead_letter_queue

log = logging.getLogger("one.local")

#: The account moto answers for (Lambda's function ARNs in invocation records name it).
ACCOUNT = "123456789012"


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style filter: a dict pattern matches key by key, a list of values by membership."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(p, value[k]) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        return value in pattern
    return bool(pattern == value)


@dataclass
class StreamMapping:
    """One DynamoDB-stream event source mapping, with Lambda's defaults where the template sets none."""

    #: The function's logical id.
    target: str
    filters: list[dict[str, Any]] = field(default_factory=list)
    batch_size: int = 100
    #: -1: retried until the record expires (AWS's default).
    maximum_retry_attempts: int = -1
    #: Seconds; -1: no limit (the stream's own 24 hours).
    maximum_record_age: int = -1
    bisect: bool = False
    report_batch_item_failures: bool = False
    parallelization: int = 1
    #: The OnFailure destination's queue URL (None: a skipped record is only logged, as Lambda drops it).
    on_failure: str | None = None
    #: The function's ARN, as invocation records name it.
    function_arn: str = ""


def stream_mappings(template: dict[str, Any], physical: dict[str, str] | None = None) -> list[StreamMapping]:
    """Every DynamoDB-stream event of the template as a mapping (``physical``: the stack's logical →
    physical ids, which give the failure destination's queue URL and the function's name; without
    it, no destination)."""
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    out = []
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            p = event["Properties"]
            destination = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            target = destination["Fn::GetAtt"][0] if isinstance(destination, dict) else None
            if physical is not None and target is not None and target not in physical:
                raise ValueError(f"{logical_id}: its failure destination {target} is not in the stack")
            name = (physical or {}).get(logical_id, logical_id)
            out.append(
                StreamMapping(
                    target=logical_id,
                    filters=[
                        json.loads(f["Pattern"]) for f in (p.get("FilterCriteria") or {}).get("Filters", [])
                    ],
                    batch_size=int(p.get("BatchSize", 100)),
                    maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
                    maximum_record_age=int(p.get("MaximumRecordAgeInSeconds", -1)),
                    bisect=bool(p.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (p.get("FunctionResponseTypes") or []),
                    parallelization=int(p.get("ParallelizationFactor", 1)),
                    on_failure=physical[target] if physical is not None and target is not None else None,
                    function_arn=f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
                )
            )
    return out


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    #: Retries these records have used (a split uses none, and its halves keep the count).
    retries: int = 0
    #: Invocations of exactly these records.
    invokes: int = 0


@dataclass
class _Lane:
    """One mapping's share of one shard: its records in order, the batch in flight first."""

    mapping: StreamMapping
    shard: str
    backlog: list[dict[str, Any]] = field(default_factory=list)
    batches: list[_Batch] = field(default_factory=list)
    not_before: float = 0.0


#: A partial batch response Lambda cannot use (an empty, missing or unknown itemIdentifier).
_INVALID = -1


class StreamPoller:
    """The table's stream → its event source mappings, as Lambda runs them.

    The stream is read once for all mappings; each mapping keeps its own position, so one failing
    never holds back another. Within a mapping, each shard, and each of a shard's
    ``ParallelizationFactor`` lanes (records go to a lane by their partition key, so one key's
    records stay in order), is independent: a failing batch holds back only its own lane.

    A batch the function fails (an error, or an unusable partial response) is split in two when the
    mapping bisects, without using a retry; a partial response (``ReportBatchItemFailures``)
    completes the records before the lowest failed sequence number and retries from it (split there,
    without using a retry, when the mapping bisects and there is something before it). A batch that
    cannot be split is retried, after a wait that doubles each time (``retry_delay``, at most
    ``max_retry_delay`` seconds; AWS backs off too), until ``MaximumRetryAttempts`` retries have
    failed; then its records are skipped, and an invocation record goes to the mapping's failure
    destination as Lambda sends it (``RetryAttemptsExhausted``). Records older than
    ``MaximumRecordAgeInSeconds`` are skipped the same way (``RecordAgeExceeded``).
    """

    def __init__(
        self,
        runner: LambdaRunner,
        streams: Any,
        stream_arn: str,
        mappings: list[StreamMapping],
        *,
        retry_delay: float = 0.5,
        max_retry_delay: float = 10.0,
        partition_key: str = "pk",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner, self.streams, self.stream_arn = runner, streams, stream_arn
        self.mappings = mappings
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self.partition_key = partition_key
        #: Wall-clock seconds, against which records' ages are measured.
        self.clock = clock
        self._lanes: dict[tuple[str, str, int], _Lane] = {}
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

    def _lane(self, mapping: StreamMapping, shard: str, record: dict[str, Any]) -> _Lane:
        index = 0
        if mapping.parallelization > 1:
            keys = (record.get("dynamodb") or {}).get("Keys") or {}
            key = json.dumps(keys.get(self.partition_key, keys), sort_keys=True, default=str)
            index = zlib.crc32(key.encode()) % mapping.parallelization
        lane = self._lanes.get((mapping.target, shard, index))
        if lane is None:
            lane = self._lanes[(mapping.target, shard, index)] = _Lane(mapping, shard)
        return lane

    def _event_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A stream record as Lambda hands it over: its source ARN, its time as epoch seconds."""
        change = dict(record.get("dynamodb") or {})
        when = change.get("ApproximateCreationDateTime")
        if isinstance(when, datetime):
            change["ApproximateCreationDateTime"] = when.timestamp()
        return {**record, "dynamodb": change, "eventSourceARN": self.stream_arn}

    def poll_once(self) -> int:
        """Read new records and deliver what each lane may; returns how many records were done
        (delivered with success, or skipped)."""
        for shard in self._shards():
            sid = shard["ShardId"]
            if sid not in self._iterators:
                self._iterators[sid] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            resp = self.streams.get_records(ShardIterator=self._iterators[sid], Limit=1000)
            for record in resp.get("Records", []):
                for mapping in self.mappings:
                    if not mapping.filters or any(matches(f, record) for f in mapping.filters):
                        self._lane(mapping, sid, record).backlog.append(self._event_record(record))
            if resp.get("NextShardIterator"):
                self._iterators[sid] = resp["NextShardIterator"]
        return sum(self._step(lane) for lane in list(self._lanes.values()))

    def due_in(self) -> float | None:
        """Seconds until a lane's retry is due (0 when a lane could go now), None with nothing held."""
        now = time.monotonic()
        waits = [
            max(0.0, lane.not_before - now) for lane in self._lanes.values() if lane.backlog or lane.batches
        ]
        return min(waits, default=None)

    def pending(self) -> int:
        """Records read and not yet done, across every mapping."""
        return sum(
            len(lane.backlog) + sum(len(b.records) for b in lane.batches) for lane in self._lanes.values()
        )

    def _step(self, lane: _Lane) -> int:
        mapping = lane.mapping
        if lane.not_before > time.monotonic():
            return 0
        if not lane.batches:
            if not lane.backlog:
                return 0
            lane.batches.append(_Batch(lane.backlog[: mapping.batch_size]))
            del lane.backlog[: mapping.batch_size]
        batch = lane.batches[0]
        done = self._expire(lane, batch)
        if not batch.records:
            lane.batches.pop(0)
            return done
        error: Exception | None = None
        result: Any = None
        try:
            result = self.runner.invoke(mapping.target, {"Records": batch.records})
        except Exception as exc:  # a function error, as Lambda reports it
            error = exc
        batch.invokes += 1
        failed_at = self._checkpoint(mapping, batch.records, result) if error is None else _INVALID
        if failed_at is None:
            lane.batches.pop(0)
            lane.not_before = 0.0
            return done + len(batch.records)
        if failed_at > 0:  # done up to the checkpoint; the rest from it
            done += failed_at
            rest = batch.records[failed_at:]
            if mapping.bisect:
                lane.batches[0] = _Batch(rest, retries=batch.retries)
                return done
            batch.records = rest
        elif failed_at == _INVALID and mapping.bisect and len(batch.records) > 1:
            half = len(batch.records) // 2
            lane.batches[0:1] = [
                _Batch(batch.records[:half], retries=batch.retries),
                _Batch(batch.records[half:], retries=batch.retries),
            ]
            log.warning("%s failed a batch of %d; bisected", mapping.target, len(batch.records))
            return done
        batch.retries += 1
        if 0 <= mapping.maximum_retry_attempts < batch.retries:
            lane.batches.pop(0)
            lane.not_before = 0.0
            self._skip(lane, batch, "RetryAttemptsExhausted", function_error=error is not None)
            return done + len(batch.records)
        wait = min(self.retry_delay * 2 ** (batch.retries - 1), self.max_retry_delay)
        lane.not_before = time.monotonic() + wait
        log.warning(
            "%s failed %d records (retry %d of %s in %.1f s)",
            mapping.target,
            len(batch.records),
            batch.retries,
            mapping.maximum_retry_attempts if mapping.maximum_retry_attempts >= 0 else "∞",
            wait,
        )
        return done

    def _checkpoint(self, mapping: StreamMapping, records: list[dict[str, Any]], result: Any) -> int | None:
        """Where a successful invocation's answer says to retry from: None (nothing failed), the
        position of the lowest failed sequence number, or ``_INVALID`` (the whole batch failed)."""
        if not mapping.report_batch_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if not failures:
            return None
        positions = {str((r.get("dynamodb") or {}).get("SequenceNumber")): i for i, r in enumerate(records)}
        found = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or str(identifier) not in positions:
                return _INVALID
            found.append(positions[str(identifier)])
        return min(found)

    def _expire(self, lane: _Lane, batch: _Batch) -> int:
        """Skip the records at the batch's head older than the mapping's maximum record age."""
        limit = lane.mapping.maximum_record_age
        if limit < 0:
            return 0
        now = self.clock()
        old = 0
        for record in batch.records:
            created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
            if not isinstance(created, int | float) or now - created <= limit:
                break
            old += 1
        if old:
            expired = _Batch(batch.records[:old], invokes=batch.invokes)
            batch.records = batch.records[old:]
            self._skip(lane, expired, "RecordAgeExceeded", function_error=False)
        return old

    def _skip(self, lane: _Lane, batch: _Batch, condition: str, *, function_error: bool) -> None:
        """Give the records up, and send the mapping's failure destination Lambda's invocation record."""
        mapping = lane.mapping
        first, last = batch.records[0]["dynamodb"], batch.records[-1]["dynamodb"]
        log.error(
            "%s skips %d stream records (%s; sequence numbers %s to %s)%s",
            mapping.target,
            len(batch.records),
            condition,
            first.get("SequenceNumber"),
            last.get("SequenceNumber"),
            "" if mapping.on_failure else "; no failure destination",
        )
        if not mapping.on_failure:
            return
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invokes,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if function_error else {}),
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": lane.shard,
                "startSequenceNumber": first.get("SequenceNumber"),
                "endSequenceNumber": last.get("SequenceNumber"),
                "approximateArrivalOfFirstRecord": _arrival(first),
                "approximateArrivalOfLastRecord": _arrival(last),
                "batchSize": len(batch.records),
                "streamArn": self.stream_arn,
            },
        }
        if not batch.invokes:  # never invoked: no response to describe
            del record["responseContext"]
        self._send_as(mapping.target, mapping.on_failure, json.dumps(record))

    def _send_as(self, target: str, queue_url: str, body: str) -> None:
        """Send as the function's own role, as Lambda sends to a destination (its role needs
        ``sqs:SendMessage`` on the queue: SAM grants it for a destination of Type SQS)."""
        from infra.local.credentials import acting_as
        from ontology.aws import client

        roles = getattr(self.runner, "roles", None)
        try:
            with acting_as(roles.credentials(target) if roles is not None else None):
                client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)
        except Exception:
            log.exception("%s: the failure destination refused the invocation record", target)


def _arrival(change: dict[str, Any]) -> str | None:
    when = change.get("ApproximateCreationDateTime")
    if not isinstance(when, int | float):
        return None
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_visibility(visibility: int, function_timeout: int) -> None:
    """Lambda refuses an SQS mapping whose queue's visibility timeout is shorter than the function's
    timeout (CreateEventSourceMapping's InvalidParameterValueException): so does the local stack."""
    if visibility < function_timeout:
        raise ValueError(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{function_timeout} seconds"
        )


class QueuePoller:
    """A standard queue as Lambda's SQS mapping serves it: messages are received with the queue's own
    visibility timeout (Lambda sets none of its own), those the function did not report as failed are
    deleted, and the rest (all of them, when the function fails or reports an unknown identifier) stay
    where SQS put them: visible again after the visibility timeout, or whenever the function itself
    said, and moved to the dead-letter queue by SQS after ``maxReceiveCount`` receives."""

    def __init__(self, runner: LambdaRunner, sqs: Any, queue_url: str, queue_arn: str, target: str) -> None:
        self.runner, self.sqs, self.queue_url, self.queue_arn, self.target = (
            runner,
            sqs,
            queue_url,
            queue_arn,
            target,
        )
        function = getattr(runner, "defs", {}).get(target)
        if function is not None:
            check_visibility(self.visibility_timeout, function.timeout)

    @property
    def visibility_timeout(self) -> int:
        """The queue's visibility timeout now (SQS applies it to every message the poller receives)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
        )
        return int(attributes["Attributes"]["VisibilityTimeout"])

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

    def _receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        # No VisibilityTimeout: SQS applies the queue's own, as to Lambda's pollers.
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        return list(resp.get("Messages", []))

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with the messages; the ids of those that failed."""
        every = {m["MessageId"] for m in messages}
        try:
            result = self.runner.invoke(self.target, {"Records": [self._record(m) for m in messages]}) or {}
        except Exception:
            log.exception("%s failed a batch; it comes back after the visibility timeout", self.target)
            return every
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        failed: set[str] = set()
        for failure in failures or []:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in every:  # Lambda fails the whole batch
                return every
            failed.add(identifier)
        return failed

    def poll_once(self, wait_seconds: int = 0) -> int:
        messages = self._receive(wait_seconds)
        if not messages:
            return 0
        failed = self._invoke(messages)
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return len(messages) - len(failed)


class FifoQueuePoller(QueuePoller):
    """A FIFO queue as Lambda's SQS mapping serves one: each message group's batch goes to its own
    invocation, groups in parallel, one batch per group at a time (SQS itself holds a group's next
    messages back while one of its messages is in flight). A failed record stays in flight until the
    queue's visibility timeout (or whatever the function set), holding its group back meanwhile, as
    in AWS."""

    def __init__(self, *args: Any, workers: int = 8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fifo")
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def poll_once(self, wait_seconds: int = 0) -> int:
        groups: dict[str, list[dict[str, Any]]] = {}
        for m in self._receive(wait_seconds):
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
            failed = self._invoke(messages)
            for m in messages:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        except Exception:
            log.exception("%s: delivering a batch failed", self.target)
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

    def replace(self, crons: list[tuple[str, str, Any]]) -> None:
        """Fire these crons from now on (the dev loop reloaded the code that declares them): one kept
        under the same name and schedule keeps its next fire time."""
        start = datetime.now(UTC)
        kept = {name: job for _, name, job in self.crons}
        with self._lock:
            self._next = {
                name: self._next[name]
                if name in self._next and kept.get(name) == job
                else job.next_fire(start, self.created)
                for _, name, job in crons
            }
            self.crons = crons

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
        """What Lambda does once its retries are spent: the event to the function's dead-letter queue."""
        url = self.dead_letters.get(logical_id)
        if url is None or self.sqs is None:
            log.error("cron %s: retries spent, the event is dropped (no dead-letter queue)", name)
            return
        send_to_dead_letter_queue(self.sqs, url, json.dumps(event), error)
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
                at = self._next.get(name)  # None: replaced meanwhile (CronPoller.replace)
                due = at is not None and at <= now
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
    from ontology.runtime.registry import code_module

    code_module("crons")
    by_expression = {(j.expression, f"cron: {j.name}"): j for j in REGISTERED.jobs.values()}
    out = []
    for logical_id, res in template["Resources"].items():
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "Schedule":
                props = event["Properties"]
                if not isinstance(props["Schedule"], str):
                    continue  # a parameter's schedule (backups): off locally, as its default
                job = by_expression.get((props["Schedule"], props.get("Description", "")))
                if job is None:
                    job = _infrastructure_schedule(logical_id, props)
                if job is not None:
                    out.append((logical_id, job.name, job))
    return out


def expose_crons(template: dict[str, Any]) -> None:
    """The dashboard's ``ONE_CRONS`` (its own variable in the template: the crons its Schedules page
    lists and runs), in the stack's process, where the functions run."""
    dashboard = (template["Resources"].get("DashboardFunction") or {}).get("Properties") or {}
    crons = ((dashboard.get("Environment") or {}).get("Variables") or {}).get("ONE_CRONS")
    if isinstance(crons, str):
        os.environ["ONE_CRONS"] = crons


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
