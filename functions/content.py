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
from ontology.services import fanout
from ontology.services.cron_runs import CronArgs, done, mark_done
from ontology.services.fanout import WorkerArgs
from ontology.services.ontology_ops import log_event, now_ms

JOB = "content:generate_daily_content"
WORKER = "content:generate_for_organization"


def _owned_by(creator_id: str) -> Callable[[IndexRange], IndexRange]:
    """The ``from_type`` range of what ``creator_id`` owns (bound now, not to a loop variable)."""
    return lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "owns")


#: Creators a page of the daily content job reads.
CREATORS_PAGE = 25


class PairsArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cursor": None}]})

    cursor: Annotated[StrictStr, Field(max_length=4096)] | None = None


@query(args=PairsArgs, internal=True, platform=True)
def creators_with_clones(ctx: QueryCtx, args: PairsArgs) -> dict[str, Any]:
    """A page of the organization's active creators, with the ``ai_clone`` of each that owns one."""
    pairs = []
    page = (
        ctx.db.query("entities")
        .with_index("by_type_status", lambda q: q.eq("type", "creator").eq("status", "active"))
        .paginate({"numItems": CREATORS_PAGE, "cursor": args.cursor})
    )
    for creator in page["page"]:
        owned = ctx.db.query("connections").with_index("from_type", _owned_by(creator["_id"])).take(100)
        targets = ctx.db.get_many([c["toEntityId"] for c in owned], "entities")
        clones = [
            t for t in targets if t is not None and t["type"] == "ai_clone" and t.get("status") != "archived"
        ]
        if clones:
            pairs.append({"creator": creator, "clone": clones[0]})
    return {"pairs": pairs, "isDone": page["isDone"], "continueCursor": page["continueCursor"]}


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
    ``clone_generated_content``. Once per clone per day, however often the day runs. The run
    schedules one ``content:generate_for_organization`` job per organization, a page of them at a
    time (``fanout:page``)."""
    return fanout.drive(ctx, JOB, args, WORKER)


@action(args=WorkerArgs, internal=True, platform=True)
def generate_for_organization(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    """The daily content of one organization, a page of creators at a time; a piece whose budget is
    spent continues in a job of its own. Each clone's draft once per window."""
    return fanout.work(JOB, WORKER, args, lambda: _generate(ctx, args))


def _generate(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    from ontology.data.db import DatabaseReader

    window, (org,) = args.window, args.organizationIds
    budget = fanout.Budget()
    created = skipped = 0
    platform = DatabaseReader(None, platform=True)
    org_ctx = ctx.for_organization(org)
    cursor = args.cursor
    while True:
        page = org_ctx.run_query(creators_with_clones, {"cursor": cursor})
        for pair in page["pairs"]:
            if done(platform, JOB, window, pair["clone"]["_id"]):
                skipped += 1
            elif _draft(org_ctx, window, pair["creator"], pair["clone"]):
                created += 1
            else:
                skipped += 1
        if page["isDone"]:
            return {"window": window, "created": created, "skipped": skipped}
        cursor = page["continueCursor"]
        if budget.spent():
            fanout.continue_later(JOB, WORKER, args, cursor)
            return {"window": window, "created": created, "skipped": skipped, "continued": True}


def _draft(org_ctx: ActionCtx, window: str, creator: dict[str, Any], clone: dict[str, Any]) -> bool:
    """One clone's draft for the window, through the AI provider; False when another run saved it."""
    from ontology.providers.ai import get_ai

    niche = ", ".join(creator["properties"].get("niche", [])) or "their work"
    reply = get_ai().chat(
        system_prompt=clone["properties"].get("systemPrompt") or f"You are {creator['name']}'s AI clone.",
        messages=[
            {
                "role": "user",
                "content": f"Draft today's post for {creator['name']}'s audience about {niche}.",
            }
        ],
        temperature=float(clone["properties"].get("temperature", 0.7)),
    )
    try:
        saved = org_ctx.run_mutation(
            save_draft,
            {
                "creatorId": creator["_id"],
                "cloneId": clone["_id"],
                "window": window,
                "title": f"{creator['name']}: {window[:10]} draft",
                "body": reply.content,
                "model": reply.model or "unknown",
            },
        )
    except ConflictError:
        saved = None  # another run of this window recorded it first
    return bool(saved)
