"""AI clones: a creator's digital twin, trained on what the creator authored.

``clones:create`` writes the reference's "AI Clone Creation" mapping: the ``ai_clone`` entity, creator →
clone ``owns``, ``clone_created``, the creator's ``industry`` and ``skill`` tags copied to the clone plus
``status:training``; and it schedules ``clones:train``, which turns each piece of the creator's authored
content into a ``knowledge_item`` (clone → item ``trained_on``) with its text as knowledge chunks
(embedded; the clone owns them, so a chat retrieves from its own knowledge only), then sets
``knowledgeBaseSize`` and ``lastTrainingDate``, moves the tag to ``status:active`` and connects the agent
that runs the clone (``powers``). Each step is its own transaction and idempotent: training again (a
second ``clones:create``) adds only what is new.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictStr

from ontology.data.fields import EntityId, LongText, Name
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut
from ontology.services.ontology_ops import actor_for, log_event, now_ms, require_entity

#: The creator's tags a clone inherits (the reference's "Tags Added").
INHERITED_TAGS = ("industry", "skill")
#: Content items trained per run of clones:train (a larger catalogue is trained over several runs).
ITEMS_PER_RUN = 40
MAX_ITEM_TEXT = 40_000

Temperature = Annotated[float, Field(ge=0, le=2, strict=False, allow_inf_nan=False)]


class CreateArgs(Args):
    creatorId: EntityId
    name: Name | None = None
    systemPrompt: LongText | None = None
    temperature: Temperature | None = None
    #: the agent that runs the clone (an ``*_agent`` entity); default: the organization's
    #: ``intelligence_agent`` (created if there is none)
    agentId: EntityId | None = None


class CreateResult(BaseModel):
    cloneId: str
    status: str
    created: bool


def _default_prompt(creator: dict[str, Any]) -> str:
    props = creator.get("properties", {})
    who = props.get("displayName") or creator["name"]
    niche = ", ".join(props.get("niche") or []) or "their field"
    return (
        f"You are the AI clone of {who}, a creator in {niche}. Answer as {who} would, in the first "
        "person, grounded in what they have written; say so when you do not know."
    )


def _tags(db: Any, entity_id: str) -> list[dict[str, Any]]:
    return list(db.query("tags").with_index("by_entity", lambda q: q.eq("entityId", entity_id)).collect())


def _set_status_tag(db: Any, entity_id: str, status: str) -> None:
    for tag in _tags(db, entity_id):
        if tag["key"] == "status" and tag["value"] != status:
            db.delete(tag["_id"], "tags")
    if db.lookup_unique("tags", "tag", {"entityId": entity_id, "key": "status", "value": status}) is None:
        db.insert("tags", {"entityId": entity_id, "key": "status", "value": status})


@mutation(args=CreateArgs, returns=CreateResult, auth="org_user")
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, Any]:
    """Create the creator's AI clone and schedule its training (one clone per creator: asking again
    answers the same clone and trains it on what is new since)."""
    identity = ctx.auth.require_identity()
    creator = require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    if args.agentId is not None:
        agent = require_entity(ctx.db, args.agentId, field="agentId")
        if not agent["type"].endswith("_agent"):
            raise ValidationError("agentId must be an agent entity", field="agentId")
    existing = ctx.db.lookup_unique(
        "entities", "clone_of_creator", {"type": "ai_clone", "properties": {"creatorId": args.creatorId}}
    )
    if existing is not None:
        _set_status_tag(ctx.db, existing["_id"], "training")
        ctx.scheduler.run_after(0, train, {"cloneId": existing["_id"], "agentId": args.agentId})
        return {"cloneId": existing["_id"], "status": "training", "created": False}
    now = now_ms()
    clone_id = ctx.db.insert(
        "entities",
        {
            "type": "ai_clone",
            "name": args.name or f"{creator['name']} (AI clone)",
            "status": "draft",
            "properties": {
                "systemPrompt": args.systemPrompt or _default_prompt(creator),
                "temperature": 0.7 if args.temperature is None else args.temperature,
                "knowledgeBaseSize": 0,
                "lastTrainingDate": 0,
                "totalInteractions": 0,
                "satisfactionScore": 0,
                "creatorId": args.creatorId,
            },
            "createdAt": now,
            "updatedAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": args.creatorId,
            "toEntityId": clone_id,
            "relationshipType": "owns",
            "createdAt": now,
        },
    )
    log_event(
        ctx.db,
        "clone_created",
        actor_id=actor_for(identity, args.creatorId),
        target_id=clone_id,
        timestamp=now,
        metadata={"creatorId": args.creatorId},
    )
    for tag in _tags(ctx.db, args.creatorId):
        if tag["key"] in INHERITED_TAGS:
            ctx.db.insert("tags", {"entityId": clone_id, "key": tag["key"], "value": tag["value"]})
    ctx.db.insert("tags", {"entityId": clone_id, "key": "status", "value": "training"})
    ctx.scheduler.run_after(0, train, {"cloneId": clone_id, "agentId": args.agentId})
    return {"cloneId": clone_id, "status": "training", "created": True}


# --------------------------------------------------------------------------------------- training


class TrainArgs(Args):
    cloneId: EntityId
    agentId: EntityId | None = None


def _text_of(item: dict[str, Any]) -> str:
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


@query(args=TrainArgs, internal=True)
def training_plan(ctx: QueryCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone, and the creator's authored content it is not trained on yet (at most ITEMS_PER_RUN)."""
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    creator_id = clone["properties"].get("creatorId")
    if not creator_id:
        raise NotFoundError("the clone has no creator", id=args.cloneId)
    authored = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", creator_id).eq("relationshipType", "authored")
        )
        .collect()
    )
    trained = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", args.cloneId).eq("relationshipType", "trained_on")
        )
        .collect()
    )
    known = {
        item["properties"].get("contentId")
        for item in ctx.db.get_many([c["toEntityId"] for c in trained], "entities")
        if item is not None
    }
    todo = [c["toEntityId"] for c in authored if c["toEntityId"] not in known][:ITEMS_PER_RUN]
    items = [d for d in ctx.db.get_many(todo, "entities") if d is not None and d.get("status") != "archived"]
    return {
        "creatorId": creator_id,
        "items": [{"contentId": d["_id"], "title": d["name"], "text": _text_of(d)} for d in items],
        "more": len(authored) - len(known) > len(todo),
    }


