"""What a clone's voice and appearance are made from, and what its voice makes: audio samples and
portraits recognised by their first bytes, samples streamed from storage to the voice provider, and a
rendered speech kept as a ``media_asset`` the clone owns.

Example::

    voice_id = voice_from_samples(ctx.storage, ["sto_…"], name="Creator-ent_…", description="Voice of Ada")
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from typing import Any

from ontology.data.db import DatabaseWriter
from ontology.data.storage import Storage, check_storage_id
from ontology.errors import ValidationError
from ontology.services.ontology_ops import log_event, now_ms

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_SAMPLE_BYTES",
    "audio_kind",
    "image_kind",
    "samples_key",
    "save_speech",
    "voice_from_samples",
]

MAX_SAMPLE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def audio_kind(data: bytes) -> str | None:
    """The audio container of ``data`` from its first bytes (MP3, WAV, Ogg, FLAC, M4A, WebM), or None."""
    head = data[:16]
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    return None


def image_kind(data: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` from a file's first bytes (what a portrait may be), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def samples_key(sample_ids: list[str]) -> str:
    """One key for a set of samples, whatever their order (the same samples make the same voice)."""
    return hashlib.sha256("\n".join(sorted(sample_ids)).encode()).hexdigest()


def voice_from_samples(storage: Storage, sample_ids: list[str], *, name: str, description: str) -> str:
    """A voice cloned by the voice provider from the audio samples (storage ids); answers its id.
    VALIDATION_ERROR (``audioSamples.<i>``) for a sample that is not audio."""
    from ontology.providers.voice import get_voice

    # The samples (up to 25 of MAX_SAMPLE_BYTES: 250 MB) go through files in the function's ephemeral
    # storage, streamed from S3 and to ElevenLabs: memory holds a chunk at a time, not all.
    with contextlib.ExitStack() as held:
        files: list[tuple[str, Any, str]] = []
        for i, storage_id in enumerate(sample_ids):
            check_storage_id(storage_id, field=f"audioSamples.{i}")
            sample = held.enter_context(tempfile.TemporaryFile())
            storage.download(storage_id, sample, max_bytes=MAX_SAMPLE_BYTES)
            sample.seek(0)
            kind = audio_kind(sample.read(16))
            if kind is None:
                raise ValidationError(f"audioSamples.{i} is not an audio file", field=f"audioSamples.{i}")
            files.append((f"sample-{i}.{kind.split('/')[1]}", sample, kind))
        return get_voice().clone_voice(name=name, files=files, description=description)


def save_speech(
    db: DatabaseWriter, clone_id: str, *, storage_id: str, file_type: str, file_size: int, text: str
) -> str:
    """The rendered speech as a ``media_asset`` the clone ``owns``, with ``content_uploaded``."""
    now = now_ms()
    asset = db.insert(
        "entities",
        {
            "type": "media_asset",
            "name": f"Speech: {text[:60]}",
            "status": "active",
            "properties": {"storageId": storage_id, "fileType": file_type, "fileSize": file_size},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "connections",
        {"fromEntityId": clone_id, "toEntityId": asset, "relationshipType": "owns", "createdAt": now},
    )
    log_event(
        db,
        "content_uploaded",
        actor_id=clone_id,
        target_id=asset,
        timestamp=now,
        metadata={"storageId": storage_id, "fileType": file_type, "fileSize": file_size, "speech": True},
    )
    return str(asset)
