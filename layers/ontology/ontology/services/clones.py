"""AI clones: a creator's clone made and trained on what the creator authored, the agent that runs
it, its ``status`` tags, and what its voice and appearance clonings recorded. The ``clones:`` functions
stand on it, and a course's generation names the agent.

Training, as the reference's "AI Clone Creation" has it: each piece of the creator's authored content
a ``knowledge_item`` (clone → item ``trained_on``) with its text as knowledge chunks the clone owns,
then the clone's ``knowledgeBaseSize`` and ``lastTrainingDate``, ``status:active`` and the agent that
runs it (``powers``). Each step is its own transaction and idempotent.

Example::

    clone_id = new_clone(ctx.db, creator, actor_id=actor)
    agent_id = organization_agent(ctx.db)
"""

from __future__ import annotations

from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.errors import NotFoundError
from ontology.services.knowledge import Chunk, insert_chunks
from ontology.services.ontology_ops import first_of_type, log_event, now_ms, require_entity

__all__ = [
    "CLONE_STATUSES",
    "INHERITED_TAGS",
    "ITEMS_PER_RUN",
    "add_knowledge_item",
    "agent_of",
    "clone_of_creator",
    "finish_training",
    "new_clone",
    "organization_agent",
    "recent_events",
    "record_on_clone",
    "set_status_tag",
    "tags_of",
    "text_of",
    "untrained_content",
]

#: The ``status`` tags of a clone, one at a time.
CLONE_STATUSES = ("training", "active")
#: The creator's tags a clone inherits (the reference's "Tags Added").
INHERITED_TAGS = ("industry", "skill")
#: Content items trained per run of clones:train (a larger catalogue is trained over several runs).
ITEMS_PER_RUN = 40
MAX_ITEM_TEXT = 40_000


def organization_agent(db: DatabaseWriter) -> str:
    """The organization's ``intelligence_agent`` (the first one), created when it has none."""
    return first_of_type(
        db, "intelligence_agent", "Intelligence agent", {"role": "runs the organization's AI clones"}
    )


def agent_of(db: DatabaseWriter, clone_id: str) -> str:
    """The agent that runs the clone (its ``powers`` connection), else the organization's own."""
    powers = (
        db.query("connections")
        .with_index("to_type", lambda q: q.eq("toEntityId", clone_id).eq("relationshipType", "powers"))
        .first()
    )
    return str(powers["fromEntityId"]) if powers is not None else organization_agent(db)


def tags_of(db: DatabaseReader, entity_id: str) -> list[Doc]:
    return list(db.query("tags").with_index("by_entity", lambda q: q.eq("entityId", entity_id)).collect())


def set_status_tag(db: DatabaseWriter, entity_id: str, status: str) -> None:
    """The clone's ``status`` tag set to ``status``, its other statuses removed."""
    # The clone's other statuses through their guards (consistent): the entity's tags index may not
    # show the tag put a moment ago (``training``, by the create that scheduled this training).
    for other in CLONE_STATUSES:
        if other != status:
            tag = db.lookup_unique("tags", "tag", {"entityId": entity_id, "key": "status", "value": other})
            if tag is not None:
                db.delete(tag["_id"], "tags")
    for tag in tags_of(db, entity_id):
        if tag["key"] == "status" and tag["value"] not in (status, *CLONE_STATUSES):
            db.delete(tag["_id"], "tags")
    if db.lookup_unique("tags", "tag", {"entityId": entity_id, "key": "status", "value": status}) is None:
        db.insert("tags", {"entityId": entity_id, "key": "status", "value": status})


def recent_events(db: DatabaseReader, clone_id: str, event: str) -> list[dict[str, Any]]:
    """The metadata of the clone's last 20 ``event`` events, latest first (what earlier voice or
    appearance clonings made, so the same request again answers the same)."""
    done = (
        db.query("events")
        .with_index("by_target_type", lambda q: q.eq("targetId", clone_id).eq("type", event))
        .order("desc")
        .take(20)
    )
    return [e["metadata"] for e in done]


def record_on_clone(
    db: DatabaseWriter, clone_id: str, props: dict[str, Any], event: str, metadata: dict[str, Any]
) -> None:
    """``props`` onto the clone's properties and ``event`` logged, in one transaction."""
    clone = require_entity(db, clone_id, field="cloneId", kind="ai_clone")
    now = now_ms()
    db.patch(clone_id, {"properties": {**clone["properties"], **props}, "updatedAt": now}, "entities")
    actor = clone["properties"].get("creatorId") or clone_id
    log_event(db, event, actor_id=actor, target_id=clone_id, timestamp=now, metadata=metadata)


def clone_of_creator(db: DatabaseReader, creator_id: str) -> Doc | None:
    """The creator's clone (one per creator), or None."""
    return db.lookup_unique(
        "entities", "clone_of_creator", {"type": "ai_clone", "properties": {"creatorId": creator_id}}
    )


def default_prompt(creator: Doc) -> str:
    props = creator.get("properties", {})
    who = props.get("displayName") or creator["name"]
    niche = ", ".join(props.get("niche") or []) or "their field"
    return (
        f"You are the AI clone of {who}, a creator in {niche}. Answer as {who} would, in the first "
        "person, grounded in what they have written; say so when you do not know."
    )


