"""Voices through ElevenLabs' HTTP API (httpx, already in the layer: no SDK to import at cold start).

- ``clone_voice``: instant voice cloning, ``POST /v1/voices/add`` (multipart: ``name``, ``files``,
  ``description``) → ``voice_id``;
- ``speak``: ``POST /v1/text-to-speech/{voice_id}`` (``text``, ``model_id``) → audio bytes (MPEG).

Authentication is the ``xi-api-key`` header (the stack's ``elevenlabsApiKey`` secret). Timeouts,
connection errors, 429 and 5xx are retried (3 attempts, jittered backoff), then UPSTREAM_ERROR; any
other error is UPSTREAM_ERROR with ElevenLabs' own message. Locally ``ONE_ELEVENLABS_BASE_URL`` points
at the stack's stand-in.

Example::

    voice_id = get_voice().clone_voice(name="Ada", files=[("a.mp3", data, "audio/mpeg")])
    audio = get_voice().speak(voice_id, "Hello")
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Protocol

from ontology.errors import UpstreamError

__all__ = ["ElevenLabs", "Sample", "VoiceProvider", "get_voice", "set_voice"]

BASE_URL = "https://api.elevenlabs.io"
TTS_MODEL = "eleven_multilingual_v2"


#: A sample to upload: (file name, its bytes or a binary file positioned anywhere, content type). A
#: file is streamed (read a chunk at a time, from its start, on every attempt).
Sample = tuple[str, "bytes | BinaryIO", str]


class VoiceProvider(Protocol):
    def clone_voice(self, *, name: str, files: list[Sample], description: str = "") -> str: ...
    def speak(self, voice_id: str, text: str) -> tuple[bytes, str]: ...


class ElevenLabs:
    """ElevenLabs' API; ``client`` may be injected (an ``httpx.Client``)."""

    def __init__(
        self, client: Any = None, *, api_key: str | None = None, base_url: str | None = None
    ) -> None:
        import httpx

        self._base = (base_url or os.environ.get("ONE_ELEVENLABS_BASE_URL") or BASE_URL).rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0))
        self._key = api_key

    def _api_key(self) -> str:
        if self._key is None:
            from ontology.secrets import get_secret

            self._key = get_secret("elevenlabsApiKey") or ""
        return self._key

    def _post(self, path: str, **kwargs: Any) -> Any:
        from ontology.providers.http import post

        headers = {"xi-api-key": self._api_key()}
        return post(
            self._client,
            f"{self._base}{path}",
            provider="ElevenLabs",
            message=_message,
            headers=headers,
            **kwargs,
        )

    def clone_voice(self, *, name: str, files: list[Sample], description: str = "") -> str:
        resp = self._post(
            "/v1/voices/add",
            data={"name": name, "description": description},
            files=[("files", f) for f in files],
        )
        voice_id = resp.json().get("voice_id")
        if not isinstance(voice_id, str) or not voice_id:
            raise UpstreamError("ElevenLabs: the answer has no voice_id")
        return voice_id

    def speak(self, voice_id: str, text: str) -> tuple[bytes, str]:
        resp = self._post(f"/v1/text-to-speech/{voice_id}", json={"text": text, "model_id": TTS_MODEL})
        content_type = resp.headers.get("content-type", "audio/mpeg").split(";")[0].strip()
        if not resp.content:
            raise UpstreamError("ElevenLabs: the speech is empty")
        return resp.content, content_type


def _message(resp: Any) -> str:
    """ElevenLabs' error message (``{"detail": {"message": …}}`` or ``{"detail": "…"}``)."""
    try:
        detail = resp.json().get("detail")
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or resp.status_code)[:500]
    return str(detail or resp.status_code)[:500]


_instance: VoiceProvider | None = None


def get_voice() -> VoiceProvider:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = ElevenLabs()
    return _instance


def set_voice(provider: VoiceProvider | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = provider
