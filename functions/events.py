"""Events: the organization's activity, by actor, target, type or time, a page at a time."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from ontology.data.fields import EntityId, EventType, NonNegative
from ontology.errors import ValidationError
from ontology.runtime.context import QueryCtx
from ontology.runtime.examples import ENTITY_ID, FIRST_PAGE
from ontology.runtime.functions import query
from ontology.runtime.registry import Args
from ontology.runtime.results import EventOut, Page, PaginationOpts


class ListArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"actorId": ENTITY_ID, "type": "creator_created", "paginationOpts": FIRST_PAGE}]
        }
    )

    actorId: EntityId | None = None
    targetId: EntityId | None = None
    type: EventType | None = None
    since: NonNegative | None = None
    until: NonNegative | None = None
    paginationOpts: PaginationOpts
    order: Annotated[str, Field(pattern="^(asc|desc)$")] = "desc"


@query(args=ListArgs, returns=Page[EventOut], name="list")
def list_events(ctx: QueryCtx, args: ListArgs) -> dict[str, Any]:
    """Events by actor and/or type, by target and/or type, by type, or by time (``since`` ≤ timestamp
    < ``until``); newest first. A customer's page holds only the events they act in, are the target
    of, or bought in (docs/auth.md), so it may hold fewer than ``numItems``."""
    if args.actorId and args.targetId:
        raise ValidationError("give actorId or targetId, not both", field="targetId")
    if args.since is not None and args.until is not None and args.since > args.until:
        raise ValidationError("since is after until", field="since")
    q = ctx.db.query("events")
    if args.actorId or args.targetId:
        who, value = ("actorId", args.actorId) if args.actorId else ("targetId", args.targetId)
        stem = "by_actor" if args.actorId else "by_target"
        if args.type:
            q = q.with_index(f"{stem}_type", lambda r: r.eq(who, value).eq("type", args.type))
        else:
            q = q.with_index(stem, lambda r: r.eq(who, value))
        if args.since is not None:
            since = args.since
            q = q.filter(lambda f: f.gte(f.field("timestamp"), since))
        if args.until is not None:
            until = args.until
            q = q.filter(lambda f: f.lt(f.field("timestamp"), until))
    else:

        def window(r: Any) -> Any:
            if args.since is not None:
                r = r.gte("timestamp", args.since)
            if args.until is not None:
                r = r.lt("timestamp", args.until)
            return r

        q = q.with_index("by_timestamp", window)
        if args.type:
            # the organization's events of one type: its timeline, filtered (no index of its own:
            # every event written would pay for an entry that this one listing reads)
            kind = args.type
            q = q.filter(lambda f: f.eq(f.field("type"), kind))
    page: dict[str, Any] = q.order(args.order).paginate(args.paginationOpts.model_dump())
    return page
