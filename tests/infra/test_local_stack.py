"""`make dev`'s stack, started as a subprocess on loopback: the table from template.yaml, usable by
the layer over HTTP, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.functional.helpers import ORG, entity


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def stack() -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--aws-port", str(port), "--table", "one-e2e"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("ready."):
            break
    else:
        proc.kill()
        pytest.fail("the local stack did not start:\n" + "\n".join(lines))
    assert lines and lines[-1].startswith("ready."), "\n".join(lines)
    try:
        yield f"http://127.0.0.1:{port}", proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_local_stack_serves_the_table_from_the_template_and_stops_cleanly(stack) -> None:
    endpoint, proc, lines = stack
    banner = "\n".join(lines)
    assert endpoint in banner and "one-e2e" in banner and "created from template.yaml, 7 GSIs" in banner

    from ontology import run_mutation, run_query
    from ontology.models import configure_models
    from ontology.settings import configure
    from ontology.store import reset_default_store

    configure(None)
    configure(table_name="one-e2e", dynamodb_endpoint=endpoint)
    configure_models(table_name="one-e2e", host=endpoint)
    reset_default_store()
    try:
        ids = run_mutation(
            lambda db: [db.insert("entities", entity(name=f"p{i}")) for i in range(3)], org=ORG
        )
        page = run_query(
            lambda db: (
                db.query("entities")
                .with_index("by_type", lambda q: q.eq("type", "blog_post"))
                .paginate({"numItems": 2, "cursor": None})
            ),
            org=ORG,
        )
        assert [d["_id"] for d in page["page"]] == ids[:2]
    finally:
        configure(None)
        configure_models(table_name="one-test", host="")
        reset_default_store()

    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopped." in out
