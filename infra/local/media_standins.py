"""Stand-ins for the media providers on the local stack's port: ElevenLabs (``/_local/elevenlabs``) and
HeyGen's talking-photo upload (``/_local/heygen``, see :class:`HeyGenStandIn`). ElevenLabs' two calls
the platform makes, with its shapes and errors:

- ``POST /v1/voices/add`` (multipart ``name``, ``files``, ``description``): keeps the voice (in the
  state directory, so it survives restarts) → ``{"voice_id", "requires_verification": false}``; a file
  that is not audio is ``400 {"detail": {"status": "invalid_audio", …}}``;
- ``POST /v1/text-to-speech/{voice_id}`` (``{"text"}``) → a real short WAV (a tone as long as the text);
  an unknown voice is ``404 {"detail": {"status": "voice_not_found", …}}``.

A missing key is ``401``. ``POST /_local/<provider>/_fail {"times": n, "status": 503}`` makes the next n
calls fail (what the tests use to take a provider down).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import threading
import wave
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

AUDIO_MAGIC = (b"ID3", b"RIFF", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3")


def _is_audio(data: bytes) -> bool:
    return (
        data.startswith(AUDIO_MAGIC)
        or data[4:8] == b"ftyp"
        or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    )


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> bytes:
    """A mono 16-bit WAV of a sine tone."""
    frames = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return buffer.getvalue()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"status": code, "message": message}}, status_code=status)


class _StandIn:
    """What every stand-in does: keep its state in a file, refuse calls without a key, fail on
    request (``_fail``)."""

    key_header = "xi-api-key"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.saved: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
        self._failures: list[int] = []

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.saved))
        tmp.replace(self.path)

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return _error(status, code, message)

    def _fault(self, request: Request) -> JSONResponse | None:
        if not request.headers.get(self.key_header):
            return self._error(401, "invalid_api_key", "Invalid API key")
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                return self._error(status, "service_unavailable", "The service is temporarily unavailable")
        return None

    async def fail(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self._failures = [int(body.get("status", 503))] * int(body.get("times", 1))
        return JSONResponse({"failing": len(self._failures)})


class ElevenLabsStandIn(_StandIn):
    @property
    def voices(self) -> dict[str, dict[str, Any]]:
        return self.saved

    async def add_voice(self, request: Request) -> Response:
        if (fault := self._fault(request)) is not None:
            return fault
        form = await request.form()
        name = str(form.get("name") or "")
        files = [f for key, f in form.multi_items() if key == "files" and hasattr(f, "read")]
        if not name or not files:
            return _error(422, "invalid_request", "name and at least one file are required")
        digest = hashlib.sha256(name.encode())
        for f in files:
            head = await f.read(64 * 1024)
            if not _is_audio(head):
                return _error(
                    400, "invalid_audio", f"{getattr(f, 'filename', 'a file')} is not an audio file"
                )
            chunk = head
            while chunk:  # a chunk at a time (starlette spooled the upload to disk)
                digest.update(chunk)
                chunk = await f.read(64 * 1024)
        voice_id = digest.hexdigest()[:20]
        with self._lock:
            self.voices[voice_id] = {
                "name": name,
                "description": str(form.get("description") or ""),
                "files": len(files),
            }
            self._save()
        return JSONResponse({"voice_id": voice_id, "requires_verification": False})

    async def speak(self, request: Request) -> Response:
        if (fault := self._fault(request)) is not None:
            return fault
        voice_id = request.path_params["voice_id"]
        if voice_id not in self.voices:
            return _error(404, "voice_not_found", f"A voice with the voice_id {voice_id} was not found.")
        body = await request.json()
        text = str(body.get("text") or "")
        if not text.strip():
            return _error(422, "invalid_request", "text is required")
        return Response(tone(min(0.2 + 0.02 * len(text), 3.0)), media_type="audio/wav")

    def routes(self) -> dict[str, Any]:
        return {
            "/_local/elevenlabs/v1/voices/add": self.add_voice,
            "/_local/elevenlabs/v1/text-to-speech/{voice_id}": self.speak,
            "/_local/elevenlabs/_fail": self.fail,
        }


class HeyGenStandIn(_StandIn):
    """HeyGen's talking-photo upload (``POST /v1/talking_photo``, a JPEG or PNG body) →
    ``{"code": 100, "data": {"talking_photo_id", "talking_photo_url"}}``; anything else is HeyGen's
    ``400 {"code": 400, "message": …}``."""

    key_header = "x-api-key"

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"code": status, "data": None, "msg": code, "message": message}, status_code=status
        )

    async def upload(self, request: Request) -> Response:
        if (fault := self._fault(request)) is not None:
            return fault
        data = await request.body()
        kind = request.headers.get("content-type", "")
        if kind not in ("image/jpeg", "image/png") or not data.startswith((b"\xff\xd8\xff", b"\x89PNG")):
            return self._error(400, "invalid_image", "the photo must be a JPEG or PNG image with one face")
        photo_id = hashlib.sha256(data).hexdigest()[:24]
        with self._lock:
            self.saved[photo_id] = {"bytes": len(data), "contentType": kind}
            self._save()
        url = f"{request.base_url}_local/heygen/talking_photo/{photo_id}"
        return JSONResponse(
            {
                "code": 100,
                "data": {"talking_photo_id": photo_id, "talking_photo_url": url},
                "msg": None,
                "message": None,
            }
        )

    def routes(self) -> dict[str, Any]:
        return {"/_local/heygen/v1/talking_photo": self.upload, "/_local/heygen/_fail": self.fail}
