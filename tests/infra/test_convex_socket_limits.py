"""The sync protocol at its limits, through the front door (the local stack as ``make dev`` starts it,
over a real WebSocket): Convex's own Python client (PyPI ``convex``, the Rust crate's protocol) hears
a failed mutation; one ``ModifyQuerySet`` costs what the limits allow and no more; a frame over
32 KB closes the socket as API Gateway does, and the client that sent it hears why once."""

from __future__ import annotations

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
