"""Livestreams: a creator's live session, with the creator's AI clone as co-host.

The reference's "Livestream Session" mapping: the ``livestream`` entity, creator → livestream ``owns``,
livestream → platform ``hosted_on`` (the organization's ``website`` entity, made on first use), the
clone and each viewer ``participated_in`` it; ``livestream_status_changed`` for scheduled → started →
ended (any other transition is CONFLICT), ``livestream_interaction`` for each join, leave and chat
message; chat messages are ``message`` entities ``part_of`` the livestream; on ``end`` a ``recording``
entity and ``content_changed``; tags ``topic:*`` and ``format:live``.

When the clone co-hosts, a viewer's question (a message ending in "?", or addressed to the clone by
name or as "@clone") is answered in the chat: ``send_message`` schedules ``cohost_reply``, which asks the
chat model with the clone's prompt, grounded on its knowledge, and posts the reply once per question.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from ontology.data import counters
from ontology.data.fields import MAX_SAFE_INTEGER, Count, EntityId, IdempotencyKey, Name
from ontology.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Page, PaginationOpts, Result, entity_out
from ontology.services import grounding
from ontology.services.ontology_ops import (
    actor_for,
    by_idempotency_key,
    first_of_type,
    log_event,
    member_entity,
    message_under_key,
    now_ms,
    require_entity,
)

#: The transitions a livestream makes, in order.
NEXT = {"scheduled": "started", "started": "ended"}
MAX_TOPICS = 5
MAX_CHAT = 2_000
YEAR_MS = 366 * 24 * 3600 * 1000
#: How far in the past ``scheduledFor`` may be (clock skew between a client and the platform).
SKEW_MS = 5 * 60 * 1000

Topic = Annotated[StrictStr, Field(min_length=2, max_length=64)]


class ScheduleArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"creatorId": ENTITY_ID, "title": "Marathon Q&A", "scheduledFor": 1767225600000}]
        }
    )

    creatorId: EntityId
    title: Name
    #: when it starts, ms since the epoch (now or later, within a year)
    scheduledFor: Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)]
    cloneId: EntityId | None = None
    #: the ``topic`` tags (default: the title's longer words)
    topics: Annotated[list[Topic], Field(max_length=MAX_TOPICS)] | None = None
    idempotencyKey: IdempotencyKey | None = None


class LivestreamResult(Result):
    livestreamId: EntityId
    status: str


class ScheduleResult(LivestreamResult):
    created: bool


def _topics(title: str) -> list[str]:
    from ontology.data.search import tokenize

    return list(dict.fromkeys(t for t in tokenize(title) if len(t) >= 4))[:MAX_TOPICS]


@mutation(args=ScheduleArgs, returns=ScheduleResult, auth="org_user")
def schedule(ctx: MutationCtx, args: ScheduleArgs) -> dict[str, Any]:
    """Schedule a creator's livestream (co-hosted by ``cloneId``, an AI clone of the organization)."""
    identity = ctx.auth.require_identity()
    require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    existing = by_idempotency_key(ctx.db, "livestream", args.creatorId, args.idempotencyKey)
    if existing is not None:
        return {
            "livestreamId": existing["_id"],
            "status": existing["properties"]["streamStatus"],
            "created": False,
        }
    now = now_ms()
    if not now - SKEW_MS <= args.scheduledFor <= now + YEAR_MS:
        raise ValidationError("scheduledFor must be now or later, within a year", field="scheduledFor")
    if args.cloneId is not None:
        require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    website_id = first_of_type(
        ctx.db, "website", "Livestreams", {"purpose": "the organization's platform for livestreams"}
    )
    stream_id = ctx.db.insert(
        "entities",
        {
            "type": "livestream",
            "name": args.title,
            "status": "published",
            "properties": {
                "creatorId": args.creatorId,
                "streamStatus": "scheduled",
                "scheduledFor": args.scheduledFor,
                "websiteId": website_id,
                "viewerCount": 0,
                "peakViewers": 0,
                "messageCount": 0,
                **({"cloneId": args.cloneId} if args.cloneId else {}),
                **({"idempotencyKey": args.idempotencyKey} if args.idempotencyKey else {}),
            },
            "createdAt": now,
            "updatedAt": now,
        },
    )
    links = [(args.creatorId, stream_id, "owns"), (stream_id, website_id, "hosted_on")]
    if args.cloneId is not None:
        links.append((args.cloneId, stream_id, "participated_in"))
    for source, target, kind in links:
        ctx.db.insert(
            "connections",
            {
                "fromEntityId": source,
                "toEntityId": target,
                "relationshipType": kind,
                **({"metadata": {"role": "cohost"}} if kind == "participated_in" else {}),
                "createdAt": now,
            },
        )
    for topic in dict.fromkeys(t.lower() for t in (args.topics or _topics(args.title))):
        ctx.db.insert("tags", {"entityId": stream_id, "key": "topic", "value": topic})
    ctx.db.insert("tags", {"entityId": stream_id, "key": "format", "value": "live"})
    log_event(
        ctx.db,
        "livestream_status_changed",
        actor_id=actor_for(identity, args.creatorId),
        target_id=stream_id,
        timestamp=now,
        metadata={"from": None, "to": "scheduled", "scheduledFor": args.scheduledFor},
    )
    return {"livestreamId": stream_id, "status": "scheduled", "created": True}


class StreamArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"livestreamId": OTHER_ENTITY_ID}]})

    livestreamId: EntityId


def _stream(db: Any, stream_id: str, *, checked: bool = True) -> dict[str, Any]:
    """The livestream, or NOT_FOUND. ``checked=False``: read without conditioning the commit on it
    (the chat's messages, which every viewer sends at once: see ``post``)."""
    return require_entity(db, stream_id, field="livestreamId", kind="livestream", checked=checked)


def _transition(ctx: MutationCtx, stream: dict[str, Any], to: str, **props: Any) -> int:
    """Move the stream to ``to`` (CONFLICT unless it is the next status) and log the change."""
    current = stream["properties"]["streamStatus"]
    if NEXT.get(current) != to:
        raise ConflictError(f"A livestream that is {current} cannot be {to}", field="livestreamId")
    now = now_ms()
    properties = {**stream["properties"], **props, "streamStatus": to}
    ctx.db.patch(stream["_id"], {"properties": properties, "updatedAt": now}, "entities")
    log_event(
        ctx.db,
        "livestream_status_changed",
        actor_id=actor_for(ctx.auth.require_identity(), stream["properties"]["creatorId"]),
        target_id=stream["_id"],
        timestamp=now,
        metadata={"from": current, "to": to},
    )
    return now


@mutation(args=StreamArgs, returns=LivestreamResult, auth="org_user")
def start(ctx: MutationCtx, args: StreamArgs) -> dict[str, Any]:
    """Go live: scheduled → started (CONFLICT from any other status)."""
    _transition(ctx, _stream(ctx.db, args.livestreamId), "started", startedAt=now_ms())
    return {"livestreamId": args.livestreamId, "status": "started"}


class EndResult(LivestreamResult):
    recordingId: EntityId


@mutation(args=StreamArgs, returns=EndResult, auth="org_user")
def end(ctx: MutationCtx, args: StreamArgs) -> dict[str, Any]:
    """End the stream: started → ended (CONFLICT otherwise), its ``recording`` and ``content_changed``."""
    from ontology.data.keys import new_id

    stream = _stream(ctx.db, args.livestreamId)
    props = stream["properties"]
    recording_id = new_id("entities")
    now = _transition(ctx, stream, "ended", endedAt=now_ms(), recordingId=recording_id, viewerCount=0)
    # no message counts after this commits: one racing it fails its condition and sees the end
    counters.seal(ctx.db, args.livestreamId, "messageCount")
    ctx.db.insert(
        "entities",
        {
            "type": "recording",
            "name": f"{stream['name']} (recording)"[:512],
            "status": "published",
            "properties": {
                "livestreamId": args.livestreamId,
                "creatorId": props["creatorId"],
                "startedAt": props.get("startedAt", now),
                "endedAt": now,
                "durationMs": now - int(props.get("startedAt", now)),
                # read from the stream's counter whenever the recording is read (docs/data-model.md)
                "messageCount": counters.count(ctx.db, stream, "messageCount"),
                "peakViewers": props.get("peakViewers", 0),
            },
            "createdAt": now,
            "updatedAt": now,
        },
        doc_id=recording_id,
    )
    log_event(
        ctx.db,
        "content_changed",
        actor_id=props["creatorId"],
        target_id=recording_id,
        timestamp=now,
        metadata={"action": "recording_created", "livestreamId": args.livestreamId},
    )
    return {"livestreamId": args.livestreamId, "status": "ended", "recordingId": recording_id}


