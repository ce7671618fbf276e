"""The local stack's dev loop (``make dev``): saved code answers at once, in the running stack.

It watches the Python files of the code root (``functions/``) and of the layer (``ontology/``) by
their modification times. On a save (once the files rest):

1. the saved modules, and those that import them, are reloaded in the stack's own process
   (:mod:`infra.local.reload`); the template is built from the new code, in memory, and its
   functions are applied to the running stack (:mod:`infra.local.redeploy`): a new function is
   routed, a removed one answers 404. Nothing restarts: moto's state, the state folder, the sockets
   stay;
2. one line says what was reloaded, in how many milliseconds, which functions came and went; or the
   error (a syntax or an import error, with its file and line), and the previous code goes on
   answering;
3. ``_generated`` (``--codegen DIR``) is written again when the functions' types changed, in the
   background: from the code just reloaded, or from a fresh interpreter when a change waits for the
   next start.

``template.yaml``, the docs and the sample events are written only when asked (``make template docs
events``); the line says when the code's functions are no longer the file's.

Without reloading (``--codegen`` alone), it keeps ``_generated`` current, each time from a fresh
interpreter (:func:`infra.codegen.watch.regenerate`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra import ROOT
from infra.codegen.watch import snapshot, sources

__all__ = ["DevLoop"]

#: How often the files are looked at, and how long a change must rest before it is reloaded (an
#: editor saving several files at once).
INTERVAL = 0.2
SETTLE = 0.05


def _shown(path: Path) -> str:
    for base in (Path.cwd(), ROOT):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


class _Codegen:
    """Writes ``_generated`` in its own thread, once for however many requests arrived meanwhile."""

    def __init__(self, out: Path, log: Callable[[str], None], code_lock: threading.Lock) -> None:
        self.out = out.resolve()
        self.log = log
        self.code_lock = code_lock
        self._wanted = threading.Event()
        self._fresh = False  # from a fresh interpreter (this one's code is not all current)

    def request(self, *, fresh: bool) -> None:
        self._fresh = self._fresh or fresh
        self._wanted.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self._wanted.wait(0.5):
                continue
            self._wanted.clear()
            fresh, self._fresh = self._fresh, False
            try:
                self._write(fresh=fresh)
            except Exception as exc:  # a generator's error: the files stay as they were
                self.log(f"codegen: {_shown(self.out)} left as it was: {type(exc).__name__}: {exc}")

    def _write(self, *, fresh: bool) -> None:
        if fresh:
            from infra.codegen.watch import regenerate

            regenerate(self.out, self._unless_current)
            return
        from infra.codegen.__main__ import write

        with self.code_lock:  # the functions as a reload left them, not half of the next one's
            changed = write(self.out)
        if changed:
            self.log(f"codegen: {_shown(self.out)}: wrote {', '.join(changed)}")

    def _unless_current(self, line: str) -> None:
        if not line.endswith("already current"):
            self.log(line)


class DevLoop:
    """Watches the sources: reloads them in ``stack`` (``reload``) and keeps ``codegen`` (a
    ``_generated`` folder) current. Each outcome is one line given to ``log``."""

    def __init__(
        self,
        stack: Any,
        *,
        reload: bool = True,
        codegen: Path | None = None,
        log: Callable[[str], None] = print,
        interval: float = INTERVAL,
    ) -> None:
        self.stack = stack
        self.reload = reload
        self.log = log
        self.interval = interval
        self.roots = sources()
        self._code_lock = threading.Lock()
        self.codegen = _Codegen(codegen, log, self._code_lock) if codegen is not None else None
        self._redeployer: Any = None

    def describe(self) -> str:
        """The banner's line."""
        watched = ", ".join(_shown(r) for r in self.roots)
        if not self.reload:
            return f"{watched}   (regenerating _generated as they change)"
        return f"{watched}   (a saved file reloads in the running stack; template.yaml: make template)"

    def start(self, stop: threading.Event) -> None:
        """Watch, in daemon threads, until ``stop`` is set."""
        threading.Thread(target=self._run, args=(stop,), name="dev-loop", daemon=True).start()
        if self.codegen is not None:
            threading.Thread(target=self.codegen.run, args=(stop,), name="codegen", daemon=True).start()

    def _run(self, stop: threading.Event) -> None:
        # The code root is imported on this thread, and an adapter (Mangum) makes sure the thread that
        # imports it has an event loop: this thread's own, closed when it stops.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._watch(stop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def _watch(self, stop: threading.Event) -> None:
        seen = snapshot(self.roots)
        if self.reload:
            self._catch_up()
        if self.codegen is not None:
            self.codegen.request(fresh=not self.reload)
        while not stop.wait(self.interval):
            now = snapshot(self.roots)
            if now == seen:
                continue
            while not stop.wait(SETTLE):  # until the files rest
                settled = snapshot(self.roots)
                if settled == now:
                    break
                now = settled
            changed = {p for p in seen.keys() | now.keys() if seen.get(p) != now.get(p)}
            seen = now
            try:
                self.changed(changed)
            except Exception as exc:  # the stack's own failure: said, and the next save tries again
                self.log(f"reload: failed ({type(exc).__name__}: {exc}); restart make dev if it persists")
                self.stack.runner.replace()  # at least the handlers of the code now loaded

    def changed(self, paths: set[Path]) -> None:
        """Saved files (added, changed or removed): reload them, then regenerate."""
        fresh = not self.reload
        if self.reload:
            deferred = self._reload(paths)
            if deferred is None:
                return  # an error: _generated stays as the code that answers gave it
            fresh = deferred
        if self.codegen is not None:
            self.codegen.request(fresh=fresh)

    def _catch_up(self) -> None:
        """At the start: serve the code's functions where template.yaml lags behind them (a function
        added since `make template` last ran), and read the modules' imports (so that the first
        reload is as fast as the next)."""
        from infra.local.redeploy import Redeployer
        from infra.local.reload import warm
        from infra.template import build_template

        started = time.perf_counter()
        with self._code_lock:
            try:
                self._redeployer = Redeployer(self.stack)
                done = self._redeployer.apply(build_template())
            except Exception as exc:  # the code does not build: template.yaml's functions are served
                self.log(f"reload: the code's template does not build ({type(exc).__name__}: {exc})")
            else:
                if done.added or done.removed or done.changed or done.failed or done.elsewhere:
                    ms = (time.perf_counter() - started) * 1000
                    self.log(
                        f"reload: template.yaml is behind the code ({ms:.0f} ms): {self._summary(done, {})}"
                    )
            warm()

    def _reload(self, paths: set[Path]) -> bool | None:
        """Reload and redeploy; whether a change was deferred to the next start (None: an error)."""
        from infra.local.reload import ReloadError, reload
        from infra.template import build_template
        from ontology.runtime.registry import REGISTRY

        started = time.perf_counter()
        names = ", ".join(sorted(_shown(p) for p in paths))
        with self._code_lock:
            paths_before = {fn.spec.logical_id: path for path, fn in list(REGISTRY.items())}
            try:
                done = reload(paths, check=build_template)
            except ReloadError as exc:
                self.log(f"reload: {names}: {exc}; the previous code goes on answering")
                return None
            if self._redeployer is None:  # it could not be made at the start: once more
                from infra.local.redeploy import Redeployer

                self._redeployer = Redeployer(self.stack)
            applied = self._redeployer.apply(done.checked)
        line = f"reload: {names} in {(time.perf_counter() - started) * 1000:.0f} ms"
        summary = "; ".join(
            [self._summary(applied, paths_before)]
            + [f"{m}: at the next start ({why})" for m, why in done.deferred.items()]
        ).strip("; ")
        self.log(f"{line}: {summary}" if summary else line)
        return bool(done.deferred)

    @staticmethod
    def _summary(done: Any, before: dict[str, str]) -> str:
        """The functions added, removed and not deployed, by path; what else changed."""
        from ontology.runtime.registry import REGISTRY

        paths = {**before, **{fn.spec.logical_id: path for path, fn in list(REGISTRY.items())}}
        parts = [f"+{paths.get(k, k)}" for k in done.added] + [f"-{paths.get(k, k)}" for k in done.removed]
        parts += [f"{paths.get(k, k)} not deployed ({why})" for k, why in done.failed.items()]
        if done.elsewhere:
            parts.append(f"{', '.join(done.elsewhere)} changed: at the next start, after make template")
        elif done.added or done.removed:
            parts.append("template.yaml and docs when asked: make template docs")
        return "; ".join(parts)
