"""API Gateway's limits the front door enforces, strict mode or not: a WebSocket connection with no
message either way for the idle timeout, or open for the maximum duration, is closed with 1001 and
its ``$disconnect`` says so; the management API then answers 410 GoneException; a stage's throttle
answers 429 without reaching the function. (The limits are shortened here: 10 minutes and 2 hours
in AWS.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from infra.local.frontdoor import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    GOING_AWAY,
    WS_IDLE_SECONDS,
    WS_MAX_SECONDS,
    SocketGateway,
    build_app,
    throttles,
)


class _Runner:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        route = type("Def", (), {"routes": [("POST", "/api/echo", True)], "logical_id": "Echo"})
        self.defs = {"Echo": route}

    def invoke(self, logical_id: str, event: Any) -> Any:
        self.events.append((logical_id, event))
        return {"statusCode": 200, "body": "{}"}


def _gateway(**limits: float) -> tuple[_Runner, SocketGateway, TestClient]:
    runner = _Runner()
    gateway = SocketGateway(runner, {"$connect": "C", "$default": "M", "$disconnect": "D"}, **limits)  # type: ignore[arg-type]
    app = Starlette(
        routes=[
            WebSocketRoute("/api/sync", gateway.serve),
            Route("/@connections/{connection_id:path}", gateway.manage, methods=["GET", "POST", "DELETE"]),
        ]
    )
    return runner, gateway, TestClient(app)


def _disconnect_event(runner: _Runner) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [e for name, e in runner.events if name == "D"]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError("no $disconnect")


def test_the_limits_are_api_gateways_unless_shortened() -> None:
    assert (WS_IDLE_SECONDS, WS_MAX_SECONDS) == (600.0, 7200.0)
    runner = _Runner()
    gateway = SocketGateway(runner, {})  # type: ignore[arg-type]
    assert (gateway.idle_seconds, gateway.max_seconds) == (600.0, 7200.0)


def test_an_idle_connection_is_closed_with_1001_and_is_gone_for_the_management_api() -> None:
    runner, _, client = _gateway(idle_seconds=0.3, max_seconds=60)
    with client.websocket_connect("/api/sync") as ws:
        connection_id = next(e for n, e in runner.events if n == "C")["requestContext"]["connectionId"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()  # nothing comes: the gateway closes it
        assert closed.value.code == GOING_AWAY
    event = _disconnect_event(runner)
    assert event["requestContext"]["disconnectStatusCode"] == GOING_AWAY
    gone = client.post(f"/@connections/{connection_id}", content=b"{}")
    assert gone.status_code == 410 and gone.headers["x-amzn-errortype"] == "GoneException"


def test_messages_either_way_keep_a_connection_open_until_its_maximum_duration() -> None:
    runner, gateway, client = _gateway(idle_seconds=0.5, max_seconds=1.5)
    opened = time.monotonic()  # before the gateway starts the connection's clock, never after
    with client.websocket_connect("/api/sync") as ws:
        connection_id = next(e for n, e in runner.events if n == "C")["requestContext"]["connectionId"]
        messages = 0
        while time.monotonic() - opened < 1.2:  # never idle: a message every 0.2 s, both ways
            if messages % 2:
                ws.send_text('{"type": "Ping"}')
            else:
                assert client.post(f"/@connections/{connection_id}", content=b'{"n": 1}').status_code == 200
                assert ws.receive_text() == '{"n": 1}'
            messages += 1
            time.sleep(0.2)
        assert connection_id in gateway.sockets  # past the idle timeout, still open
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == GOING_AWAY
        assert time.monotonic() - opened >= 1.5
    assert _disconnect_event(runner)["requestContext"]["disconnectStatusCode"] == GOING_AWAY


def test_a_client_closing_is_its_own_code_in_disconnect() -> None:
    runner, _, client = _gateway(idle_seconds=60, max_seconds=60)
    with client.websocket_connect("/api/sync") as ws:
        ws.close(code=1000)
    assert _disconnect_event(runner)["requestContext"]["disconnectStatusCode"] == 1000


def test_the_stage_throttle_answers_429_without_reaching_the_function() -> None:
    runner = _Runner()
    api = {"DefaultRouteSettings": {"ThrottlingBurstLimit": 3, "ThrottlingRateLimit": 0.001}}
    client = TestClient(build_app(runner, {"Resources": {"HttpApi": {"Properties": api}}}))  # type: ignore[arg-type]
    answers = [client.post("/api/echo", json={}).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert client.post("/api/echo", json={}).json() == {"message": "Too Many Requests"}
    assert len(runner.events) == 3


def test_without_stage_limits_the_accounts_apply() -> None:
    (account,) = throttles({})
    assert (account.rate, account.burst) == (ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT) == (10_000, 5_000)


def test_both_apis_stages_throttle_as_the_template_says() -> None:
    from infra.template.base import API_BURST_LIMIT, API_RATE_LIMIT
    from infra.template.document import load_template

    resources = load_template()["Resources"]
    account, stage = throttles(resources["HttpApi"]["Properties"])
    assert (stage.rate, stage.burst) == (API_RATE_LIMIT, API_BURST_LIMIT) == (1000, 500)
    assert (account.rate, account.burst) == (10_000, 5_000)
    sync = resources["SyncStage"]["Properties"]["DefaultRouteSettings"]
    assert sync["ThrottlingBurstLimit"] == API_BURST_LIMIT and sync["ThrottlingRateLimit"] == API_RATE_LIMIT
