"""The sync worker on the real handlers, in-process on moto: ordering, redelivery, faults and the
invalidator's recheck of range subscriptions."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ontology import run_mutation
from tests.conftest import seconds_hidden
from tests.infra.localstack import until

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
        #: the runs that were answered (not failed by ``fail_invokes``)
        applied: list[str] = []
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
        rig.applied.append(fn.spec.path)
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
    from ontology.sync.worker import RetryLaterError, process

    sync.connect()
    doc = _lesson("kept")
    sync.send(_add(0, 0, "entities:get", {"id": doc}))
    writes_before = sync.state.read_set(sync.state.load("c1"), "0")
    sync.fail_invokes = True
    with pytest.raises(RetryLaterError):
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


def lesson_record(event_id: str = "e1") -> dict[str, Any]:
    """A stream record of a new lesson, as the table's stream delivers it (the lesson is not written)."""
    from ontology.data.keys import DOC_SK, new_id
    from ontology.data.schema import TABLES

    now = int(time.time() * 1000)
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
    return {
        "eventID": event_id,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image},
    }


def drain(sync: Any, url: str) -> list[dict[str, Any]]:
    """Every message on a queue now, received and deleted."""
    out: list[dict[str, Any]] = []
    while True:
        got = sync.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            sync.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out += got


def subscribe_lessons(sync: Any) -> None:
    sync.connect()
    sync.send(
        _add(0, 0, "entities:list", {"type": "lesson", "paginationOpts": {"numItems": 5, "cursor": None}})
    )
    assert sync.state.read_set(sync.state.load("c1"), "0").ranges


def test_a_range_subscription_is_rechecked_after_a_delay(sync: Any) -> None:
    from ontology.sync import pending
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.worker import process

    subscribe_lessons(sync)
    assert invalidate_handler({"Records": [lesson_record()]})["invalidated"] == 1
    now_fifo = drain(sync, sync.fifo)
    assert [json.loads(m["Body"]) for m in now_fifo] == [{"c": "c1", "pend": 1}]
    assert pending.pending(sync.state, "c1").queries == ("0",)
    runs = len(sync.runs)
    process(sync.state, json.loads(now_fifo[0]["Body"]), now_fifo[0]["MessageId"])
    assert len(sync.runs) == runs + 1 and pending.pending(sync.state, "c1").queries == ()
    assert sync.sqs.receive_message(QueueUrl=sync.recheck).get("Messages") is None  # not yet: delayed
    time.sleep(1.2)
    later = drain(sync, sync.recheck)
    assert [json.loads(m["Body"])["rc"] for m in later] == [1]  # the connection's recheck
    invalidate_handler({"Records": [{"eventSource": "aws:sqs", "body": later[0]["Body"]}]})
    (woken,) = drain(sync, sync.fifo)
    assert json.loads(woken["Body"]) == {"c": "c1", "pend": 1}
    assert pending.pending(sync.state, "c1").queries == (pending.RANGED,)
    runs = len(sync.runs)
    process(sync.state, json.loads(woken["Body"]), woken["MessageId"])
    assert sync.runs[runs:] == ["entities:list"]  # the range subscription, re-run once more


def test_writes_share_one_recheck_per_connection(sync: Any) -> None:
    from ontology.sync.invalidator import invalidate_handler

    subscribe_lessons(sync)
    for n in range(5):
        invalidate_handler({"Records": [lesson_record(f"e{n}")]})
    time.sleep(1.2)
    assert len(drain(sync, sync.recheck)) == 1  # one recheck, a second after the first write


def test_writes_merge_into_one_pending_rerun(sync: Any) -> None:
    from ontology.sync import pending
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.worker import process

    subscribe_lessons(sync)
    for n in range(5):  # five stream batches before the worker runs
        invalidate_handler({"Records": [lesson_record(f"e{n}")]})
    woken = drain(sync, sync.fifo)
    assert len(woken) == 1  # one wake; the other four merged into its pending re-run
    runs, posted = len(sync.runs), len(sync.posted)
    process(sync.state, json.loads(woken[0]["Body"]), woken[0]["MessageId"])
    assert len(sync.runs) == runs + 1  # one re-run for the five writes
    assert len(sync.posted) == posted  # the lessons were never written: the result did not change
    assert pending.pending(sync.state, "c1") == pending.Pending()


