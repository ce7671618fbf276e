"""Auth tests: the table, an outbox, and delivery of the emails the auth flows schedule."""

from __future__ import annotations

import re
from typing import Any

BASE = "http://127.0.0.1:3210"


def link_token(message: dict[str, Any]) -> str:
    match = re.search(r"(?:token=|reset-password/)([A-Za-z0-9_-]{40,})", message["text"])
    assert match, message["text"]
    return match.group(1)
