"""The sync protocol at its limits, through the front door (the local stack as ``make dev`` starts it,
over a real WebSocket): Convex's own Python client (PyPI ``convex``, the Rust crate's protocol) hears
a failed mutation; one ``ModifyQuerySet`` costs what the limits allow and no more; a frame over
32 KB closes the socket as API Gateway does, and the client that sent it hears why once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack, running_stack

pytest.importorskip("convex")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "socket-limits")


@pytest.fixture(scope="module")
def owner(stack: Stack) -> OneClient:
    return OneClient(stack.url, token=stack.token())


def python_client(stack: Stack, *calls: dict[str, Any], timeout: float = 60) -> list[dict[str, Any]]:
    """Convex's Python client's answers to ``calls`` on one connection; a call that never answers
    fails the test (the process is killed)."""
    config = {"url": stack.url, "token": stack.token(), "calls": list(calls)}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.infra.convex_python", json.dumps(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        answered = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"no answer within {timeout} s; answered so far: {answered!r}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_the_python_client_hears_a_failed_mutation_as_convex_error(stack: Stack, owner: OneClient) -> None:
    email = f"taken-{time.time_ns()}@example.com"
    owner.mutation("creators:create", {"email": email, "name": "First", "niche": ["math"]})
    fresh = f"new-{time.time_ns()}@example.com"
    create = {"kind": "mutation", "name": "creators:create"}
    taken, bad_args, created, unknown = python_client(
        stack,
        {**create, "args": {"email": email, "name": "Again", "niche": []}},
        {**create, "args": {"email": "not an email", "name": "X"}},
        {**create, "args": {"email": fresh, "name": "New", "niche": []}},
        {"kind": "mutation", "name": "creators:nothing_here", "args": {}},
    )
    assert taken["data"]["code"] == "CONFLICT" and "already exists" in taken["error"]
    assert bad_args["data"]["code"] == "VALIDATION_ERROR"
    assert created["value"]["creatorId"].startswith("ent_")  # the connection goes on after failures
    assert unknown["data"]["code"] == "NOT_FOUND"
    [got, failed] = python_client(
        stack,
        {"kind": "query", "name": "creators:get", "args": {"id": created["value"]["creatorId"]}},
        {"kind": "action", "name": "creators:get", "args": {}},
    )
    assert got["value"]["_id"] == created["value"]["creatorId"]
    assert failed["data"]["code"] == "VALIDATION_ERROR"


# ----------------------------------------------------------------------------- one message's cost

WORD = "Quokka"
SEARCH = {"query": WORD.lower(), "limit": 100}


@pytest.fixture(scope="module")
def searchable(owner: OneClient) -> int:
    """80 lessons that a search for WORD finds: each search subscription watches ~80 keys, so 13
    of them take a connection past the keys it may watch."""
    for i in range(80):
        lesson = {"type": "lesson", "name": f"{WORD} lesson {i}", "status": "active"}
        owner.mutation("entities:create", lesson)
    return 80


def _sync_url(stack: Stack) -> str:
    return stack.url.replace("http", "ws", 1) + "/api/1.49.0/sync"


def _open(stack: Stack) -> Any:
    """A raw socket through the front door, connected and authenticated (its Transition read)."""
    import uuid

    from websockets.sync.client import connect

    ws = connect(_sync_url(stack), open_timeout=20, max_size=None, legacy=True)
    connect_message = {"type": "Connect", "sessionId": str(uuid.uuid4()), "connectionCount": 0, "clientTs": 0}
    ws.send(json.dumps(connect_message))
    token = stack.token()
    ws.send(json.dumps({"type": "Authenticate", "tokenType": "User", "value": token, "baseVersion": 0}))
    assert json.loads(ws.recv(timeout=30))["endVersion"]["identity"] == 1
    return ws


def _answers(ws: Any, query_ids: set[int], timeout: float = 120) -> dict[int, dict[str, Any]]:
    """Every modification the socket is sent for ``query_ids``, until each has one."""
    found: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while not query_ids <= set(found):
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
        assert message["type"] in ("Transition", "Ping"), message
        for mod in message.get("modifications", []):
            found[mod["queryId"]] = mod
    return found


def _table(stack: Stack) -> tuple[Any, str]:
    import boto3

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{stack.aws_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    [table] = [t for t in ddb.list_tables()["TableNames"] if "Table" in t]
    return ddb, table


def _partition(stack: Stack, pk: str) -> list[dict[str, Any]]:
    ddb, table = _table(stack)
    pages = ddb.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    return [item for page in pages for item in page["Items"]]


def _open_connections(stack: Stack) -> set[str]:
    from ontology.sync.state import _OPEN_PREFIX, OPEN_SHARDS

    return {i["sk"]["S"] for n in range(OPEN_SHARDS) for i in _partition(stack, f"{_OPEN_PREFIX}{n}")}


def _watch_items(stack: Stack, connection_id: str) -> int:
    """The watch items a connection's subscriptions hold: one per key each watches."""
    from ontology.sync.state import _PREFIX

    subs = [i for i in _partition(stack, _PREFIX + connection_id) if i["sk"]["S"].startswith("sub#")]
    return sum(len(json.loads(i["doc"]["S"])["keys"]) for i in subs)


