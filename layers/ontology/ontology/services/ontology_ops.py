"""Operations on the ontology that several functions share: event logging, typed lookups, actors.

Every significant write logs its event in the same transaction (the reference's best practice 6).
"""

from __future__ import annotations

from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.keys import now_ms
from ontology.data.schema import RESERVED_PROPERTY_KEYS
from ontology.errors import ForbiddenError, NotFoundError, ValidationError

__all__ = [
    "MANAGED_ENTITY_TYPES",
    "MANAGED_RELATIONSHIPS",
    "PURCHASE_EVENTS",
    "actor_for",
    "by_idempotency_key",
    "entity_of_type",
    "first_of_type",
    "log_event",
    "member_entity",
    "message_under_key",
    "now_ms",
    "require_entity",
    "sees_purchase",
]

#: Entities only their own functions write: a token and its contract exist once deployed on chain, a
#: purchase is the saga's record (its state decides what is charged, minted and credited).
MANAGED_ENTITY_TYPES = {
    "token": "tokens:create",
    "token_contract": "tokens:create",
    "payment": "tokens:purchase",
    "ai_clone": "clones:create",
    "knowledge_item": "clones:create (its training)",
}
#: Events that tell one buyer's purchases (amounts, Stripe ids): for the buyer and the staff only
#: (the events' visibility rule, ontology.data.visibility, shows a customer only their own events).
PURCHASE_EVENTS = frozenset({"payment_processed", "tokens_purchased", "revenue_generated"})


def sees_purchase(identity: Any, buyer_id: str | None) -> bool:
    """Whether ``identity`` may read a purchase of ``buyer_id``: the buyer, or an org user or owner."""
    from ontology.auth.identity import has_role

    if has_role(identity, "org_user"):
        return True
    return buyer_id is not None and buyer_id == getattr(identity, "entityId", None)


#: Connections only the ledger writes: balances change through purchases, transfers and enrollments.
MANAGED_RELATIONSHIPS = {"holds_tokens": "tokens:purchase and tokens:transfer"}


def log_event(
    db: DatabaseWriter,
    type_: str,
    *,
    actor_id: str,
    target_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    timestamp: int | None = None,
) -> str:
    doc: dict[str, Any] = {
        "type": type_,
        "actorId": actor_id,
        "timestamp": timestamp or now_ms(),
        "metadata": metadata or {},
    }
    if target_id:
        doc["targetId"] = target_id
    return db.insert("events", doc)


def require_entity(
    db: DatabaseReader, entity_id: str, *, field: str = "id", kind: str | None = None, checked: bool = True
) -> Doc:
    """The entity, or NOT_FOUND (also when it belongs to another organization, or has another type).
    ``checked=False``: a mutation's read its commit does not depend on (``DatabaseReader.get``)."""
    doc = db.get(entity_id, "entities", field=field, checked=checked)
    if doc is None or (kind is not None and doc["type"] != kind):
        raise NotFoundError(f"{(kind or 'entity').replace('_', ' ').capitalize()} not found", id=entity_id)
    return doc


def entity_of_type(db: DatabaseReader, entity_id: str, kind: str, *, field: str = "id") -> Doc | None:
    doc = db.get(entity_id, "entities", field=field)
    return doc if doc is not None and doc["type"] == kind else None


def member_entity(identity: Any, purpose: str) -> str:
    """The caller's own entity in the organization, or FORBIDDEN ("… no entity … to <purpose>")."""
    entity_id = getattr(identity, "entityId", None)
    if not entity_id:
        raise ForbiddenError(f"Your account has no entity in this organization to {purpose}")
    return str(entity_id)


def first_of_type(db: DatabaseWriter, kind: str, name: str, properties: dict[str, Any]) -> str:
    """The organization's own entity of ``kind`` (its agent, its website), made when it has none.

    Found through its unique guard (``organization_default``: a consistent read), never through the
    ``by_type`` index alone, which may not show one made a moment ago: two of them would be made.
    An entity of the kind made before the guard existed becomes the organization's own."""
    marked = db.lookup_unique(
        "entities", "organization_default", {"type": kind, "properties.organizationDefault": True}
    )
    if marked is not None:
        return str(marked["_id"])
    now = now_ms()
    found = db.query("entities").with_index("by_type", lambda q: q.eq("type", kind)).first()
    if found is not None:
        db.patch(
            found["_id"],
            {"properties": {**found["properties"], "organizationDefault": True}, "updatedAt": now},
            "entities",
        )
        return str(found["_id"])
    return str(
        db.insert(
            "entities",
            {
                "type": kind,
                "name": name,
                "status": "active",
                "properties": {**properties, "organizationDefault": True},
                "createdAt": now,
                "updatedAt": now,
            },
        )
    )


def by_idempotency_key(db: DatabaseReader, kind: str, creator_id: str, key: str | None) -> Doc | None:
    """The creator's ``kind`` entity made under ``key`` (a course, a livestream), if any."""
    if key is None:
        return None
    return db.lookup_unique(
        "entities",
        "creator_idempotency",
        {"type": kind, "properties": {"creatorId": creator_id, "idempotencyKey": key}},
    )


def message_under_key(db: DatabaseReader, sender: str, key: str) -> Doc | None:
    """The ``message`` ``sender`` sent under the idempotency ``key`` (a chat turn, a livestream
    message, the co-host's reply to a question), if any."""
    return db.lookup_unique(
        "entities",
        "message_idempotency",
        {"type": "message", "properties": {"senderId": sender, "idempotencyKey": key}},
    )


def actor_for(identity: Any, fallback: str) -> str:
    """The entity acting: the caller's own entity in the organization, else ``fallback``."""
    entity_id = getattr(identity, "entityId", None)
    return entity_id or fallback


#: The event a new entity of a type logs (anything else is ``content_changed``).
CREATED_EVENTS = {
    "creator": "creator_created",
    "ai_clone": "clone_created",
    "course": "course_created",
    "lead": "lead_captured",
    "token": "token_deployed",
}


def created_event_type(entity_type: str) -> str:
    if entity_type.endswith("_agent"):
        return "agent_created"
    return CREATED_EVENTS.get(entity_type, "content_changed")


def check_writable_properties(properties: dict[str, Any], *, field: str = "properties") -> None:
    """No client sets platform-owned fields, at the top of ``properties`` or nested in it."""
    stack: list[tuple[str, Any]] = [(field, properties)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in RESERVED_PROPERTY_KEYS or key.startswith("_"):
                    raise ValidationError(f"{path}.{key} cannot be set by a client", field=f"{path}.{key}")
                stack.append((f"{path}.{key}", inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))


__all__ += ["CREATED_EVENTS", "check_writable_properties", "created_event_type"]
