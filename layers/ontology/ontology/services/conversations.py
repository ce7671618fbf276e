"""A clone's conversations: a chat turn (the participant's message and the clone's reply) recorded
whole in one transaction, the turn recorded under a client's idempotency key, and the check that a
conversation is this participant's with this clone.

Example::

    turn = record_exchange(ctx.db, clone_id=clone, participant_id=me, conversation_id=None,
                           message="How do I pace?", reply="Start slow.")
"""

from __future__ import annotations

from typing import Any

from ontology.data import counters
from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.keys import new_id
from ontology.errors import NotFoundError
from ontology.services.ontology_ops import log_event, message_under_key, now_ms, require_entity

__all__ = ["record_exchange", "recorded_turn", "require_conversation"]


def recorded_turn(db: DatabaseReader, participant: str, key: str) -> dict[str, Any] | None:
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


def require_conversation(db: DatabaseReader, conversation_id: str, participant: str, clone_id: str) -> Doc:
    """The conversation, when both the participant and the clone ``participated_in`` it (else
    NOT_FOUND)."""
    conversation = require_entity(db, conversation_id, field="conversationId", kind="conversation")
    for who in (participant, clone_id):
        triple = {"fromEntityId": who, "toEntityId": conversation_id, "relationshipType": "participated_in"}
        if db.lookup_unique("connections", "triple", triple) is None:
            raise NotFoundError("Conversation not found", id=conversation_id)
    return conversation


def _new_conversation(db: DatabaseWriter, clone_id: str, participant: str, title: str, now: int) -> str:
    conversation_id = db.insert(
        "entities",
        {
            "type": "conversation",
            "name": title[:80],
            "status": "active",
            "properties": {"cloneId": clone_id, "startedBy": participant},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    for who in (participant, clone_id):
        db.insert(
            "connections",
            {
                "fromEntityId": who,
                "toEntityId": conversation_id,
                "relationshipType": "participated_in",
                "createdAt": now,
            },
        )
    return str(conversation_id)


def record_exchange(
    db: DatabaseWriter,
    *,
    clone_id: str,
    participant_id: str,
    conversation_id: str | None,
    message: str,
    reply: str,
    model: str = "",
    sources: list[dict[str, Any]] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The message and the reply (``message`` entities ``part_of`` the conversation, made on first
    use), ``clone_interaction``, one more in the clone's interaction count (a counter): a turn
    recorded whole or not at all. A turn already
    recorded under the idempotency key is answered, ``replayed``, and nothing is written."""
    if idempotency_key is not None:
        recorded = recorded_turn(db, participant_id, idempotency_key)
        if recorded is not None:
            return {**recorded, "replayed": True}
    now = now_ms()
    # read, not depended on: every chat with the clone reads it, and none conflicts with another on it
    require_entity(db, clone_id, field="cloneId", kind="ai_clone", checked=False)
    if conversation_id is None:
        conversation_id = _new_conversation(db, clone_id, participant_id, message, now)
    else:
        require_conversation(db, conversation_id, participant_id, clone_id)
    ids = [new_id("entities"), new_id("entities")]
    sources = sources or []
    source_ids = [s["knowledgeItemId"] for s in sources]
    for offset, (sender, text) in enumerate(((participant_id, message), (clone_id, reply))):
        # the conversation it belongs to: its participants (and only they) read it (docs/auth.md)
        properties: dict[str, Any] = {"senderId": sender, "text": text, "conversationId": conversation_id}
        if sender == clone_id:
            properties |= {"model": model, "sourceIds": source_ids, "sources": sources}
        elif idempotency_key is not None:
            properties |= {"idempotencyKey": idempotency_key, "replyId": ids[1]}
        message_id = db.insert(
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
        db.insert(
            "connections",
            {
                "fromEntityId": message_id,
                "toEntityId": conversation_id,
                "relationshipType": "part_of",
                "createdAt": now + offset,
            },
        )
    log_event(
        db,
        "clone_interaction",
        actor_id=participant_id,
        target_id=clone_id,
        timestamp=now,
        metadata={
            "conversationId": conversation_id,
            "messageId": ids[0],
            "replyId": ids[1],
            "sources": source_ids,
        },
    )
    counters.add(db, clone_id, "totalInteractions", 1)  # a counter: the clone's document is not written
    return {"conversationId": conversation_id, "messageId": ids[0], "replyId": ids[1]}
