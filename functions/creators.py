"""Creators: the reference's queries and mutations on ``creator`` entities."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.db import DatabaseReader, Doc
from ontology.data.fields import Email, EntityId, ShortText
from ontology.data.relation_counts import content_count, follower_count
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import (
    CreatorOut,
    CreatorWithContent,
    Page,
    PaginationOpts,
    SuccessResult,
    id_result,
)
from ontology.services.ontology_ops import log_event, now_ms, require_entity


class GetArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID}]})

    id: EntityId


@query(args=GetArgs, returns=CreatorOut | None, auth="public")
def get(ctx: QueryCtx, args: GetArgs) -> dict[str, Any] | None:
    """A creator with the number of content items it authored that the caller may see (staff: every
    item; others: the items they see, drafts not counted). Anyone reads an active creator's public
    profile by its id (without its email or revenue). The count is a counter: the same two requests at
    10 items as at 100,000. It is eventually consistent: an authored item made shows in it once the
    table's stream has counted it, within about a second, and a subscription updates then
    (docs/data-model.md, "Counts")."""
    creator = ctx.db.get(args.id, "entities", field="id")
    if creator is None or creator["type"] != "creator":
        return None
    db = ctx.db.holding(args.id)
    count = content_count(db, args.id)
    if count is None:  # before migration 0015 is done: count the connections the caller sees
        authored = db.query("connections").with_index(
            "from_type", lambda q: q.eq("fromEntityId", args.id).eq("relationshipType", "authored")
        )
        count = authored.count() if db.sees_everything else sum(1 for _ in authored.iterate(200))
    return {**creator, "contentCount": count}


class ListArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"limit": 20, "niche": "computing"}]})

    limit: Annotated[int, Field(ge=1, le=100)] | None = None
    niche: Annotated[StrictStr, Field(min_length=1, max_length=100)] | None = None


@query(args=ListArgs, returns=list[CreatorOut], name="list", auth="public")
def list_creators(ctx: QueryCtx, args: ListArgs) -> list[Doc]:
    """Active creators, optionally of one niche (default 20, at most 100): the organization's, or,
    without a session, every organization's public creators (their public profiles)."""
    niche = args.niche
    if ctx.auth.get_user_identity() is None:
        keep = (lambda d: niche in (d["properties"].get("niche") or [])) if niche else None
        return ctx.db.public_entities("creator").take(args.limit or 20, keep)
    q = ctx.db.query("entities").with_index(
        "by_type_status", lambda q: q.eq("type", "creator").eq("status", "active")
    )
    if niche:
        # The reference compares the niche array to a string, which never matches: test membership.
        q = q.filter(lambda f: f.contains(f.field("properties.niche"), niche))
    return q.take(args.limit or 20)


class ListPaginatedArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"paginationOpts": FIRST_PAGE}]})

    paginationOpts: PaginationOpts


@query(args=ListPaginatedArgs, returns=Page[CreatorOut], auth="public")
def list_paginated(ctx: QueryCtx, args: ListPaginatedArgs) -> dict[str, Any]:
    """All creators, newest first, a page at a time: the organization's (as the caller may see
    them), or, without a session, every organization's public creators."""
    if ctx.auth.get_user_identity() is None:
        return ctx.db.public_entities("creator", "desc").paginate(args.paginationOpts.model_dump())
    return (
        ctx.db.query("entities")
        .with_index("by_type", lambda q: q.eq("type", "creator"))
        .order("desc")
        .paginate(args.paginationOpts.model_dump())
    )


#: Content items a ``get_with_content`` answers without ``paginationOpts``: its first page (with the
#: creator, the 100 keys one BatchGetItem takes).
CONTENT_PAGE = 99


class GetWithContentArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"creatorId": ENTITY_ID, "paginationOpts": FIRST_PAGE}]}
    )

    creatorId: EntityId
    paginationOpts: PaginationOpts | None = None


