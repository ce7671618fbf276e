"""Serving the local stack's pieces on loopback: an ASGI app in a thread (the front door, the local
chain, test fakes) and localstripe in a child process, each waited for until it answers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra import ROOT

__all__ = ["free_port", "serve", "start_localstripe", "start_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(app: Any, host: str, port: int, what: str = "the server") -> tuple[Any, threading.Thread]:
    """Serve ``app`` with uvicorn in a daemon thread; returns once it listens."""
    import uvicorn

    # proxy_headers=False: the peer is the client, as API Gateway's sourceIp is the TCP peer (uvicorn
    # would otherwise take a loopback client's X-Forwarded-For as its address, unchecked)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} could not listen on {host}:{port}")
        time.sleep(0.05)
    return server, thread


@contextlib.contextmanager
def serve(app: Any, what: str = "the server") -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:<port>``) while ``app`` serves there."""
    port = free_port()
    server, thread = start_server(app, "127.0.0.1", port, what)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def start_localstripe(
    host: str,
    port: int,
    state_file: Path,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> subprocess.Popen[bytes]:
    """localstripe (with Stripe's idempotency, test cards and 3-D Secure,
    :mod:`infra.local.stripe_server`) in a child process; returns once it answers. With a webhook URL
    and secret, it posts Stripe's events there, signed."""
    webhook = ["--webhook-url", webhook_url, "--webhook-secret", webhook_secret or ""] if webhook_url else []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.stripe_server",
            "--host",
            host,
            "--port",
            str(port),
            "--state-file",
            str(state_file),
            "--parent-pid",
            str(os.getpid()),
            *webhook,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/v1/customers", timeout=1)  # noqa: S310 - loopback
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers (401 without a key): up
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"localstripe did not start on {url}")
