"""AI clones: a creator's digital twin, trained on what the creator authored.

``clones:create`` writes the reference's "AI Clone Creation" mapping: the ``ai_clone`` entity, creator →
clone ``owns``, ``clone_created``, the creator's ``industry`` and ``skill`` tags copied to the clone plus
``status:training``; and it schedules ``clones:train``, which turns each piece of the creator's authored
content into a ``knowledge_item`` (clone → item ``trained_on``) with its text as knowledge chunks
(embedded; the clone owns them, so a chat retrieves from its own knowledge only), then sets
``knowledgeBaseSize`` and ``lastTrainingDate``, moves the tag to ``status:active`` and connects the agent
that runs the clone (``powers``). Each step is its own transaction and idempotent: training again (a
second ``clones:create``) adds only what is new.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictStr

from ontology.data.fields import EntityId, IdempotencyKey, LongText, Name
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut, Page, PaginationOpts, Result
from ontology.services import grounding, knowledge
from ontology.services.clones import (
    organization_agent,
    recent_events,
    record_on_clone,
    set_status_tag,
    tags_of,
)
from ontology.services.ontology_ops import (
    actor_for,
    log_event,
    member_entity,
    message_under_key,
    now_ms,
    require_entity,
)

#: The creator's tags a clone inherits (the reference's "Tags Added").
INHERITED_TAGS = ("industry", "skill")
#: Content items trained per run of clones:train (a larger catalogue is trained over several runs).
ITEMS_PER_RUN = 40
MAX_ITEM_TEXT = 40_000

Temperature = Annotated[float, Field(ge=0, le=2, strict=False, allow_inf_nan=False)]


class CreateArgs(Args):
    creatorId: EntityId
    name: Name | None = None
    systemPrompt: LongText | None = None
    temperature: Temperature | None = None
    #: the agent that runs the clone (an ``*_agent`` entity); default: the organization's
    #: ``intelligence_agent`` (created if there is none)
    agentId: EntityId | None = None


class CreateResult(Result):
    cloneId: str
    status: str
    created: bool


def _default_prompt(creator: dict[str, Any]) -> str:
    props = creator.get("properties", {})
    who = props.get("displayName") or creator["name"]
    niche = ", ".join(props.get("niche") or []) or "their field"
    return (
        f"You are the AI clone of {who}, a creator in {niche}. Answer as {who} would, in the first "
        "person, grounded in what they have written; say so when you do not know."
    )


@mutation(args=CreateArgs, returns=CreateResult, auth="org_user")
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, Any]:
    """Create the creator's AI clone and schedule its training (one clone per creator: asking again
    answers the same clone and trains it on what is new since)."""
    identity = ctx.auth.require_identity()
    creator = require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    if args.agentId is not None:
        agent = require_entity(ctx.db, args.agentId, field="agentId")
        if not agent["type"].endswith("_agent"):
            raise ValidationError("agentId must be an agent entity", field="agentId")
    existing = ctx.db.lookup_unique(
        "entities", "clone_of_creator", {"type": "ai_clone", "properties": {"creatorId": args.creatorId}}
    )
    if existing is not None:
        set_status_tag(ctx.db, existing["_id"], "training")
        ctx.scheduler.run_after(0, train, {"cloneId": existing["_id"], "agentId": args.agentId})
        return {"cloneId": existing["_id"], "status": "training", "created": False}
    now = now_ms()
    clone_id = ctx.db.insert(
        "entities",
        {
            "type": "ai_clone",
            "name": args.name or f"{creator['name']} (AI clone)",
            "status": "draft",
            "properties": {
                "systemPrompt": args.systemPrompt or _default_prompt(creator),
                "temperature": 0.7 if args.temperature is None else args.temperature,
                "knowledgeBaseSize": 0,
                "lastTrainingDate": 0,
                "totalInteractions": 0,
                "satisfactionScore": 0,
                "creatorId": args.creatorId,
            },
            "createdAt": now,
            "updatedAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": args.creatorId,
            "toEntityId": clone_id,
            "relationshipType": "owns",
            "createdAt": now,
        },
    )
    log_event(
        ctx.db,
        "clone_created",
        actor_id=actor_for(identity, args.creatorId),
        target_id=clone_id,
        timestamp=now,
        metadata={"creatorId": args.creatorId},
    )
    for tag in tags_of(ctx.db, args.creatorId):
        if tag["key"] in INHERITED_TAGS:
            ctx.db.insert("tags", {"entityId": clone_id, "key": tag["key"], "value": tag["value"]})
    ctx.db.insert("tags", {"entityId": clone_id, "key": "status", "value": "training"})
    ctx.scheduler.run_after(0, train, {"cloneId": clone_id, "agentId": args.agentId})
    return {"cloneId": clone_id, "status": "training", "created": True}


# --------------------------------------------------------------------------------------- training


class TrainArgs(Args):
    cloneId: EntityId
    agentId: EntityId | None = None


def _text_of(item: dict[str, Any]) -> str:
    """What a content item says: its name, then every text of its properties (not ids or links)."""
    parts = [item["name"]]
    stack: list[Any] = [item.get("properties", {})]
    while stack:
        value = stack.pop(0)
        if isinstance(value, dict):
            stack += list(value.values())
        elif isinstance(value, list):
            stack += value
        elif (
            isinstance(value, str) and " " in value.strip() and not value.startswith(("http://", "https://"))
        ):
            parts.append(value)
    return "\n\n".join(parts)[:MAX_ITEM_TEXT]


@query(args=TrainArgs, internal=True)
def training_plan(ctx: QueryCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone, and the creator's authored content it is not trained on yet (at most ITEMS_PER_RUN)."""
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    creator_id = clone["properties"].get("creatorId")
    if not creator_id:
        raise NotFoundError("the clone has no creator", id=args.cloneId)
    authored = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "authored")
        )
        .collect()
    )
    trained = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", args.cloneId).eq("relationshipType", "trained_on")
        )
        .collect()
    )
    known = {
        item["properties"].get("contentId")
        for item in ctx.db.get_many([c["toEntityId"] for c in trained], "entities")
        if item is not None
    }
    todo = [c["toEntityId"] for c in authored if c["toEntityId"] not in known][:ITEMS_PER_RUN]
    items = [d for d in ctx.db.get_many(todo, "entities") if d is not None and d.get("status") != "archived"]
    return {
        "creatorId": creator_id,
        "items": [{"contentId": d["_id"], "title": d["name"], "text": _text_of(d)} for d in items],
        "more": len(authored) - len(known) > len(todo),
    }


