"""Retries and failures as AWS delivers them, through the local stack's pollers on moto: stream
mappings bisect, retry ``MaximumRetryAttempts`` times, skip and send Lambda's invocation record to the
failure destination, each mapping and each lane on its own; SQS messages a function failed come back
after the queue's own visibility timeout (a FIFO group held meanwhile) and go to the dead-letter
queue after ``maxReceiveCount`` receives."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import seconds_hidden
from tests.infra.localstack import until

TABLE = "retries"


class Runner:
    """Stands in for the Lambda runner: each target's handler, and every invocation's keys."""

    roles = None

    def __init__(self, handlers: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, list[str]]] = []

    def invoke(self, target: str, event: dict[str, Any]) -> Any:
        records = event["Records"]
        keys = [_key(r) for r in records]
        self.calls.append((target, keys))
        return self.handlers[target](event)

    def batches(self, target: str) -> list[list[str]]:
        return [keys for t, keys in self.calls if t == target]


def _key(record: dict[str, Any]) -> str:
    if "body" in record:
        return str(record["body"])
    return str(record["dynamodb"]["Keys"]["pk"]["S"])


@pytest.fixture
def stream(aws: None) -> Iterator[Any]:
    import boto3

    from ontology.aws import reset_clients, use_credentials
    from ontology.settings import configure

    configure(None)
    use_credentials(None)
    reset_clients()
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sqs = boto3.client("sqs")
    failures = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]

    class Rig:
        stream_arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]

        def __init__(self) -> None:
            self.sqs, self.failures = sqs, failures

        def write(self, *keys: str) -> None:
            for key in keys:
                ddb.put_item(TableName=TABLE, Item={"pk": {"S": key}})

        def poller(self, runner: Runner, *mappings: Any, **options: Any) -> Any:
            from infra.local.pollers import StreamPoller

            return StreamPoller(
                runner, boto3.client("dynamodbstreams"), self.stream_arn, list(mappings), **options
            )

        def skipped(self) -> list[dict[str, Any]]:
            """The invocation records in the failure destination."""
            out = []
            while True:
                got = sqs.receive_message(QueueUrl=failures, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    return out
                for m in got:
                    out.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=failures, ReceiptHandle=m["ReceiptHandle"])

    yield Rig()
    reset_clients()


def _mapping(target: str, **changes: Any) -> Any:
    """The template's own settings for a stream mapping (the dispatcher's), on ``target``."""
    from infra.local.pollers import stream_mappings
    from infra.template.document import load_template

    (dispatcher,) = [m for m in stream_mappings(load_template()) if m.target == "SchedulerDispatcherFunction"]
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{target}"
    settings = {"target": target, "function_arn": arn, "filters": [], "parallelization": 1, **changes}
    return dataclasses.replace(dispatcher, **settings)


def _drain(poller: Any, rounds: int = 200) -> None:
    for _ in range(rounds):
        poller.poll_once()
        if not poller.pending():
            return
    raise AssertionError(f"{poller.pending()} stream records still pending")


def _sequence(stream: Any, key: str) -> str:
    import boto3

    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream.stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return str(next(r["dynamodb"]["SequenceNumber"] for r in records if _key(r) == key))


def test_a_failing_record_is_bisected_retried_then_skipped_to_the_failure_destination(stream: Any) -> None:
    def failing(event: dict[str, Any]) -> Any:
        if any(_key(r) == "k5" for r in event["Records"]):
            raise RuntimeError("poison")
        return {"batchItemFailures": []}

    runner = Runner({"Failing": failing, "Other": lambda event: None})
    mapping = _mapping("Failing", on_failure=stream.failures)
    assert (mapping.maximum_retry_attempts, mapping.bisect) == (10, True)  # the template's
    poller = stream.poller(runner, mapping, _mapping("Other"), retry_delay=0)
    stream.write(*(f"k{i}" for i in range(8)))
    _drain(poller)
    # AWS's order: split in halves (no retry used) until the record is alone, then 1 + 10 tries
    assert runner.batches("Failing") == [
        [f"k{i}" for i in range(8)],
        ["k0", "k1", "k2", "k3"],
        ["k4", "k5", "k6", "k7"],
        ["k4", "k5"],
        ["k4"],
        *[["k5"]] * 11,
        ["k6", "k7"],
    ]
    # the other mapping of the same stream never waited for it
    assert runner.batches("Other") == [[f"k{i}" for i in range(8)]]
    (record,) = stream.skipped()
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 11
    assert record["requestContext"]["functionArn"].endswith(":function:Failing")
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["version"] == "1.0"
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == stream.stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == _sequence(stream, "k5")
    assert info["shardId"].startswith("shardId-") and info["approximateArrivalOfFirstRecord"].endswith("Z")
    # later writes are delivered as usual
    stream.write("k8")
    _drain(poller)
    assert runner.batches("Failing")[-1] == ["k8"]


def test_a_partial_response_completes_the_records_before_the_checkpoint(stream: Any) -> None:
    failed_once: set[str] = set()

    def transient(event: dict[str, Any]) -> Any:
        for r in event["Records"]:
            if _key(r) == "k2" and "k2" not in failed_once:
                failed_once.add("k2")
                # Lambda retries from the lowest failed sequence number, whatever the order given
                later = next(x for x in event["Records"] if _key(x) == "k4")
                return {
                    "batchItemFailures": [
                        {"itemIdentifier": later["dynamodb"]["SequenceNumber"]},
                        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]},
                    ]
                }
        return {"batchItemFailures": []}

    runner = Runner({"Partial": transient})
    poller = stream.poller(runner, _mapping("Partial", on_failure=stream.failures), retry_delay=0)
    stream.write(*(f"k{i}" for i in range(5)))
    _drain(poller)
    assert runner.batches("Partial") == [["k0", "k1", "k2", "k3", "k4"], ["k2", "k3", "k4"]]
    assert stream.skipped() == []


def test_an_unusable_partial_response_fails_the_whole_batch(stream: Any) -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}])
    runner = Runner({"Odd": lambda event: next(answers, None)})
    poller = stream.poller(runner, _mapping("Odd", on_failure=stream.failures), retry_delay=0)
    stream.write("k0", "k1")
    _drain(poller)
    assert runner.batches("Odd") == [["k0", "k1"], ["k0"], ["k1"]]


def test_the_platforms_answer_isolates_a_failing_record_behind_others(stream: Any) -> None:
    """ontology.runtime.streams: the checkpoint when the failing record is not first, a function error
    (bisect) when it is, so only that record is skipped, never the records behind it."""
    from ontology.runtime.streams import batch_response

    def handler(event: dict[str, Any]) -> Any:
        records = event["Records"]
        keys = [_key(r) for r in records]
        return batch_response(records, keys.index("k2") if "k2" in keys else None)

    runner = Runner({"Platform": handler})
    poller = stream.poller(runner, _mapping("Platform", on_failure=stream.failures), retry_delay=0)
    stream.write(*(f"k{i}" for i in range(5)))
    _drain(poller)
    assert runner.batches("Platform") == [
        ["k0", "k1", "k2", "k3", "k4"],
        ["k2", "k3", "k4"],
        ["k2"],
        *[["k2"]] * 10,
        ["k3", "k4"],
    ]
    (record,) = stream.skipped()
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert "functionError" not in record["responseContext"]  # the last answer was a partial response


def test_without_bisection_the_whole_batch_is_retried_then_skipped(stream: Any) -> None:
    def failing(event: dict[str, Any]) -> Any:
        if any(_key(r) == "k1" for r in event["Records"]):
            raise RuntimeError("poison")

    runner = Runner({"Whole": failing})
    mapping = _mapping("Whole", on_failure=stream.failures, bisect=False, maximum_retry_attempts=2)
    poller = stream.poller(runner, mapping, retry_delay=0)
    stream.write("k0", "k1", "k2")
    _drain(poller)
    assert runner.batches("Whole") == [["k0", "k1", "k2"]] * 3
    (record,) = stream.skipped()
    assert record["DDBStreamBatchInfo"]["batchSize"] == 3
    assert record["requestContext"]["approximateInvokeCount"] == 3


def test_without_a_destination_a_skipped_record_is_only_dropped(stream: Any) -> None:
    runner = Runner({"Lost": lambda event: (_ for _ in ()).throw(RuntimeError("always"))})
    poller = stream.poller(runner, _mapping("Lost", on_failure=None, maximum_retry_attempts=1), retry_delay=0)
    stream.write("k0")
    _drain(poller)
    assert runner.batches("Lost") == [["k0"], ["k0"]]
    assert stream.skipped() == []


def test_a_retry_waits_and_holds_back_only_its_own_lane(stream: Any) -> None:
    """Between retries the lane waits (Lambda backs off); records of other partition keys go on
    in the shard's other lanes (ParallelizationFactor)."""

    def failing(event: dict[str, Any]) -> Any:
        if any(_key(r) == "poison" for r in event["Records"]):
            raise RuntimeError("poison")

    keys = ["poison", *(f"k{i:02d}" for i in range(24))]
    held: dict[int, set[str]] = {}
    for factor in (1, 4):
        runner = Runner({f"Lanes{factor}": failing})
        mapping = _mapping(f"Lanes{factor}", parallelization=factor)
        poller = stream.poller(runner, mapping, retry_delay=3600)
        if factor == 1:
            stream.write(*keys)
        for _ in range(20):
            poller.poll_once()
        delivered = {k for batch in runner.batches(f"Lanes{factor}") if "poison" not in batch for k in batch}
        retried = [batch for batch in runner.batches(f"Lanes{factor}") if batch == ["poison"]]
        assert len(retried) == 1, "the first retry waits its turn"
        held[factor] = set(keys) - {"poison"} - delivered
    assert held[1] == set(keys) - {"poison"}  # one lane: everything behind the poison waits
    assert held[4] and held[4] < held[1]  # four lanes: only the poison's share of the keys waits