def new_clone(
    db: DatabaseWriter,
    creator: Doc,
    *,
    actor_id: str,
    name: str | None = None,
    system_prompt: str | None = None,
    temperature: float | None = None,
) -> str:
    """The creator's clone, as the reference's "AI Clone Creation" writes it: the ``ai_clone`` entity,
    creator → clone ``owns``, ``clone_created``, the creator's inherited tags and ``status:training``."""
    now = now_ms()
    clone_id = db.insert(
        "entities",
        {
            "type": "ai_clone",
            "name": name or f"{creator['name']} (AI clone)",
            "status": "draft",
            "properties": {
                "systemPrompt": system_prompt or default_prompt(creator),
                "temperature": 0.7 if temperature is None else temperature,
                "knowledgeBaseSize": 0,
                "lastTrainingDate": 0,
                "totalInteractions": 0,
                "satisfactionScore": 0,
                "creatorId": creator["_id"],
            },
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "connections",
        {
            "fromEntityId": creator["_id"],
            "toEntityId": clone_id,
            "relationshipType": "owns",
            "createdAt": now,
        },
    )
    log_event(
        db,
        "clone_created",
        actor_id=actor_id,
        target_id=clone_id,
        timestamp=now,
        metadata={"creatorId": creator["_id"]},
    )
    for tag in tags_of(db, creator["_id"]):
        if tag["key"] in INHERITED_TAGS:
            db.insert("tags", {"entityId": clone_id, "key": tag["key"], "value": tag["value"]})
    db.insert("tags", {"entityId": clone_id, "key": "status", "value": "training"})
    return str(clone_id)


def text_of(item: Doc) -> str:
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


def untrained_content(db: DatabaseReader, clone_id: str) -> dict[str, Any]:
    """The creator's authored content the clone is not trained on yet (at most ITEMS_PER_RUN items,
    each ``{contentId, title, text}``), and whether ``more`` waits for another run."""
    clone = require_entity(db, clone_id, field="cloneId", kind="ai_clone")
    creator_id = clone["properties"].get("creatorId")
    if not creator_id:
        raise NotFoundError("the clone has no creator", id=clone_id)
    authored = (
        db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "authored")
        )
        .collect()
    )
    trained = (
        db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", clone_id).eq("relationshipType", "trained_on")
        )
        .collect()
    )
    known = {
        item["properties"].get("contentId")
        for item in db.get_many([c["toEntityId"] for c in trained], "entities")
        if item is not None
    }
    todo = [c["toEntityId"] for c in authored if c["toEntityId"] not in known][:ITEMS_PER_RUN]
    items = [d for d in db.get_many(todo, "entities") if d is not None and d.get("status") != "archived"]
    return {
        "creatorId": creator_id,
        "items": [{"contentId": d["_id"], "title": d["name"], "text": text_of(d)} for d in items],
        "more": len(authored) - len(known) > len(todo),
    }


def add_knowledge_item(
    db: DatabaseWriter, clone_id: str, content_id: str, title: str, chunks: list[Chunk]
) -> dict[str, Any]:
    """One content item into the clone's knowledge: the ``knowledge_item`` entity, clone → item
    ``trained_on``, the chunks (owned by the clone), the clone's count. Once per item: again, it
    answers the same item (``created`` false)."""
    existing = db.lookup_unique(
        "entities",
        "trained_item",
        {"type": "knowledge_item", "properties": {"cloneId": clone_id, "contentId": content_id}},
    )
    if existing is not None:
        return {"knowledgeItemId": existing["_id"], "created": False}
    now = now_ms()
    item_id = db.insert(
        "entities",
        {
            "type": "knowledge_item",
            "name": title,
            "status": "active",
            "properties": {"cloneId": clone_id, "contentId": content_id, "chunks": len(chunks)},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "connections",
        {"fromEntityId": clone_id, "toEntityId": item_id, "relationshipType": "trained_on", "createdAt": now},
    )
    insert_chunks(
        db, item_id, chunks, labels={"contentId": content_id, "title": title[:512]}, owner_id=clone_id
    )
    # counted here, in the item's transaction: an index read right after training may not show it yet
    clone = require_entity(db, clone_id, field="cloneId", kind="ai_clone")
    size = int(clone["properties"].get("knowledgeBaseSize", 0)) + 1
    db.patch(clone_id, {"properties": {**clone["properties"], "knowledgeBaseSize": size}}, "entities")
    return {"knowledgeItemId": item_id, "created": True}


def finish_training(db: DatabaseWriter, clone_id: str, agent_id: str | None = None) -> dict[str, Any]:
    """The clone's knowledge size and training date, ``status:active``, and its agent (``powers``;
    the organization's own when none is given)."""
    clone = require_entity(db, clone_id, field="cloneId", kind="ai_clone")
    # Each item counted itself as it was added (consistent); the index counts items made before
    # that, but may not show the last ones yet: the larger is right.
    indexed = (
        db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", clone_id).eq("relationshipType", "trained_on")
        )
        .count()
    )
    size = max(indexed, int(clone["properties"].get("knowledgeBaseSize", 0)))
    now = now_ms()
    props = {**clone["properties"], "knowledgeBaseSize": size, "lastTrainingDate": now}
    db.patch(clone_id, {"properties": props, "status": "active", "updatedAt": now}, "entities")
    set_status_tag(db, clone_id, "active")
    agent_id = agent_id or organization_agent(db)
    triple = {"fromEntityId": agent_id, "toEntityId": clone_id, "relationshipType": "powers"}
    if db.lookup_unique("connections", "triple", triple) is None:
        db.insert("connections", {**triple, "createdAt": now})
    return {"cloneId": clone_id, "knowledgeBaseSize": size, "agentId": agent_id}
