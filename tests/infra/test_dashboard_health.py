"""The Health page's window of call lines: a warm Lambda reads each window whole once, then only what
was logged since (with an overlap for lines CloudWatch makes readable late), counting no line twice
and dropping the lines the window has left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboard import health

HOUR = 3_600_000


class Logs:
    """FilterLogEvents over a list of events (CloudWatch's paging; no pattern: the reader filters)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.returned = 0

    def log(self, at: int, function: str, status: str = "success", organization: str = "org_1") -> None:
        line = {
            "message": "call",
            "function": function,
            "status": status,
            "organization": organization,
            "duration_ms": 10.0,
        }
        n = len(self.events)
        self.events.append({"timestamp": at, "eventId": f"e{n}", "message": json.dumps(line)})

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        after = [e for e in self.events if e["timestamp"] >= request.get("startTime", 0)]
        offset = int(request.get("nextToken") or 0)
        page = after[offset : offset + request["limit"]]
        self.returned += len(page)
        more = offset + len(page) < len(after)
        return {"events": page, **({"nextToken": str(offset + len(page))} if more else {})}


@pytest.fixture(autouse=True)
def fresh() -> None:
    health._windows.clear()


def test_an_open_page_reads_its_new_lines_not_the_whole_window() -> None:
    logs, now = Logs(), 10 * HOUR
    for i in range(300):
        logs.log(now - HOUR + 5_000 + i * 10_000, "creators:get", "error" if i % 10 == 0 else "success")
    lines, complete, read = health.window_lines(logs, "g", "org_1", "1h", now)
    assert (len(lines), complete, read) == (300, True, 300)
    first = logs.returned
    # two seconds later: three new calls; one line logged 10 s ago shows only now (CloudWatch's delay)
    now += 2_000
    for at in (now - 1_000, now - 500, now - 10_000):
        logs.log(at, "creators:create")
    lines, complete, read = health.window_lines(logs, "g", "org_1", "1h", now)
    assert len(lines) == 303 and complete
    assert read < 20 and logs.returned - first < 40  # the overlap's lines, not the hour's
    summary = {f["function"]: f for f in health.summarize(lines, {"creators:create": "mutation"})}
    assert summary["creators:get"]["calls"] == 300 and summary["creators:get"]["errors"] == 30
    assert summary["creators:create"]["calls"] == 3
    # an hour on, the window has left the first lines behind
    now += HOUR - 1_000_000
    lines, _, _ = health.window_lines(logs, "g", "org_1", "1h", now)
    assert all(line["_t"] >= now - HOUR for line in lines) and 0 < len(lines) < 303


def test_each_organization_and_window_is_read_on_its_own() -> None:
    logs, now = Logs(), 10 * HOUR
    logs.log(now - 1_000, "creators:get", organization="org_1")
    logs.log(now - 2 * HOUR, "creators:get", organization="org_1")
    logs.log(now - 1_000, "creators:get", organization="org_2")
    assert len(health.window_lines(logs, "g", "org_1", "1h", now)[0]) == 1
    assert len(health.window_lines(logs, "g", "org_1", "24h", now)[0]) == 2
    assert len(health.window_lines(logs, "g", "org_2", "1h", now)[0]) == 1
    assert len(health.window_lines(logs, "g", None, "1h", now)[0]) == 2  # a platform owner's: all


def test_a_window_too_large_to_hold_is_said_not_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "HEALTH_LINES", 50)
    logs, now = Logs(), 10 * HOUR
    for i in range(80):
        logs.log(now - 100_000 + i * 1_000, "creators:get")
    lines, complete, _ = health.window_lines(logs, "g", "org_1", "1h", now)
    assert len(lines) <= 100 and complete is False
    for i in range(80):
        logs.log(now + i, "creators:get")
    lines, complete, _ = health.window_lines(logs, "g", "org_1", "1h", now + 1_000)
    assert len(lines) <= 100 and complete is False
