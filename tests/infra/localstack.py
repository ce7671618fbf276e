"""The local stack as a newcomer starts it (`make dev`'s ``python -m infra.local``), as a subprocess on
free loopback ports with its own state folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.servers import free_port

#: For a module that signs many users in from one address (127.0.0.1): Better Auth's per-address
#: limits raised well above what it sends (the limiter still counts every request);
#: tests/infra/test_rate_limits.py checks the defaults.
_LIMITS = {"window": 10, "max": 10_000}
MANY_SIGN_INS = {
    "ONE_RATE_LIMIT": json.dumps(
        {"max": 10_000, "customRules": {"/sign-in/*": _LIMITS, "/sign-up/*": _LIMITS}}
    )
}


class Stack:
    def __init__(
        self,
        state_dir: Path,
        env_file: Path | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        cwd: Path | None = None,
        demo: bool = True,
    ) -> None:
        self.state_dir = state_dir
        #: Where it runs (the repository; a copy of it, with the copy first on ``PYTHONPATH``).
        self.cwd = cwd or ROOT
        #: More of `python -m infra.local`'s options (``--codegen DIR``, as `make dev` gives it).
        self.args = list(args or []) + ([] if demo else ["--no-demo-token"])
        # Never the developer's own .env: the given file, or none at all.
        self.env_file = env_file or state_dir.parent / "no.env"
        #: Settings of this stack only (``ONE_…`` variables, as an operator would set them).
        self.env = dict(env or {})
        self.aws_port, self.api_port = free_port(), free_port()
        self.stripe_port, self.chain_port = free_port(), free_port()
        self.proc: subprocess.Popen[str] | None = None
        #: What the stack printed up to ``ready.`` (its banner), and after it.
        self.lines: list[str] = []
        self.after: list[str] = []
        self._drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        from infra.environment import REFERENCE_VARIABLES

        reference = {v.name for v in REFERENCE_VARIABLES}
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ONE_", "AWS_")) and k not in reference
        }
        env.update(self.env)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local",
                "--aws-port",
                str(self.aws_port),
                "--api-port",
                str(self.api_port),
                "--stripe-port",
                str(self.stripe_port),
                "--chain-port",
                str(self.chain_port),
                "--state-dir",
                str(self.state_dir),
                "--env-file",
                str(self.env_file),
                *self.args,
            ],
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip())
            if line.startswith("ready."):
                # Keep reading what the stack prints: a pipe nobody empties fills up (64 KB) and
                # then blocks every thread of the stack that logs.
                self._drain = threading.Thread(target=self._read_rest, daemon=True)
                self._drain.start()
                return
        self.proc.kill()
        pytest.fail("the local stack did not start:\n" + "\n".join(self.lines))

    def dev_session(self) -> dict[str, Any]:
        """What the stack wrote of its developer session: token, userId, organizationId, apiUrl…"""
        return dict(json.loads((self.state_dir / "dev-session.json").read_text()))

    def token(self) -> str:
        return str(self.dev_session()["token"])

    def _read_rest(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.after.append(line.rstrip())
            if len(self.after) > 20_000:
                del self.after[:10_000]

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a developer stops it: the exit code and what it printed after ``ready.``."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        # saving the state takes a second alone; a stop that hangs prints every thread's stack and
        # exits by itself after two minutes (infra.local.__main__.STOP_SECONDS): shown here if so
        try:
            self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("the local stack did not stop:\n" + "\n".join(self.after[-200:]))
        if self._drain is not None:
            self._drain.join(timeout=10)
        return self.proc.returncode, "\n".join(self.after)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def mail_to(stack: Stack, email: str, subject: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in httpx.get(f"{stack.url}/_local/outbox").json():
            if message["to"] == email and message["subject"] == subject:
                return message
        time.sleep(0.2)
    raise AssertionError(f"no {subject!r} email to {email}")


def patiently(send: Any) -> httpx.Response:
    """``send()`` again after the ``X-Retry-After`` seconds of each 429, as a well-behaved client
    waits out Better Auth's limits (the tests sign many users in from one address)."""
    for _ in range(10):
        response: httpx.Response = send()
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers.get("x-retry-after", "1")))
    return response


