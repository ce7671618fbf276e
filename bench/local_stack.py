"""The local stack as data grows: an indexed query's latency through the front door and requests per
second with 8 clients, at 1k and at 100k items, and the restart time with 100k items.

The stack runs as `make dev` runs it (a subprocess on free loopback ports). Its items are written
straight into the snapshot it loads at start (the same documents a mutation would write, serialized
by the layer's own code), since creating 100k documents through the API would take most of an hour.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.functions import ROOT
from bench.harness import free_port, result

QUERY = {"type": "blog_post", "paginationOpts": {"numItems": 10, "cursor": None}}


class _Stack:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.api = free_port()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ONE_", "AWS_"))}
        ports = [("--aws-port", free_port()), ("--api-port", self.api), ("--stripe-port", free_port())]
        ports.append(("--chain-port", free_port()))
        args = [a for flag, port in ports for a in (flag, str(port))]
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local",
                *args,
                "--state-dir",
                str(self.state),
                "--quiet",
                "--env-file",
                str(self.state.parent / "none.env"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("ready."):
                return time.monotonic() - started
        raise RuntimeError("the local stack did not start")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=300)

    @property
    def session(self) -> dict[str, Any]:
        return dict(json.loads((self.state / "dev-session.json").read_text()))


def _seed(state: Path, org: str, n: int) -> None:
    """Append ``n`` blog posts of ``org`` to the table's snapshot."""
    os.environ.setdefault("ONE_TABLE_NAME", "bench")
    from ontology.data.dynamodb import serialize
    from ontology.data.keys import new_id
    from ontology.data.schema import TABLES
    from ontology.data.transaction import _doc_attrs

    entities = TABLES["entities"]
    now = time.time() * 1000
    with (state / "dynamodb-Table.jsonl").open("a") as f:
        for i in range(n):
            doc_id = new_id("entities")
            doc = {
                "_id": doc_id,
                "_creationTime": now + i / 1000,
                "type": "blog_post",
                "name": f"Post {i}",
                "status": "published",
                "properties": {},
                "createdAt": now,
                "updatedAt": now,
            }
            f.write(json.dumps(serialize(_doc_attrs(org, doc_id, doc, 1, (entities, org)))) + "\n")


def _measure(url: str, token: str) -> tuple[float, float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for _ in range(20):  # warm: caches, the index built on first use
            http.post("/api/entities/list", json=QUERY).raise_for_status()
        times = []
        for _ in range(200):
            t = time.perf_counter()
            http.post("/api/entities/list", json=QUERY).raise_for_status()
            times.append(time.perf_counter() - t)

    def client(_: int) -> int:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            for _ in range(25):
                http.post("/api/entities/list", json=QUERY).raise_for_status()
        return 25

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = sum(pool.map(client, range(8)))
    return statistics.median(times), done / (time.perf_counter() - started)


def run() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    medians: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, 100_000):
            state = Path(tmp) / f"n{n}" / "state"
            stack = _Stack(state)
            stack.start()
            session = stack.session
            stack.stop()  # its snapshot holds the developer's organization and session
            _seed(state, session["organizationId"], n)
            stack = _Stack(state)
            restart = stack.start()
            try:
                medians[n], rps = _measure(f"http://127.0.0.1:{stack.api}", session["token"])
            finally:
                stack.stop()
            out.append(
                result(f"local stack: requests/s, indexed query, 8 clients, {n} items", rps, "reported", True)
            )
            out.append(result(f"local stack: restart seconds with {n} items", restart, "reported", True))
    ratio = medians[100_000] / medians[1_000]
    out.insert(
        0,
        result("local stack: median indexed query latency, 100k items vs 1k", ratio, "<= 1.5", ratio <= 1.5),
    )
    return out