def _viewer(ctx: Any) -> str:
    return member_entity(ctx.auth.require_identity(), "watch with")


def _presence(db: Any, viewer: str, stream_id: str) -> dict[str, Any] | None:
    triple = {"fromEntityId": viewer, "toEntityId": stream_id, "relationshipType": "participated_in"}
    return db.lookup_unique("connections", "triple", triple)  # type: ignore[no-any-return]


class PresenceResult(Result):
    livestreamId: EntityId
    changed: bool
    viewerCount: Count


def _interaction(db: Any, viewer: str, stream_id: str, action_name: str, now: int, **meta: Any) -> None:
    log_event(
        db,
        "livestream_interaction",
        actor_id=viewer,
        target_id=stream_id,
        timestamp=now,
        metadata={"action": action_name, **meta},
    )


@mutation(args=StreamArgs, returns=PresenceResult)
def join(ctx: MutationCtx, args: StreamArgs) -> dict[str, Any]:
    """Join as a viewer (scheduled or live; CONFLICT once it has ended). Joining again while present
    changes nothing."""
    viewer = _viewer(ctx)
    stream = _stream(ctx.db, args.livestreamId)
    props = stream["properties"]
    if props["streamStatus"] == "ended":
        raise ConflictError("This livestream has ended", field="livestreamId")
    presence = _presence(ctx.db, viewer, args.livestreamId)
    if presence is not None and (presence.get("metadata") or {}).get("present"):
        return {"livestreamId": args.livestreamId, "changed": False, "viewerCount": props["viewerCount"]}
    now = now_ms()
    metadata = {"role": "viewer", "present": True, "joinedAt": now}
    if presence is None:
        ctx.db.insert(
            "connections",
            {
                "fromEntityId": viewer,
                "toEntityId": args.livestreamId,
                "relationshipType": "participated_in",
                "metadata": metadata,
                "createdAt": now,
            },
        )
    else:
        ctx.db.patch(
            presence["_id"], {"metadata": {**presence.get("metadata", {}), **metadata}}, "connections"
        )
    count = int(props["viewerCount"]) + 1
    new_props = {**props, "viewerCount": count, "peakViewers": max(count, int(props["peakViewers"]))}
    ctx.db.patch(args.livestreamId, {"properties": new_props, "updatedAt": now}, "entities")
    _interaction(ctx.db, viewer, args.livestreamId, "joined", now)
    return {"livestreamId": args.livestreamId, "changed": True, "viewerCount": count}


@mutation(args=StreamArgs, returns=PresenceResult)
def leave(ctx: MutationCtx, args: StreamArgs) -> dict[str, Any]:
    """Leave (leaving when not present changes nothing)."""
    viewer = _viewer(ctx)
    stream = _stream(ctx.db, args.livestreamId)
    props = stream["properties"]
    presence = _presence(ctx.db, viewer, args.livestreamId)
    if presence is None or not (presence.get("metadata") or {}).get("present"):
        return {"livestreamId": args.livestreamId, "changed": False, "viewerCount": props["viewerCount"]}
    now = now_ms()
    metadata = {**presence["metadata"], "present": False, "leftAt": now}
    ctx.db.patch(presence["_id"], {"metadata": metadata}, "connections")
    count = max(0, int(props["viewerCount"]) - 1)
    ctx.db.patch(
        args.livestreamId, {"properties": {**props, "viewerCount": count}, "updatedAt": now}, "entities"
    )
    _interaction(ctx.db, viewer, args.livestreamId, "left", now)
    return {"livestreamId": args.livestreamId, "changed": True, "viewerCount": count}


# ------------------------------------------------------------------------------------------- chat


class SendArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"livestreamId": OTHER_ENTITY_ID, "text": "What pace for a first marathon?"}]
        }
    )

    livestreamId: EntityId
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_CHAT)]
    #: the same key again answers the message already sent
    idempotencyKey: IdempotencyKey | None = None


class SendResult(Result):
    livestreamId: EntityId
    messageId: EntityId
    cohostReplying: bool


def is_question_for(text: str, clone_name: str) -> bool:
    """A question for the co-host: it ends in "?", or names the clone ("@clone", "@Ada", "Ada, …")."""
    lowered = text.strip().lower()
    first = clone_name.split(maxsplit=1)[0].lower() if clone_name.split() else ""
    return (
        lowered.endswith("?")
        or "@clone" in lowered
        or (bool(first) and (f"@{first}" in lowered or lowered.startswith(first + ",")))
    )


