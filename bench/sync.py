"""Reactivity: how fast a write reaches a subscriber, and what one write costs.

- **Latency** (the local stack as `make dev` runs it, a subscriber through the sync protocol): from a
  write's acknowledgement (its HTTP response) to the subscriber's new value, p50 and p99 over 50
  writes; from the write's request, for comparison.
- **Queries re-run per write**, 1,000 subscriptions to 1,000 different documents, one write: the real
  handlers (the invalidator on the write's stream records, the worker on its queue), in-process on
  moto, with the function invocations counted.
- **What one write costs** when it touches k subscriptions (k connections watching one document):
  DynamoDB requests and Lambda invocations, counted on the same handlers.
- **What one ``ModifyQuerySet`` costs at the caps**: one message adding as many subscriptions as a
  connection may hold, each a search reading 100 documents (unbounded, ~100 watch items and markers
  each): the items it writes and the queries it runs, against the limits' own bounds.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import ORG, local_table, result
from bench.local_stack import _Stack

WRITES = 50


def _latency() -> list[dict[str, Any]]:
    from ontology.client import OneClient

    with tempfile.TemporaryDirectory() as tmp:
        stack = _Stack(Path(tmp) / "state")
        stack.start()
        try:
            client = OneClient(f"http://127.0.0.1:{stack.api}", token=stack.session["token"])
            email = f"bench-{time.time_ns()}@example.com"
            creator = client.mutation("creators:create", {"email": email, "name": "Bench", "niche": ["x"]})
            cid = creator["creatorId"]
            after_ack, after_send = [], []
            with client.subscribe("creators:get", {"id": cid}) as sub:
                sub.get(timeout=30)
                for i in range(5 + WRITES):  # the first five warm the handlers
                    sent = time.perf_counter()
                    client.mutation("creators:update", {"id": cid, "bio": f"bio {i}"})
                    acked = time.perf_counter()
                    sub.wait_for(lambda v, i=i: v["properties"].get("bio") == f"bio {i}", timeout=30)
                    seen = time.perf_counter()
                    if i >= 5:
                        after_ack.append((seen - acked) * 1000)
                        after_send.append((seen - sent) * 1000)
        finally:
            stack.stop()
    p50 = statistics.median(after_ack)
    p99 = sorted(after_ack)[int(len(after_ack) * 0.99) - 1]
    return [
        result("sync: write acknowledged -> subscriber's value, p50 (ms)", p50, "<= 50", p50 <= 50),
        result("sync: write acknowledged -> subscriber's value, p99 (ms)", p99, "report", True),
        result(
            "sync: write sent -> subscriber's value, p50 (ms)", statistics.median(after_send), "report", True
        ),
    ]


class _Invocations:
    def __init__(self) -> None:
        self.by_function: dict[str, int] = {}

    def __call__(self, fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
        from ontology.sync.calls import in_process

        self.by_function[fn.spec.path] = self.by_function.get(fn.spec.path, 0) + 1
        return in_process(fn, payload)

    def total(self) -> int:
        return sum(self.by_function.values())


def _docs(n: int) -> list[str]:
    from ontology import run_mutation

    now = int(time.time() * 1000)
    ids: list[str] = []
    # each lesson's name entries are items of its transaction too, and (an active lesson is public)
    # its public pointer
    for start in range(0, n, 15):
        ids += run_mutation(
            lambda db, start=start: [
                db.insert(
                    "entities",
                    {
                        "type": "lesson",
                        "name": f"Lesson {start + i}",
                        "status": "active",
                        "createdAt": now,
                        "updatedAt": now,
                        "properties": {},
                    },
                )
                for i in range(min(15, n - start))
            ],
            org=ORG,
        )
    return ids


def _subscribe(state: Any, connection_id: str, doc_id: str) -> None:
    from ontology.sync.worker import process

    conn = state.create(connection_id)
    conn.identity = {"userId": "usr_bench", "organizationId": ORG, "role": "org_owner"}
    conn.identity_version = 1
    state.save(conn)
    add = {"type": "Add", "queryId": 0, "udfPath": "entities:get", "args": [{"id": doc_id}]}
    message = {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": [add]}
    process(state, {"c": connection_id, "m": json.dumps(message)})


def _write_and_deliver(streams: Any, sqs: Any, queue_url: str, doc_id: str, counter: Any) -> dict[str, int]:
    """Patch one document, hand its stream records to the invalidator and its queue to the worker;
    what that cost."""
    from ontology import run_mutation
    from ontology.data.dynamodb import default_store
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.websocket import worker_handler

    arn = streams.list_streams()["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    run_mutation(lambda db: db.patch(doc_id, {"name": f"renamed {time.time_ns()}"}), org=ORG)
    records = streams.get_records(ShardIterator=iterator)["Records"]
    counter.reset()
    invalidate_handler({"Records": records})
    invalidator_requests = len(counter.requests)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    batches: list[list[dict[str, Any]]] = []
    while messages.get("Messages"):
        batches.append(messages["Messages"])
        for m in messages["Messages"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
    counter.reset()
    groups: dict[str, list[dict[str, Any]]] = {}
    for batch in batches:
        for m in batch:
            groups.setdefault(m["Attributes"]["MessageGroupId"], []).append(m)
    for group in groups.values():  # Lambda invokes the worker once per message group's batch
        worker_handler({"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in group]})
    _ = default_store()
    return {
        "invalidator_requests": invalidator_requests,
        "worker_requests": len(counter.requests),
        "worker_invocations": len(groups),
    }


class _Puts:
    """Items the table is asked to write."""

    def __init__(self) -> None:
        self.items = 0

    def __call__(self, operation: str, params: dict[str, Any], response: Any) -> None:
        if operation == "BatchWriteItem":
            self.items += sum(
                1 for requests in params["RequestItems"].values() for r in requests if "PutRequest" in r
            )
        elif operation in ("PutItem", "UpdateItem"):
            self.items += 1


def _one_message_at_the_caps(
    state: Any, invocations: _Invocations, posted: list[Any]
) -> list[dict[str, Any]]:
    from ontology.data.dynamodb import add_listener, remove_listener
    from ontology.sync import limits
    from ontology.sync.worker import process

    conn = state.create("caps")
    conn.identity = {
        "userId": "usr_bench",
        "organizationId": ORG,
        "role": "org_owner",
        "sessionId": "ses_caps",
    }
    conn.identity_version = 1
    state.save(conn)
    search = {"query": "lesson", "limit": 100}
    adds = [
        {"type": "Add", "queryId": i, "udfPath": "entities:search", "args": [search]}
        for i in range(limits.MAX_QUERIES)
    ]
    message = {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": adds}
    puts = _Puts()
    invocations.by_function.clear()
    posted.clear()
    add_listener(puts)
    try:
        process(state, {"c": "caps", "m": json.dumps(message)}, "caps-1")
    finally:
        remove_listener(puts)
    runs = invocations.total()
    answered = {m["queryId"] for _, t in posted if t["type"] == "Transition" for m in t["modifications"]}
    return [
        result(
            f"sync: items written by one ModifyQuerySet of {limits.MAX_QUERIES} search subscriptions",
            puts.items,
            f"<= {limits.MESSAGE_ITEMS}",
            puts.items <= limits.MESSAGE_ITEMS and len(answered) == limits.MAX_QUERIES,
        ),
        result(
            f"sync: queries run by one ModifyQuerySet of {limits.MAX_QUERIES} search subscriptions",
            runs,
            f"<= {limits.ITEM_RUNS}",
            runs <= limits.ITEM_RUNS,
        ),
    ]


def _costs() -> list[dict[str, Any]]:
    import boto3

    from ontology.settings import configure
    from ontology.sync import calls, push

    out: list[dict[str, Any]] = []
    posted: list[tuple[str, Any]] = []
    original_post = push.post
    push.post = lambda connection_id, message: posted.append((connection_id, message))  # type: ignore[assignment]
    invocations = _Invocations()
    calls.set_invoker(invocations)
    try:
        with local_table() as counter:
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(
                QueueName="bench-sync.fifo",
                Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
            )["QueueUrl"]
            configure(sync_queue_url=url)
            streams = boto3.client("dynamodbstreams", region_name="us-east-1")
            from ontology.sync.state import SyncState

            state = SyncState()
            ids = _docs(1_000)
            for n, doc_id in enumerate(ids):
                _subscribe(state, f"one-{n}", doc_id)
            invocations.by_function.clear()
            posted.clear()
            cost = _write_and_deliver(streams, sqs, url, ids[500], counter)
            reruns = invocations.total()
            out.append(
                result(
                    "sync: queries re-run per write, 1,000 subscriptions to 1,000 documents",
                    reruns,
                    "1",
                    reruns == 1 and len(posted) == 1,
                )
            )
            for k in (1, 10, 100):
                doc = ids[k]  # already watched by one connection: k-1 more
                for n in range(k - 1):
                    _subscribe(state, f"k{k}-{n}", doc)
                invocations.by_function.clear()
                cost = _write_and_deliver(streams, sqs, url, doc, counter)
                requests = cost["invalidator_requests"] + cost["worker_requests"]
                lambdas = 1 + cost["worker_invocations"] + invocations.total()
                # on paper: the invalidator's BatchGetItem and one Query, one SendMessageBatch per 10
                # connections (SQS, not DynamoDB); per connection the invalidator's mark of its
                # pending re-run (UpdateItem), the worker's BatchGetItem of the connection and its
                # pending re-run, the query's own read, the conditional PutItem and the conditional
                # clear of the pending re-run (ontology.sync.pending)
                budget = 2 + 5 * k
                out.append(
                    result(
                        f"sync: DynamoDB requests per write touching k={k} subscriptions",
                        requests,
                        f"<= {budget}",
                        requests <= budget,
                    )
                )
                out.append(
                    result(
                        f"sync: Lambda invocations per write touching k={k} subscriptions",
                        lambdas,
                        f"= {1 + 2 * k}",
                        lambdas == 1 + 2 * k,
                    )
                )
            out += _one_message_at_the_caps(state, invocations, posted)
    finally:
        push.post = original_post  # type: ignore[assignment]
        calls.set_invoker(None)
    return out


def run() -> list[dict[str, Any]]:
    return _costs() + _latency()
