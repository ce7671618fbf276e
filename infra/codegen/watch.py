"""``one codegen --watch`` (and ``make dev``): regenerate ``_generated`` whenever a function or a
model changes, as ``npx convex dev`` does.

It watches the Python files of the code root (``functions/``) and of the layer (``ontology``: the
models, the schema, the results) by their modification times, and on a change runs the generator in
a fresh interpreter (a module already imported here would not see its new code). A file that does not
import yet (an edit half made) leaves the generated files as they were and says why; the next save
tries again.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["regenerate", "snapshot", "sources", "watch"]

#: How often the files are looked at, and how long a change must rest before it is generated from
#: (an editor saving several files at once).
INTERVAL = 0.5
SETTLE = 0.2


def sources() -> list[Path]:
    """The folders whose Python files the generated files come from."""
    roots: list[Path] = []
    for package in ("functions", "ontology"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.extend(Path(p) for p in spec.submodule_search_locations)
    return roots


def snapshot(roots: list[Path]) -> dict[Path, tuple[int, int]]:
    """Every Python file under ``roots``, with its modification time and size."""
    seen = {}
    for root in roots:
        for path in root.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:  # removed while being listed
                continue
            seen[path] = (st.st_mtime_ns, st.st_size)
    return seen


def _print(line: str) -> None:
    print(line, flush=True)


def regenerate(out: Path, log: Callable[[str], None] = _print) -> bool:
    """Generate into ``out`` in a fresh interpreter; whether it succeeded (it logs what it did)."""
    proc = subprocess.run(
        [sys.executable, "-m", "infra.codegen", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        log(f"codegen: {out} left as it was: {reason}")
        return False
    log(f"codegen: {proc.stdout.strip()}")
    return True


def watch(
    out: Path,
    *,
    stop: threading.Event | None = None,
    log: Callable[[str], None] = _print,
    interval: float = INTERVAL,
) -> None:
    """Generate into ``out`` now and after every change of the sources, until ``stop`` is set
    (or Ctrl-C)."""
    out = out.resolve()
    stop = stop or threading.Event()
    roots = sources()
    seen = snapshot(roots)
    log(f"codegen: watching {', '.join(str(r) for r in roots)} for {out}")
    regenerate(out, log)
    try:
        while not stop.wait(interval):
            now = snapshot(roots)
            if now == seen:
                continue
            while not stop.wait(SETTLE):  # until the files rest
                seen, now = now, snapshot(roots)
                if now == seen:
                    break
            seen = now
            regenerate(out, log)
    except KeyboardInterrupt:
        return
