"""The events the local front door hands functions, next to what API Gateway documents: every event of
one WebSocket connection carries that connection's ``connectedAt``; a request whose request line and
header values pass 10,240 bytes never reaches a function; repeated headers are joined by commas and
cookies travel apart."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient

from infra.local.frontdoor import SocketGateway, build_app


class _Runner:
    """What the front door needs of the runner: its function definitions, and invoke (recorded)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        route = type("Def", (), {"routes": [("POST", "/api/echo", True)], "logical_id": "Echo"})
        self.defs = {"Echo": route}

    def invoke(self, logical_id: str, event: Any) -> Any:
        self.events.append((logical_id, event))
        return {"statusCode": 200, "body": "{}"}


def test_every_event_of_a_connection_carries_its_connected_at() -> None:
    runner = _Runner()
    gateway = SocketGateway(runner, {"$connect": "C", "$default": "M", "$disconnect": "D"})  # type: ignore[arg-type]
    app = Starlette(routes=[WebSocketRoute("/api/sync", gateway.serve)])
    with TestClient(app).websocket_connect("/api/sync") as ws:
        ws.send_text('{"type": "Connect"}')
        time.sleep(0.05)  # the next message is a later event of the same connection
        ws.send_text('{"type": "Ping"}')
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(runner.events) < 3:
            time.sleep(0.01)
    stamps = {e["requestContext"]["connectedAt"] for _, e in runner.events}
    assert [name for name, _ in runner.events][:3] == ["C", "M", "M"] and len(stamps) == 1


def _http_app(runner: _Runner) -> Starlette:
    template = {"Resources": {"HttpApi": {"Properties": {}}}}
    return build_app(runner, template)  # type: ignore[arg-type]


def test_a_request_head_over_10240_bytes_never_reaches_a_function() -> None:
    runner = _Runner()
    client = TestClient(_http_app(runner))
    assert client.post("/api/echo", json={}, headers={"x-big": "a" * 9_000}).status_code == 200
    refused = client.post("/api/echo", json={}, headers={"x-big": "a" * 10_300})
    assert refused.status_code == 431 and len(runner.events) == 1


def test_repeated_headers_are_joined_and_cookies_travel_apart() -> None:
    runner = _Runner()
    client = TestClient(_http_app(runner))
    client.post(
        "/api/echo",
        json={},
        headers=[("x-tag", "a"), ("x-tag", "b"), ("cookie", "a=1; b=2")],  # type: ignore[arg-type]
    )
    event = runner.events[0][1]
    assert event["headers"]["x-tag"] == "a,b"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]


class _AuthorizedRunner(_Runner):
    """A private route behind an authorizer that answers ``answer`` (cached for a minute)."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.defs = {
            "Echo": type("Def", (), {"routes": [("POST", "/api/echo", False)], "logical_id": "Echo"})
        }
        self.answer = answer

    def invoke(self, logical_id: str, event: Any) -> Any:
        if logical_id == "Auth":
            self.events.append((logical_id, event))
            return self.answer
        return super().invoke(logical_id, event)


def _authorized_app(runner: _AuthorizedRunner) -> Starlette:
    authorizer = {
        "FunctionArn": {"Fn::GetAtt": ["Auth", "Arn"]},
        "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": 60},
    }
    api = {"Auth": {"DefaultAuthorizer": "Lambda", "Authorizers": {"Lambda": authorizer}}}
    return build_app(runner, {"Resources": {"HttpApi": {"Properties": api}}})  # type: ignore[arg-type]


def test_an_authorizer_answer_that_is_no_object_is_api_gateways_500_and_not_cached() -> None:
    runner = _AuthorizedRunner(None)
    client = TestClient(_authorized_app(runner))
    for _ in range(2):
        refused = client.post("/api/echo", json={}, headers={"authorization": "Bearer t"})
        assert refused.status_code == 500 and refused.json() == {"message": "Internal Server Error"}
    assert [name for name, _ in runner.events] == ["Auth", "Auth"], "never the function, never cached"


def test_an_authorizer_object_answer_still_decides() -> None:
    runner = _AuthorizedRunner({"isAuthorized": True, "context": {"userId": "u"}})
    client = TestClient(_authorized_app(runner))
    assert client.post("/api/echo", json={}, headers={"authorization": "Bearer t"}).status_code == 200
    assert client.post("/api/echo", json={}, headers={"authorization": "Bearer t"}).status_code == 200
    names = [name for name, _ in runner.events]
    assert names == ["Auth", "Echo", "Echo"], "the decision is cached"
    assert runner.events[1][1]["requestContext"]["authorizer"] == {"lambda": {"userId": "u"}}