@action(args=TrainArgs, internal=True)
def train(ctx: ActionCtx, args: TrainArgs) -> dict[str, Any]:
    """Train the clone on what is new: each content item a knowledge item with its chunks (embedded,
    one transaction per item), then the clone's knowledge size, date, status and agent."""
    from functions.knowledge import embedded_chunks

    plan = ctx.run_query(training_plan, {"cloneId": args.cloneId})
    added = 0
    for item in plan["items"]:
        chunks = embedded_chunks([item["text"]])
        result = ctx.run_mutation(
            add_knowledge_item,
            {
                "cloneId": args.cloneId,
                "contentId": item["contentId"],
                "title": item["title"],
                "chunks": chunks,
            },
        )
        added += 1 if result["created"] else 0
    if plan["more"]:  # the rest in another run (each run stays within a Lambda's time)
        ctx.scheduler.run_after(0, train, {"cloneId": args.cloneId, "agentId": args.agentId})
        return {"cloneId": args.cloneId, "added": added, "done": False}
    ctx.run_mutation(finish_training, {"cloneId": args.cloneId, "agentId": args.agentId})
    return {"cloneId": args.cloneId, "added": added, "done": True}


class ItemArgs(Args):
    cloneId: EntityId
    contentId: EntityId
    title: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    chunks: Annotated[list[dict[str, Any]], Field(max_length=48)]


