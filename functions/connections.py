"""Connections: create a relationship between two entities, list an entity's, delete one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ontology.data.fields import ConnectionId, EntityId, JsonObject, RelationshipType
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import CONNECTION_ID, ENTITY_ID, FIRST_PAGE, OTHER_ENTITY_ID
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import ConnectionOut, Page, PaginationOpts, SuccessResult, id_result
from ontology.services.ontology_ops import (
    MANAGED_RELATIONSHIPS,
    actor_for,
    check_writable_properties,
    log_event,
    now_ms,
)

#: Relationships whose creation is an event of its own kind; the rest log ``content_changed``.
CONNECTION_EVENTS = {
    "following": ("user_engaged", "followed"),
    "member_of": ("user_joined", "joined"),
    "enrolled_in": ("course_enrolled", "enrolled"),
    "referred": ("referral_made", "referred"),
}


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"fromEntityId": ENTITY_ID, "toEntityId": OTHER_ENTITY_ID, "relationshipType": "authored"}
            ]
        }
    )

    fromEntityId: EntityId
    toEntityId: EntityId
    relationshipType: RelationshipType
    metadata: JsonObject | None = None


@mutation(args=CreateArgs, returns=id_result("id", "connections"), auth="org_user")
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, str]:
    """A connection between two entities of the organization; a (from, to, type) exists once."""
    identity = ctx.auth.require_identity()
    if args.fromEntityId == args.toEntityId:
        raise ValidationError("an entity cannot connect to itself", field="toEntityId")
    if args.relationshipType in MANAGED_RELATIONSHIPS:
        writer = MANAGED_RELATIONSHIPS[args.relationshipType]
        raise ValidationError(
            f"{args.relationshipType} connections are written by {writer}", field="relationshipType"
        )
    if args.metadata:
        check_writable_properties(args.metadata, field="metadata")
    # Read for their existence alone: the connection needs both ends to exist when it commits (one
    # deleted meanwhile makes it run again and fail here), and nothing else of them, so the many
    # follows of one popular creator do not conflict on its document (ontology/data/tombstones.py).
    src, dst = ctx.db.get_many([args.fromEntityId, args.toEntityId], "entities", checked="existence")
    if src is None:
        raise NotFoundError("Entity not found", id=args.fromEntityId, field="fromEntityId")
    if dst is None:
        raise NotFoundError("Entity not found", id=args.toEntityId, field="toEntityId")
    now = now_ms()
    doc: dict[str, Any] = {
        "fromEntityId": args.fromEntityId,
        "toEntityId": args.toEntityId,
        "relationshipType": args.relationshipType,
        "createdAt": now,
    }
    if args.metadata is not None:
        doc["metadata"] = args.metadata
    connection_id = ctx.db.insert("connections", doc)
    event, verb = CONNECTION_EVENTS.get(args.relationshipType, ("content_changed", "connected"))
    log_event(
        ctx.db,
        event,
        actor_id=actor_for(identity, args.fromEntityId),
        target_id=args.toEntityId,
        timestamp=now,
        metadata={"action": verb, "relationshipType": args.relationshipType, "connectionId": connection_id},
    )
    return {"id": connection_id}


class ListArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entityId": ENTITY_ID,
                    "direction": "from",
                    "relationshipType": "authored",
                    "paginationOpts": FIRST_PAGE,
                }
            ]
        }
    )

    entityId: EntityId
    direction: Literal["from", "to"] = "from"
    relationshipType: RelationshipType | None = None
    paginationOpts: PaginationOpts
    order: Annotated[str, Field(pattern="^(asc|desc)$")] = "desc"


@query(args=ListArgs, returns=Page[ConnectionOut], name="list")
def list_connections(ctx: QueryCtx, args: ListArgs) -> dict[str, Any]:
    """An entity's connections leaving it (``from``) or reaching it (``to``), optionally of one type."""
    near = "fromEntityId" if args.direction == "from" else "toEntityId"
    if args.relationshipType:
        index = "from_type" if args.direction == "from" else "to_type"
        q = ctx.db.query("connections").with_index(
            index, lambda r: r.eq(near, args.entityId).eq("relationshipType", args.relationshipType)
        )
    else:
        index = "from_entity" if args.direction == "from" else "to_entity"
        q = ctx.db.query("connections").with_index(index, lambda r: r.eq(near, args.entityId))
    return q.order(args.order).paginate(args.paginationOpts.model_dump())


class DeleteArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": CONNECTION_ID}]})

    id: ConnectionId


@mutation(args=DeleteArgs, returns=SuccessResult, auth="org_user", name="delete")
def delete_connection(ctx: MutationCtx, args: DeleteArgs) -> dict[str, bool]:
    """Remove a connection."""
    identity = ctx.auth.require_identity()
    current = ctx.db.get(args.id, "connections", field="id")
    if current is None:
        raise NotFoundError("Connection not found", id=args.id)
    if current["relationshipType"] in MANAGED_RELATIONSHIPS:
        raise ValidationError("A token balance changes only through purchases and transfers", field="id")
    ctx.db.delete(args.id, "connections")
    log_event(
        ctx.db,
        "content_changed",
        actor_id=actor_for(identity, current["fromEntityId"]),
        target_id=current["toEntityId"],
        metadata={
            "action": "disconnected",
            "relationshipType": current["relationshipType"],
            "connectionId": args.id,
        },
    )
    return {"success": True}