@action(args=TrainArgs, internal=True)
def train(ctx: ActionCtx, args: TrainArgs) -> dict[str, Any]:
    """Train the clone on what is new: each content item a knowledge item with its chunks (embedded,
    one transaction per item), then the clone's knowledge size, date, status and agent."""
    plan = ctx.run_query(training_plan, {"cloneId": args.cloneId})
    added = 0
    for item in plan["items"]:
        chunks = knowledge.embedded_chunks([item["text"]])
        result = ctx.run_mutation(
            add_knowledge_item,
            {
                "cloneId": args.cloneId,
                "contentId": item["contentId"],
                "title": item["title"],
                "chunks": chunks,
            },
        )
        added += 1 if result["created"] else 0
    if plan["more"]:  # the rest in another run (each run stays within a Lambda's time)
        ctx.scheduler.run_after(0, train, {"cloneId": args.cloneId, "agentId": args.agentId})
        return {"cloneId": args.cloneId, "added": added, "done": False}
    ctx.run_mutation(finish_training, {"cloneId": args.cloneId, "agentId": args.agentId})
    return {"cloneId": args.cloneId, "added": added, "done": True}


class ItemArgs(Args):
    cloneId: EntityId
    contentId: EntityId
    title: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    chunks: Annotated[list[dict[str, Any]], Field(max_length=48)]


