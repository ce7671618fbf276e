"""The cost bench as it is used: ``python -m bench.cost --check`` (docs/cost.md's write units, read
units and requests are what the bench counts). ``--explain``: tests/bench/test_cost_explain.py (a file
of its own, so the two runs go to different test workers)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def bench_cost(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'ontology'}"}
    return subprocess.run(
        [sys.executable, "-m", "bench.cost", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_docs_cost_table_counts_what_the_bench_counts() -> None:
    done = bench_cost("--check")
    assert done.returncode == 0, f"run `python -m bench.cost --markdown`:\n{done.stderr[-3000:]}"
