"""Tags: key/value labels on entities (the knowledge dimension's labels)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Page, PaginationOpts, SuccessResult, TagOut, id_result
from ontology.services.ontology_ops import require_entity

Key = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
Value = Annotated[StrictStr, Field(max_length=512)]


class TagArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"entityId": ENTITY_ID, "key": "skill", "value": "math"}]}
    )

    entityId: EntityId
    key: Key
    value: Value


@mutation(args=TagArgs, returns=id_result("id", "tags"), auth="org_user")
def add(ctx: MutationCtx, args: TagArgs) -> dict[str, str]:
    """Tag an entity (a key/value pair is on an entity once: CONFLICT otherwise). A tag is no event:
    the reference's ``content_changed`` is content created, updated or deleted, and the tags table is
    the tag's own record."""
    ctx.auth.require_identity()
    require_entity(ctx.db, args.entityId, field="entityId")
    tag_id = ctx.db.insert("tags", {"entityId": args.entityId, "key": args.key, "value": args.value})
    return {"id": tag_id}


@mutation(args=TagArgs, returns=SuccessResult, auth="org_user")
def remove(ctx: MutationCtx, args: TagArgs) -> dict[str, bool]:
    """Remove a tag from an entity (no event, as :func:`add`)."""
    ctx.auth.require_identity()
    tag = ctx.db.lookup_unique(
        "tags", "tag", {"entityId": args.entityId, "key": args.key, "value": args.value}
    )
    if tag is None:
        raise NotFoundError("Tag not found", entityId=args.entityId, key=args.key)
    ctx.db.delete(tag["_id"], "tags")
    return {"success": True}


class ListArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"key": "skill", "value": "math", "paginationOpts": FIRST_PAGE}]}
    )

    entityId: EntityId | None = None
    key: Key | None = None
    value: Value | None = None
    paginationOpts: PaginationOpts


@query(args=ListArgs, returns=Page[TagOut], name="list")
def list_tags(ctx: QueryCtx, args: ListArgs) -> dict[str, Any]:
    """An entity's tags, or the tags with a key, or with a key and value."""
    q = ctx.db.query("tags")
    if args.entityId:
        q = q.with_index("by_entity", lambda r: r.eq("entityId", args.entityId))
        if args.key is not None:
            key = args.key
            q = q.filter(lambda f: f.eq(f.field("key"), key))
        if args.value is not None:
            value = args.value
            q = q.filter(lambda f: f.eq(f.field("value"), value))
    elif args.key is not None and args.value is not None:
        q = q.with_index("by_key_value", lambda r: r.eq("key", args.key).eq("value", args.value))
    elif args.key is not None:
        q = q.with_index("by_key", lambda r: r.eq("key", args.key))
    else:
        raise ValidationError("give entityId or key", field="key")
    return q.paginate(args.paginationOpts.model_dump())
