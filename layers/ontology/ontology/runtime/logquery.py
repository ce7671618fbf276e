"""Reading the functions' log lines back: CloudWatch Logs' ``FilterLogEvents`` over the log group the
template gives every function (``FunctionLogs``), the same in AWS and against the local stack (which
answers it from the lines it keeps: ``infra.local.logs``).

Every line is Powertools' JSON (:mod:`ontology.runtime.observability`); each call has one summary line
(``"message": "call"``: function, caller, status, code, duration, request id). A :class:`LogFilter`
is sent as a CloudWatch filter pattern (so AWS filters before anything is sent) and applied again to
every line read, so that the local stack and AWS answer the same lines. The command line
(``one logs``) and the dashboard's Logs page read through :func:`read_lines`.

Example::

    lines, token = read_lines(client("logs"), "/one/prod/functions", LogFilter(status="error"))
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ontology.errors import ValidationError

__all__ = ["LogFilter", "format_line", "parse_since", "read_lines"]

#: What ``--since`` takes: a number and a unit (seconds, minutes, hours, days).
_SINCE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: At most this many pages of FilterLogEvents per read (a read stops and hands back the token).
MAX_PAGES = 20


def parse_since(text: str) -> int:
    """``10m`` → milliseconds (VALIDATION_ERROR for anything but a number and s, m, h or d)."""
    found = _SINCE.match(text.strip())
    if found is None:
        raise ValidationError(f"since: {text!r} is not a duration such as 30s, 10m, 2h or 1d", field="since")
    return int(found.group(1)) * _UNITS[found.group(2)] * 1000


def _quoted(value: str) -> str:
    return json.dumps(value)


@dataclass(frozen=True)
class LogFilter:
    """Which lines: a function's (``creators:get``), calls that succeeded or failed (``status``:
    success or error; then only the calls' summary lines), a request's, lines containing some text,
    and only an organization's (what an organization's owner may read)."""

    function: str | None = None
    status: str | None = None
    request_id: str | None = None
    text: str | None = None
    organization: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (None, "success", "error"):
            raise ValidationError("status is success or error", field="status")
        for name in ("function", "request_id", "text", "organization"):
            value = getattr(self, name)
            if value is not None and (len(value) > 200 or '"' in value):
                raise ValidationError(f"{name} is at most 200 characters, without quotes", field=name)

    def pattern(self) -> str:
        """The CloudWatch filter pattern of the filters a JSON pattern can say (text is matched after)."""
        terms = []
        if self.function:
            terms.append(f"($.function = {_quoted(self.function)})")
        if self.status:
            terms.append(f'($.message = "call") && ($.status = {_quoted(self.status)})')
        if self.request_id:
            terms.append(f"($.request_id = {_quoted(self.request_id)})")
        if self.organization:
            terms.append(f"($.organization = {_quoted(self.organization)})")
        return "{ " + " && ".join(terms) + " }" if terms else ""

    def matches(self, line: dict[str, Any]) -> bool:
        if self.function and line.get("function") != self.function:
            return False
        if self.status and (line.get("message") != "call" or line.get("status") != self.status):
            return False
        if self.request_id and line.get("request_id") != self.request_id:
            return False
        if self.organization and line.get("organization") != self.organization:
            return False
        return not self.text or self.text.lower() in json.dumps(line, ensure_ascii=False).lower()


def _parse(event: dict[str, Any]) -> dict[str, Any] | None:
    """A log event's Powertools line (None: a line that is not one, such as Lambda's START/END)."""
    message = str(event.get("message") or "").strip()
    start = message.find("{")
    if start < 0:
        return None
    try:
        line = json.loads(message[start:])
    except ValueError:
        return None
    if not isinstance(line, dict):
        return None
    line.setdefault("timestamp", event.get("timestamp"))
    line["_t"] = event.get("timestamp")
    line["_id"] = event.get("eventId")
    return line


def read_lines(
    logs: Any,
    log_group: str,
    where: LogFilter,
    *,
    start_ms: int | None = None,
    limit: int = 500,
    next_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The lines of ``log_group`` that ``where`` lets through, oldest first, from ``start_ms``: at
    most ``limit`` of them, and the token to read on from (None: nothing more for now)."""
    out: list[dict[str, Any]] = []
    token = next_token
    request: dict[str, Any] = {"logGroupName": log_group, "limit": min(10_000, max(limit, 50))}
    pattern = where.pattern()
    if pattern:
        request["filterPattern"] = pattern
    if start_ms is not None:
        request["startTime"] = int(start_ms)
    for _ in range(MAX_PAGES):
        page = logs.filter_log_events(**request, **({"nextToken": token} if token else {}))
        for event in page.get("events") or []:
            line = _parse(event)
            if line is not None and where.matches(line):
                out.append(line)
        token = page.get("nextToken")
        if not token or len(out) >= limit:
            break
    return out[-limit:], token


def format_line(line: dict[str, Any]) -> str:
    """One line for a terminal: time, function, and for a call its caller, status and duration."""
    import datetime

    stamp = line.get("_t") or 0
    when = datetime.datetime.fromtimestamp(int(stamp) / 1000, tz=datetime.UTC).strftime("%H:%M:%S.%f")[:-3]
    who = f"{line.get('role') or 'anonymous'} {line.get('user_id') or '-'}@{line.get('organization') or '-'}"
    head = f"{when} {line.get('function') or '-'!s:<32} {line.get('request_id') or '-'}"
    if line.get("message") == "call":
        outcome = (
            "ok" if line.get("status") == "success" else f"{line.get('code')} ({line.get('http_status')})"
        )
        return f"{head} {outcome:<24} {line.get('duration_ms')} ms  {who}"
    return f"{head} {line.get('level') or ''!s:<7} {line.get('message')}"
