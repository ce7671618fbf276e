"""AWS-strict ``memory``: an invocation that allocates more than its function's memory fails.

Lambda gives each function ``MemorySize`` MB for the runtime and the invocation together and kills
the runtime that goes past it: the invocation fails with ``Runtime.OutOfMemory`` ("RequestId: …
Error: Runtime exited with error: signal: killed"). Locally every function shares one process, and
nothing stopped a handler from holding gigabytes.

With the facet on, :mod:`tracemalloc` traces the process's allocations, and each invocation's peak
above what was allocated when it started is measured (Python's and numpy's allocations; the runtime
itself is ``ONE_LOCAL_MEMORY_BASELINE_MB``, 64, taken off the function's ``MemorySize``). An
invocation past its budget fails with Lambda's error once it returns (Lambda would have killed it
at that point: what it did after stays done locally).

The measure is the process's, so it is exact for an invocation that ran alone. While invocations of
other threads overlap, each one's measure includes theirs: such an invocation past its budget is
reported (a warning naming it) and not failed, since the memory may be another's. An invocation
made from inside another (on the same thread) is measured on its own, and the outer one resumes
without it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["OutOfMemoryError", "Usage", "measured", "peaks", "start"]

log = logging.getLogger("one.local")
MB = 1024 * 1024


class OutOfMemoryError(Exception):
    """What Lambda reports for an invocation whose runtime ran out of memory."""

    lambda_error_type = "Runtime.OutOfMemory"

    def __init__(self, request_id: str, function: str, peak: int, limit: int) -> None:
        super().__init__(f"RequestId: {request_id} Error: Runtime exited with error: signal: killed")
        self.function, self.peak, self.limit = function, peak, limit


@dataclass
class Usage:
    """One invocation's measure."""

    function: str
    budget: int
    baseline: int
    thread: int
    peak: int = 0
    #: held when an inner invocation suspended it (its baseline moves by what the inner one kept)
    held: int = 0
    #: whether invocations of other threads overlapped it (its peak may include theirs)
    shared: bool = False


_lock = threading.Lock()
_running: list[Usage] = []
#: The invocations this one runs inside (outermost first). A context variable, not a thread's: the
#: runner runs each invocation on its own thread with its caller's context, so a nested invocation
#: shares its caller's list and the caller waits meanwhile.
_nesting: contextvars.ContextVar[list[Usage] | None] = contextvars.ContextVar(
    "one_local_nesting", default=None
)
#: The last measures, function → peak bytes (the tests and ``/_local`` read them).
_peaks: dict[str, int] = {}


def on() -> bool:
    from infra.local import strict

    return strict.current().on("memory")


def start() -> None:
    """Trace allocations from now on (the facet's cost: every allocation is traced)."""
    if not tracemalloc.is_tracing():
        tracemalloc.start(1)


def peaks() -> dict[str, int]:
    with _lock:
        return dict(_peaks)


def _fold() -> int:
    """Bring every running invocation's peak up to date; the bytes traced now. Under ``_lock``."""
    current, peak = tracemalloc.get_traced_memory()
    for usage in _running:
        usage.peak = max(usage.peak, peak - usage.baseline)
    tracemalloc.reset_peak()
    return current


@contextlib.contextmanager
def measured(function: str, memory_mb: int, request_id: str) -> Iterator[Usage | None]:
    """Measure one invocation of ``function`` (its ``MemorySize``); OutOfMemoryError past it."""
    if not on():
        yield None
        return
    from infra.local import strict

    start()
    budget = int((memory_mb - strict.current().memory_baseline_mb) * MB)
    me = threading.get_ident()
    stack = _nesting.get()
    if stack is None:
        stack = []
        _nesting.set(stack)
    with _lock:
        current = _fold()
        if stack:  # an invocation from inside another: the outer one waits meanwhile
            outer = stack[-1]
            outer.held = current - outer.baseline
            _running.remove(outer)
        usage = Usage(function, budget, current, me)
        for other in _running:
            if other.thread != me:
                other.shared = usage.shared = True
        _running.append(usage)
        stack.append(usage)
    try:
        yield usage
    finally:
        with _lock:
            current = _fold()
            _running.remove(usage)
            stack.pop()
            if stack:
                outer = stack[-1]
                outer.baseline = current - outer.held
                outer.shared = outer.shared or usage.shared
                _running.append(outer)
            _peaks[function] = usage.peak
        if usage.peak > usage.budget:
            if usage.shared:
                log.warning(
                    "memory: %s peaked at %d MB, past its %d MB (with other invocations running: "
                    "some of it may be theirs)",
                    function,
                    usage.peak // MB,
                    usage.budget // MB,
                )
            else:
                log.error(
                    "memory: %s peaked at %d MB, past its %d MB",
                    function,
                    usage.peak // MB,
                    usage.budget // MB,
                )
                raise OutOfMemoryError(request_id, function, usage.peak, usage.budget)