@mutation(args=ItemArgs, internal=True)
def add_knowledge_item(ctx: MutationCtx, args: ItemArgs) -> dict[str, Any]:
    """One content item into the clone's knowledge: the ``knowledge_item`` entity, clone → item
    ``trained_on``, the chunks (owned by the clone). Once per item: again, it answers the same item."""
    existing = ctx.db.lookup_unique(
        "entities",
        "trained_item",
        {"type": "knowledge_item", "properties": {"cloneId": args.cloneId, "contentId": args.contentId}},
    )
    if existing is not None:
        return {"knowledgeItemId": existing["_id"], "created": False}
    now = now_ms()
    item_id = ctx.db.insert(
        "entities",
        {
            "type": "knowledge_item",
            "name": args.title,
            "status": "active",
            "properties": {"cloneId": args.cloneId, "contentId": args.contentId, "chunks": len(args.chunks)},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": args.cloneId,
            "toEntityId": item_id,
            "relationshipType": "trained_on",
            "createdAt": now,
        },
    )
    chunks = [knowledge.Chunk.model_validate(c) for c in args.chunks]
    knowledge.insert_chunks(
        ctx.db,
        item_id,
        chunks,
        labels={"contentId": args.contentId, "title": args.title[:512]},
        owner_id=args.cloneId,
    )
    # counted here, in the item's transaction: an index read right after training may not show it yet
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    size = int(clone["properties"].get("knowledgeBaseSize", 0)) + 1
    ctx.db.patch(args.cloneId, {"properties": {**clone["properties"], "knowledgeBaseSize": size}}, "entities")
    return {"knowledgeItemId": item_id, "created": True}


@mutation(args=TrainArgs, internal=True)
def finish_training(ctx: MutationCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone's knowledge size and training date, ``status:active``, and its agent (``powers``)."""
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    # Each item counted itself as it was added (consistent); the index counts items made before
    # that, but may not show the last ones yet: the larger is right.
    indexed = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", args.cloneId).eq("relationshipType", "trained_on")
        )
        .count()
    )
    size = max(indexed, int(clone["properties"].get("knowledgeBaseSize", 0)))
    now = now_ms()
    props = {**clone["properties"], "knowledgeBaseSize": size, "lastTrainingDate": now}
    ctx.db.patch(args.cloneId, {"properties": props, "status": "active", "updatedAt": now}, "entities")
    set_status_tag(ctx.db, args.cloneId, "active")
    agent_id = args.agentId or organization_agent(ctx.db)
    triple = {"fromEntityId": agent_id, "toEntityId": args.cloneId, "relationshipType": "powers"}
    if ctx.db.lookup_unique("connections", "triple", triple) is None:
        ctx.db.insert("connections", {**triple, "createdAt": now})
    return {"cloneId": args.cloneId, "knowledgeBaseSize": size, "agentId": agent_id}


# -------------------------------------------------------------------------------------------- get


class GetArgs(Args):
    cloneId: EntityId


class CloneOut(EntityOut):
    trainingStatus: str | None = None
    knowledgeBaseSize: int = 0


@query(args=GetArgs, returns=CloneOut | None)
def get(ctx: QueryCtx, args: GetArgs) -> dict[str, Any] | None:
    """The clone, its training status (``training`` or ``active``) and its knowledge size; null when it
    is no clone of this organization."""
    # The status tag first, then the clone: a query's reads are not one snapshot, and training
    # writes both in one transaction, so a clone read after an ``active`` tag is the trained clone.
    tags = tags_of(ctx.db, args.cloneId)
    clone = ctx.db.get(args.cloneId, "entities", field="cloneId")
    if clone is None or clone["type"] != "ai_clone":
        return None
    status = next((t["value"] for t in tags if t["key"] == "status"), None)
    return {
        **clone,
        "trainingStatus": status,
        "knowledgeBaseSize": clone["properties"].get("knowledgeBaseSize", 0),
    }


