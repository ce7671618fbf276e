"""How long the developer's two loops take on this machine: ``make check`` (lint, types and the
fast tests: none that starts the local stack or is marked slow; budget 3 minutes) and ``make test``
(the whole suite; budget 10 minutes on two cores, set-up included on a fresh clone).

``python -m bench.suite`` runs each once, as a developer would, and prints its wall time against
its budget (``--only check`` for the first alone). Not part of ``make bench``: it runs the suite.
The figures are this machine's, on whatever else it is doing; ``nproc`` is printed with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"check": 180.0, "test": 600.0}


def timed(target: str) -> tuple[float, int]:
    """Wall seconds and exit code of ``make <target>``, its output passed through."""
    started = time.monotonic()
    code = subprocess.run(["make", target], cwd=ROOT, check=False).returncode
    return time.monotonic() - started, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(BUDGETS), help="time one target only")
    args = parser.parse_args(argv)
    rows = []
    for target in [args.only] if args.only else ["check", "test"]:
        seconds, code = timed(target)
        rows.append((target, seconds, code))
    print(f"\n{'target':<12}{'seconds':>9}{'budget':>9}{'of budget':>11}  exit   ({os.cpu_count()} cores)")
    for target, seconds, code in rows:
        budget = BUDGETS[target]
        print(f"make {target:<7}{seconds:>9.0f}{budget:>9.0f}{seconds / budget:>10.2f}x  {code}")
    return 0 if all(code == 0 and seconds <= BUDGETS[t] for t, seconds, code in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
