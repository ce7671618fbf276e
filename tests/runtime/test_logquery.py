"""Reading the functions' log lines back: the filters as a CloudWatch filter pattern and as a test of
each line (the same lines from the local stack and from AWS), pages of FilterLogEvents, ``--since``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ontology.errors import ValidationError
from ontology.runtime.logquery import LogFilter, format_line, parse_since, read_lines


def _call(**fields: Any) -> dict[str, Any]:
    return {
        "message": "call",
        "function": "creators:get",
        "status": "error",
        "code": "NOT_FOUND",
        "request_id": "r1",
        "organization": "org_1",
        "user_id": "usr_1",
        "role": "org_owner",
        "http_status": 404,
        "duration_ms": 3.5,
        **fields,
    }


def test_the_filters_as_a_pattern_and_as_a_test() -> None:
    where = LogFilter(function="creators:get", status="error", request_id="r1", organization="org_1")
    assert where.pattern() == (
        '{ ($.function = "creators:get") && ($.message = "call") && ($.status = "error") && '
        '($.request_id = "r1") && ($.organization = "org_1") }'
    )
    assert where.matches(_call())
    assert not where.matches(_call(status="success"))
    assert not where.matches(_call(organization="org_2"))
    assert not where.matches({**_call(), "message": "function failed"})  # a status is a call's
    assert LogFilter(request_id="r1").matches({"message": "function failed", "request_id": "r1"})
    assert LogFilter(text="not_found").matches(_call())
    assert not LogFilter(text="conflict").matches(_call())
    assert LogFilter().pattern() == ""


@pytest.mark.parametrize("bad", [{"status": "maybe"}, {"function": 'x" || 1'}, {"request_id": "r" * 201}])
def test_bad_filters_are_validation_errors(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        LogFilter(**bad)


def test_since() -> None:
    assert parse_since("10m") == 600_000
    assert parse_since("2h") == 7_200_000
    for bad in ("10", "ten minutes", "5w", ""):
        with pytest.raises(ValidationError):
            parse_since(bad)


class _Logs:
    """FilterLogEvents over pages of two events, as CloudWatch pages them."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        self.requests: list[dict[str, Any]] = []

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        start = int(request.get("nextToken") or 0)
        events = [
            {"eventId": str(n), "timestamp": 1000 + n, "message": m}
            for n, m in enumerate(self.messages[start : start + 2], start)
        ]
        more = start + 2 < len(self.messages)
        return {"events": events, **({"nextToken": str(start + 2)} if more else {})}


def test_read_lines_pages_and_filters_again() -> None:
    logs = _Logs(
        [
            "START RequestId: r1 Version: $LATEST",  # Lambda's own lines are not Powertools'
            json.dumps(_call()),
            json.dumps(_call(request_id="r2", status="success", code=None)),
            "2026-01-01T00:00:00Z r3 " + json.dumps(_call(request_id="r3")),  # text format's prefix
        ]
    )
    lines, token = read_lines(logs, "/one/x/functions", LogFilter(status="error"), start_ms=5)
    assert [x["request_id"] for x in lines] == ["r1", "r3"] and token is None
    assert logs.requests[0]["filterPattern"] == '{ ($.message = "call") && ($.status = "error") }'
    assert logs.requests[0]["startTime"] == 5 and logs.requests[1]["nextToken"] == "2"
    assert "NOT_FOUND (404)" in format_line(lines[0]) and "org_owner usr_1@org_1" in format_line(lines[0])
