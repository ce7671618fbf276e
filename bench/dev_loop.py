"""The dev loop (`make dev`): seconds from saving a function's file to its new code answering
through the front door, in the running local stack (no restart), and from saving a new function's
file to its route answering.

The stack runs as `make dev` runs it (``--watch``), on a copy of the repository (the real one stays
as it is), on free loopback ports. Once it has settled, each round writes the function's file with a
new answer, then asks its route every 10 ms until the new answer comes: what a developer waits for
after saving.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.functions import ROOT
from bench.harness import free_port, result

ROUNDS = 10
#: The budget: a saved change answers within this many seconds.
BUDGET = 2.0

PROBE = '''"""A function the bench edits."""

from ontology.runtime.context import QueryCtx
from ontology.runtime.functions import query
from ontology.runtime.registry import NoArgs


@query(args=NoArgs, returns=int, auth="public")
def version(ctx: QueryCtx, args: NoArgs) -> int:
    """The version the file was saved with."""
    return {version}
'''


def _copy(into: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for tree in ("functions", "infra", "convex", "layers/ontology/ontology"):
        shutil.copytree(ROOT / tree, into / tree, ignore=ignore)
    shutil.copy(ROOT / "template.yaml", into / "template.yaml")
    if (ROOT / ".one" / "cache").is_dir():
        shutil.copytree(ROOT / ".one" / "cache", into / ".one" / "cache")
    return into


def _start(copy: Path, api: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONE_", "AWS_"))}
    env["PYTHONPATH"] = f"{copy}:{copy / 'layers' / 'ontology'}"
    ports = [("--aws-port", free_port()), ("--api-port", api), ("--stripe-port", free_port())]
    ports.append(("--chain-port", free_port()))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            *[a for flag, port in ports for a in (flag, str(port))],
            "--state-dir",
            str(copy / ".one" / "state"),
            "--env-file",
            str(copy / "none.env"),
            "--quiet",
            "--watch",
            "--codegen",
            str(copy / "convex" / "_generated"),
        ],
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ready."):
            return proc
    raise RuntimeError("the local stack did not start")


def _answer(http: Any, path: str) -> Any:
    response = http.post(path, json={})
    return response.json().get("value") if response.status_code == 200 else None


def _until(http: Any, path: str, expected: Any, timeout: float = 30.0) -> float:
    """Seconds until ``path`` answers ``expected`` (asked every 10 ms)."""
    started = time.perf_counter()
    while _answer(http, path) != expected:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{path} did not answer {expected!r} within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def run() -> list[dict[str, Any]]:
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        copy = _copy(Path(tmp))
        probe = copy / "functions" / "bench_probe.py"
        probe.write_text(PROBE.format(version=0))
        api = free_port()
        proc = _start(copy, api)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
                _until(http, "/api/bench_probe/version", 0)  # served (the dev loop caught up at start)
                time.sleep(2)  # settled: its first _generated written, as before a developer's first save
                changed = []
                for version in range(1, ROUNDS + 1):
                    time.sleep(0.3)  # the previous save's _generated written: a developer's pace
                    probe.write_text(PROBE.format(version=version))
                    changed.append(_until(http, "/api/bench_probe/version", version))
                time.sleep(0.3)
                (copy / "functions" / "bench_added.py").write_text(PROBE.format(version=7))
                added = _until(http, "/api/bench_added/version", 7)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
    median = statistics.median(changed)
    return [
        result(
            f"dev loop: seconds from save to the changed function answering (median of {ROUNDS})",
            median,
            f"< {BUDGET:g}",
            median < BUDGET,
        ),
        result(
            "dev loop: seconds from save to the changed function answering (slowest)",
            max(changed),
            "reported",
            True,
        ),
        result(
            "dev loop: seconds from save to a new function's route answering",
            added,
            f"< {BUDGET:g}",
            added < BUDGET,
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
