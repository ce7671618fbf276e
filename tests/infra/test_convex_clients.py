"""Convex's own npm clients (``convex`` 1.49.0 with ``ws``, tests/js) and the platform's Python
``subscribe`` against the local stack as ``make dev`` starts it: the HTTP API, the sync protocol,
reactivity from writes over the socket and over HTTP, tenancy on the socket, a forged token, bad input
on the socket, version chaining under concurrent pushes, and the generated ``api`` (``one codegen``)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack, running_stack, signed_in, until

JS = ROOT / "tests" / "js"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.fixture(scope="module")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frontend's folder (an ES module package beside its node_modules), whose
    ``convex/_generated`` the stack keeps current as `make dev` keeps the repository's."""
    app = tmp_path_factory.mktemp("frontend")
    (app / "package.json").write_text('{"type": "module"}\n')
    (app / "node_modules").symlink_to(JS / "node_modules")
    return app


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, frontend: Path) -> Iterator[Stack]:
    codegen = ["--codegen", str(frontend / "convex" / "_generated")]
    yield from running_stack(tmp_path_factory, "convex", args=codegen, demo=True)


@pytest.fixture(scope="module")
def owner(stack: Stack) -> OneClient:
    return OneClient(stack.url, token=stack.token())


def _creator(client: OneClient, name: str = "Ada") -> str:
    email = f"{name.lower()}-{time.time_ns()}@example.com"
    return str(
        client.mutation("creators:create", {"email": email, "name": name, "niche": ["math"]})["creatorId"]
    )