def signed_in(stack: Stack, email: str) -> str:
    """Sign up over HTTP, read the verification email from the outbox, verify, sign in."""
    import re

    password = "correct horse battery staple"
    r = patiently(
        lambda: httpx.post(
            f"{stack.url}/api/auth/sign-up/email", json={"email": email, "password": password, "name": email}
        )
    )
    assert r.status_code == 200 and r.json()["token"] is None
    mail = mail_to(stack, email, "Verify your email address")
    link = re.search(r"http\S+verify-email\?token=\S+", mail["text"]).group(0)
    # The link names the public base URL (BETTER_AUTH_URL when set): follow it to this stack.
    path = link.split("/api/auth/", 1)[1]
    assert httpx.get(f"{stack.url}/api/auth/{path}").json()["status"] is True
    signed = patiently(
        lambda: httpx.post(f"{stack.url}/api/auth/sign-in/email", json={"email": email, "password": password})
    )
    assert signed.status_code == 200 and "better-auth.session_token" in signed.headers["set-cookie"]
    session = httpx.get(
        f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {signed.json()['token']}"}
    )
    assert session.json()["user"]["email"] == email
    return str(signed.json()["token"])


def better_auth_client(base_url: str) -> None:
    """Better Auth's own JS client (createAuthClient) signs up, verifies, signs in, reads the
    session and signs out against ``base_url`` (node and tests/js installed by `make test`)."""
    import shutil

    script = ROOT / "tests" / "js" / "better_auth_client.mjs"
    node = shutil.which("node")
    assert node and (ROOT / "tests" / "js" / "node_modules" / "better-auth").exists(), "run `make test`"
    run = subprocess.run(
        [node, str(script)],
        cwd=script.parent,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BASE_URL": base_url},
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def settled(client: Any, purchase_id: str) -> dict[str, Any]:
    """A purchase's view once it is no longer pending (the saga runs in the background)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = client.query("tokens:get_purchase", {"purchaseId": purchase_id})
        if view["status"] != "pending":
            return dict(view)
        time.sleep(0.2)
    raise AssertionError(f"purchase {purchase_id} still pending")


def running_stack(
    tmp_path_factory: Any,
    name: str,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    demo: bool = False,
) -> Iterator[Stack]:
    """A module's stack, as ``make dev`` starts it, in its own state directory (a fixture's body);
    ``env``: settings of this stack only; ``args``: more of its options; ``demo``: whether it
    deploys the demo token (most modules buy none: ``--no-demo-token`` spares the chain's deploy)."""
    s = Stack(Path(tmp_path_factory.mktemp(name)) / "state", env=env, args=args, demo=demo)
    s.start()
    try:
        yield s
    finally:
        s.kill()


PAGE = {"numItems": 100, "cursor": None}


def until(fn: Any, timeout: float = 60) -> Any:
    """``fn()`` again every 0.1 s until it is truthy or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def connections_of(client: Any, entity: str, kind: str, direction: str = "from") -> list[dict[str, Any]]:
    """The ``kind`` connections from (or to) ``entity``, through ``connections:list``."""
    args = {"entityId": entity, "relationshipType": kind, "direction": direction, "paginationOpts": PAGE}
    return list(client.query("connections:list", args)["page"])


def events_of(client: Any, target: str, kind: str) -> list[dict[str, Any]]:
    """The ``kind`` events of ``target``, through ``events:list``."""
    return list(
        client.query("events:list", {"targetId": target, "type": kind, "paginationOpts": PAGE})["page"]
    )


def tags_of(client: Any, entity: str) -> dict[str, set[str]]:
    """``entity``'s tags, key → values, through ``tags:list``."""
    out: dict[str, set[str]] = {}
    for tag in client.query("tags:list", {"entityId": entity, "paginationOpts": PAGE})["page"]:
        out.setdefault(tag["key"], set()).add(tag["value"])
    return out


def convex_query(stack: Stack, path: str, args: dict[str, Any], token: str | None = None) -> Any:
    """``path``'s value through Convex's HTTP API (``POST /api/query``, as ``ConvexHttpClient`` calls
    it), anonymously or with a session ``token``; a function's error is raised as the typed exception."""
    from ontology.client import _typed_error

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"path": path, "args": args, "format": "json"}
    answer = httpx.post(f"{stack.url}/api/query", json=body, headers=headers, timeout=30).json()
    if answer.get("status") != "success":
        raise _typed_error(answer.get("errorMessage"), answer.get("errorData") or {})
    return answer["value"]


def one_cli(stack: Stack, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``one ARGS`` against the stack (its state folder says where it runs), as a developer types it."""
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        cwd=ROOT,
        env={**os.environ, "ONE_STATE_DIR": str(stack.state_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