@mutation(args=ItemArgs, internal=True)
def add_knowledge_item(ctx: MutationCtx, args: ItemArgs) -> dict[str, Any]:
    """One content item into the clone's knowledge: the ``knowledge_item`` entity, clone → item
    ``trained_on``, the chunks (owned by the clone). Once per item: again, it answers the same item."""
    from functions.knowledge import Chunk, insert_chunks

    existing = ctx.db.lookup_unique(
        "entities",
        "trained_item",
        {"type": "knowledge_item", "properties": {"cloneId": args.cloneId, "contentId": args.contentId}},
    )
    if existing is not None:
        return {"knowledgeItemId": existing["_id"], "created": False}
    now = now_ms()
    item_id = ctx.db.insert(
        "entities",
        {
            "type": "knowledge_item",
            "name": args.title,
            "status": "active",
            "properties": {"cloneId": args.cloneId, "contentId": args.contentId, "chunks": len(args.chunks)},
            "createdAt": now,
            "updatedAt": now,
        },
    )
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": args.cloneId,
            "toEntityId": item_id,
            "relationshipType": "trained_on",
            "createdAt": now,
        },
    )
    chunks = [Chunk.model_validate(c) for c in args.chunks]
    insert_chunks(
        ctx.db,
        item_id,
        chunks,
        labels={"contentId": args.contentId, "title": args.title[:512]},
        owner_id=args.cloneId,
    )
    return {"knowledgeItemId": item_id, "created": True}


@mutation(args=TrainArgs, internal=True)
def finish_training(ctx: MutationCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone's knowledge size and training date, ``status:active``, and its agent (``powers``)."""
    clone = require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    size = (
        ctx.db.query("connections")
        .with_index(
            "from_type", lambda q: q.eq("fromEntityId", args.cloneId).eq("relationshipType", "trained_on")
        )
        .count()
    )
    now = now_ms()
    props = {**clone["properties"], "knowledgeBaseSize": size, "lastTrainingDate": now}
    ctx.db.patch(args.cloneId, {"properties": props, "status": "active", "updatedAt": now}, "entities")
    _set_status_tag(ctx.db, args.cloneId, "active")
    agent_id = args.agentId or _organization_agent(ctx.db, now)
    triple = {"fromEntityId": agent_id, "toEntityId": args.cloneId, "relationshipType": "powers"}
    if ctx.db.lookup_unique("connections", "triple", triple) is None:
        ctx.db.insert("connections", {**triple, "createdAt": now})
    return {"cloneId": args.cloneId, "knowledgeBaseSize": size, "agentId": agent_id}


def _organization_agent(db: Any, now: int) -> str:
    """The organization's ``intelligence_agent`` (the first one), created when it has none."""
    agent = db.query("entities").with_index("by_type", lambda q: q.eq("type", "intelligence_agent")).first()
    if agent is not None:
        return str(agent["_id"])
    return str(
        db.insert(
            "entities",
            {
                "type": "intelligence_agent",
                "name": "Intelligence agent",
                "status": "active",
                "properties": {"role": "runs the organization's AI clones"},
                "createdAt": now,
                "updatedAt": now,
            },
        )
    )


# -------------------------------------------------------------------------------------------- get


class GetArgs(Args):
    cloneId: EntityId


class CloneOut(EntityOut):
    trainingStatus: str | None = None
    knowledgeBaseSize: int = 0


@query(args=GetArgs, returns=CloneOut | None)
def get(ctx: QueryCtx, args: GetArgs) -> dict[str, Any] | None:
    """The clone, its training status (``training`` or ``active``) and its knowledge size; null when it
    is no clone of this organization."""
    clone = ctx.db.get(args.cloneId, "entities", field="cloneId")
    if clone is None or clone["type"] != "ai_clone":
        return None
    status = next((t["value"] for t in _tags(ctx.db, args.cloneId) if t["key"] == "status"), None)
    return {
        **clone,
        "trainingStatus": status,
        "knowledgeBaseSize": clone["properties"].get("knowledgeBaseSize", 0),
    }