def scenario(stack: Stack, which: str, **config: Any) -> dict[str, Any]:
    cfg = {"url": stack.url, "scenario": which, "timeoutMs": 20000, **config}
    proc = subprocess.run(
        ["node", "convex_scenarios.mjs", json.dumps(cfg)],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_http_client_query_mutation_action_and_typed_errors(stack: Stack, owner: OneClient) -> None:
    creator = _creator(owner)
    out = scenario(
        stack, "http", token=stack.token(), creatorId=creator, bio="from convex", orgName="Convex org"
    )
    assert out["ok"], out
    assert out["get"]["_id"] == creator and out["after"]["properties"]["bio"] == "from convex"
    assert out["action"]["organizationId"].startswith("org_")
    assert out["badArgs"]["code"] == "VALIDATION_ERROR" and out["badArgs"]["name"] == "ConvexError"
    assert out["noAuth"]["code"] == "UNAUTHENTICATED"
    assert out["unknown"]["code"] == "NOT_FOUND"
    assert out["camel"]["value"]["_id"] == creator  # creators:getWithContent → creators:get_with_content
    assert out["wrongKind"]["code"] == "VALIDATION_ERROR"


def test_a_subscription_gets_each_write_over_the_socket_and_over_http(stack: Stack, owner: OneClient) -> None:
    creator = _creator(owner)
    out = scenario(stack, "reactive", token=stack.token(), creatorId=creator)
    assert out["ok"], out
    assert out["updates"][-2:] == ["ws-1", "http-2"] and out["uncaught"] == []
    assert out["actionResult"]["organizationId"].startswith("org_")
    assert out["actionError"]["code"] == "VALIDATION_ERROR"


def test_a_listing_sees_a_new_document_and_another_organization_sees_nothing(
    stack: Stack, owner: OneClient
) -> None:
    other = signed_in(stack, f"other-{time.time_ns()}@example.com")
    name = f"Listed {time.time_ns()}"
    out = scenario(
        stack,
        "listing",
        token=stack.token(),
        otherToken=other,
        email=f"l{time.time_ns()}@example.com",
        name=name,
    )
    assert out["ok"], out
    assert name in out["updates"][-1]
    assert all(name not in names for names in out["otherUpdates"])
    assert not any(n in names for names in out["otherUpdates"] for n in out["updates"][0])


def test_a_forged_token_is_unauthenticated_and_never_crashes_the_client(
    stack: Stack, owner: OneClient
) -> None:
    out = scenario(stack, "forged", creatorId=_creator(owner))
    assert out["ok"], out
    assert out["http"]["code"] == "UNAUTHENTICATED" and out["result"]["error"]["code"] == "UNAUTHENTICATED"
    assert out["alive"] is True and out["uncaught"] == []


def test_bad_input_on_the_socket_fails_that_connection_only(stack: Stack) -> None:
    out = scenario(stack, "socket-errors", token=stack.token())
    assert out["ok"], out
    cases = {c["name"]: c for c in out["cases"]}
    assert any(m.get("type") == "FatalError" for c in cases.values() for m in c["received"])
    assert cases["200KB-message"]["closed"]["code"] == 1009
    failed = [m for m in cases["unknown-function"]["received"] if m["type"] == "Transition"]
    assert failed[0]["modifications"][0]["errorData"]["code"] == "NOT_FOUND"
    assert out["healthy"] is True
    assert httpx.get(f"{stack.url}/api/openapi.json").status_code == 200  # the front door is up


def test_versions_chain_under_concurrent_pushes(stack: Stack, owner: OneClient) -> None:
    creators = [_creator(owner, f"C{i}") for i in range(4)]
    out = scenario(stack, "chain", token=stack.token(), creatorIds=creators, writes=40)
    assert out["ok"], out
    assert out["uncaught"] == [] and out["final"] == out["expectedFinal"]


def test_python_subscribe_and_a_revoked_session_stops(stack: Stack, owner: OneClient) -> None:
    from ontology.errors import UnauthenticatedError

    token = signed_in(stack, f"py-{time.time_ns()}@example.com")
    mine = OneClient(stack.url, token=token)
    creator = _creator(mine, "Py")
    with mine.subscribe("creators:get", {"id": creator}) as sub:
        assert sub.get(timeout=20)["_id"] == creator
        mine.mutation("creators:update", {"id": creator, "bio": "pushed"})
        assert sub.wait_for(lambda v: v["properties"].get("bio") == "pushed", timeout=20)
        r = httpx.post(f"{stack.url}/api/auth/sign-out", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        with pytest.raises(UnauthenticatedError):
            sub.wait_for(lambda v: False, timeout=20)


def test_the_reference_token_purchase_component_sees_its_balance_pushed(stack: Stack) -> None:
    """``TokenPurchase``: ``useQuery(api.tokens.get)``, ``useQuery(api.tokens.getBalance)`` (watchQuery)
    and ``useMutation(api.tokens.purchase)``: the mutation schedules the saga, the balance arrives
    by itself when it completes (the client never polls)."""
    session = stack.dev_session()
    out = scenario(
        stack,
        "purchase",
        token=stack.token(),
        tokenId=session["demoTokenId"],
        amount=10,
        usdAmount=5,
        timeoutMs=60000,
    )
    assert out["ok"], out
    assert out["purchase"]["status"] == "pending" and out["purchase"]["purchaseId"].startswith("ent_")
    assert out["token"]["properties"]["symbol"] == "LOCAL"
    amounts = [b["amount"] for b in out["balances"]]
    assert amounts[0] + 10 in amounts and out["uncaught"] == []


def test_the_keep_alive_pings_open_sockets_and_sign_out_over_the_socket(stack: Stack) -> None:
    """Raw frames: Connect, Authenticate, then ``tokenType: "None"`` (signing out advances the identity
    version); the keep-alive (fired now, as its schedule would) sends Ping."""
    import uuid

    from websockets.sync.client import connect

    url = stack.url.replace("http", "ws", 1) + "/api/1.49.0/sync"
    with connect(url, open_timeout=20) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "Connect",
                    "sessionId": str(uuid.uuid4()),
                    "connectionCount": 0,
                    "lastCloseReason": "InitialConnect",
                    "clientTs": 0,
                }
            )
        )
        ws.send(
            json.dumps(
                {"type": "Authenticate", "tokenType": "User", "value": stack.token(), "baseVersion": 0}
            )
        )
        ws.send(json.dumps({"type": "Authenticate", "tokenType": "None", "baseVersion": 1}))
        first, second = json.loads(ws.recv(timeout=20)), json.loads(ws.recv(timeout=20))
        assert first["type"] == second["type"] == "Transition"
        assert first["endVersion"]["identity"] == 1 and second["startVersion"] == first["endVersion"]
        assert second["endVersion"]["identity"] == 2

        # the keep-alive pings at once, then every 15 s for the rest of its minute: fire it aside
        def fire() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the stack may stop before its minute is over
                httpx.post(f"{stack.url}/_local/cron/run", json={"name": "sync keep-alive"}, timeout=120)

        threading.Thread(target=fire, daemon=True).start()
        assert json.loads(ws.recv(timeout=20)) == {"type": "Ping"}


def test_the_generated_api_calls_the_platforms_functions(
    stack: Stack, owner: OneClient, frontend: Path
) -> None:
    """The api.js the stack generated beside itself (`make dev`'s ``--codegen``), imported by a
    frontend: ``api.tokens.getBalance`` is Convex's reference ``tokens:getBalance``, which the platform
    resolves, with ConvexHttpClient; ``internal``'s references reach nothing."""
    generated = frontend / "convex" / "_generated"
    assert any(line.startswith(f"  codegen     {generated}   ") for line in stack.lines)
    assert until(lambda: any(line.endswith("wrote api.js, api.d.ts, dataModel.d.ts") for line in stack.after))
    creator = _creator(owner)
    out = scenario(
        stack,
        "generated",
        generated=str(generated / "api.js"),
        token=stack.token(),
        tokenId=stack.dev_session()["demoTokenId"],
        creatorId=creator,
    )
    assert out["ok"], out
    assert out["names"] == [
        "tokens:getBalance",
        "tokens:get_balance",
        "creators:getCreatorWithContent",
        "tokens:start_purchase",
    ]
    assert out["token"]["properties"]["symbol"] == "LOCAL" and out["token"]["properties"]["priceUsd"] == 0.5
    assert out["balance"]["tokenId"] == out["token"]["_id"] and out["balance"]["amount"] >= 0
    assert out["creator"]["_id"] == creator and out["creator"]["followerCount"] == 0
    assert out["internal"]["code"] == "NOT_FOUND"
