"""``OneClient.subscribe`` against a scripted sync server: the frames it sends, the version chain it
checks, the values it decodes and the typed errors it raises.

The server here is a few lines of ``websockets.sync.server``: each test hands it a script that reads
what the client sends and answers exact frames, so every rule is checked frame by frame.
"""

from __future__ import annotations

import base64
import json
import math
import queue
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from ontology import errors as E
from ontology.client import (
    OneClient,
    Subscription,
    SubscriptionClosedError,
    _decode,
    _encode,
    _sync_url,
)

pytestmark = pytest.mark.timeout(20)

Script = Callable[[ServerConnection, "Peer"], None]


def _ts(n: int) -> str:
    return base64.b64encode(n.to_bytes(8, "little")).decode()


def _version(query_set: int, identity: int, ts: int) -> dict[str, Any]:
    return {"querySet": query_set, "identity": identity, "ts": _ts(ts)}


V0 = _version(0, 0, 0)


def _transition(start: dict[str, Any], end: dict[str, Any], *modifications: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "Transition", "startVersion": start, "endVersion": end, "modifications": list(modifications)}
    )


def _updated(value: Any, query_id: int = 0) -> dict[str, Any]:
    return {"type": "QueryUpdated", "queryId": query_id, "value": value, "logLines": [], "journal": None}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Peer:
    """The server side's view: what the client sent, and a way for the test to let the script go on."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.path: str | None = None
        self.go = threading.Event()
        self.closed = threading.Event()

    def recv(self, ws: ServerConnection, timeout: float | None = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        self.received.put(message)
        return message

    def opening(self, ws: ServerConnection, *, authenticated: bool = False) -> list[dict[str, Any]]:
        """Connect, then Authenticate if the client has a token, then ModifyQuerySet."""
        return [self.recv(ws) for _ in range(3 if authenticated else 2)]

    def drain(self, ws: ServerConnection) -> None:
        """Record what the client sends until it closes the socket (or the server shuts down)."""
        try:
            while True:
                self.recv(ws, timeout=None)
        except ConnectionClosed:
            self.closed.set()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)


@contextmanager
def scripted(
    script: Script, *, token: str | None = None, **serve_options: Any
) -> Iterator[tuple[OneClient, Peer]]:
    """A sync server on 127.0.0.1 running ``script`` for each connection, and a client pointed at it."""
    peer = Peer()
    failures: list[BaseException] = []

    def handler(ws: ServerConnection) -> None:
        peer.path = ws.request.path if ws.request else None
        try:
            script(ws, peer)
        except ConnectionClosed:
            peer.closed.set()
        except BaseException as exc:
            failures.append(exc)

    with serve(handler, "127.0.0.1", 0, **serve_options) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            with OneClient(f"http://127.0.0.1:{port}", token=token) as client:
                yield client, peer
        finally:
            server.shutdown()
            thread.join(timeout=5)
    assert not failures, failures


def _answer_first(value: Any = "first") -> Script:
    """Read the opening, answer one result, then record the rest."""

    def script(ws: ServerConnection, peer: Peer) -> None:
        peer.opening(ws)
        ws.send(_transition(V0, _version(1, 0, 10), _updated(value)))
        peer.drain(ws)

    return script


# --- (1) the opening frames ---------------------------------------------------------------------------------


def _open_authenticated(ws: ServerConnection, peer: Peer) -> None:
    peer.opening(ws, authenticated=True)
    ws.send(_transition(V0, _version(1, 1, 10), _updated(None)))
    peer.drain(ws)


def test_subscribe_sends_connect_authenticate_and_the_query_in_that_order() -> None:
    before = int(time.time() * 1000)
    with (
        scripted(_open_authenticated, token="session-token") as (client, peer),
        client.subscribe("creators:get", {"id": "c1", "limit": 3}) as sub,
    ):
        assert sub.get() is None

    assert peer.path == "/api/sync"
    connect, authenticate, modify = peer.next(), peer.next(), peer.next()
    assert connect["type"] == "Connect"
    assert uuid.UUID(connect["sessionId"]).version == 4
    assert connect["connectionCount"] == 0
    assert connect["lastCloseReason"] == "InitialConnect"
    assert before - 1000 <= connect["clientTs"] <= int(time.time() * 1000) + 1000
    assert set(connect) == {"type", "sessionId", "connectionCount", "lastCloseReason", "clientTs"}
    assert authenticate == {
        "type": "Authenticate",
        "tokenType": "User",
        "value": "session-token",
        "baseVersion": 0,
    }
    assert modify == {
        "type": "ModifyQuerySet",
        "baseVersion": 0,
        "newVersion": 1,
        "modifications": [
            {"type": "Add", "queryId": 0, "udfPath": "creators:get", "args": [{"id": "c1", "limit": 3}]}
        ],
    }


def test_without_a_token_no_authenticate_is_sent() -> None:
    with scripted(_answer_first()) as (client, peer), client.subscribe("creators:list") as sub:
        assert sub.get() == "first"
        connect, modify = peer.next(), peer.next()
    assert connect["type"] == "Connect"
    assert modify["type"] == "ModifyQuerySet"
    assert modify["modifications"][0]["args"] == [{}]


# --- (2) values, chained ------------------------------------------------------------------------------------


def _two_results(ws: ServerConnection, peer: Peer) -> None:
    peer.opening(ws)
    ws.send(_transition(V0, _version(1, 0, 10), _updated({"name": "Ada", "followers": 4, "score": 4.5})))
    peer.go.wait(5)
    big = {"$integer": _b64((2**60 + 7).to_bytes(8, "little", signed=True))}
    ws.send(_transition(_version(1, 0, 10), _version(1, 0, 25), _updated({"name": "Ada", "followers": big})))
    peer.drain(ws)


def test_each_chained_transition_delivers_the_next_value_decoded() -> None:
    with scripted(_two_results) as (client, peer), client.subscribe("creators:get", {"id": "c1"}) as sub:
        first = sub.get()
        assert first == {"name": "Ada", "followers": 4, "score": 4.5}
        assert type(first["followers"]) is int and type(first["score"]) is float
        assert sub.latest == first
        with pytest.raises(TimeoutError):
            sub.get(timeout=0.2)  # nothing new yet: the first value is consumed
        peer.go.set()
        second = sub.get()
        assert second == {"name": "Ada", "followers": 2**60 + 7}
        assert type(second["followers"]) is int
        assert sub.latest == second


def test_wait_for_returns_the_current_value_or_waits_for_a_later_one() -> None:
    with scripted(_two_results) as (client, peer), client.subscribe("creators:get", {"id": "c1"}) as sub:
        first = sub.wait_for(lambda c: c["name"] == "Ada")
        assert first["followers"] == 4
        assert sub.wait_for(lambda c: c["followers"] == 4) is first  # already current: no wait
        peer.go.set()
        assert sub.wait_for(lambda c: c["followers"] > 2**53)["followers"] == 2**60 + 7
        with pytest.raises(TimeoutError, match="matched"):
            sub.wait_for(lambda c: c["followers"] == 0, timeout=0.2)


def _a_stream(ws: ServerConnection, peer: Peer) -> None:
    peer.opening(ws)
    version = V0
    for n in range(3):
        end = _version(1, 0, 10 + n)
        ws.send(_transition(version, end, _updated(n), _updated("someone else's", query_id=7)))
        version = end
    peer.drain(ws)


def test_iteration_yields_values_in_order_and_ignores_other_queries() -> None:
    with scripted(_a_stream) as (client, _peer), client.subscribe("counter:get") as sub:
        seen = []
        for value in sub:
            seen.append(value)
            if value == 2:
                sub.close()
        assert seen == [0, 1, 2]


# --- (3) pings ----------------------------------------------------------------------------------------------


def _pings_between(ws: ServerConnection, peer: Peer) -> None:
    peer.opening(ws)
    ping = json.dumps({"type": "Ping"})
    ws.send(ping)
    ws.send(_transition(V0, _version(1, 0, 10), _updated("a")))
    ws.send(ping)
    ws.send(ping)
    ws.send(_transition(_version(1, 0, 10), _version(1, 0, 11), _updated("b")))
    ws.send(ping)
    peer.drain(ws)


def test_pings_are_ignored() -> None:
    with scripted(_pings_between) as (client, _peer), client.subscribe("x:get") as sub:
        assert sub.get() == "a"
        assert sub.get() == "b"
        with pytest.raises(TimeoutError):
            sub.get(timeout=0.2)
        assert not sub.closed


# --- (4) the version chain ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong_start",
    [_version(2, 0, 10), _version(1, 1, 10), _version(1, 0, 9)],
    ids=["querySet", "identity", "ts"],
)
def test_a_transition_that_does_not_chain_raises_from_get(wrong_start: dict[str, Any]) -> None:
    def script(ws: ServerConnection, peer: Peer) -> None:
        peer.opening(ws)
        ws.send(_transition(V0, _version(1, 0, 10), _updated("ok")))
        ws.send(_transition(wrong_start, _version(1, 0, 20), _updated("never")))
        peer.drain(ws)

    with scripted(script) as (client, peer), client.subscribe("x:get") as sub:
        assert sub.get() == "ok"  # what came before the broken link is still handed out
        with pytest.raises(E.UpstreamError, match="startVersion"):
            sub.get()
        with pytest.raises(E.UpstreamError, match="startVersion"):
            next(iter(sub))  # and the subscription stays ended
        assert sub.closed
        assert sub.latest == "ok"
        assert peer.closed.wait(5)  # the client hung up


def test_the_first_transition_must_start_at_zero() -> None:
    def script(ws: ServerConnection, peer: Peer) -> None:
        peer.opening(ws)
        ws.send(_transition(_version(0, 0, 5), _version(1, 0, 10), _updated("ok")))
        peer.drain(ws)

    with (
        scripted(script) as (client, _peer),
        client.subscribe("x:get") as sub,
        pytest.raises(E.UpstreamError, match="does not follow"),
    ):
        sub.get()


# --- (5) QueryFailed ----------------------------------------------------------------------------------------


def _fails_then_recovers(ws: ServerConnection, peer: Peer) -> None:
    peer.opening(ws)
    failed = {
        "type": "QueryFailed",
        "queryId": 0,
        "errorMessage": "Creator not found",
        "logLines": [],
        "journal": None,
        "errorData": {"code": "NOT_FOUND", "id": "c1"},
    }
    ws.send(_transition(V0, _version(1, 0, 10), failed))
    ws.send(_transition(_version(1, 0, 10), _version(1, 0, 11), _updated({"id": "c1"})))
    ws.send(
        _transition(
            _version(1, 0, 11),
            _version(1, 0, 12),
            {"type": "QueryFailed", "queryId": 0, "errorMessage": "Server Error", "logLines": []},
        )
    )
    peer.drain(ws)


def test_query_failed_raises_the_typed_error_in_order() -> None:
    with scripted(_fails_then_recovers) as (client, _peer), client.subscribe("creators:get") as sub:
        with pytest.raises(E.NotFoundError) as info:
            sub.get()
        assert info.value.message == "Creator not found"
        assert info.value.to_error_data() == {"code": "NOT_FOUND", "id": "c1"}
        assert sub.get() == {"id": "c1"}  # the subscription lives on
        with pytest.raises(E.InternalError, match="Server Error"):
            sub.get()  # no errorData: not one of the platform's own errors
        assert sub.latest == {"id": "c1"}
        assert not sub.closed


# --- (6) AuthError and the other endings --------------------------------------------------------------------


def _send_then_drain(frame: str) -> Script:
    def script(ws: ServerConnection, peer: Peer) -> None:
        peer.opening(ws)
        ws.send(frame)
        peer.drain(ws)

    return script


def test_auth_error_raises_unauthenticated_and_ends_the_subscription() -> None:
    frame = json.dumps(
        {"type": "AuthError", "error": "Token expired", "baseVersion": 0, "authUpdateAttempted": True}
    )
    with scripted(_send_then_drain(frame)) as (client, peer), client.subscribe("x:get") as sub:
        with pytest.raises(E.UnauthenticatedError, match="Token expired"):
            sub.get()
        with pytest.raises(E.UnauthenticatedError):
            list(sub)
        assert sub.closed
        assert peer.closed.wait(5)


def test_fatal_error_raises_upstream_error() -> None:
    frame = json.dumps({"type": "FatalError", "error": "Internal server error"})
    with (
        scripted(_send_then_drain(frame)) as (client, _peer),
        client.subscribe("x:get") as sub,
        pytest.raises(E.UpstreamError, match="Internal server error"),
    ):
        sub.get()


def test_the_socket_closing_unexpectedly_raises_upstream_error() -> None:
    def script(ws: ServerConnection, peer: Peer) -> None:
        peer.opening(ws)
        ws.send(_transition(V0, _version(1, 0, 10), _updated(1)))
        ws.close(code=1011, reason="going down")

    with scripted(script) as (client, _peer), client.subscribe("x:get") as sub:
        assert sub.get() == 1
        with pytest.raises(E.UpstreamError, match=r"closed unexpectedly \(code 1011: going down\)"):
            sub.get()


def test_a_refused_upgrade_raises_the_status_error() -> None:
    def refuse(ws: ServerConnection, request: Request) -> Response:
        return ws.respond(401, "no\n")

    with (
        scripted(_answer_first(), process_request=refuse) as (client, _peer),
        pytest.raises(E.UnauthenticatedError, match="HTTP 401"),
    ):
        client.subscribe("x:get")


# --- (7) close ----------------------------------------------------------------------------------------------


def test_close_sends_remove_then_closes_and_is_idempotent() -> None:
    with scripted(_answer_first()) as (client, peer):
        sub = client.subscribe("x:get")
        assert isinstance(sub, Subscription)
        assert sub.get() == "first"
        sub.close()
        sub.close()
        assert peer.closed.wait(5)
        assert [peer.next()["type"] for _ in range(2)] == ["Connect", "ModifyQuerySet"]
        assert peer.next() == {
            "type": "ModifyQuerySet",
            "baseVersion": 1,
            "newVersion": 2,
            "modifications": [{"type": "Remove", "queryId": 0}],
        }
        assert peer.received.empty()
        assert sub.closed
        assert sub.latest == "first"
        with pytest.raises(SubscriptionClosedError):
            sub.get(timeout=0.1)
        assert list(sub) == []


def test_the_context_manager_and_the_client_close_their_subscriptions() -> None:
    with scripted(_answer_first()) as (client, peer):
        with client.subscribe("x:get") as sub:
            sub.get()
        assert sub.closed
        assert peer.closed.wait(5)

    with scripted(_answer_first()) as (client, peer):
        sub = client.subscribe("x:get")
        sub.get()
        client.close()
        assert sub.closed
        assert peer.closed.wait(5)


def test_close_from_another_thread_ends_iteration() -> None:
    with scripted(_answer_first()) as (client, _peer), client.subscribe("x:get") as sub:
        seen: list[Any] = []
        reader = threading.Thread(target=lambda: seen.extend(sub), daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while seen != ["first"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == ["first"]  # the reader is now blocked waiting for the next value
        sub.close()
        reader.join(timeout=5)
        assert not reader.is_alive()
        assert seen == ["first"]


# --- (8) convex_encoded_json --------------------------------------------------------------------------------


def test_arguments_are_sent_as_convex_encoded_json() -> None:
    args = {
        "n": 4,
        "edge": 2**53 - 1,
        "big": 2**60,
        "low": -(2**53),
        "ratio": 0.5,
        "nan": math.nan,
        "inf": -math.inf,
        "negzero": -0.0,
        "zero": 0.0,
        "raw": b"\x00\x01\xff",
        "list": [1, 2**63 - 1, {"deep": b"x"}],
        "flag": True,
        "none": None,
    }
    with scripted(_answer_first()) as (client, peer), client.subscribe("x:get", args) as sub:
        sub.get()
        peer.next()
        sent = peer.next()["modifications"][0]["args"][0]

    def integer(n: int) -> dict[str, str]:
        return {"$integer": _b64(n.to_bytes(8, "little", signed=True))}

    assert sent == {
        "n": 4,
        "edge": 2**53 - 1,
        "big": integer(2**60),
        "low": integer(-(2**53)),
        "ratio": 0.5,
        "nan": {"$float": _b64(struct.pack("<d", math.nan))},
        "inf": {"$float": _b64(struct.pack("<d", -math.inf))},
        "negzero": {"$float": "AAAAAAAAAIA="},
        "zero": 0.0,
        "raw": {"$bytes": "AAH/"},
        "list": [1, integer(2**63 - 1), {"deep": {"$bytes": "eA=="}}],
        "flag": True,
        "none": None,
    }


def test_encoding_round_trips_and_matches_the_documented_example() -> None:
    assert _decode({"$integer": "+//////+//8="}) == -(2**40) - 5  # the example of Convex's own value docs
    assert _encode(-(2**40) - 5) == -(2**40) - 5  # small enough to travel as a plain number
    value = {"a": [2**62, -(2**63), b"", math.inf, -0.0, 1.25, "s"], "b": {"c": None}}
    decoded = _decode(json.loads(json.dumps(_encode(value))))
    assert decoded["a"][:4] == [2**62, -(2**63), b"", math.inf]
    assert math.copysign(1.0, decoded["a"][4]) == -1.0
    assert decoded["a"][5:] == [1.25, "s"] and decoded["b"] == {"c": None}
    assert math.isnan(_decode({"$float": _b64(struct.pack("<d", math.nan))}))
    assert _decode({"$bytes": "AAH/"}) == b"\x00\x01\xff"
    # A one-key object is special only for the three markers; json.loads decides plain numbers.
    assert _decode({"$integer": "AQAAAAAAAAA=", "x": 1}) == {"$integer": "AQAAAAAAAAA=", "x": 1}
    assert _decode(json.loads('{"i": 4, "f": 4.0, "e": 1e3}')) == {"i": 4, "f": 4.0, "e": 1000.0}


def test_encoding_refuses_what_the_wire_cannot_carry() -> None:
    with pytest.raises(TypeError, match="keys must be str"):
        _encode({1: "x"})
    with pytest.raises(ValueError, match="64-bit"):
        _encode(2**63)
    with pytest.raises(TypeError, match="set"):
        _encode({"s": {1, 2}})
    with pytest.raises(ValueError, match="8"):
        _decode({"$integer": "AQ=="})


def test_arguments_too_large_for_a_websocket_frame_are_refused_before_sending() -> None:
    """A client message is one frame, and API Gateway closes a socket whose frame is over 32 KB: the
    subscription is refused as a typed error, the socket never opened."""
    from ontology import client as one_client
    from ontology.sync.limits import FRAME_BYTES, MAX_QUERY_SET_BYTES

    assert one_client._SUBSCRIPTION_BYTES == MAX_QUERY_SET_BYTES  # what the server keeps
    opened: list[Any] = []

    def script(ws: ServerConnection, peer: Peer) -> None:
        opened.append(ws)
        peer.drain(ws)

    with scripted(script) as (client, _peer):
        with pytest.raises(E.PayloadTooLargeError) as refused:
            client.subscribe("knowledge:search", {"query": "é" * (FRAME_BYTES // 2)})
        assert refused.value.data["limit"] < FRAME_BYTES
        with client.subscribe("creators:get", {"id": "x" * 1000}):
            pass
    assert len(opened) == 1  # the second only


def test_the_sync_url_follows_the_base_url() -> None:
    assert _sync_url("http://127.0.0.1:3210") == "ws://127.0.0.1:3210/api/sync"
    assert _sync_url("https://api.example.com/") == "wss://api.example.com/api/sync"
    with pytest.raises(ValueError, match="base URL"):
        _sync_url("ftp://example.com")
