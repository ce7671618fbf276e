"""Content jobs: every day, each active creator's AI clone drafts a piece of content."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.data.query import IndexRange
from ontology.errors import ConflictError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.services.cron_runs import CronArgs, done, mark_done, organizations, run_time, window_for
from ontology.services.ontology_ops import log_event, now_ms

JOB = "content:generate_daily_content"


def _owned_by(creator_id: str) -> Callable[[IndexRange], IndexRange]:
    """The ``from_type`` range of what ``creator_id`` owns (bound now, not to a loop variable)."""
    return lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "owns")


@query(internal=True, platform=True)
def creators_with_clones(ctx: QueryCtx, args: Args) -> list[dict[str, Any]]:
    """The organization's active creators that own an ``ai_clone``, with that clone."""
    pairs = []
    creators = ctx.db.query("entities").with_index(
        "by_type_status", lambda q: q.eq("type", "creator").eq("status", "active")
    )
    for creator in creators.iterate(100):
        owned = ctx.db.query("connections").with_index("from_type", _owned_by(creator["_id"])).take(100)
        targets = ctx.db.get_many([c["toEntityId"] for c in owned], "entities")
        clones = [
            t for t in targets if t is not None and t["type"] == "ai_clone" and t.get("status") != "archived"
        ]
        if clones:
            pairs.append({"creator": creator, "clone": clones[0]})
    return pairs


class SaveDraftArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "creatorId": ENTITY_ID,
                    "cloneId": OTHER_ENTITY_ID,
                    "window": "2026-11-25T00:00:00Z",
                    "title": "Draft",
                    "body": "…",
                    "model": "gpt-4-turbo-preview",
                }
            ]
        }
    )

    creatorId: EntityId
    cloneId: EntityId
    window: Annotated[StrictStr, Field(max_length=64)]
    title: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    body: Annotated[StrictStr, Field(max_length=20_000)]
    model: Annotated[StrictStr, Field(max_length=100)]


@mutation(args=SaveDraftArgs, internal=True, platform=True)
def save_draft(ctx: MutationCtx, args: SaveDraftArgs) -> str | None:
    """The draft, its connections and its event, with the window's record, in one transaction;
    None when this clone's draft for the window already exists."""
    if done(ctx.db, JOB, args.window, args.cloneId):
        return None
    now = now_ms()
    content_id = ctx.db.insert(
        "entities",
        {
            "type": "blog_post",
            "name": args.title,
            "status": "draft",
            "createdAt": now,
            "updatedAt": now,
            "properties": {
                "body": args.body,
                "generatedBy": "ai",
                "cloneId": args.cloneId,
                "window": args.window,
                "model": args.model,
            },
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": content_id,
            "toEntityId": args.cloneId,
            "relationshipType": "generated_by",
            "createdAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": args.creatorId,
            "toEntityId": content_id,
            "relationshipType": "authored",
            "createdAt": now,
        },
    )
    log_event(
        ctx.db,
        "clone_generated_content",
        actor_id=args.cloneId,
        target_id=content_id,
        timestamp=now,
        metadata={"creatorId": args.creatorId, "window": args.window, "draft": True},
    )
    mark_done(ctx.db, JOB, args.window, args.cloneId, {"contentId": content_id})
    return content_id


@action(args=CronArgs, internal=True, platform=True)
def generate_daily_content(ctx: ActionCtx, args: CronArgs) -> dict[str, Any]:
    """Daily: for each active creator with an AI clone, a draft generated through the AI provider,
    connected (``generated_by`` the clone, ``authored`` by the creator), logged
    ``clone_generated_content``. Once per clone per day, however often the day runs."""
    from ontology.data.db import DatabaseReader
    from ontology.providers.ai import get_ai

    window = window_for(JOB, run_time(args))
    created = skipped = 0
    platform = DatabaseReader(None, platform=True)
    for org in organizations(platform):
        org_ctx = ctx.for_organization(org["_id"])
        for pair in org_ctx.run_query(creators_with_clones, {}):
            creator, clone = pair["creator"], pair["clone"]
            if done(platform, JOB, window, clone["_id"]):
                skipped += 1
                continue
            niche = ", ".join(creator["properties"].get("niche", [])) or "their work"
            reply = get_ai().chat(
                system_prompt=clone["properties"].get("systemPrompt")
                or f"You are {creator['name']}'s AI clone.",
                messages=[
                    {
                        "role": "user",
                        "content": f"Draft today's post for {creator['name']}'s audience about {niche}.",
                    }
                ],
                temperature=float(clone["properties"].get("temperature", 0.7)),
            )
            title = f"{creator['name']}: {window[:10]} draft"
            try:
                saved = org_ctx.run_mutation(
                    save_draft,
                    {
                        "creatorId": creator["_id"],
                        "cloneId": clone["_id"],
                        "window": window,
                        "title": title,
                        "body": reply.content,
                        "model": reply.model or "unknown",
                    },
                )
            except ConflictError:
                saved = None  # another run of this window recorded it first
            created, skipped = (created + 1, skipped) if saved else (created, skipped + 1)
    return {"window": window, "created": created, "skipped": skipped}
