"""The sync worker on the real handlers, in-process on moto: ordering, redelivery, faults and the
invalidator's recheck of range subscriptions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ontology import run_mutation

ORG = "org_01M8BBBBBBBBBBBBBBBBBBBBBB"
IDENTITY = {"userId": "usr_01M8BBBBBBBBBBBBBBBBBBBBBB", "organizationId": ORG, "role": "org_owner"}


@pytest.fixture
def sync(table: str) -> Iterator[Any]:
    import boto3

    from ontology.settings import configure
    from ontology.sync import calls, push
    from ontology.sync.state import SyncState

    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(QueueName="t-sync.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    recheck = sqs.create_queue(QueueName="t-recheck")["QueueUrl"]
    configure(sync_queue_url=fifo, sync_recheck_queue_url=recheck)

    class Rig:
        state = SyncState()
        posted: list[tuple[str, dict[str, Any]]] = []
        closed: list[str] = []
        runs: list[str] = []
        fail_invokes = False

        def __init__(self) -> None:
            self.sqs, self.fifo, self.recheck = sqs, fifo, recheck

        def connect(self, connection_id: str = "c1") -> None:
            conn = self.state.create(connection_id)
            conn.identity, conn.identity_version = dict(IDENTITY), 1
            self.state.save(conn)

        def send(self, message: Any, connection_id: str = "c1", message_id: str = "") -> list[dict[str, Any]]:
            from ontology.sync.worker import process

            start = len(self.posted)
            text = message if isinstance(message, str) else json.dumps(message)
            process(self.state, {"c": connection_id, "m": text}, message_id or f"m{time.time_ns()}")
            return [m for _, m in self.posted[start:]]

    rig = Rig()
    original_post, original_close = push.post, push.close
    push.post = lambda c, m: rig.posted.append((c, m))  # type: ignore[assignment]
    push.close = rig.closed.append  # type: ignore[assignment]

    def invoker(fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
        rig.runs.append(fn.spec.path)
        if rig.fail_invokes:
            return {"status": "error", "errorMessage": "throttled", "errorData": {"code": "UPSTREAM_ERROR"}}
        return calls.in_process(fn, payload)

    calls.set_invoker(invoker)
    try:
        yield rig
    finally:
        push.post, push.close = original_post, original_close  # type: ignore[assignment]
        calls.set_invoker(None)


def _lesson(name: str) -> str:
    now = int(time.time() * 1000)
    doc = {
        "type": "lesson",
        "name": name,
        "status": "active",
        "createdAt": now,
        "updatedAt": now,
        "properties": {},
    }
    return str(run_mutation(lambda db: db.insert("entities", doc), org=ORG))


def _add(base: int, query_id: int, path: str, args: dict[str, Any]) -> dict[str, Any]:
    add = {"type": "Add", "queryId": query_id, "udfPath": path, "args": [args]}
    return {"type": "ModifyQuerySet", "baseVersion": base, "newVersion": base + 1, "modifications": [add]}


def test_a_query_set_change_ahead_of_its_predecessor_waits_for_it(sync: Any) -> None:
    sync.connect()
    one, two = _lesson("one"), _lesson("two")
    assert sync.send(_add(1, 1, "entities:get", {"id": two})) == []  # 1→2 before 0→1: held
    out = sync.send(_add(0, 0, "entities:get", {"id": one}))
    assert [m["type"] for m in out] == ["Transition", "Transition"]
    assert out[0]["endVersion"]["querySet"] == 1 and out[1]["startVersion"] == out[0]["endVersion"]
    assert out[1]["endVersion"]["querySet"] == 2 and out[1]["modifications"][0]["value"]["_id"] == two


def test_a_version_far_ahead_or_behind_is_fatal(sync: Any) -> None:
    sync.connect()
    out = sync.send(_add(5, 0, "entities:get", {"id": _lesson("x")}))
    assert out == [{"type": "FatalError", "error": "BaseVersionMismatch: the query set is at 0, not 5"}]
    assert sync.closed == ["c1"]


def test_an_item_delivered_again_is_not_applied_twice(sync: Any) -> None:
    sync.connect()
    doc = _lesson("before")
    sync.send(_add(0, 0, "entities:get", {"id": doc}))
    rename = {"type": "Mutation", "requestId": 0, "udfPath": "entities:archive", "args": [{"id": doc}]}
    first = sync.send(rename, message_id="same")
    assert first[0]["type"] == "MutationResponse" and first[0]["success"] is True
    runs = len(sync.runs)
    assert sync.send(rename, message_id="same") == []  # redelivered: not run, the connection closes
    assert len(sync.runs) == runs and sync.closed == ["c1"]


def test_a_function_that_cannot_be_invoked_keeps_the_watches_and_retries(sync: Any) -> None:
    from ontology.sync.worker import Retry, process

    sync.connect()
    doc = _lesson("kept")
    sync.send(_add(0, 0, "entities:get", {"id": doc}))
    writes_before = sync.state.read_set(sync.state.load("c1"), "0")
    sync.fail_invokes = True
    with pytest.raises(Retry):
        process(sync.state, {"c": "c1", "inv": ["0"]}, "inv-1")
    assert sync.state.read_set(sync.state.load("c1"), "0") == writes_before
    sync.fail_invokes = False
    process(sync.state, {"c": "c1", "inv": ["0"]}, "inv-1")  # delivered again: applied now


def test_a_timestamp_from_the_future_is_refused(sync: Any) -> None:
    from ontology.sync.values import encode_ts

    sync.connect()
    future = encode_ts(time.time_ns() + 3600 * 10**9)
    out = sync.send(
        {"type": "Connect", "sessionId": "s", "connectionCount": 0, "maxObservedTimestamp": future}
    )
    assert out[0]["type"] == "FatalError"


def test_deeply_nested_messages_are_fatal_not_a_crash(sync: Any) -> None:
    sync.connect()
    assert sync.send("[" * 100_000)[0]["type"] == "FatalError"


def test_a_range_subscription_is_rechecked_after_a_delay(sync: Any) -> None:
    from ontology.sync.socket import invalidate_handler

    sync.connect()
    sync.send(
        _add(0, 0, "entities:list", {"type": "lesson", "paginationOpts": {"numItems": 5, "cursor": None}})
    )
    assert sync.state.read_set(sync.state.load("c1"), "0").ranges
    now = int(time.time() * 1000)
    # a stream record of a new lesson, as the table's stream delivers it
    from ontology.data.keys import DOC_SK, new_id
    from ontology.data.schema import TABLES

    doc_id = new_id("entities")
    doc = {
        "_id": doc_id,
        "_creationTime": now,
        "type": "lesson",
        "name": "n",
        "status": "active",
        "createdAt": now,
        "updatedAt": now,
        "properties": {},
    }
    image = {"pk": {"S": f"{ORG}#{doc_id}"}, "sk": {"S": DOC_SK}}
    for idx in TABLES["entities"].indexes:
        gpk, gsk = idx.keys_for(ORG, "entities", doc)
        image[idx.pk_attr], image[idx.sk_attr] = {"S": gpk}, {"S": gsk}
    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image},
    }
    assert invalidate_handler({"Records": [record]})["invalidated"] == 1
    now_fifo = sync.sqs.receive_message(QueueUrl=sync.fifo, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(now_fifo[0]["Body"]) == {"c": "c1", "inv": ["0"]}
    sync.sqs.delete_message(QueueUrl=sync.fifo, ReceiptHandle=now_fifo[0]["ReceiptHandle"])
    assert sync.sqs.receive_message(QueueUrl=sync.recheck).get("Messages") is None  # not yet: delayed
    time.sleep(1.2)
    later = sync.sqs.receive_message(QueueUrl=sync.recheck)["Messages"]
    invalidate_handler({"Records": [{"eventSource": "aws:sqs", "body": later[0]["Body"]}]})
    again = sync.sqs.receive_message(QueueUrl=sync.fifo, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in again.get("Messages", [])]
    assert {"c": "c1", "inv": ["0"]} in bodies


def test_a_failed_mutation_is_answered_then_a_transition_follows(sync: Any) -> None:
    """Convex's Rust client completes a mutation that failed with a ConvexError at the next
    Transition: one follows every mutation's response, failed or not (an action's needs none)."""
    sync.connect()
    missing = {"type": "Mutation", "requestId": 0, "udfPath": "entities:archive", "args": [{"id": "nope"}]}
    unknown = {"type": "Mutation", "requestId": 1, "udfPath": "entities:nothing", "args": [{}]}
    action = {"type": "Action", "requestId": 2, "udfPath": "entities:nothing", "args": [{}]}
    first, second, third = sync.send(missing), sync.send(unknown), sync.send(action)
    assert [m["type"] for m in first] == ["MutationResponse", "Transition"]
    assert first[0]["success"] is False and first[0]["ts"] is None and first[0]["logLines"] == []
    assert first[0]["errorData"]["code"] == "VALIDATION_ERROR" and isinstance(first[0]["result"], str)
    assert first[1]["modifications"] == [] and first[1]["startVersion"]["querySet"] == 0
    assert [m["type"] for m in second] == ["MutationResponse", "Transition"]
    assert second[1]["startVersion"] == first[1]["endVersion"]
    assert second[0]["errorData"]["code"] == "NOT_FOUND"
    assert [m["type"] for m in third] == ["ActionResponse"] and third[0]["errorData"]["code"] == "NOT_FOUND"
