"""Entities: create any of the 50 types with validated properties, read, list, search, update,
archive."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from ontology.data.db import Doc
from ontology.data.fields import EntityId, EntityStatus, EntityType
from ontology.data.search import MAX_QUERY_CHARS, parse_query
from ontology.errors import ValidationError
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut, Page, PaginationOpts, SuccessResult, id_result
from ontology.services.ontology_ops import (
    MANAGED_ENTITY_TYPES,
    actor_for,
    check_writable_properties,
    created_event_type,
    log_event,
    now_ms,
    require_entity,
)


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"type": "blog_post", "name": "Notes on the Analytical Engine", "properties": {"words": 1200}}
            ]
        }
    )

    type: EntityType
    name: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    properties: dict[str, Any] = Field(default_factory=dict)
    status: EntityStatus | None = None


@mutation(args=CreateArgs, returns=id_result("id"), auth="org_user")
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, str]:
    """An entity of any type; properties are validated for the type (typed for creator, ai_clone,
    token, course, media_asset and payment; a JSON object of at most 64 KB otherwise)."""
    identity = ctx.auth.require_identity()
    if args.type in MANAGED_ENTITY_TYPES:
        raise ValidationError(
            f"{args.type} entities are created by {MANAGED_ENTITY_TYPES[args.type]}", field="type"
        )
    check_writable_properties(args.properties)
    from ontology.data.documents import validate_properties  # the models build on a write's first use

    properties = validate_properties(args.type, args.properties)
    now = now_ms()
    doc: dict[str, Any] = {
        "type": args.type,
        "name": args.name,
        "properties": properties,
        "createdAt": now,
        "updatedAt": now,
    }
    if args.status:
        doc["status"] = args.status
    entity_id = ctx.db.insert("entities", doc)
    event = created_event_type(args.type)
    metadata: dict[str, Any] = {"entityType": args.type}
    if event == "content_changed":
        metadata["action"] = "created"
    log_event(
        ctx.db,
        event,
        actor_id=actor_for(identity, entity_id),
        target_id=entity_id,
        timestamp=now,
        metadata=metadata,
    )
    return {"id": entity_id}


class GetArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID}]})

    id: EntityId


@query(args=GetArgs, returns=EntityOut | None, auth="public")
def get(ctx: QueryCtx, args: GetArgs) -> Doc | None:
    """An entity as the caller may see it, or null: the organization's staff see every entity of it,
    a customer what the world sees and what is theirs, anyone a public entity of any organization
    (docs/auth.md, "Who sees what")."""
    return ctx.db.get(args.id, "entities", field="id")


class ListArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"type": "blog_post", "status": "published", "paginationOpts": FIRST_PAGE}]
        }
    )

    type: EntityType | None = None
    status: EntityStatus | None = None
    paginationOpts: PaginationOpts
    order: Annotated[StrictStr, Field(pattern="^(asc|desc)$")] = "desc"


@query(args=ListArgs, returns=Page[EntityOut], name="list")
def list_entities(ctx: QueryCtx, args: ListArgs) -> dict[str, Any]:
    """Entities by type, by status, or by both, newest first, a page at a time (a customer's page
    leaves out what they may not see, so it may hold fewer than ``numItems``)."""
    q = ctx.db.query("entities")
    if args.type and args.status:
        q = q.with_index("by_type_status", lambda r: r.eq("type", args.type).eq("status", args.status))
    elif args.type:
        q = q.with_index("by_type", lambda r: r.eq("type", args.type))
    elif args.status:
        q = q.with_index("by_status", lambda r: r.eq("status", args.status))
    page: dict[str, Any] = q.order(args.order).paginate(args.paginationOpts.model_dump())
    return page


class SearchArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": "marathon training pl", "type": "blog_post", "limit": 10}]}
    )

    query: Annotated[StrictStr, Field(min_length=1, max_length=MAX_QUERY_CHARS)]
    type: EntityType | None = None
    status: EntityStatus | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 20


@query(args=SearchArgs, returns=list[EntityOut], name="search")
def search(ctx: QueryCtx, args: SearchArgs) -> list[Doc]:
    """Entities whose name matches the query, most relevant first (Convex's full-text search: any of
    at most 16 terms, the last one a prefix, BM25; optionally of one type and status; default 20, at
    most 100)."""
    if not parse_query(args.query):
        raise ValidationError("the query has no words to search for", field="query")

    def build(q: Any) -> Any:
        q = q.search("name", args.query)
        if args.type:
            q = q.eq("type", args.type)
        if args.status:
            q = q.eq("status", args.status)
        return q

    docs: list[Doc] = ctx.db.query("entities").with_search_index("search_entities", build).take(args.limit)
    return docs


class UpdateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": ENTITY_ID, "name": "Notes, revised", "status": "published"}]}
    )

    id: EntityId
    name: Annotated[StrictStr, Field(min_length=1, max_length=512)] | None = None
    status: EntityStatus | None = None
    properties: dict[str, Any] | None = None


@mutation(args=UpdateArgs, returns=SuccessResult, auth="org_user")
def update(ctx: MutationCtx, args: UpdateArgs) -> dict[str, bool]:
    """Change an entity's name, status or properties (the properties are replaced, and validated for
    the type as on create); logs ``content_changed`` (``action: updated``, ``creator_updated`` for a
    creator) with the caller's entity as the actor. Entities only their own functions write (a token,
    a payment, …) are refused."""
    identity = ctx.auth.require_identity()
    current = require_entity(ctx.db, args.id)
    if current["type"] in MANAGED_ENTITY_TYPES:
        raise ValidationError(
            f"{current['type']} entities are written by {MANAGED_ENTITY_TYPES[current['type']]}", field="id"
        )
    changes: dict[str, Any] = {}
    if args.name is not None and args.name != current.get("name"):
        changes["name"] = args.name
    if args.status is not None and args.status != current.get("status"):
        changes["status"] = args.status
    if args.properties is not None:
        check_writable_properties(args.properties)
        from ontology.data.documents import validate_properties

        properties = validate_properties(current["type"], args.properties)
        if properties != current.get("properties"):
            changes["properties"] = properties
    if not changes:
        return {"success": True}
    now = now_ms()
    ctx.db.patch(args.id, {**changes, "updatedAt": now}, "entities")
    event = "creator_updated" if current["type"] == "creator" else "content_changed"
    metadata: dict[str, Any] = {"entityType": current["type"], "updatedFields": sorted(changes)}
    if event == "content_changed":
        metadata["action"] = "updated"
    actor = actor_for(identity, args.id)
    log_event(ctx.db, event, actor_id=actor, target_id=args.id, timestamp=now, metadata=metadata)
    return {"success": True}


class ArchiveArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID}]})

    id: EntityId


@mutation(args=ArchiveArgs, returns=SuccessResult, auth="org_user")
def archive(ctx: MutationCtx, args: ArchiveArgs) -> dict[str, bool]:
    """Mark an entity archived (it stays readable; lists by status leave it out)."""
    identity = ctx.auth.require_identity()
    current = require_entity(ctx.db, args.id)
    if current["type"] == "payment":
        raise ValidationError("A payment is a financial record; it is never archived", field="id")
    if current.get("status") == "archived":
        return {"success": True}
    now = now_ms()
    ctx.db.patch(args.id, {"status": "archived", "updatedAt": now, "deletedAt": now}, "entities")
    metadata = {"action": "archived", "entityType": current["type"]}
    actor = actor_for(identity, args.id)
    log_event(ctx.db, "content_changed", actor_id=actor, target_id=args.id, timestamp=now, metadata=metadata)
    return {"success": True}
