"""The functions' log lines in the local stack: kept, and read as CloudWatch Logs is read in AWS.

In AWS every function writes its Powertools lines (JSON) to the template's one log group
(``FunctionLogs``) and ``one logs`` and the dashboard read them with ``FilterLogEvents``. Here the
functions run in the stack's process, so a handler on Powertools' logger keeps each line in a ring
buffer (the last :data:`RING_LINES`) and appends it to ``logs/functions.jsonl`` in the state folder
(rotated to ``functions.1.jsonl`` past :data:`FILE_BYTES`: the disk stays bounded too), and moto's
``FilterLogEvents`` on that log group answers from them, so the same readers (the CLI, the
dashboard's Lambda, with its role's ``logs:FilterLogEvents`` checked as in AWS) work unchanged. The
stack's own console keeps printing what ``ONE_LOG_LEVEL`` lets through; the buffer keeps ``INFO`` and
above (every call's summary line).

Example::

    store = LogStore(state_dir / "logs")
    undo = store.install("/one/one-local/functions")
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["FILE_BYTES", "RING_LINES", "LogStore"]

#: Lines kept in memory (the newest).
RING_LINES = 20_000
#: The append-only file's size before it is rotated (one older file is kept).
FILE_BYTES = 8 * 1024 * 1024
#: What FilterLogEvents answers at most per page, as CloudWatch does.
PAGE_LIMIT = 10_000


class _Line:
    __slots__ = ("message", "seq", "stream", "timestamp")

    def __init__(self, seq: int, timestamp: int, stream: str, message: str) -> None:
        self.seq, self.timestamp, self.stream, self.message = seq, timestamp, stream, message

    def event(self) -> dict[str, Any]:
        return {
            "logStreamName": self.stream,
            "timestamp": self.timestamp,
            "message": self.message,
            "ingestionTime": self.timestamp,
            "eventId": f"{self.seq:020d}",
        }


class _Capture(logging.Handler):
    """Formats each record as the function's own handler does (Powertools' JSON, with its keys)."""

    def __init__(self, store: LogStore, source: logging.Logger) -> None:
        super().__init__(level=logging.INFO)
        self.store, self.source = store, source

    def emit(self, record: logging.LogRecord) -> None:
        try:
            formatter = next(
                (h.formatter for h in self.source.handlers if h is not self and h.formatter), None
            )
            text = formatter.format(record) if formatter is not None else record.getMessage()
            stream = getattr(threading.current_thread(), "name", "local").removeprefix("lambda-")
            self.store.add(text, stream=stream, timestamp=int(record.created * 1000))
        except Exception:  # a log line never fails the function that wrote it
            self.handleError(record)


class LogStore:
    """The last lines in memory, all of them (bounded) on disk."""

    def __init__(self, folder: Path, ring: int = RING_LINES, file_bytes: int = FILE_BYTES) -> None:
        self.folder = folder
        self.path = folder / "functions.jsonl"
        self.file_bytes = file_bytes
        self._lines: deque[_Line] = deque(maxlen=ring)
        self._lock = threading.Lock()
        self._seq = 0
        self._load()

    def _load(self) -> None:
        """The newest lines of the files a previous run left, back in the ring."""
        for path in (self.folder / "functions.1.jsonl", self.path):
            if not path.exists():
                continue
            for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(raw)
                    self._append(int(entry["t"]), str(entry["s"]), str(entry["m"]))
                except (ValueError, KeyError, TypeError):
                    continue

    def _append(self, timestamp: int, stream: str, message: str) -> _Line:
        self._seq += 1
        line = _Line(self._seq, timestamp, stream, message)
        self._lines.append(line)
        return line

    def add(self, message: str, *, stream: str, timestamp: int | None = None) -> None:
        stamp = int(time.time() * 1000) if timestamp is None else timestamp
        record = json.dumps({"t": stamp, "s": stream, "m": message}, ensure_ascii=False) + "\n"
        with self._lock:
            self._append(stamp, stream, message)
            self.folder.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > self.file_bytes:
                os.replace(self.path, self.folder / "functions.1.jsonl")
            with self.path.open("a", encoding="utf-8") as out:
                out.write(record)

    def filter(
        self,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        streams: list[str] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """FilterLogEvents over the kept lines, oldest first, ``limit`` a page; the token resumes
        after the last line given. Filter patterns are left to the reader (it applies the same
        filters to CloudWatch's answer)."""
        after = int(next_token) if next_token and next_token.isdigit() else 0
        wanted = min(int(limit or PAGE_LIMIT), PAGE_LIMIT)
        with self._lock:
            lines = list(self._lines)
        out: list[_Line] = []
        for line in lines:
            if line.seq <= after or (start_time is not None and line.timestamp < start_time):
                continue
            if end_time is not None and line.timestamp > end_time:
                continue
            if streams and line.stream not in streams:
                continue
            out.append(line)
            if len(out) == wanted:
                return [x.event() for x in out], str(line.seq)
        return [x.event() for x in out], None

    def install(self, log_group: str, service: str | None = None) -> Callable[[], None]:
        """Keep Powertools' lines from now on and answer moto's FilterLogEvents on ``log_group``
        from them; returns the undo."""
        name = service or os.environ.get("POWERTOOLS_SERVICE_NAME", "one-platform")
        source = logging.getLogger(name)
        printed = logging.getLevelName(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").upper())
        for handler in source.handlers:  # the console keeps its level; the store keeps INFO and above
            handler.setLevel(printed if isinstance(printed, int) else logging.WARNING)
        previous_level = source.level
        source.setLevel(logging.INFO)
        capture = _Capture(self, source)
        source.addHandler(capture)
        from moto.logs.models import LogsBackend

        original = LogsBackend.filter_log_events
        store = self

        def filter_log_events(
            backend: Any, log_group_name: str, *args: Any
        ) -> tuple[list[dict[str, Any]], str | None, list[dict[str, Any]]]:
            if log_group_name != log_group:
                return original(backend, log_group_name, *args)
            log_stream_names, start_time, end_time, limit, next_token = args[:5]
            events, token = store.filter(
                start_time=start_time,
                end_time=end_time,
                limit=limit,
                next_token=next_token,
                streams=log_stream_names or None,
            )
            searched = [
                {"logStreamName": s, "searchedCompletely": token is None}
                for s in {e["logStreamName"] for e in events}
            ]
            return events, token, searched

        LogsBackend.filter_log_events = filter_log_events  # type: ignore[method-assign,assignment]

        def undo() -> None:
            LogsBackend.filter_log_events = original  # type: ignore[method-assign]
            source.removeHandler(capture)
            source.setLevel(previous_level)

        return undo