def test_a_record_older_than_the_maximum_age_is_skipped(stream: Any) -> None:
    now = [time.time()]
    runner = Runner({"Slow": lambda event: (_ for _ in ()).throw(RuntimeError("down"))})
    mapping = _mapping("Slow", on_failure=stream.failures, maximum_record_age=60)
    poller = stream.poller(runner, mapping, retry_delay=0, clock=lambda: now[0])
    stream.write("k0")
    poller.poll_once()
    assert runner.batches("Slow") == [["k0"]]
    now[0] += 120
    _drain(poller)
    assert runner.batches("Slow") == [["k0"]]  # not invoked again: too old
    (record,) = stream.skipped()
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1


# ------------------------------------------------------------------------------------------ SQS


@pytest.fixture
def queues(aws: None) -> Any:
    import boto3

    sqs = boto3.client("sqs")

    def make(name: str, visibility: int, max_receives: int = 5, fifo: bool = False) -> tuple[str, str, str]:
        """A queue with its dead-letter queue: (url, arn, dead-letter url)."""
        suffix = ".fifo" if fifo else ""
        extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
        dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
        attributes = {**extra, "VisibilityTimeout": str(visibility), "RedrivePolicy": redrive}
        url = sqs.create_queue(QueueName=f"{name}{suffix}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn, dlq

    make.sqs = sqs  # type: ignore[attr-defined]
    return make


def _bodies(sqs: Any, url: str) -> list[str]:
    out = []
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        out += [m["Body"] for m in got]
    return out


def test_a_queue_poller_receives_with_the_queues_own_visibility_timeout(queues: Any) -> None:
    from infra.local.pollers import QueuePoller

    sqs = queues.sqs
    url, arn, _ = queues("jobs", visibility=360)
    runner = Runner(
        {
            "Runner": lambda event: {
                "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
            }
        }
    )
    poller = QueuePoller(runner, sqs, url, arn, "Runner")
    assert poller.visibility_timeout == 360
    sqs.send_message(QueueUrl=url, MessageBody="job")
    assert poller.poll_once() == 0
    assert 350 < seconds_hidden(url, "job") <= 360
    assert poller.poll_once() == 0 and len(runner.calls) == 1  # not back before its time


def test_a_queue_poller_takes_an_unknown_identifier_as_the_whole_batch_failed(queues: Any) -> None:
    from infra.local.pollers import QueuePoller

    sqs = queues.sqs
    url, arn, _ = queues("odd", visibility=300)
    runner = Runner({"Odd": lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}})
    sqs.send_message(QueueUrl=url, MessageBody="a")
    assert QueuePoller(runner, sqs, url, arn, "Odd").poll_once() == 0
    assert 290 < seconds_hidden(url, "a") <= 300  # kept, not deleted