@mutation(args=SendArgs, returns=SendResult)
def send_message(ctx: MutationCtx, args: SendArgs) -> dict[str, Any]:
    """Chat in a live stream (its viewers who are present, and the organization's staff): a ``message``
    ``part_of`` the livestream and ``livestream_interaction``; a question for the co-host schedules
    its reply."""
    from ontology.auth.identity import has_role
    from ontology.data.search import tokenize

    sender = _viewer(ctx)
    # Read, not depended on: every viewer's message reads the stream, and none of them conflicts
    # with another on it. What it takes from it stays (its clone) or is settled by the counter: a
    # message racing the stream's end fails on the sealed count, and its retry sees the end.
    stream = _stream(ctx.db, args.livestreamId, checked=False)
    props = stream["properties"]
    if args.idempotencyKey is not None:
        sent = message_under_key(ctx.db, sender, args.idempotencyKey)
        if sent is not None:
            return {"livestreamId": args.livestreamId, "messageId": sent["_id"], "cohostReplying": False}
    if not tokenize(args.text):
        raise ValidationError("the message has no words", field="text")
    if props["streamStatus"] != "started":
        raise ConflictError(f"The chat is open while the stream is live (it is {props['streamStatus']})")
    presence = _presence(ctx.db, sender, args.livestreamId)
    present = presence is not None and (presence.get("metadata") or {}).get("present")
    if not present and not has_role(ctx.auth.require_identity(), "org_user"):
        raise ForbiddenError("Join the livestream to chat in it")
    now = now_ms()
    message_id = post(
        ctx.db,
        args.livestreamId,
        sender,
        args.text,
        now,
        idempotency_key=args.idempotencyKey,
    )
    clone_id = props.get("cloneId")
    replying = False
    if clone_id and sender != clone_id:
        clone = ctx.db.get(clone_id, "entities", checked=False)
        if clone is not None and is_question_for(args.text, clone["name"]):
            ctx.scheduler.run_after(
                0, cohost_reply, {"livestreamId": args.livestreamId, "messageId": message_id}
            )
            replying = True
    return {"livestreamId": args.livestreamId, "messageId": message_id, "cohostReplying": replying}


def post(
    db: Any,
    stream_id: str,
    sender: str,
    text: str,
    now: int,
    *,
    idempotency_key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A chat message: the ``message`` entity ``part_of`` the livestream, ``livestream_interaction``,
    one more in the stream's message count (a counter: the stream's document is not written)."""
    properties: dict[str, Any] = {
        "senderId": sender,
        "text": text,
        "livestreamId": stream_id,
        **(extra or {}),
    }
    if idempotency_key is not None:
        properties["idempotencyKey"] = idempotency_key
    message_id = db.insert(
        "entities",
        {
            "type": "message",
            "name": text[:80],
            "status": "active",
            "properties": properties,
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "connections",
        {
            "fromEntityId": message_id,
            "toEntityId": stream_id,
            "relationshipType": "part_of",
            "createdAt": now,
        },
    )
    _interaction(db, sender, stream_id, "message", now, messageId=message_id)
    counters.add(db, stream_id, "messageCount", 1)
    return str(message_id)


class ReplyArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"livestreamId": OTHER_ENTITY_ID, "messageId": ENTITY_ID}]}
    )

    livestreamId: EntityId
    messageId: EntityId


def _reply_key(message_id: str) -> str:
    return f"reply-to-{message_id}"


@query(args=ReplyArgs, internal=True)
def reply_context(ctx: QueryCtx, args: ReplyArgs) -> dict[str, Any]:
    """What the co-host needs to answer ``messageId``: ``todo`` false when it has answered already (or
    the stream is no longer live), else the clone's prompt and the chat's last messages."""
    stream = _stream(ctx.db, args.livestreamId)
    clone_id = stream["properties"].get("cloneId")
    question = ctx.db.get(args.messageId, "entities", field="messageId")
    if question is None or question["type"] != "message" or not clone_id:
        raise NotFoundError("Message not found", id=args.messageId)
    answered = message_under_key(ctx.db, clone_id, _reply_key(args.messageId))
    if answered is not None or stream["properties"]["streamStatus"] != "started":
        return {"todo": False}
    clone = require_entity(ctx.db, clone_id, field="cloneId", kind="ai_clone")
    history = grounding.conversation_history(
        ctx.db, args.livestreamId, clone_id, leave_out=args.messageId, quote_others=True
    )
    return {
        "todo": True,
        "cloneId": clone_id,
        "systemPrompt": clone["properties"]["systemPrompt"]
        + f"\n\nYou are co-hosting the livestream {stream['name']!r}; answer the viewer briefly."
        + grounding.QUOTED_RULE,
        "temperature": clone["properties"].get("temperature", 0.7),
        "history": history,
        "question": grounding.quoted(question["properties"]["text"]),
    }


@action(args=ReplyArgs, internal=True, uses=("vectors",))
def cohost_reply(ctx: ActionCtx, args: ReplyArgs) -> dict[str, Any]:
    """The co-host's answer to a viewer's question, grounded on the clone's knowledge, posted once."""
    context = ctx.run_query(reply_context, args.model_dump())
    if not context["todo"]:
        return {"posted": False}
    reply, sources = grounding.grounded_reply(
        ctx,
        context["cloneId"],
        system_prompt=context["systemPrompt"],
        temperature=float(context["temperature"]),
        history=context["history"],
        message=context["question"],
    )
    return dict(
        ctx.run_mutation(
            post_reply,
            {
                **args.model_dump(),
                "text": (reply.content or "…")[: MAX_CHAT * 2],
                "sourceIds": [s["knowledgeItemId"] for s in sources],
            },
        )
    )


