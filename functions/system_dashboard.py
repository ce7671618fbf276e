"""The dashboard's live reads: system queries its pages subscribe to over the sync protocol
(``_system/dashboard:scheduled``, ``_system/dashboard:crons``, ``_system/dashboard:files``,
``_system/dashboard:documents``, ``_system/dashboard:document``), as
any Convex client subscribes to a query; each re-runs and is pushed again when what it read
changes. Not in the public catalogue. Each authorizes as the dashboard does
(:func:`ontology.services.dashboard.authorize`: an organization's owners see it, the platform's
owners any) and reads through the same code as the dashboard's HTTP endpoints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.runtime.context import QueryCtx
from ontology.runtime.functions import query
from ontology.runtime.registry import Args
from ontology.services import dashboard


class ScheduledArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"state": "pending"}]})

    #: Whose (a platform owner's choice; an organization's owner may name only their own).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None
    state: Literal["pending", "inProgress", "success", "failed", "canceled"] | None = None
    #: Where the last page ended (its ``continueCursor``); none for the first page.
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = None


@query(args=ScheduledArgs, system=True)
def scheduled(ctx: QueryCtx, args: ScheduledArgs) -> dict[str, Any]:
    """The organization's scheduled functions, latest first, a page at a time (the Schedules page)."""
    organization = dashboard.authorize(ctx.auth.get_user_identity(), args.organization)
    return dashboard.scheduled(organization, args.state, args.cursor)


class CronsArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    #: Whose jobs the runs count (a platform owner sees every organization's).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None


@query(args=CronsArgs, system=True)
def crons(ctx: QueryCtx, args: CronsArgs) -> dict[str, Any]:
    """The platform's crons: each one's schedule, next run and last runs with their jobs' states, and
    whether the caller may run one now (the Schedules page)."""
    return dashboard.crons(dashboard.declared(), ctx.auth.get_user_identity(), args.organization)


class FilesArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    #: Whose (a platform owner's choice; an organization's owner may name only their own).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None
    #: Where the last page ended (its ``continueCursor``); none for the first page.
    cursor: Annotated[StrictStr, Field(max_length=2048)] | None = None


@query(args=FilesArgs, system=True)
def files(ctx: QueryCtx, args: FilesArgs) -> dict[str, Any]:
    """The organization's stored files, latest first, a page at a time, with who uploaded each (the
    Files page)."""
    organization = dashboard.authorize(ctx.auth.get_user_identity(), args.organization)
    return dashboard.files(organization, args.cursor)


#: A filter's value: an index field's, as text.
Value = Annotated[StrictStr, Field(max_length=200)]


class DocumentsArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"table": "entities", "index": "by_type", "filters": {"type": "creator"}}]
        }
    )

    #: Whose (a platform owner's choice; an organization's owner may name only their own).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None
    table: Annotated[StrictStr, Field(max_length=64)]
    #: The index to read through (the table's default when none).
    index: Annotated[StrictStr, Field(max_length=64)] | None = None
    #: Values of a prefix of the index's fields (numbers as their digits).
    filters: Annotated[dict[StrictStr, Value], Field(max_length=8)] | None = None
    order: Literal["asc", "desc"] | None = None
    numItems: Annotated[int, Field(ge=1, le=100)] | None = None
    #: Where the last page ended (its ``continueCursor``); none for the first page.
    cursor: Annotated[StrictStr, Field(max_length=4096)] | None = None


@query(args=DocumentsArgs, system=True)
def documents(ctx: QueryCtx, args: DocumentsArgs) -> dict[str, Any]:
    """The organization's documents of one table through one of its indexes, a page at a time (the
    Data page)."""
    organization = dashboard.authorize(ctx.auth.get_user_identity(), args.organization)
    return dashboard.documents(
        organization,
        args.table,
        index=args.index,
        filters=args.filters,
        order=args.order,
        num_items=args.numItems,
        cursor=args.cursor,
    )


class DocumentArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "ent_01JD0000000000000000000000"}]})

    #: Whose (a platform owner's choice; an organization's owner may name only their own).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None
    id: Annotated[StrictStr, Field(max_length=64)]


@query(args=DocumentArgs, system=True)
def document(ctx: QueryCtx, args: DocumentArgs) -> dict[str, Any]:
    """One document of the organization; an entity with the first page of its connections, the
    events about it and its tags (the Data page's open document)."""
    organization = dashboard.authorize(ctx.auth.get_user_identity(), args.organization)
    return dashboard.document(organization, args.id)


class RunArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"userId": "usr_01JD0000000000000000000000", "path": "entities:list", "args": {"limit": 10}}
            ]
        }
    )

    #: Whose (a platform owner's choice; an organization's owner may name only their own).
    organization: Annotated[StrictStr, Field(max_length=64)] | None = None
    #: The member the query runs as.
    userId: Annotated[StrictStr, Field(max_length=64)]
    #: A public query, as a client names it.
    path: Annotated[StrictStr, Field(max_length=256)]
    args: dict[StrictStr, Any] = Field(default_factory=dict)


@query(args=RunArgs, system=True, uses=("invoke_queries",))
def run(ctx: QueryCtx, args: RunArgs) -> dict[str, Any]:
    """A public query run as a member of the organization, in its own Lambda: its answer or typed
    error, pushed again whenever what it read changes (the Functions page's live run)."""
    from ontology.sync.calls import query_as  # this query's alone: the other system queries skip it

    organization = dashboard.authorize(ctx.auth.get_user_identity(), args.organization)
    identity, member = dashboard.member_identity(organization, args.userId)
    return {**query_as(args.path, args.args, identity), "as": member}
