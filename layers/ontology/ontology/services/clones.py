"""AI clones: the agent that runs them, their ``status`` tags, and what their voice and appearance
clonings recorded. The ``clones:`` functions stand on it, and a course's generation names the agent.

Example::

    agent_id = organization_agent(ctx.db)
    set_status_tag(ctx.db, clone_id, "active")
"""

from __future__ import annotations

from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.services.ontology_ops import first_of_type, log_event, now_ms, require_entity

__all__ = [
    "CLONE_STATUSES",
    "agent_of",
    "organization_agent",
    "recent_events",
    "record_on_clone",
    "set_status_tag",
    "tags_of",
]

#: The ``status`` tags of a clone, one at a time.
CLONE_STATUSES = ("training", "active")


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