def test_a_connection_that_just_reran_is_woken_a_second_later(sync: Any) -> None:
    from ontology.sync import pending
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.worker import process

    subscribe_lessons(sync)
    invalidate_handler({"Records": [lesson_record("e1")]})
    (woken,) = drain(sync, sync.fifo)
    process(sync.state, json.loads(woken["Body"]), woken["MessageId"])
    drain(sync, sync.recheck)  # (the range's recheck: not what this test is about)
    invalidate_handler({"Records": [lesson_record("e2")]})  # within the second after the re-run
    assert drain(sync, sync.fifo) == []
    time.sleep(1.2)
    (delayed,) = [m for m in drain(sync, sync.recheck) if "wake" in json.loads(m["Body"])]
    invalidate_handler({"Records": [{"eventSource": "aws:sqs", "body": delayed["Body"]}]})
    assert [json.loads(m["Body"]) for m in drain(sync, sync.fifo)] == [{"c": "c1", "pend": 1}]
    assert pending.pending(sync.state, "c1").queries == ("0",)


def test_a_write_marked_during_a_rerun_wakes_the_connection_again(sync: Any) -> None:
    from ontology.sync import pending
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.worker import process

    subscribe_lessons(sync)
    invalidate_handler({"Records": [lesson_record("e1")]})
    (woken,) = drain(sync, sync.fifo)
    drain(sync, sync.recheck)
    real = pending.load

    def read_then_a_write_lands(state: Any, connection_id: str) -> Any:
        read = real(state, connection_id)
        invalidate_handler({"Records": [lesson_record("e2")]})  # merged: a re-run is pending
        return read

    pending.load = read_then_a_write_lands  # type: ignore[assignment]
    try:
        process(sync.state, json.loads(woken["Body"]), woken["MessageId"])
    finally:
        pending.load = real  # type: ignore[assignment]
    assert pending.pending(sync.state, "c1").queries == ("0",)  # not cleared: newer than the re-run
    time.sleep(1.2)
    wakes = [m for m in drain(sync, sync.recheck) if "wake" in json.loads(m["Body"])]
    assert len(wakes) == 1  # the worker woke the connection again, a second later


def test_a_rerun_that_fails_leaves_its_queries_pending(sync: Any) -> None:
    from ontology.sync import pending
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.worker import RetryLaterError, process

    subscribe_lessons(sync)
    invalidate_handler({"Records": [lesson_record("e1")]})
    (woken,) = drain(sync, sync.fifo)
    sync.fail_invokes = True
    with pytest.raises(RetryLaterError):
        process(sync.state, json.loads(woken["Body"]), woken["MessageId"])
    assert pending.pending(sync.state, "c1").queries == ("0",)
    sync.fail_invokes = False
    runs = len(sync.runs)
    process(sync.state, json.loads(woken["Body"]), woken["MessageId"])  # delivered again
    assert len(sync.runs) == runs + 1 and pending.pending(sync.state, "c1").queries == ()


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


# ------------------------------------------------------------------------------------------ limits


def _adds(base: int, *queries: tuple[int, str, dict[str, Any]]) -> dict[str, Any]:
    mods = [{"type": "Add", "queryId": q, "udfPath": path, "args": [args]} for q, path, args in queries]
    return {"type": "ModifyQuerySet", "baseVersion": base, "newVersion": base + 1, "modifications": mods}


