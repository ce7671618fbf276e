"""Runs every benchmark, prints a table and writes ``bench/results.json``.

Each result is ``{name, value, budget, ok}``. Values are counts of DynamoDB requests or items, or
ratios: moto's wall time says nothing about DynamoDB's, so nothing here times a request as AWS
would serve it. The local stack's own rows (its requests a second, its restart, the dev loop's save
to answer) are this machine's seconds, what a developer waits for.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import (
    build,
    clones,
    cost,
    data_layer,
    dev_loop,
    functions,
    local_stack,
    saga,
    search,
    snapshot,
    sync,
)

RESULTS = Path(__file__).resolve().parent / "results.json"


def main() -> int:
    os.environ.setdefault("ONE_LOCAL", "1")
    # Functions run in this process as they run in Lambda: Powertools named by the template's
    # environment (before the handler is imported), and no X-Ray daemon to trace to.
    os.environ.update(functions.FUNCTION_ENV | {"POWERTOOLS_TRACE_DISABLED": "true"})
    results: list[dict[str, Any]] = []
    suites = (data_layer, functions, saga, build, local_stack, dev_loop, sync, search, clones, snapshot, cost)
    for suite in suites:
        results += suite.run()
    width = max(len(r["name"]) for r in results)
    print(f"{'benchmark':<{width}}  {'value':>10}  {'budget':>10}  ok")
    for r in results:
        print(f"{r['name']:<{width}}  {r['value']:>10}  {r['budget']:>10}  {'yes' if r['ok'] else 'NO'}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