class PostReplyArgs(ReplyArgs):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"livestreamId": OTHER_ENTITY_ID, "messageId": ENTITY_ID, "text": "Start slow."}]
        }
    )

    text: Annotated[StrictStr, Field(min_length=1, max_length=4_000)]
    sourceIds: Annotated[list[EntityId], Field(max_length=10)] = Field(default_factory=list)


@mutation(args=PostReplyArgs, internal=True)
def post_reply(ctx: MutationCtx, args: PostReplyArgs) -> dict[str, Any]:
    """The co-host's reply in the chat, once per question (a unique rule on the clone's reply key)."""
    stream = _stream(ctx.db, args.livestreamId, checked=False)  # as a viewer's message reads it
    clone_id = stream["properties"].get("cloneId")
    if not clone_id or stream["properties"]["streamStatus"] != "started":
        return {"posted": False}
    key = _reply_key(args.messageId)
    answered = message_under_key(ctx.db, clone_id, key)
    if answered is not None:
        return {"posted": False, "messageId": answered["_id"]}
    message_id = post(
        ctx.db,
        args.livestreamId,
        clone_id,
        args.text,
        now_ms(),
        idempotency_key=key,
        extra={"inReplyTo": args.messageId, "sourceIds": args.sourceIds},
    )
    return {"posted": True, "messageId": message_id}


class ChatArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"livestreamId": OTHER_ENTITY_ID, "paginationOpts": FIRST_PAGE}]}
    )

    livestreamId: EntityId
    paginationOpts: PaginationOpts


@query(args=ChatArgs, returns=Page[entity_out("message")])  # type: ignore[misc]
def chat(ctx: QueryCtx, args: ChatArgs) -> dict[str, Any]:
    """The livestream's chat, oldest first, a page at a time (its participants and the organization's
    staff); reactive over the sync protocol like any query."""
    from ontology.auth.identity import has_role

    identity = ctx.auth.require_identity()
    stream = ctx.db.get(args.livestreamId, "entities", field="livestreamId")
    empty = {"page": [], "isDone": True, "continueCursor": ""}
    if stream is None or stream["type"] != "livestream":
        return empty
    if not has_role(identity, "org_user") and (
        not identity.entityId or _presence(ctx.db, identity.entityId, args.livestreamId) is None
    ):
        return empty
    page: dict[str, Any] = grounding.message_page(ctx.db, args.livestreamId, args.paginationOpts.model_dump())
    return page


@query(args=StreamArgs, returns=entity_out("livestream") | None, auth="public")
def get(ctx: QueryCtx, args: StreamArgs) -> dict[str, Any] | None:
    """The livestream (its ``streamStatus``, viewers, recording); null when the caller may not see
    it. Anyone reads a scheduled or live livestream's page by its id."""
    stream = ctx.db.get(args.livestreamId, "entities", field="livestreamId")
    if stream is None or stream["type"] != "livestream":
        return None
    return dict(stream)
