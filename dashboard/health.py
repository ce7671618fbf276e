"""The dashboard's Health and cost page: per function, over a window, what its calls' summary lines
measured, and what a million such calls cost at AWS's list prices.

``GET /dashboard/api/health?organization=&since=`` (``since``: ``1h``, ``24h`` or ``7d``; an hour by
default) answers ``{since, functions: [{function, kind, memoryMb, calls, errors, errorRate, p50Ms,
p99Ms, rcu, wcu, usdPerMillion: {lambda, dynamodb, total}}], lines, complete}``:

- every figure is the platform's own measurement: the organization's ``"message": "call"`` lines
  (:func:`ontology.runtime.observability.log_call`) read from the functions' log group as the Logs page
  reads them; ``rcu`` and ``wcu`` are the mean DynamoDB read and write units a call consumed, as
  DynamoDB answered them (``ReturnConsumedCapacity``);
- the price per million calls is Lambda's requests and GB-seconds (the mean billed duration, whole
  milliseconds, at the memory the template gives the function's kind) and DynamoDB's on-demand units,
  at :data:`ontology.runtime.prices.PRICES`, the table the cost bench prices with;
- at most :data:`HEALTH_LINES` lines of successes and as many of errors are held (from the window's
  start); ``complete`` says whether the window held no more;
- the page asks again every 2 seconds, so a warm Lambda keeps each window's lines it read
  (:class:`Window`, per organization and window) and reads only what was logged since, from
  :data:`OVERLAP_MS` before the latest line it holds (CloudWatch makes a line readable a few seconds
  after it is logged; lines read twice are counted once, by their event id), dropping the lines the
  window has left behind: an open page reads its new lines, not the whole window, each time
  (``read`` says how many lines an answer read).

Example::

    api_health(request)["functions"][0]   # {"function": "creators:get", "calls": 12, "p99Ms": 31.5, …}
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ontology.errors import ValidationError
from ontology.runtime.prices import MEMORY, PRICES, usd

if TYPE_CHECKING:
    from dashboard.app import Request

__all__ = ["WINDOWS", "Window", "api_health", "price_per_million", "summarize", "window_lines"]

#: The windows the page offers.
WINDOWS = ("1h", "24h", "7d")
#: At most this many lines of each outcome are held per window.
HEALTH_LINES = 10_000
#: How far before the latest line held a window reads again (lines CloudWatch made readable late).
OVERLAP_MS = 30_000
#: Windows kept per warm Lambda (the least recently read is dropped first).
WINDOWS_KEPT = 16


@dataclass
class Window:
    """The call lines of one organization's window that a warm Lambda has read: by event id."""

    start: int
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = True

    @property
    def latest(self) -> int:
        return max((int(line.get("_t") or 0) for line in self.lines.values()), default=self.start)


_windows: OrderedDict[tuple[str | None, str], Window] = OrderedDict()


def window_lines(
    logs: Any, log_group: str, organization: str | None, since: str, now_ms: int
) -> tuple[list[dict[str, Any]], bool, int]:
    """The organization's call lines of the window ``since`` ending now: (lines, whether the window
    held no more than were read, how many lines this read took). Reads on from the window this Lambda
    last read, when it has one that covers the window's start."""
    from ontology.runtime.logquery import LogFilter, parse_since, read_lines

    start = now_ms - parse_since(since)
    key = (organization, since)
    held = _windows.get(key)
    if held is None or not held.complete or held.start > start:
        held = Window(start)
        read_from = start
    else:
        read_from = max(start, held.latest - OVERLAP_MS)
    read = 0
    for status in ("success", "error"):
        where = LogFilter(status=status, organization=organization)
        lines, more = read_lines(logs, log_group, where, start_ms=read_from, limit=HEALTH_LINES)
        read += len(lines)
        held.complete = held.complete and more is None and len(lines) < HEALTH_LINES
        for line in lines:
            held.lines[str(line.get("_id") or id(line))] = line
    held.start = start
    held.lines = {k: v for k, v in held.lines.items() if int(v.get("_t") or start) >= start}
    if len(held.lines) > 2 * HEALTH_LINES:  # as a whole read would: the oldest; the window is not whole
        oldest = sorted(held.lines.items(), key=lambda kv: int(kv[1].get("_t") or start))
        held.lines, held.complete = dict(oldest[: 2 * HEALTH_LINES]), False
    _windows[key] = held
    _windows.move_to_end(key)
    while len(_windows) > WINDOWS_KEPT:
        _windows.popitem(last=False)
    return list(held.lines.values()), held.complete, read


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile ``p`` (0-100) of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def price_per_million(memory_mb: int, billed_ms: float, rcu: float, wcu: float) -> dict[str, float]:
    """Dollars per million calls of a function with ``memory_mb``, its mean billed duration and mean
    units per call."""
    calls = 1e6
    gb_seconds = memory_mb / 1024 * billed_ms / 1000 * calls
    lambda_usd = usd(PRICES["lambda_request"], calls) + usd(PRICES["lambda_gb_s"], gb_seconds)
    dynamodb_usd = usd(PRICES["dynamodb_rru"], rcu * calls) + usd(PRICES["dynamodb_wru"], wcu * calls)
    return {
        "lambda": round(lambda_usd, 4),
        "dynamodb": round(dynamodb_usd, 4),
        "total": round(lambda_usd + dynamodb_usd, 4),
    }


def summarize(lines: list[dict[str, Any]], kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Per function, the figures of its call lines (``kinds``: function path → query, mutation or
    action, for its memory)."""
    by_function: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_function[str(line.get("function"))].append(line)
    out = []
    for function, calls in sorted(by_function.items()):
        durations = [float(c.get("duration_ms") or 0) for c in calls]
        errors = sum(1 for c in calls if c.get("status") == "error")
        rcu = sum(float(c.get("rcu") or 0) for c in calls) / len(calls)
        wcu = sum(float(c.get("wcu") or 0) for c in calls) / len(calls)
        billed = sum(math.ceil(d) for d in durations) / len(calls)
        kind = kinds.get(function, "query")
        memory = MEMORY.get(kind, MEMORY["query"])
        out.append(
            {
                "function": function,
                "kind": kinds.get(function),
                "memoryMb": memory,
                "calls": len(calls),
                "errors": errors,
                "errorRate": round(errors / len(calls), 4),
                "p50Ms": percentile(durations, 50),
                "p99Ms": percentile(durations, 99),
                "rcu": round(rcu, 2),
                "wcu": round(wcu, 2),
                "usdPerMillion": price_per_million(memory, billed, rcu, wcu),
            }
        )
    return out


def _kinds() -> dict[str, str]:
    from dashboard.app import _openapi
    from dashboard.catalogue import catalogue

    return {f["path"]: str(f["kind"]) for f in catalogue(_openapi())["functions"]}


def api_health(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller
    from ontology.aws import client

    _, organization = _caller(request)
    since = request.param("since") or WINDOWS[0]
    if since not in WINDOWS:
        raise ValidationError(f"since is one of {', '.join(WINDOWS)}", field="since")
    now = int(time.time() * 1000)
    group = os.environ["ONE_LOG_GROUP"]
    lines, complete, read = window_lines(client("logs"), group, organization, since, now)
    return {
        "since": since,
        "functions": summarize(lines, _kinds()),
        "lines": len(lines),
        "complete": complete,
        "read": read,
    }
