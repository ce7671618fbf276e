"""Auth tests: the table, an outbox, and delivery of the emails the auth flows schedule."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BASE = "http://127.0.0.1:3210"


@pytest.fixture
def outbox(table: str, tmp_path: Path) -> Iterator[Any]:
    from ontology.providers.email import FileOutbox, set_email

    box = FileOutbox(tmp_path / "outbox")
    set_email(box)
    yield box
    set_email(None)


@pytest.fixture
def deliver(outbox: Any) -> Callable[[], list[dict[str, Any]]]:
    """Run every pending scheduled job (the emails), then return the outbox, newest first."""
    from ontology import run_query
    from ontology.scheduler import execute_job

    def run() -> list[dict[str, Any]]:
        jobs = run_query(
            lambda db: (
                db.query("scheduledFunctions")
                .with_index("by_state", lambda q: q.eq("state", "pending"))
                .collect()
            ),
            org=None,
            platform=True,
        )
        for job in jobs:
            execute_job(job["_id"])
        return outbox.messages()

    return run


def link_token(message: dict[str, Any]) -> str:
    match = re.search(r"(?:token=|reset-password/)([A-Za-z0-9_-]{40,})", message["text"])
    assert match, message["text"]
    return match.group(1)
