"""In the local stack every invocation keeps its own Powertools log keys, as each Lambda sandbox is its
own process in AWS: a key one invocation appends labels no line of another running beside it."""

from __future__ import annotations

import contextvars
import json
import logging
import threading
from typing import Any

from infra.local.runner import _LOG_KEYS, own_log_keys
from ontology.runtime.observability import logger


def test_invocations_beside_each_other_keep_their_own_keys() -> None:
    own_log_keys()
    lines: list[dict[str, Any]] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Lines()
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    both = threading.Barrier(2)

    def invocation(request_id: str) -> None:
        _LOG_KEYS.set({})  # as the runner starts each invocation
        logger.append_keys(request_id=request_id)
        both.wait()  # the other has appended its own by now
        logger.info("inside", extra={"who": request_id})

    try:
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(invocation, rid))
            for rid in ("r1", "r2")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside = {line["who"]: line.get("request_id") for line in lines if line["message"] == "inside"}
    assert inside == {"r1": "r1", "r2": "r2"}
    (outside,) = [line for line in lines if line["message"] == "outside"]
    assert outside.get("request_id") not in ("r1", "r2")  # the process's keys are untouched
    assert outside["service"] == next(line for line in lines if line["message"] == "inside")["service"]