# ------------------------------------------------------------------------------------------- chat

MAX_MESSAGE = 4_000


class ChatArgs(Args):
    cloneId: EntityId
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE)]
    conversationId: EntityId | None = None
    #: the client's key for this turn: the same key again answers the turn already recorded (a retry
    #: after a lost response asks the model nothing and records nothing twice)
    idempotencyKey: IdempotencyKey | None = None


class Source(Result):
    knowledgeItemId: str
    contentId: str | None = None
    title: str | None = None
    text: str
    score: float


class ChatResult(Result):
    conversationId: str
    messageId: str
    replyId: str
    reply: str
    sources: list[Source]


class ContextArgs(Args):
    cloneId: EntityId
    conversationId: EntityId | None = None
    participantId: EntityId
    idempotencyKey: IdempotencyKey | None = None


@query(args=ContextArgs, internal=True)
def chat_context(ctx: QueryCtx, args: ContextArgs) -> dict[str, Any]:
    """The clone, and the conversation's last messages (NOT_FOUND: no such clone or conversation of
    this participant with this clone); ``replay``: the turn already recorded under the idempotency key."""
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    props = clone["properties"]
    context: dict[str, Any] = {
        "systemPrompt": props["systemPrompt"],
        "temperature": props.get("temperature", 0.7),
        "history": [],
        "replay": None,
    }
    if args.idempotencyKey is not None:
        context["replay"] = _recorded_turn(ctx.db, args.participantId, args.idempotencyKey)
        if context["replay"] is not None:
            return context
    if args.conversationId is not None:
        _require_conversation(ctx.db, args.conversationId, args.participantId, args.cloneId)
        context["history"] = grounding.conversation_history(ctx.db, args.conversationId, args.cloneId)
    return context


def _recorded_turn(db: Any, participant: str, key: str) -> dict[str, Any] | None:
    """The chat turn a participant recorded under ``key``: its ids, the reply and its sources."""
    sent = message_under_key(db, participant, key)
    if sent is None:
        return None
    props = sent["properties"]
    reply = db.get(props.get("replyId", ""), "entities") if props.get("replyId") else None
    reply_props = reply["properties"] if reply is not None else {}
    return {
        "conversationId": props.get("conversationId", ""),
        "messageId": sent["_id"],
        "replyId": props.get("replyId", ""),
        "reply": reply_props.get("text", ""),
        "sources": reply_props.get("sources", []),
    }


def _require_conversation(db: Any, conversation_id: str, participant: str, clone_id: str) -> dict[str, Any]:
    conversation = require_entity(db, conversation_id, field="conversationId", kind="conversation")
    for who in (participant, clone_id):
        triple = {"fromEntityId": who, "toEntityId": conversation_id, "relationshipType": "participated_in"}
        if db.lookup_unique("connections", "triple", triple) is None:
            raise NotFoundError("Conversation not found", id=conversation_id)
    return conversation


