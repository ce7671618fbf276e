"""Field types of the platform's documents and arguments: numbers without coercion, texts with length
limits, emails, ids of a given table, JSON values with size and depth limits, and the reference's
enumerations as ``Literal`` types.

Kept apart from :mod:`ontology.data.schema` (the tables) and :mod:`ontology.data.documents` (the
document models), which both build on them.

Example::

    class GetArgs(Args):
        id: EntityId
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AfterValidator, Field, PlainValidator, StrictInt, StrictStr, WithJsonSchema

from ontology.data.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.data.keys import check_id
from ontology.errors import ValidationError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_SAFE_INTEGER",
    "ConnectionId",
    "Count",
    "Email",
    "EntityId",
    "EntityStatus",
    "EntityType",
    "EventType",
    "IdOf",
    "IdempotencyKey",
    "JsonObject",
    "JsonValue",
    "LongText",
    "Name",
    "NonNegative",
    "Number",
    "OrganizationId",
    "RelationshipType",
    "Role",
    "ShortText",
    "Timestamp",
    "UserId",
    "json_limits",
    "normalize_email",
]

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 10
MAX_NAME_LENGTH = 512
#: JavaScript's ``Number.MAX_SAFE_INTEGER``: the largest integer a JSON number (a float64) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1


def _number_check(
    minimum: float | None = None, maximum: float | None = None, *, integer: bool = False
) -> Callable[[Any], int | float]:
    """A JSON number check: an integer stays an integer; floats must be finite; strings and booleans
    are rejected (no coercion)."""

    def check(v: Any) -> int | float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("must be an integer" if integer else "must be a number")
        if integer and not isinstance(v, int):
            raise ValueError("must be an integer")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("must be a finite number")
        if minimum is not None and v < minimum:
            raise ValueError(f"must be at least {minimum:g}")
        if maximum is not None and v > maximum:
            raise ValueError(f"must be at most {maximum:g}")
        return v

    return check


Number: TypeAlias = Annotated[
    int | float, PlainValidator(_number_check()), WithJsonSchema({"type": "number"})
]
NonNegative: TypeAlias = Annotated[
    int | float, PlainValidator(_number_check(0)), WithJsonSchema({"type": "number", "minimum": 0})
]
Timestamp: TypeAlias = NonNegative
#: A count, a size, an amount in minor units, a nonce: an integer from 0 that a JSON number holds
#: exactly, so that Convex's clients read it as a ``number`` (past 2**53 the platform would send an
#: Int64, a ``bigint`` in JavaScript).
Count: TypeAlias = Annotated[StrictInt, Field(ge=0, le=MAX_SAFE_INTEGER)]
ShortText = Annotated[StrictStr, Field(max_length=2_000)]
LongText = Annotated[StrictStr, Field(max_length=20_000)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
#: A client's key for one request (a chat turn, a course, a livestream, a message): the same key again
#: answers what the first request made.
IdempotencyKey = Annotated[StrictStr, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{1,63}$")


def normalize_email(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _email(v: str) -> str:
    v = v.strip()
    if len(v) > 320 or not _EMAIL.match(v):
        raise ValueError("must be an email address")
    return v


Email = Annotated[StrictStr, AfterValidator(_email)]


class IdOf:
    """The check of an id field: ``IdOf("entities")`` takes an id of that table, ``IdOf()`` an id of
    any table. What a field holds is read from it too: ``one codegen`` types such a field
    ``Id<"entities">`` for Convex's clients."""

    __slots__ = ("table",)

    def __init__(self, table: str | None = None) -> None:
        #: the table whose ids it takes (None: any table's)
        self.table = table

    def __call__(self, v: str) -> str:
        if self.table is None:
            from ontology.data.keys import table_of_id

            if table_of_id(v) is None:
                raise ValueError("must be a document id")
            return v
        try:
            return check_id(self.table, v, field="id")
        except ValidationError as exc:
            raise ValueError(exc.message.removeprefix("id ")) from None

    def __repr__(self) -> str:
        return f"IdOf({self.table!r})"


EntityId: TypeAlias = Annotated[StrictStr, AfterValidator(IdOf("entities"))]
UserId: TypeAlias = Annotated[StrictStr, AfterValidator(IdOf("users"))]
OrganizationId: TypeAlias = Annotated[StrictStr, AfterValidator(IdOf("organizations"))]
ConnectionId: TypeAlias = Annotated[StrictStr, AfterValidator(IdOf("connections"))]


#: An id of a document of any table (what a knowledge chunk came from).
DocumentId: TypeAlias = Annotated[StrictStr, AfterValidator(IdOf())]

#: The most text one knowledge document holds (a chunk; a longer text is chunked first).
MAX_KNOWLEDGE_TEXT = 8_000
_LabelKey = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
#: A knowledge document's labels: at most 32 key/value pairs.
KnowledgeLabels = Annotated[
    dict[_LabelKey, Annotated[StrictStr, Field(max_length=512)]], Field(max_length=32)
]


def json_limits(value: Any, *, what: str = "value") -> Any:
    """Check a JSON value: at most 64 KB serialized, nesting depth at most 10, finite numbers."""
    depth = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{what} is nested {depth} levels deep; the limit is {MAX_JSON_DEPTH}")
    try:
        size = len(json.dumps(value, allow_nan=False, separators=(",", ":")).encode())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON ({exc})") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{what} is {size} bytes; the limit is {MAX_JSON_BYTES}")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH + 1:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


JsonObject = Annotated[dict[str, Any], AfterValidator(lambda v: json_limits(v, what="object"))]
JsonValue = Annotated[Any, AfterValidator(json_limits)]


EntityType = Literal[ENTITY_TYPES]  # type: ignore[valid-type]
EntityStatus = Literal[ENTITY_STATUSES]  # type: ignore[valid-type]
RelationshipType = Literal[RELATIONSHIP_TYPES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