def test_lambda_refuses_a_queue_whose_visibility_is_shorter_than_the_function_timeout(queues: Any) -> None:
    from infra.local.pollers import QueuePoller
    from infra.local.runner import LambdaRunner

    url, arn, _ = queues("short", visibility=30)
    runner = LambdaRunner()
    assert runner.defs["SchedulerRunnerFunction"].timeout == 60
    with pytest.raises(
        ValueError, match="Queue visibility timeout: 30 seconds is less than Function timeout: 60"
    ):
        QueuePoller(runner, queues.sqs, url, arn, "SchedulerRunnerFunction")


def _fifo_handler(delivered: list[str]) -> Callable[[dict[str, Any]], Any]:
    """Fails ``poison`` and whatever follows it in its group (as the sync worker does)."""

    def handle(event: dict[str, Any]) -> Any:
        failures, broken = [], False
        for r in event["Records"]:
            broken = broken or r["body"].startswith("poison")
            if broken:
                failures.append({"itemIdentifier": r["messageId"]})
            else:
                delivered.append(r["body"])
        return {"batchItemFailures": failures}

    return handle


def _send(sqs: Any, url: str, group: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)


def _settle(poller: Any) -> int:
    moved = poller.poll_once()
    assert until(poller.idle, timeout=30)
    return int(moved)