@action(args=ChatArgs, returns=ChatResult, uses=("vectors",))
def chat(ctx: ActionCtx, args: ChatArgs) -> dict[str, Any]:
    """Talk with a clone: the reply comes from the chat model with the clone's system prompt and
    temperature, grounded on the clone's knowledge chunks nearest the message (``sources``). Both
    messages are ``message`` entities ``part_of`` the conversation (created on first use, the caller
    and the clone ``participated_in`` it); ``clone_interaction`` is logged and counted. With an
    ``idempotencyKey``, the same key again answers the turn already recorded."""
    from ontology.data.search import tokenize

    if not tokenize(args.message):
        raise ValidationError("the message has no words", field="message")
    me = member_entity(ctx.auth.require_identity(), "chat with")
    context = ctx.run_query(
        chat_context,
        {
            "cloneId": args.cloneId,
            "conversationId": args.conversationId,
            "participantId": me,
            "idempotencyKey": args.idempotencyKey,
        },
    )
    if context["replay"] is not None:
        return dict(context["replay"])
    reply, sources = grounding.grounded_reply(
        ctx,
        args.cloneId,
        system_prompt=context["systemPrompt"],
        temperature=float(context["temperature"]),
        history=context["history"],
        message=args.message,
    )
    saved = ctx.run_mutation(
        record_exchange,
        {
            "cloneId": args.cloneId,
            "participantId": me,
            "conversationId": args.conversationId,
            "message": args.message,
            "reply": reply.content[: MAX_MESSAGE * 4] or "…",
            "model": reply.model[:100],
            "sources": sources,
            "idempotencyKey": args.idempotencyKey,
        },
    )
    if saved.get("replayed"):
        return {k: v for k, v in saved.items() if k != "replayed"}
    return {**saved, "reply": reply.content, "sources": sources}


class ExchangeArgs(Args):
    cloneId: EntityId
    participantId: EntityId
    conversationId: EntityId | None = None
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE)]
    reply: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE * 4)]
    model: Annotated[StrictStr, Field(max_length=100)] = ""
    sources: Annotated[list[Source], Field(max_length=grounding.SOURCES)] = Field(default_factory=list)
    idempotencyKey: IdempotencyKey | None = None


@mutation(args=ExchangeArgs, internal=True)
def record_exchange(ctx: MutationCtx, args: ExchangeArgs) -> dict[str, str]:
    """The message and the reply (and the conversation, on first use), the interaction, the count:
    one transaction, so a chat is recorded whole or not at all (a turn already recorded under the
    idempotency key is answered, ``replayed``, and nothing is written)."""
    from ontology.data.keys import new_id

    if args.idempotencyKey is not None:
        recorded = _recorded_turn(ctx.db, args.participantId, args.idempotencyKey)
        if recorded is not None:
            return {**recorded, "replayed": True}
    now = now_ms()
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    conversation_id = args.conversationId
    if conversation_id is None:
        conversation_id = ctx.db.insert(
            "entities",
            {
                "type": "conversation",
                "name": args.message[:80],
                "status": "active",
                "properties": {"cloneId": args.cloneId, "startedBy": args.participantId},
                "createdAt": now,
                "updatedAt": now,
            },
        )
        for who in (args.participantId, args.cloneId):
            ctx.db.insert(
                "connections",
                {
                    "fromEntityId": who,
                    "toEntityId": conversation_id,
                    "relationshipType": "participated_in",
                    "createdAt": now,
                },
            )
    else:
        _require_conversation(ctx.db, conversation_id, args.participantId, args.cloneId)
    ids = [new_id("entities"), new_id("entities")]
    source_ids = [s.knowledgeItemId for s in args.sources]
    for offset, (sender, text) in enumerate(((args.participantId, args.message), (args.cloneId, args.reply))):
        # the conversation it belongs to: its participants (and only they) read it (docs/auth.md)
        properties: dict[str, Any] = {"senderId": sender, "text": text, "conversationId": conversation_id}
        if sender == args.cloneId:
            sources = [s.model_dump(exclude_none=True) for s in args.sources]
            properties |= {"model": args.model, "sourceIds": source_ids, "sources": sources}
        elif args.idempotencyKey is not None:
            properties |= {"idempotencyKey": args.idempotencyKey, "replyId": ids[1]}
        message_id = ctx.db.insert(
            "entities",
            {
                "type": "message",
                "name": text[:80],
                "status": "active",
                "properties": properties,
                "createdAt": now + offset,
                "updatedAt": now + offset,
            },
            doc_id=ids[offset],
        )
        ctx.db.insert(
            "connections",
            {
                "fromEntityId": message_id,
                "toEntityId": conversation_id,
                "relationshipType": "part_of",
                "createdAt": now + offset,
            },
        )
    log_event(
        ctx.db,
        "clone_interaction",
        actor_id=args.participantId,
        target_id=args.cloneId,
        timestamp=now,
        metadata={
            "conversationId": conversation_id,
            "messageId": ids[0],
            "replyId": ids[1],
            "sources": source_ids,
        },
    )
    props = {**clone["properties"], "totalInteractions": clone["properties"].get("totalInteractions", 0) + 1}
    ctx.db.patch(args.cloneId, {"properties": props, "updatedAt": now}, "entities")
    return {"conversationId": conversation_id, "messageId": ids[0], "replyId": ids[1]}