def _with_content(db: DatabaseReader, cid: str, opts: dict[str, Any]) -> dict[str, Any] | None:
    page = (
        db.query("connections")
        .with_index("from_type", lambda q: q.eq("fromEntityId", cid).eq("relationshipType", "authored"))
        .paginate(opts)
    )
    followers = follower_count(db, cid)
    if followers is None:  # before migration 0015 is done: count the connections
        followers = (
            db.query("connections")
            .with_index("to_type", lambda q: q.eq("toEntityId", cid).eq("relationshipType", "following"))
            .count()
        )
    docs = db.get_many([cid, *(c["toEntityId"] for c in page["page"])], "entities", field="creatorId")
    creator, content = docs[0], docs[1:]
    if creator is None or creator["type"] != "creator":
        return None
    return {
        **creator,
        "content": [d for d in content if d is not None],
        "followerCount": followers,
        "isDone": page["isDone"],
        "continueCursor": page["continueCursor"],
    }


@query(
    args=GetWithContentArgs,
    returns=CreatorWithContent | None,
    aliases=("getCreatorWithContent",),
    auth="public",
)
def get_with_content(ctx: QueryCtx, args: GetWithContentArgs) -> dict[str, Any] | None:
    """A creator, a page of its authored content (oldest first) and its follower count, in the same
    few requests whatever the number of items: the page's authored connections (one Query), the
    follower counter (one Query), then the creator and the page's items together (one BatchGetItem),
    for its organization's members. Anyone reads an active creator's public profile with its
    published content. Without ``paginationOpts``, the first 99 items; ``isDone`` says whether that
    was all, and ``continueCursor`` (as ``paginationOpts.cursor``) gives the next page. The follower
    count is eventually consistent: a follow or unfollow shows in it once the table's stream has
    counted it, within about a second, and a subscription updates then (docs/data-model.md,
    "Counts")."""
    cid = args.creatorId
    opts = (
        args.paginationOpts.model_dump()
        if args.paginationOpts is not None
        else {"numItems": CONTENT_PAGE, "cursor": None}
    )
    db = ctx.db
    if ctx.auth.get_user_identity() is None:  # anyone: the organization of a public creator
        if db.get(cid, "entities", field="creatorId") is None:
            return None
        db = db.holding(cid)
    found = _with_content(db, cid, opts)
    if found is not None and db.holding(cid) is not db:  # a public creator of another organization
        found = _with_content(db.holding(cid), cid, opts)
    return found


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "name": "Ada Lovelace", "niche": ["math", "computing"]}]
        }
    )

    email: Email
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    niche: Annotated[list[ShortText], Field(max_length=20)]


@mutation(args=CreateArgs, returns=id_result("creatorId"), auth="org_user")
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, str]:
    """A new creator; its email is unique within the organization (CONFLICT otherwise)."""
    now = now_ms()
    creator_id = ctx.db.insert(
        "entities",
        {
            "type": "creator",
            "name": args.name,
            "properties": {
                "email": args.email,
                "username": args.email.split("@", 1)[0],
                "displayName": args.name,
                "niche": args.niche,
                "expertise": [],
                "totalFollowers": 0,
                "totalContent": 0,
                "totalRevenue": 0,
            },
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
        },
    )
    log_event(
        ctx.db,
        "creator_created",
        actor_id=creator_id,
        timestamp=now,
        metadata={"email": args.email, "niche": args.niche},
    )
    return {"creatorId": creator_id}


class UpdateArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": ENTITY_ID, "bio": "First programmer."}]})

    id: EntityId
    bio: Annotated[StrictStr, Field(max_length=5000)] | None = None
    niche: Annotated[list[ShortText], Field(max_length=20)] | None = None
    avatar: ShortText | None = None


@mutation(args=UpdateArgs, returns=SuccessResult, auth="org_user")
def update(ctx: MutationCtx, args: UpdateArgs) -> dict[str, bool]:
    """Merge the given fields into a creator's properties."""
    current = require_entity(ctx.db, args.id, kind="creator")
    updates = args.model_dump(exclude={"id"}, exclude_none=True)
    if not updates:
        return {"success": True}
    now = now_ms()
    ctx.db.patch(args.id, {"properties": {**current["properties"], **updates}, "updatedAt": now}, "entities")
    log_event(
        ctx.db,
        "creator_updated",
        actor_id=args.id,
        timestamp=now,
        metadata={"updatedFields": sorted(updates)},
    )
    return {"success": True}


__all__ = ["create", "get", "get_with_content", "list_creators", "list_paginated", "update"]
