"""Talking with a clone: ``clones:chat`` answers from the chat model with the clone's prompt, grounded
on its own knowledge, and records the turn in a conversation; ``clones:messages`` pages through one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId, IdempotencyKey
from ontology.errors import ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Page, PaginationOpts, Result, entity_out
from ontology.services import conversations, grounding
from ontology.services.ontology_ops import member_entity, require_entity

MAX_MESSAGE = 4_000


class ChatArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cloneId": OTHER_ENTITY_ID, "message": "How do I pace my first marathon?"}]
        }
    )

    cloneId: EntityId
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE)]
    conversationId: EntityId | None = None
    #: the client's key for this turn: the same key again answers the turn already recorded (a retry
    #: after a lost response asks the model nothing and records nothing twice)
    idempotencyKey: IdempotencyKey | None = None


class Source(Result):
    knowledgeItemId: EntityId
    contentId: EntityId | None = None
    title: str | None = None
    text: str
    score: float


class ChatResult(Result):
    conversationId: EntityId
    messageId: EntityId
    replyId: EntityId
    reply: str
    sources: list[Source]


class ContextArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID, "participantId": ENTITY_ID}]}
    )

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
        context["replay"] = conversations.recorded_turn(ctx.db, args.participantId, args.idempotencyKey)
        if context["replay"] is not None:
            return context
    if args.conversationId is not None:
        conversations.require_conversation(ctx.db, args.conversationId, args.participantId, args.cloneId)
        context["history"] = grounding.conversation_history(ctx.db, args.conversationId, args.cloneId)
    return context


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"cloneId": OTHER_ENTITY_ID, "participantId": ENTITY_ID, "message": "Hi", "reply": "Hello"}
            ]
        }
    )

    cloneId: EntityId
    participantId: EntityId
    conversationId: EntityId | None = None
    message: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE)]
    reply: Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE * 4)]
    model: Annotated[StrictStr, Field(max_length=100)] = ""
    sources: Annotated[list[Source], Field(max_length=grounding.SOURCES)] = Field(default_factory=list)
    idempotencyKey: IdempotencyKey | None = None


@mutation(args=ExchangeArgs, internal=True)
def record_exchange(ctx: MutationCtx, args: ExchangeArgs) -> dict[str, Any]:
    """The message and the reply (and the conversation, on first use), the interaction, the count:
    one transaction, so a chat is recorded whole or not at all (a turn already recorded under the
    idempotency key is answered, ``replayed``, and nothing is written)."""
    return conversations.record_exchange(
        ctx.db,
        clone_id=args.cloneId,
        participant_id=args.participantId,
        conversation_id=args.conversationId,
        message=args.message,
        reply=args.reply,
        model=args.model,
        sources=[s.model_dump(exclude_none=True) for s in args.sources],
        idempotency_key=args.idempotencyKey,
    )


class MessagesArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"conversationId": OTHER_ENTITY_ID, "paginationOpts": FIRST_PAGE}]}
    )

    conversationId: EntityId
    paginationOpts: PaginationOpts


@query(args=MessagesArgs, returns=Page[entity_out("message")])  # type: ignore[misc]
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