class MessagesArgs(Args):
    conversationId: EntityId
    paginationOpts: PaginationOpts


@query(args=MessagesArgs, returns=Page[EntityOut])
def messages(ctx: QueryCtx, args: MessagesArgs) -> dict[str, Any]:
    """A conversation's messages, oldest first, a page at a time (its participants and the
    organization's staff only); reactive over the sync protocol like any query."""
    from ontology.auth.identity import has_role

    identity = ctx.auth.require_identity()
    conversation = ctx.db.get(args.conversationId, "entities", field="conversationId")
    if conversation is None or conversation["type"] != "conversation":
        return {"page": [], "isDone": True, "continueCursor": ""}
    if not has_role(identity, "org_user"):
        triple = {
            "fromEntityId": identity.entityId,
            "toEntityId": args.conversationId,
            "relationshipType": "participated_in",
        }
        if not identity.entityId or ctx.db.lookup_unique("connections", "triple", triple) is None:
            return {"page": [], "isDone": True, "continueCursor": ""}
    return grounding.message_page(ctx.db, args.conversationId, args.paginationOpts.model_dump())


# ------------------------------------------------------------------------------------------ voice

MAX_SAMPLES = 25
MAX_SAMPLE_BYTES = 10 * 1024 * 1024
MAX_SPEECH_CHARS = 5_000


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


class CloneVoiceArgs(Args):
    creatorId: EntityId
    audioSamples: Annotated[
        list[Annotated[StrictStr, Field(max_length=40)]], Field(min_length=1, max_length=MAX_SAMPLES)
    ]


class VoiceResult(Result):
    cloneId: str
    voiceId: str
    voiceProvider: str


class CloneOfArgs(Args):
    creatorId: EntityId


@query(args=CloneOfArgs, internal=True)
def clone_of(ctx: QueryCtx, args: CloneOfArgs) -> dict[str, Any]:
    """The creator's clone and its voice_cloned events (NOT_FOUND: no creator, or no clone yet)."""
    require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    clone = ctx.db.lookup_unique(
        "entities", "clone_of_creator", {"type": "ai_clone", "properties": {"creatorId": args.creatorId}}
    )
    if clone is None:
        raise NotFoundError("This creator has no AI clone yet (clones:create)", id=args.creatorId)
    return {"clone": clone, "voiced": recent_events(ctx.db, clone["_id"], "voice_cloned")}