def test_a_failed_fifo_record_holds_its_group_until_the_visibility_timeout(queues: Any) -> None:
    from infra.local.pollers import FifoQueuePoller

    sqs = queues.sqs
    url, arn, _ = queues("sync", visibility=90, fifo=True)
    delivered: list[str] = []
    poller = FifoQueuePoller(Runner({"Worker": _fifo_handler(delivered)}), sqs, url, arn, "Worker")
    _send(sqs, url, "a", "poison-1", "a-2")
    _send(sqs, url, "b", "b-1")
    assert _settle(poller) == 3
    assert delivered == ["b-1"]
    assert 80 < seconds_hidden(url, "poison-1") <= 90  # back after the queue's visibility timeout
    _send(sqs, url, "b", "b-2")
    _send(sqs, url, "a", "a-3")
    assert _settle(poller) == 1  # group b goes on; group a is held, its new message too
    assert delivered == ["b-1", "b-2"]


@pytest.fixture
def sqs_clock(monkeypatch: Any) -> list[float]:
    """SQS's clock (moto's, in process), moved forward by the seconds put in it: a visibility
    timeout passes without waiting for it."""
    import moto.sqs.models as models

    offset = [0.0]
    millis, seconds = models.unix_time_millis, models.unix_time
    monkeypatch.setattr(models, "unix_time_millis", lambda *a: millis(*a) + offset[0] * 1000)
    monkeypatch.setattr(models, "unix_time", lambda *a: seconds(*a) + offset[0])
    return offset


def test_a_failing_fifo_record_comes_back_in_order_then_goes_to_the_dead_letter_queue(
    queues: Any, sqs_clock: list[float]
) -> None:
    from infra.local.pollers import FifoQueuePoller

    sqs = queues.sqs
    url, arn, dlq = queues("sync-redrive", visibility=60, max_receives=3, fifo=True)
    delivered: list[str] = []
    runner = Runner({"Worker": _fifo_handler(delivered)})
    poller = FifoQueuePoller(runner, sqs, url, arn, "Worker")
    _send(sqs, url, "a", "poison-1", "a-2")
    _send(sqs, url, "b", "b-1")
    assert _settle(poller) == 3
    for _ in range(2):
        assert _settle(poller) == 0  # held until the visibility timeout
        sqs_clock[0] += 61
        assert _settle(poller) == 2  # then back, the group's first message first
    assert [b for b in runner.batches("Worker") if "poison-1" in b] == [["poison-1", "a-2"]] * 3
    assert delivered == ["b-1"]
    sqs_clock[0] += 61
    assert _settle(poller) == 0  # received maxReceiveCount times: SQS moves them instead
    assert _bodies(sqs, dlq) == ["poison-1", "a-2"]
    _send(sqs, url, "a", "a-3")
    assert _settle(poller) == 1
    assert delivered == ["b-1", "a-3"]
