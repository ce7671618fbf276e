"""A stand-in for ElevenLabs' API on the local stack's port (``/_local/elevenlabs``), the two calls the
platform makes, with ElevenLabs' shapes and errors:

- ``POST /v1/voices/add`` (multipart ``name``, ``files``, ``description``): keeps the voice (in the
  state directory, so it survives restarts) → ``{"voice_id", "requires_verification": false}``; a file
  that is not audio is ``400 {"detail": {"status": "invalid_audio", …}}``;
- ``POST /v1/text-to-speech/{voice_id}`` (``{"text"}``) → a real short WAV (a tone as long as the text);
  an unknown voice is ``404 {"detail": {"status": "voice_not_found", …}}``.

A missing ``xi-api-key`` is ``401``. ``POST /_local/elevenlabs/_fail {"times": n, "status": 503}`` makes
the next n calls fail (what the tests use to take the provider down).
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


class ElevenLabsStandIn:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.voices: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
        self._failures: list[int] = []

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.voices))
        tmp.replace(self.path)

    def _fault(self, request: Request) -> JSONResponse | None:
        if not request.headers.get("xi-api-key"):
            return _error(401, "invalid_api_key", "Invalid API key")
        with self._lock:
            if self._failures:
                status = self._failures.pop(0)
                return _error(status, "service_unavailable", "The service is temporarily unavailable")
        return None

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
            data = await f.read()  # type: ignore[union-attr]
            if not _is_audio(data):
                return _error(
                    400, "invalid_audio", f"{getattr(f, 'filename', 'a file')} is not an audio file"
                )
            digest.update(data)
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

    async def fail(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self._failures = [int(body.get("status", 503))] * int(body.get("times", 1))
        return JSONResponse({"failing": len(self._failures)})

    def routes(self) -> dict[str, Any]:
        return {
            "/_local/elevenlabs/v1/voices/add": self.add_voice,
            "/_local/elevenlabs/v1/text-to-speech/{voice_id}": self.speak,
            "/_local/elevenlabs/_fail": self.fail,
        }