@action(args=CloneVoiceArgs, returns=VoiceResult, auth="org_user", uses=("storage",))
def clone_voice(ctx: ActionCtx, args: CloneVoiceArgs) -> dict[str, Any]:
    """The reference's ``cloneVoice``: the uploaded audio samples (storage ids) to ElevenLabs' instant
    voice clone; the voice id on the creator's clone (``voiceProvider: "elevenlabs"``), ``voice_cloned``
    logged. The same samples again answer the voice they made (no second voice)."""
    import contextlib
    import hashlib
    import tempfile

    from ontology.data.storage import check_storage_id
    from ontology.providers.voice import get_voice

    found = ctx.run_query(clone_of, {"creatorId": args.creatorId})
    clone = found["clone"]
    samples_key = hashlib.sha256("\n".join(sorted(args.audioSamples)).encode()).hexdigest()
    for earlier in found["voiced"]:
        if earlier.get("samples") == samples_key and earlier.get("voiceId"):
            return {"cloneId": clone["_id"], "voiceId": earlier["voiceId"], "voiceProvider": "elevenlabs"}
    # The samples (up to MAX_SAMPLES of MAX_SAMPLE_BYTES: 250 MB) go through files in the function's
    # ephemeral storage, streamed from S3 and to ElevenLabs: memory holds a chunk at a time, not all.
    with contextlib.ExitStack() as held:
        files: list[tuple[str, Any, str]] = []
        for i, storage_id in enumerate(args.audioSamples):
            check_storage_id(storage_id, field=f"audioSamples.{i}")
            sample = held.enter_context(tempfile.TemporaryFile())
            ctx.storage.download(storage_id, sample, max_bytes=MAX_SAMPLE_BYTES)
            sample.seek(0)
            kind = audio_kind(sample.read(16))
            if kind is None:
                raise ValidationError(f"audioSamples.{i} is not an audio file", field=f"audioSamples.{i}")
            files.append((f"sample-{i}.{kind.split('/')[1]}", sample, kind))
        voice_id = get_voice().clone_voice(
            name=f"Creator-{args.creatorId}", files=files, description=f"Voice of {clone['name']}"
        )
    ctx.run_mutation(record_voice, {"cloneId": clone["_id"], "voiceId": voice_id, "samples": samples_key})
    return {"cloneId": clone["_id"], "voiceId": voice_id, "voiceProvider": "elevenlabs"}


class RecordVoiceArgs(Args):
    cloneId: EntityId
    voiceId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    samples: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


@mutation(args=RecordVoiceArgs, internal=True)
def record_voice(ctx: MutationCtx, args: RecordVoiceArgs) -> dict[str, str]:
    voice = {"voiceId": args.voiceId, "voiceProvider": "elevenlabs"}
    record_on_clone(ctx.db, args.cloneId, voice, "voice_cloned", {**voice, "samples": args.samples})
    return {"cloneId": args.cloneId}


class SpeakArgs(Args):
    cloneId: EntityId
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SPEECH_CHARS)]


class SpeechResult(Result):
    url: str
    storageId: str
    mediaAssetId: str


@query(args=GetArgs, internal=True)
def voice_of(ctx: QueryCtx, args: GetArgs) -> dict[str, Any]:
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    return {"voiceId": clone["properties"].get("voiceId"), "name": clone["name"]}


@action(args=SpeakArgs, returns=SpeechResult, auth="org_user", uses=("storage",))
def speak(ctx: ActionCtx, args: SpeakArgs) -> dict[str, str]:
    """The text in the clone's voice (ElevenLabs text-to-speech), stored as a ``media_asset``; answers
    its URL. CONFLICT when the clone has no voice yet (clones:clone_voice)."""
    from ontology.errors import ConflictError
    from ontology.providers.voice import get_voice

    voice = ctx.run_query(voice_of, {"cloneId": args.cloneId})
    if not voice["voiceId"]:
        raise ConflictError("This clone has no voice yet: clone one with clones:clone_voice", field="cloneId")
    audio, content_type = get_voice().speak(voice["voiceId"], args.text)
    if audio_kind(audio) is None:
        from ontology.errors import UpstreamError

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
    cloneId: EntityId
    storageId: Annotated[StrictStr, Field(max_length=40)]
    fileType: Annotated[StrictStr, Field(max_length=40)]
    fileSize: Annotated[int, Field(ge=1)]
    text: Annotated[StrictStr, Field(max_length=MAX_SPEECH_CHARS)]