def test_one_small_message_of_search_subscriptions_costs_what_the_limits_allow(
    stack: Stack, searchable: int
) -> None:
    """The attack: one ~1.5 KB ModifyQuerySet adding 16 subscriptions to a search that reads 80
    documents. Unbounded, each wrote a watch item and a marker per document (16 x 80 x 2). Now the
    subscriptions that fit in the connection's keys are served and the rest fail with
    LIMIT_EXCEEDED, each alone: what the message wrote stays within the limits."""
    from ontology.sync import limits

    before = _open_connections(stack)
    adds = [{"type": "Add", "queryId": i, "udfPath": "entities:search", "args": [SEARCH]} for i in range(16)]
    message = json.dumps({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": adds})
    assert len(message) < 2048
    with _open(stack) as ws:
        [connection_id] = _open_connections(stack) - before
        ws.send(message)
        answers = _answers(ws, set(range(16)))
        served = [i for i in range(16) if answers[i]["type"] == "QueryUpdated"]
        assert served and len(served) * searchable <= limits.MAX_CONNECTION_KEYS
        assert len(answers[served[0]]["value"]) == searchable
        refused = [answers[i] for i in range(16) if i not in served]
        assert refused and {r["errorData"]["code"] for r in refused} == {"LIMIT_EXCEEDED"}
        assert {r["errorData"]["limit"] for r in refused} == {limits.MAX_CONNECTION_KEYS}
        assert len(served) * searchable <= _watch_items(stack, connection_id) <= limits.MAX_CONNECTION_KEYS
        # the connection goes on: a subscription that fits is still served
        ws.send(
            json.dumps(
                {
                    "type": "ModifyQuerySet",
                    "baseVersion": 1,
                    "newVersion": 2,
                    "modifications": [
                        {"type": "Remove", "queryId": served[0]},
                        {"type": "Add", "queryId": 99, "udfPath": "entities:search", "args": [SEARCH]},
                    ],
                }
            )
        )
        assert _answers(ws, {99})[99]["type"] == "QueryUpdated"


def test_the_python_client_hears_a_refused_subscription_as_convex_error(
    stack: Stack, searchable: int
) -> None:
    from ontology.sync import limits

    fit = limits.MAX_CONNECTION_KEYS // (searchable + 4)
    calls = [
        {"kind": "subscribe", "name": "entities:search", "args": {**SEARCH, "limit": 100 - i}}
        for i in range(fit + 1)
    ]
    answers = python_client(stack, *calls, timeout=180)
    assert all(len(a["value"]) == searchable for a in answers[:-1])
    assert answers[-1]["data"]["code"] == "LIMIT_EXCEEDED" and "keys" in answers[-1]["error"]


def test_a_reconnecting_clients_whole_query_set_is_answered_over_several_items(stack: Stack) -> None:
    """One message re-adding 24 subscriptions (48 runs) is more than one queue item runs: the first
    answers some, the items queued behind it the rest, in Transitions that chain."""
    from ontology.sync.limits import ITEM_RUNS

    count = ITEM_RUNS // 2 + 8
    adds = [
        {
            "type": "Add",
            "queryId": i,
            "udfPath": "entities:list",
            "args": [{"type": "lesson", "paginationOpts": {"numItems": i + 1, "cursor": None}}],
            "journal": None,
        }
        for i in range(count)
    ]
    with _open(stack) as ws:
        ws.send(
            json.dumps({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": adds})
        )
        transitions: list[dict[str, Any]] = []
        answered: set[int] = set()
        deadline = time.monotonic() + 120
        while answered != set(range(count)):
            message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message["type"] == "Transition":
                transitions.append(message)
                answered |= {m["queryId"] for m in message["modifications"] if m["type"] == "QueryUpdated"}
    assert len(transitions) >= 2 and len(transitions[0]["modifications"]) <= ITEM_RUNS // 2
    assert all(b["startVersion"] == a["endVersion"] for a, b in itertools.pairwise(transitions))


# ------------------------------------------------------------------------------------- 32 KB frames


def _padded_add(query_id: int, size: int) -> dict[str, Any]:
    """An Add of ``size`` bytes (JSON, as sent)."""
    add = {"type": "Add", "queryId": query_id, "udfPath": "nope:nothing", "args": [{"pad": ""}]}
    add["args"][0]["pad"] = "x" * (size - len(json.dumps(add, separators=(",", ":"))))
    return add


def _modify(base: int, *mods: dict[str, Any], size: int = 0) -> str:
    """A ModifyQuerySet; ``size``: padded (in its last Add) to exactly that many bytes."""
    message = {
        "type": "ModifyQuerySet",
        "baseVersion": base,
        "newVersion": base + 1,
        "modifications": list(mods),
    }
    text = json.dumps(message, separators=(",", ":"))
    if size:
        mods[-1]["args"][0]["pad"] += "x" * (size - len(text))
        text = json.dumps(message, separators=(",", ":"))
        assert len(text) == size
    return text


def test_a_message_over_32_kb_closes_the_socket_and_one_of_32_kb_is_answered(stack: Stack) -> None:
    from websockets.exceptions import ConnectionClosed

    from ontology.sync.limits import FRAME_BYTES

    with _open(stack) as ws:
        ws.send(_modify(0, _padded_add(0, 100), size=FRAME_BYTES))
        refused = _answers(ws, {0})[0]  # it arrived: too large to keep, answered with a typed error
        assert refused["type"] == "QueryFailed" and refused["errorData"]["code"] == "PAYLOAD_TOO_LARGE"
        ws.send(_modify(1, _padded_add(1, 100), size=FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_what_a_connection_keeps_its_client_can_send_again_in_one_frame(stack: Stack) -> None:
    """Convex's clients re-add every subscription in one ModifyQuerySet when they reconnect: the
    server keeps no more than fits in one frame, so that message is never the one API Gateway
    closes the socket for."""
    from ontology.sync.limits import FRAME_BYTES, MAX_QUERY_SET_BYTES

    kept: list[dict[str, Any]] = []
    with _open(stack) as ws:
        for query_id in range(16):
            add = _padded_add(query_id, 3000)
            ws.send(_modify(query_id, add))
            answer = _answers(ws, {query_id})[query_id]
            if answer["errorData"]["code"] == "PAYLOAD_TOO_LARGE":
                assert answer["errorData"]["limit"] == MAX_QUERY_SET_BYTES
                break
            assert answer["errorData"]["code"] == "NOT_FOUND"  # kept (the function does not exist)
            kept.append(add)
        assert 8 <= len(kept) < 16
    again = _modify(0, *[{**add, "udfPath": "nope.js:nothing", "journal": None} for add in kept])
    assert len(again.encode()) <= FRAME_BYTES
    with _open(stack) as ws:
        ws.send(again)
        answers = _answers(ws, {add["queryId"] for add in kept})
        assert {a["errorData"]["code"] for a in answers.values()} == {"NOT_FOUND"}


def test_the_functions_whose_arguments_may_not_fit_a_frame_are_documented_beside_them() -> None:
    from infra.docs import SOCKET_NOTE, socket_oversized
    from ontology.sync.limits import FRAME_BYTES

    oversized = socket_oversized()
    assert [name for name, _, _ in oversized["knowledge:add"]] == ["text"]
    assert "entities:create" in oversized and "creators:get" not in oversized
    call = {"type": "Action", "requestId": 0, "udfPath": "knowledge:add", "args": [{"text": "a" * 40_000}]}
    assert len(json.dumps(call)) > FRAME_BYTES  # as the limit says: it cannot go over the socket
    rows = (ROOT / "docs" / "functions.md").read_text().splitlines()
    for path in oversized:
        [row] = [r for r in rows if r.startswith(f"| `{path}` | ") and "| `POST" in r]
        assert row.endswith(f"{SOCKET_NOTE} |")
