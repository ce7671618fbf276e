"""Email through Resend's HTTP API; in the local stack, a file outbox a person can read.

``ONE_OUTBOX_DIR`` set (the local stack sets it) → each message is a JSON file there
(``{to, subject, text, html, sentAt}``); otherwise ``POST https://api.resend.com/emails``.

Example::

    get_email().send(to="ada@example.com", subject="Verify your email", html="<a …>", text="…")
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from ontology.data.keys import now_ms
from ontology.errors import RateLimitedError, UpstreamError

__all__ = ["Email", "FileOutbox", "ResendEmail", "get_email", "set_email"]

RESEND_API = "https://api.resend.com"


DEFAULT_FROM = "onboarding@resend.dev"


class Email(Protocol):
    def send(self, *, to: str, subject: str, html: str, text: str) -> str: ...


class ResendEmail:
    def __init__(
        self,
        http: Any = None,
        *,
        api_key: str | None = None,
        sender: str | None = None,
        api_base: str | None = None,
    ) -> None:
        import httpx

        self._http = http or httpx.Client(timeout=10)
        self._key = api_key
        self._from = sender or os.environ.get("ONE_RESEND_FROM_EMAIL") or DEFAULT_FROM
        self._base = api_base or os.environ.get("ONE_RESEND_API_BASE") or RESEND_API

    def send(self, *, to: str, subject: str, html: str, text: str) -> str:
        import httpx

        from ontology.secrets import get_secret

        key = self._key or get_secret("resendApiKey")
        try:
            resp = self._http.post(
                f"{self._base}/emails",
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
                json={"from": self._from, "to": [to], "subject": subject, "html": html, "text": text},
            )
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Resend: {type(exc).__name__}") from None
        if resp.status_code == 429:
            raise RateLimitedError("Resend is rate limiting")
        if resp.status_code >= 300:
            raise UpstreamError(f"Resend answered {resp.status_code}")
        return str(resp.json().get("id", ""))


class FileOutbox:
    """Writes each message as a JSON file (newest last by name); the local stack serves them. Each
    carries the From address Resend would send it with (``ONE_RESEND_FROM_EMAIL``)."""

    def __init__(self, directory: str | Path, sender: str | None = None) -> None:
        self.directory = Path(directory)
        self._from = sender or os.environ.get("ONE_RESEND_FROM_EMAIL") or DEFAULT_FROM

    def send(self, *, to: str, subject: str, html: str, text: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent_at = now_ms()
        message_id = f"{sent_at:015d}-{uuid.uuid4().hex[:8]}"
        body = {
            "id": message_id,
            "from": self._from,
            "to": to,
            "subject": subject,
            "text": text,
            "html": html,
            "sentAt": sent_at,
        }
        tmp = self.directory / f".{message_id}.tmp"
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2))
        tmp.replace(self.directory / f"{message_id}.json")
        return message_id

    def messages(self) -> list[dict[str, Any]]:
        """Every message, newest first."""
        if not self.directory.exists():
            return []
        files = sorted(self.directory.glob("*.json"), reverse=True)
        return [json.loads(f.read_text()) for f in files]


_instance: Email | None = None


def get_email() -> Email:
    global _instance  # noqa: PLW0603
    if _instance is None:
        outbox = os.environ.get("ONE_OUTBOX_DIR")
        _instance = FileOutbox(outbox) if outbox else ResendEmail()
    return _instance


def set_email(email: Email | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = email