@mutation(args=RecordSpeechArgs, internal=True)
def record_speech(ctx: MutationCtx, args: RecordSpeechArgs) -> str:
    """The rendered speech as a ``media_asset`` the clone ``owns``, with ``content_uploaded``."""
    now = now_ms()
    asset = ctx.db.insert(
        "entities",
        {
            "type": "media_asset",
            "name": f"Speech: {args.text[:60]}",
            "status": "active",
            "properties": {"storageId": args.storageId, "fileType": args.fileType, "fileSize": args.fileSize},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {"fromEntityId": args.cloneId, "toEntityId": asset, "relationshipType": "owns", "createdAt": now},
    )
    log_event(
        ctx.db,
        "content_uploaded",
        actor_id=args.cloneId,
        target_id=asset,
        timestamp=now,
        metadata={
            "storageId": args.storageId,
            "fileType": args.fileType,
            "fileSize": args.fileSize,
            "speech": True,
        },
    )
    return str(asset)


# ------------------------------------------------------------------------------------- appearance

MAX_IMAGE_BYTES = 10 * 1024 * 1024


def image_kind(data: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` from a file's first bytes (what a portrait may be), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


class CloneAppearanceArgs(Args):
    cloneId: EntityId
    imageStorageId: Annotated[StrictStr, Field(max_length=40)]


class AppearanceResult(Result):
    cloneId: str
    appearanceId: str
    appearanceProvider: str


@query(args=GetArgs, internal=True)
def appearances_of(ctx: QueryCtx, args: GetArgs) -> list[dict[str, Any]]:
    """The clone's appearance_cloned events' metadata, latest first (NOT_FOUND: no such clone)."""
    require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    return recent_events(ctx.db, args.cloneId, "appearance_cloned")


@action(args=CloneAppearanceArgs, returns=AppearanceResult, auth="org_user", uses=("storage",))
def clone_appearance(ctx: ActionCtx, args: CloneAppearanceArgs) -> dict[str, Any]:
    """An appearance clone from an uploaded portrait (JPEG or PNG) through the appearance provider
    (HeyGen's talking photo): ``appearanceId`` and ``appearanceProvider`` on the clone,
    ``appearance_cloned`` logged. The same image again answers the appearance it made."""
    from ontology.data.storage import check_storage_id
    from ontology.providers.appearance import get_appearance

    check_storage_id(args.imageStorageId, field="imageStorageId")
    provider = get_appearance()
    for earlier in ctx.run_query(appearances_of, {"cloneId": args.cloneId}):
        if earlier.get("imageStorageId") == args.imageStorageId and earlier.get("provider") == provider.name:
            return {
                "cloneId": args.cloneId,
                "appearanceId": earlier["appearanceId"],
                "appearanceProvider": provider.name,
            }
    data, _ = ctx.storage.read(args.imageStorageId, max_bytes=MAX_IMAGE_BYTES)
    kind = image_kind(data)
    if kind is None:
        raise ValidationError("imageStorageId is not a JPEG or PNG image", field="imageStorageId")
    appearance_id = provider.create_appearance(data, kind)
    ctx.run_mutation(
        record_appearance,
        {
            "cloneId": args.cloneId,
            "appearanceId": appearance_id,
            "provider": provider.name,
            "imageStorageId": args.imageStorageId,
        },
    )
    return {"cloneId": args.cloneId, "appearanceId": appearance_id, "appearanceProvider": provider.name}


class RecordAppearanceArgs(Args):
    cloneId: EntityId
    appearanceId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    provider: Annotated[StrictStr, Field(pattern="^(d-id|heygen|custom)$")]
    imageStorageId: Annotated[StrictStr, Field(max_length=40)]


@mutation(args=RecordAppearanceArgs, internal=True)
def record_appearance(ctx: MutationCtx, args: RecordAppearanceArgs) -> dict[str, str]:
    record_on_clone(
        ctx.db,
        args.cloneId,
        {"appearanceId": args.appearanceId, "appearanceProvider": args.provider},
        "appearance_cloned",
        {"appearanceId": args.appearanceId, "provider": args.provider, "imageStorageId": args.imageStorageId},
    )
    return {"cloneId": args.cloneId}
