"""A clone made and trained: ``clones:create`` writes the reference's "AI Clone Creation" mapping (the
``ai_clone`` entity, creator → clone ``owns``, ``clone_created``, the creator's ``industry`` and ``skill``
tags copied to the clone plus ``status:training``) and schedules ``clones:train``, which turns each piece
of the creator's authored content into a ``knowledge_item`` (clone → item ``trained_on``) with its text
as knowledge chunks (embedded; the clone owns them, so a chat retrieves from its own knowledge only),
then sets ``knowledgeBaseSize`` and ``lastTrainingDate``, moves the tag to ``status:active`` and
connects the agent that runs the clone (``powers``). Each step is its own transaction and idempotent:
training again (a second ``clones:create``) adds only what is new.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import Count, EntityId, LongText, Name
from ontology.errors import ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut, Result
from ontology.services import clones, knowledge
from ontology.services.ontology_ops import actor_for, require_entity

Temperature = Annotated[float, Field(ge=0, le=2, strict=False, allow_inf_nan=False)]


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"creatorId": ENTITY_ID, "systemPrompt": "You are Ada's clone.", "temperature": 0.6}]
        }
    )

    creatorId: EntityId
    name: Name | None = None
    systemPrompt: LongText | None = None
    temperature: Temperature | None = None
    #: the agent that runs the clone (an ``*_agent`` entity); default: the organization's
    #: ``intelligence_agent`` (created if there is none)
    agentId: EntityId | None = None


class CreateResult(Result):
    cloneId: EntityId
    status: str
    created: bool


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
    existing = clones.clone_of_creator(ctx.db, args.creatorId)
    if existing is not None:
        clones.set_status_tag(ctx.db, existing["_id"], "training")
        ctx.scheduler.run_after(0, train, {"cloneId": existing["_id"], "agentId": args.agentId})
        return {"cloneId": existing["_id"], "status": "training", "created": False}
    clone_id = clones.new_clone(
        ctx.db,
        creator,
        actor_id=actor_for(identity, args.creatorId),
        name=args.name,
        system_prompt=args.systemPrompt,
        temperature=args.temperature,
    )
    ctx.scheduler.run_after(0, train, {"cloneId": clone_id, "agentId": args.agentId})
    return {"cloneId": clone_id, "status": "training", "created": True}


class TrainArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID}]})

    cloneId: EntityId
    agentId: EntityId | None = None


@query(args=TrainArgs, internal=True)
def training_plan(ctx: QueryCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone, and the creator's authored content it is not trained on yet (at most ITEMS_PER_RUN)."""
    return clones.untrained_content(ctx.db, args.cloneId)


@action(args=TrainArgs, internal=True)
def train(ctx: ActionCtx, args: TrainArgs) -> dict[str, Any]:
    """Train the clone on what is new: each content item a knowledge item with its chunks (embedded,
    one transaction per item), then the clone's knowledge size, date, status and agent."""
    plan = ctx.run_query(training_plan, {"cloneId": args.cloneId})
    added = 0
    for item in plan["items"]:
        chunks = knowledge.embedded_chunks([item["text"]])
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"cloneId": OTHER_ENTITY_ID, "contentId": ENTITY_ID, "title": "Post", "chunks": []}]
        }
    )

    cloneId: EntityId
    contentId: EntityId
    title: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    chunks: Annotated[list[dict[str, Any]], Field(max_length=48)]


@mutation(args=ItemArgs, internal=True)
def add_knowledge_item(ctx: MutationCtx, args: ItemArgs) -> dict[str, Any]:
    """One content item into the clone's knowledge: the ``knowledge_item`` entity, clone → item
    ``trained_on``, the chunks (owned by the clone). Once per item: again, it answers the same item."""
    chunks = [knowledge.Chunk.model_validate(c) for c in args.chunks]
    return clones.add_knowledge_item(ctx.db, args.cloneId, args.contentId, args.title, chunks)


@mutation(args=TrainArgs, internal=True)
def finish_training(ctx: MutationCtx, args: TrainArgs) -> dict[str, Any]:
    """The clone's knowledge size and training date, ``status:active``, and its agent (``powers``)."""
    return clones.finish_training(ctx.db, args.cloneId, args.agentId)


class GetArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID}]})

    cloneId: EntityId


class CloneOut(EntityOut):
    type: Literal["ai_clone"]
    trainingStatus: Literal["training", "active"] | None = None
    knowledgeBaseSize: Count = 0


@query(args=GetArgs, returns=CloneOut | None)
def get(ctx: QueryCtx, args: GetArgs) -> dict[str, Any] | None:
    """The clone, its training status (``training`` or ``active``) and its knowledge size; null when it
    is no clone of this organization."""
    # The status tag first, then the clone: a query's reads are not one snapshot, and training
    # writes both in one transaction, so a clone read after an ``active`` tag is the trained clone.
    tags = clones.tags_of(ctx.db, args.cloneId)
    clone = ctx.db.get(args.cloneId, "entities", field="cloneId")
    if clone is None or clone["type"] != "ai_clone":
        return None
    status = next((t["value"] for t in tags if t["key"] == "status"), None)
    return {
        **clone,
        "trainingStatus": status,
        "knowledgeBaseSize": clone["properties"].get("knowledgeBaseSize", 0),
    }
