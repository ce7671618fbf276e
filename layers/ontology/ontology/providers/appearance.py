"""Appearance clones: a portrait turned into a talking avatar, through a provider port.

The reference's ``appearanceProvider`` is ``"d-id" | "heygen" | "custom"``; the implementation here is
HeyGen's talking-photo upload (``POST https://upload.heygen.com/v1/talking_photo``, the image's bytes
with its content type, header ``x-api-key``) → ``{"code": 100, "data": {"talking_photo_id", …}}``. Any
other provider plugs in through :func:`set_appearance` (its ``name``, e.g. ``"custom"``). Retries and
errors as every provider (:mod:`ontology.providers.http`). Locally ``ONE_HEYGEN_UPLOAD_URL`` points at
the stack's stand-in.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from ontology.errors import UpstreamError

__all__ = ["AppearanceProvider", "HeyGen", "get_appearance", "set_appearance"]

UPLOAD_URL = "https://upload.heygen.com"


class AppearanceProvider(Protocol):
    name: str

    def create_appearance(self, image: bytes, content_type: str) -> str: ...


class HeyGen:
    """HeyGen's API; ``client`` may be injected (an ``httpx.Client``)."""

    name = "heygen"

    def __init__(
        self, client: Any = None, *, api_key: str | None = None, base_url: str | None = None
    ) -> None:
        import httpx

        self._base = (base_url or os.environ.get("ONE_HEYGEN_UPLOAD_URL") or UPLOAD_URL).rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0))
        self._key = api_key

    def create_appearance(self, image: bytes, content_type: str) -> str:
        from ontology.providers.http import post

        if self._key is None:
            from ontology.secrets import get_secret

            self._key = get_secret("heygenApiKey") or ""
        resp = post(
            self._client,
            f"{self._base}/v1/talking_photo",
            provider="HeyGen",
            message=_message,
            content=image,
            headers={"x-api-key": self._key, "Content-Type": content_type},
        )
        body = resp.json()
        talking_photo = (body.get("data") or {}).get("talking_photo_id")
        if body.get("code") != 100 or not isinstance(talking_photo, str) or not talking_photo:
            raise UpstreamError(
                f"HeyGen: {body.get('message') or body.get('msg') or 'no talking photo made'}"
            )
        return talking_photo


def _message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    return str(
        body.get("message") or body.get("msg") or (body.get("error") or {}).get("message") or resp.status_code
    )[:500]


_instance: AppearanceProvider | None = None


def get_appearance() -> AppearanceProvider:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = HeyGen()
    return _instance


def set_appearance(provider: AppearanceProvider | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = provider