def _by_query(out: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {m["queryId"]: m for t in out if t["type"] == "Transition" for m in t["modifications"]}


class _Writes:
    """The items the table is asked to write (puts), by kind."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, str]] = []

    def __call__(self, operation: str, params: dict[str, Any], response: Any) -> None:
        if operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for r in requests:
                    if "PutRequest" in r:
                        item = r["PutRequest"]["Item"]
                        self.puts.append((item["pk"]["S"], item["sk"]["S"]))
        elif operation in ("PutItem", "UpdateItem"):
            key = params.get("Item") or params["Key"]
            self.puts.append((key["pk"]["S"], key["sk"]["S"]))


@pytest.fixture
def writes() -> Iterator[_Writes]:
    from ontology.data.dynamodb import add_listener, remove_listener

    recorder = _Writes()
    add_listener(recorder)
    try:
        yield recorder
    finally:
        remove_listener(recorder)


def test_a_subscription_past_the_connections_cap_fails_alone(sync: Any, monkeypatch: Any) -> None:
    from ontology.sync import limits

    monkeypatch.setattr(limits, "MAX_QUERIES", 2)
    sync.connect()
    docs = [_lesson(f"l{i}") for i in range(3)]
    out = sync.send(_adds(0, *[(i, "entities:get", {"id": d}) for i, d in enumerate(docs)]))
    mods = _by_query(out)
    assert [mods[i]["type"] for i in range(3)] == ["QueryUpdated", "QueryUpdated", "QueryFailed"]
    assert mods[2]["errorData"] == {"code": "LIMIT_EXCEEDED", "limit": 2}
    assert sorted(sync.state.load("c1").queries) == ["0", "1"] and sync.closed == []
    # the client removes the refused one (it never joined the set), then another: room for a new one
    remove = {"type": "Remove", "queryId": 2}
    again = sync.send(
        {"type": "ModifyQuerySet", "baseVersion": 1, "newVersion": 2, "modifications": [remove]}
    )
    assert _by_query(again) == {2: {"type": "QueryRemoved", "queryId": 2}}
    out = sync.send(
        {
            "type": "ModifyQuerySet",
            "baseVersion": 2,
            "newVersion": 3,
            "modifications": [
                {"type": "Remove", "queryId": 0},
                {"type": "Add", "queryId": 3, "udfPath": "entities:get", "args": [{"id": docs[2]}]},
            ],
        }
    )
    assert _by_query(out)[3]["value"]["_id"] == docs[2]


def test_a_query_set_its_client_could_not_send_again_in_one_frame_is_refused(sync: Any) -> None:
    from ontology.sync import limits

    sync.connect()
    pad = "x" * (limits.MAX_QUERY_SET_BYTES // 2)
    out = sync.send(_adds(0, (0, "entities:get", {"id": _lesson("a"), "pad": pad})))
    assert _by_query(out)[0]["type"] == "QueryFailed"  # admitted: the function refuses the argument
    out = sync.send(_adds(1, (1, "entities:get", {"id": _lesson("b"), "pad": pad})))
    refused = _by_query(out)[1]
    assert refused["errorData"] == {"code": "PAYLOAD_TOO_LARGE", "limit": limits.MAX_QUERY_SET_BYTES}
    assert list(sync.state.load("c1").queries) == ["0"]


def test_a_query_reading_more_keys_than_a_subscription_watches_fails_and_watches_nothing(
    sync: Any, monkeypatch: Any
) -> None:
    from ontology.sync import limits

    monkeypatch.setattr(limits, "MAX_WATCH_KEYS", 2)
    sync.connect()
    for i in range(4):
        _lesson(f"Wide lesson {i}")
    runs = len(sync.runs)
    out = sync.send(_adds(0, (0, "entities:search", {"query": "wide", "limit": 10})))
    failed = _by_query(out)[0]
    assert failed["type"] == "QueryFailed" and failed["errorData"]["code"] == "LIMIT_EXCEEDED"
    assert failed["errorData"]["limit"] == 2 and failed["errorData"]["keys"] > 2
    conn = sync.state.load("c1")
    assert conn.queries == {} and sync.state.read_set(conn, "0") is None
    assert len(sync.runs) == runs + 1  # run once, never again


def test_what_one_message_writes_is_bounded_by_the_connections_keys(
    sync: Any, monkeypatch: Any, writes: _Writes
) -> None:
    """The attack: one small message, many subscriptions that each read many keys. The first ones
    fill the connection's keys; the first that does not fit runs once and is refused, the others of
    its function in that message are refused unrun; once the connection is full, none runs."""
    from ontology.sync import limits
    from ontology.sync.state import MARKER_SK

    sync.connect()
    for i in range(6):
        _lesson(f"Many lesson {i}")
    search = {"query": "many", "limit": 10}
    probe = sync.send(_adds(0, (100, "entities:search", search)))  # how many keys one search watches
    keys = sync.state.load("c1").queries["100"]["k"]
    assert keys >= 6 and _by_query(probe)[100]["type"] == "QueryUpdated"
    monkeypatch.setattr(limits, "MAX_CONNECTION_KEYS", keys * 3 + 1)  # room for two more, then 1 key
    writes.puts.clear()
    runs = len(sync.runs)
    out = sync.send(_adds(1, *[(i, "entities:search", search) for i in range(16)]))
    mods = _by_query(out)
    assert [i for i in range(16) if mods[i]["type"] == "QueryUpdated"] == [0, 1]
    assert {mods[i]["errorData"]["code"] for i in range(2, 16)} == {"LIMIT_EXCEEDED"}
    assert len(sync.runs) - runs == 2 * 2 + 1  # two admitted (twice each), one refused after its run
    monkeypatch.setattr(limits, "MAX_CONNECTION_KEYS", keys * 3)  # full
    runs = len(sync.runs)
    out = sync.send(_adds(2, *[(i, "entities:search", search) for i in range(20, 36)]))
    assert {m["errorData"]["code"] for m in _by_query(out).values()} == {"LIMIT_EXCEEDED"}
    assert len(sync.runs) == runs  # none ran
    members = [p for p in writes.puts if p[1].startswith("c1#")]
    markers = [p for p in writes.puts if p[1] == MARKER_SK]
    assert len(members) == 2 * keys and len(markers) == keys  # a marker once per key and message
    conn = sync.state.load("c1")
    assert sorted(conn.queries, key=int) == ["0", "1", "100"]
    assert sum(q["k"] for q in conn.queries.values()) <= limits.MAX_CONNECTION_KEYS


def test_a_sessions_budget_is_shared_by_its_connections(sync: Any, monkeypatch: Any) -> None:
    from ontology.sync import limits

    monkeypatch.setattr(limits, "SESSION_ADDS", 3)
    for c in ("c1", "c2"):
        conn = sync.state.create(c)
        conn.identity, conn.identity_version = {**IDENTITY, "sessionId": "ses_budget"}, 1
        sync.state.save(conn)
    docs = [_lesson(f"s{i}") for i in range(4)]
    first = sync.send(_adds(0, (0, "entities:get", {"id": docs[0]}), (1, "entities:get", {"id": docs[1]})))
    assert {m["type"] for m in _by_query(first).values()} == {"QueryUpdated"}
    out = sync.send(_adds(0, *[(i, "entities:get", {"id": d}) for i, d in enumerate(docs[2:])]), "c2")
    mods = _by_query(out)
    assert mods[0]["type"] == "QueryUpdated"
    limited = mods[1]["errorData"]
    assert limited["code"] == "RATE_LIMITED" and 0 < limited["retryAfter"] <= limits.SESSION_WINDOW_SECONDS
    # an anonymous connection has a budget of its own
    sync.state.create("c3")
    page = {"paginationOpts": {"numItems": 5, "cursor": None}}  # needs a session (entities:get is public)
    anonymous = sync.send(_adds(0, (0, "entities:list", page)), "c3")
    assert _by_query(anonymous)[0]["errorData"]["code"] == "UNAUTHENTICATED"


def test_a_watch_writes_only_what_changed(sync: Any, writes: _Writes) -> None:
    from ontology.data.tracking import ReadSet
    from ontology.sync.state import MARKER_SK

    sync.connect()
    conn = sync.state.load("c1")
    a, b, c = (("p#a", "D"), ("p#b", "D"), ("p#c", "D"))
    assert sync.state.watch(conn, "0", ReadSet(points={a, b})) == 1 + 2 * 2
    marked: set[str] = set()
    assert sync.state.watch(conn, "1", ReadSet(points={a, b}), marked) == 1 + 2 * 2
    assert sync.state.watch(conn, "2", ReadSet(points={a, b}), marked) == 1 + 2  # markers written once
    writes.puts.clear()
    assert sync.state.watch(conn, "0", ReadSet(points={a, b})) == 1  # the same keys: its item alone
    assert sync.state.watch(conn, "0", ReadSet(points={b, c})) == 1 + 2  # one new key (and its marker)
    assert (f"{conn.id}#0") in {sk for _, sk in writes.puts}
    assert sum(1 for _, sk in writes.puts if sk == MARKER_SK) == 1
    assert sync.state.read_set(conn, "0") == ReadSet(points={b, c})


def test_a_message_adding_more_than_one_item_runs_continues_in_the_items_behind_it(
    sync: Any, monkeypatch: Any
) -> None:
    """A client re-adds its whole query set in one message when it reconnects: what one item may not
    run waits in the query set, and the items queued behind it answer the rest, in order."""
    from ontology.sync import limits
    from ontology.sync.worker import process

    monkeypatch.setattr(limits, "ITEM_RUNS", 4)
    sync.connect()
    docs = [_lesson(f"r{i}") for i in range(5)]
    out = sync.send(_adds(0, *[(i, "entities:get", {"id": d}) for i, d in enumerate(docs)]))
    answered = [sorted(_by_query(out))]
    chain = [t for t in out if t["type"] == "Transition"]
    for _ in range(3):
        got = sync.sqs.receive_message(QueueUrl=sync.fifo, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        assert len(got) == 1 and json.loads(got[0]["Body"]) == {"c": "c1", "add": True}
        sync.sqs.delete_message(QueueUrl=sync.fifo, ReceiptHandle=got[0]["ReceiptHandle"])
        start = len(sync.posted)
        process(sync.state, json.loads(got[0]["Body"]), got[0]["MessageId"])
        more = [m for _, m in sync.posted[start:]]
        answered.append(sorted(_by_query(more)))
        chain += [t for t in more if t["type"] == "Transition"]
    assert answered == [[0, 1], [2, 3], [4]]
    assert all(b["startVersion"] == a["endVersion"] for a, b in itertools.pairwise(chain))
    assert not any(q.get("pending") for q in sync.state.load("c1").queries.values())


# ------------------------------------------------------------------------- failures and their timing


@pytest.fixture
def served(sync: Any) -> Any:
    """The sync queue as the template makes it (its visibility timeout, its redrive to a dead-letter
    queue), served by the local stack's FIFO poller to the real worker handler."""
    from infra.local.pollers import FifoQueuePoller
    from ontology.sync import queue
    from ontology.sync.websocket import worker_handler

    dlq = sync.sqs.create_queue(QueueName="t-sync-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sync.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.MAX_RECEIVES}
    sync.sqs.set_queue_attributes(
        QueueUrl=sync.fifo,
        Attributes={"VisibilityTimeout": str(queue.VISIBILITY_TIMEOUT), "RedrivePolicy": json.dumps(redrive)},
    )
    arn = sync.sqs.get_queue_attributes(QueueUrl=sync.fifo, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    class Worker:
        roles = None

        def invoke(self, target: str, event: dict[str, Any]) -> Any:
            return worker_handler(event, None)

    sync.poller = FifoQueuePoller(Worker(), sync.sqs, sync.fifo, arn, "SyncWorkerFunction")
    sync.dlq = dlq
    counter = itertools.count()

    def enqueue(body: dict[str, Any]) -> str:
        """Queue an item of the connection's group; its message id."""
        return str(
            sync.sqs.send_message(
                QueueUrl=sync.fifo,
                MessageBody=json.dumps(body),
                MessageGroupId=body["c"],
                MessageDeduplicationId=str(next(counter)),
            )["MessageId"]
        )

    def settle() -> None:
        sync.poller.poll_once()
        assert until(sync.poller.idle, timeout=30)

    sync.enqueue, sync.settle = enqueue, settle
    return sync


def _left(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def test_a_failed_sync_record_comes_back_in_a_second_not_after_the_visibility_timeout(served: Any) -> None:
    from ontology.sync import queue

    served.connect()
    doc = _lesson("watched")
    served.send(_add(0, 0, "entities:get", {"id": doc}))
    served.fail_invokes = True
    first, second = served.enqueue({"c": "c1", "inv": ["0"]}), served.enqueue({"c": "c1", "inv": ["0"]})
    served.settle()
    # both back after the first retry's wait, the one behind the failed record too (SQS would hold
    # the group for the 90 s visibility timeout otherwise)
    assert queue.VISIBILITY_TIMEOUT == 90
    assert seconds_hidden(served.fifo, first) <= queue.RETRY_SECONDS[0]
    assert seconds_hidden(served.fifo, second) <= queue.RETRY_SECONDS[0]
    applied = len(served.applied)  # taken while every run fails: a retry may start as soon as they stop
    served.fail_invokes = False
    assert until(lambda: served.settle() or _left(served.sqs, served.fifo) == 0, timeout=30)
    assert len(served.applied) > applied and served.closed == []  # applied (the query ran again)


def test_a_sync_record_failing_to_its_last_receive_closes_the_connection(
    served: Any, monkeypatch: Any
) -> None:
    from ontology.sync import queue

    monkeypatch.setattr(queue, "RETRY_SECONDS", (1, 1, 1, 1))  # the same receives, sooner
    served.connect()
    served.send(_add(0, 0, "entities:get", {"id": _lesson("broken")}))
    served.fail_invokes = True
    first, second = served.enqueue({"c": "c1", "inv": ["0"]}), served.enqueue({"c": "c1", "inv": ["0"]})
    served.settle()
    assert served.closed == []  # not on a retry
    assert until(lambda: served.settle() or _left(served.sqs, served.dlq) == 2, timeout=60)
    assert served.closed == ["c1"]  # its client reconnects and resynchronises
    got = served.sqs.receive_message(QueueUrl=served.dlq, MaxNumberOfMessages=10, AttributeNames=["All"])
    messages = got["Messages"]
    assert [m["MessageId"] for m in messages] == [first, second]
    assert messages[0]["Attributes"]["ApproximateReceiveCount"] == str(queue.MAX_RECEIVES + 1)


def test_records_not_started_before_the_deadline_go_back_at_once(served: Any) -> None:
    from ontology.sync import queue
    from ontology.sync.worker import handle_records

    served.connect()
    served.send(_add(0, 0, "entities:get", {"id": _lesson("late")}))
    body = served.enqueue({"c": "c1", "inv": ["0"]})
    got = served.sqs.receive_message(QueueUrl=served.fifo, AttributeNames=["All"])["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
        }
        for m in got
    ]
    runs = len(served.runs)
    left = (queue.ITEM_SECONDS - 1) * 1000
    answer = handle_records({"Records": records}, remaining_ms=lambda: left)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert len(served.runs) == runs  # not started
    assert seconds_hidden(served.fifo, body) <= 0


def _range_watch(sync: Any) -> tuple[list[Any], list[Any]]:
    """The lesson listing's range: the stretches its watch item holds, and those it read last."""
    from ontology.sync.state import _stretches, _watch_pk

    reads = sync.state.read_set(sync.state.load("c1"), "0")
    ((key, read),) = [(k, v) for k, v in _stretches(reads).items() if "by_type" in k]
    item = sync.state.store.get(_watch_pk(key), "c1#0", consistent=True)
    return json.loads(item["doc"])["r"], read


def test_a_newest_first_page_keeps_its_watch_while_it_covers_the_read(sync: Any) -> None:
    from ontology.sync import state as sync_state
    from ontology.sync.worker import process

    for n in range(3):
        _lesson(f"old {n}")
    sync.connect()
    page = {"type": "lesson", "paginationOpts": {"numItems": 2, "cursor": None}}
    sync.send(_add(0, 0, "entities:list", page))
    watched, read = _range_watch(sync)
    assert watched == read
    _lesson("newest")
    process(sync.state, {"c": "c1", "inv": ["0"]}, "inv-1")
    assert sync.posted[-1][1]["modifications"][0]["value"]["page"][0]["name"] == "newest"
    kept, moved = _range_watch(sync)
    assert moved != read and kept == watched  # the page moved up; its wider watch still covers it
    original = sync_state.KEEP_WATCH_SECONDS
    sync_state.KEEP_WATCH_SECONDS = 0.0
    try:
        _lesson("newer still")
        process(sync.state, {"c": "c1", "inv": ["0"]}, "inv-2")
    finally:
        sync_state.KEEP_WATCH_SECONDS = original
    renewed, now_read = _range_watch(sync)
    assert renewed == now_read  # kept too long: narrowed to the read again


def test_the_keepalive_visits_a_page_per_invocation(sync: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ontology.sync import websocket
    from ontology.sync.state import OPEN_SHARDS

    for n in range(40):
        sync.connect(f"k{n}")
    monkeypatch.setattr(websocket, "PING_PAGE", 3)
    invoked: list[dict[str, Any]] = []
    monkeypatch.setattr(websocket, "_again", lambda context, event: invoked.append(event))

    class OneRound:  # no time left for a second round of pings
        def get_remaining_time_in_millis(self) -> int:
            return 1000

    assert websocket.keepalive_handler({"source": "aws.events"}, OneRound()) == {"shards": OPEN_SHARDS}
    assert invoked == [{"shard": s} for s in range(OPEN_SHARDS)]
    pinged: list[str] = []
    visits = 0
    while invoked:
        event = invoked.pop(0)
        start = len(sync.posted)
        result = websocket.keepalive_handler(event, OneRound())
        visits += 1
        assert result["pings"] == len(sync.posted) - start <= 3  # a page, never the whole shard
        pinged += [c for c, m in sync.posted[start:] if m == {"type": "Ping"}]
    assert sorted(pinged) == sorted(f"k{n}" for n in range(40))  # every connection, once
    assert visits >= 40 // 3


@pytest.fixture
def fresh_container() -> Iterator[None]:
    from ontology.data import read_cache

    read_cache.clear()
    yield
    read_cache.clear()


def _gets_of(doc: str) -> Iterator[list[str]]:
    from ontology.data.dynamodb import add_listener, remove_listener

    seen: list[str] = []

    def listen(operation: str, params: dict[str, Any], response: Any) -> None:
        if operation in ("GetItem", "BatchGetItem", "Query") and doc in json.dumps(params):
            seen.append(operation)

    add_listener(listen)
    try:
        yield seen
    finally:
        remove_listener(listen)


def test_reruns_share_a_containers_reads_for_a_second(sync: Any, fresh_container: None) -> None:
    from ontology.sync import pending
    from ontology.sync.worker import process

    doc = _lesson("shared")
    for c in ("c1", "c2", "c3"):
        sync.connect(c)
        sync.send(_add(0, 0, "entities:get", {"id": doc}), connection_id=c)
    for c in ("c1", "c2", "c3"):
        pending.mark(sync.state, c, ["0"], time.time() - 0.5)  # marked before the re-runs start
    for seen in _gets_of(doc):
        for n, c in enumerate(("c1", "c2", "c3")):
            process(sync.state, {"c": c, "pend": 1}, f"p{n}")
        assert len(seen) == 1  # the first re-run read the document; the other two shared it
    assert all(pending.pending(sync.state, c) == pending.Pending() for c in ("c1", "c2", "c3"))


def test_a_rerun_older_than_its_write_runs_again(sync: Any, fresh_container: None) -> None:
    from ontology.sync import pending
    from ontology.sync.worker import process

    doc = _lesson("before")
    for c in ("c1", "c2"):
        sync.connect(c)
        sync.send(_add(0, 0, "entities:get", {"id": doc}), connection_id=c)
    pending.mark(sync.state, "c1", ["0"])
    process(sync.state, {"c": "c1", "pend": 1}, "p1")  # the container reads the document
    run_mutation(lambda db: db.patch(doc, {"name": "after"}, "entities"), org=ORG)
    pending.mark(sync.state, "c2", ["0"])  # the write, marked after that read
    posted = len(sync.posted)
    process(sync.state, {"c": "c2", "pend": 1}, "p2")  # answered from the shared read: not new
    assert [m for c, m in sync.posted[posted:] if c == "c2"] == []
    assert pending.pending(sync.state, "c2").queries == ("0",)  # so the write stays pending
    time.sleep(1.1)  # the shared read expires; the connection was woken again
    wakes = [json.loads(m["Body"]) for m in drain(sync, sync.recheck)]
    assert {"c": "c2", "wake": wakes[0]["wake"]} in wakes
    process(sync.state, {"c": "c2", "pend": 1}, "p3")
    (update,) = [m for c, m in sync.posted[posted:] if c == "c2"]
    assert update["modifications"][0]["value"]["name"] == "after"
    assert pending.pending(sync.state, "c2") == pending.Pending()
