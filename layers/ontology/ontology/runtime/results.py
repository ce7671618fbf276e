"""Argument and result models shared by the functions (they also shape the OpenAPI document)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, create_model

from ontology.data.fields import (
    Count,
    EntityStatus,
    EntityType,
    EventType,
    IdOf,
    RelationshipType,
)
from ontology.data.query import PAGE_MAX

__all__ = [
    "ConnectionOut",
    "CreatorOut",
    "CreatorWithContent",
    "EntityOut",
    "EventOut",
    "Page",
    "PaginationOpts",
    "SuccessResult",
    "TagOut",
    "entity_out",
    "id_result",
]

T = TypeVar("T")


class PaginationOpts(BaseModel):
    """Convex's ``paginationOptsValidator``: ``{"numItems": 20, "cursor": null}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    numItems: Annotated[int, Field(ge=1, le=PAGE_MAX)]
    cursor: Annotated[StrictStr, Field(max_length=4096)] | None = None
    #: What Convex's ``usePaginatedQuery`` adds: the page's end once it has one (a re-run keeps it),
    #: its own id for the page, and read limits (accepted; the platform's own bounds apply).
    endCursor: Annotated[StrictStr, Field(max_length=4096)] | None = None
    id: Annotated[int, Field(ge=0)] | None = None
    maximumRowsRead: Annotated[int, Field(ge=1)] | None = None
    maximumBytesRead: Annotated[int, Field(ge=1)] | None = None


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(defer_build=True)
    page: list[T]
    isDone: bool
    continueCursor: str


class _Doc(BaseModel):
    # Result models shape the OpenAPI document; they are never built in a function's cold start.
    model_config = ConfigDict(extra="allow", defer_build=True)
    #: The table whose documents these are (``one codegen`` types them as that table's ``Doc``).
    TABLE: ClassVar[str] = ""
    id_: str = Field(alias="_id")
    creationTime: float = Field(alias="_creationTime")


class EntityOut(_Doc):
    TABLE = "entities"
    type: EntityType
    name: str
    properties: dict[str, Any]
    status: EntityStatus | None = None
    createdAt: float
    updatedAt: float


@cache
def entity_out(entity_type: str) -> type[EntityOut]:
    """``EntityOut`` of one entity type (``tokens:get``'s token): its ``type`` is that type, so
    Convex's clients read the type's own ``properties`` (``one codegen``)."""
    name = "".join(w.capitalize() for w in entity_type.split("_")) + "Out"
    kind = Literal[entity_type]  # type: ignore[valid-type]
    model: type[EntityOut] = create_model(name, __base__=EntityOut, type=(kind, ...))
    return model


class CreatorOut(EntityOut):
    type: Literal["creator"]
    contentCount: Count | None = None


class CreatorWithContent(EntityOut):
    """A creator with a page of its authored content: ``isDone`` whether it was the last page,
    ``continueCursor`` the next page's ``paginationOpts.cursor``."""

    type: Literal["creator"]
    content: list[EntityOut]
    followerCount: Count
    isDone: StrictBool | None = None
    continueCursor: str | None = None


class ConnectionOut(_Doc):
    TABLE = "connections"
    fromEntityId: str
    toEntityId: str
    relationshipType: RelationshipType
    metadata: dict[str, Any] | None = None
    createdAt: float


class EventOut(_Doc):
    TABLE = "events"
    type: EventType
    actorId: str
    targetId: str | None = None
    timestamp: float
    metadata: Any = None


class TagOut(_Doc):
    TABLE = "tags"
    entityId: str
    key: str
    value: str


class Result(BaseModel):
    """Base of a function's result model: built on first use, not at import (cold starts)."""

    model_config = ConfigDict(defer_build=True)


class SuccessResult(BaseModel):
    model_config = ConfigDict(defer_build=True)
    success: StrictBool


@cache
def id_result(name: str, table: str | None = None) -> type[BaseModel]:
    """``{"<name>": "<id>"}`` (the reference returns ``{creatorId}``, ``{fileId}``, …): an id of
    ``table`` (an entity's, an organization's for ``organizationId``)."""
    default = "organizations" if name == "organizationId" else "entities"
    table = table or default
    prefix = "" if table == default else table[:1].upper() + table[1:]
    id_type = Annotated[str, AfterValidator(IdOf(table))]
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{prefix}{name[0].upper()}{name[1:]}Result", __base__=Result, **{name: (id_type, ...)}
    )
    return model
