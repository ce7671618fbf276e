"""A clone's voice: ``clones:clone_voice`` clones the creator's voice from uploaded audio samples
(ElevenLabs' instant voice clone), ``clones:speak`` says a text in it and keeps the speech.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.errors import ConflictError, NotFoundError, UpstreamError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, OTHER_ENTITY_ID, STORAGE_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result
from ontology.services import clones, media
from ontology.services.ontology_ops import require_entity

MAX_SAMPLES = 25
MAX_SPEECH_CHARS = 5_000


class CloneVoiceArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"creatorId": ENTITY_ID, "audioSamples": [STORAGE_ID]}]}
    )

    creatorId: EntityId
    audioSamples: Annotated[
        list[Annotated[StrictStr, Field(max_length=40)]], Field(min_length=1, max_length=MAX_SAMPLES)
    ]


class VoiceResult(Result):
    cloneId: EntityId
    voiceId: str
    voiceProvider: str


class CloneOfArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"creatorId": ENTITY_ID}]})

    creatorId: EntityId


@query(args=CloneOfArgs, internal=True)
def clone_of(ctx: QueryCtx, args: CloneOfArgs) -> dict[str, Any]:
    """The creator's clone and its voice_cloned events (NOT_FOUND: no creator, or no clone yet)."""
    require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    clone = clones.clone_of_creator(ctx.db, args.creatorId)
    if clone is None:
        raise NotFoundError("This creator has no AI clone yet (clones:create)", id=args.creatorId)
    return {"clone": clone, "voiced": clones.recent_events(ctx.db, clone["_id"], "voice_cloned")}


@action(args=CloneVoiceArgs, returns=VoiceResult, auth="org_user", uses=("storage",))
def clone_voice(ctx: ActionCtx, args: CloneVoiceArgs) -> dict[str, Any]:
    """The reference's ``cloneVoice``: the uploaded audio samples (storage ids) to ElevenLabs' instant
    voice clone; the voice id on the creator's clone (``voiceProvider: "elevenlabs"``), ``voice_cloned``
    logged. The same samples again answer the voice they made (no second voice)."""
    found = ctx.run_query(clone_of, {"creatorId": args.creatorId})
    clone = found["clone"]
    samples = media.samples_key(args.audioSamples)
    for earlier in found["voiced"]:
        if earlier.get("samples") == samples and earlier.get("voiceId"):
            return {"cloneId": clone["_id"], "voiceId": earlier["voiceId"], "voiceProvider": "elevenlabs"}
    voice_id = media.voice_from_samples(
        ctx.storage,
        args.audioSamples,
        name=f"Creator-{args.creatorId}",
        description=f"Voice of {clone['name']}",
    )
    ctx.run_mutation(record_voice, {"cloneId": clone["_id"], "voiceId": voice_id, "samples": samples})
    return {"cloneId": clone["_id"], "voiceId": voice_id, "voiceProvider": "elevenlabs"}


class RecordVoiceArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cloneId": OTHER_ENTITY_ID, "voiceId": "voice123", "samples": "0" * 64}]
        }
    )

    cloneId: EntityId
    voiceId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    samples: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


@mutation(args=RecordVoiceArgs, internal=True)
def record_voice(ctx: MutationCtx, args: RecordVoiceArgs) -> dict[str, str]:
    voice = {"voiceId": args.voiceId, "voiceProvider": "elevenlabs"}
    clones.record_on_clone(ctx.db, args.cloneId, voice, "voice_cloned", {**voice, "samples": args.samples})
    return {"cloneId": args.cloneId}


class CloneArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID}]})

    cloneId: EntityId


@query(args=CloneArgs, internal=True)
def voice_of(ctx: QueryCtx, args: CloneArgs) -> dict[str, Any]:
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    return {"voiceId": clone["properties"].get("voiceId"), "name": clone["name"]}


class SpeakArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID, "text": "Welcome to the stream!"}]}
    )

    cloneId: EntityId
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SPEECH_CHARS)]


class SpeechResult(Result):
    url: str
    storageId: str
    mediaAssetId: EntityId


@action(args=SpeakArgs, returns=SpeechResult, auth="org_user", uses=("storage",))
def speak(ctx: ActionCtx, args: SpeakArgs) -> dict[str, str]:
    """The text in the clone's voice (ElevenLabs text-to-speech), stored as a ``media_asset``; answers
    its URL. CONFLICT when the clone has no voice yet (clones:clone_voice)."""
    from ontology.providers.voice import get_voice

    voice = ctx.run_query(voice_of, {"cloneId": args.cloneId})
    if not voice["voiceId"]:
        raise ConflictError("This clone has no voice yet: clone one with clones:clone_voice", field="cloneId")
    audio, content_type = get_voice().speak(voice["voiceId"], args.text)
    if media.audio_kind(audio) is None:
        raise UpstreamError("ElevenLabs: the speech is not audio")
    content_type = content_type if content_type in ("audio/mpeg", "audio/wav", "audio/ogg") else "audio/mpeg"
    storage_id = ctx.storage.put(audio, content_type=content_type)
    asset = ctx.run_mutation(
        record_speech,
        {
            "cloneId": args.cloneId,
            "storageId": storage_id,
            "fileType": content_type,
            "fileSize": len(audio),
            "text": args.text,
        },
    )
    url = ctx.storage.get_url(storage_id) or ""
    return {"url": url, "storageId": storage_id, "mediaAssetId": asset}


class RecordSpeechArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cloneId": OTHER_ENTITY_ID,
                    "storageId": STORAGE_ID,
                    "fileType": "audio/wav",
                    "fileSize": 1024,
                    "text": "Welcome",
                }
            ]
        }
    )

    cloneId: EntityId
    storageId: Annotated[StrictStr, Field(max_length=40)]
    fileType: Annotated[StrictStr, Field(max_length=40)]
    fileSize: Annotated[int, Field(ge=1)]
    text: Annotated[StrictStr, Field(max_length=MAX_SPEECH_CHARS)]


@mutation(args=RecordSpeechArgs, internal=True)
def record_speech(ctx: MutationCtx, args: RecordSpeechArgs) -> str:
    """The rendered speech as a ``media_asset`` the clone ``owns``, with ``content_uploaded``."""
    return media.save_speech(
        ctx.db,
        args.cloneId,
        storage_id=args.storageId,
        file_type=args.fileType,
        file_size=args.fileSize,
        text=args.text,
    )
