"""The schema as data: the tables of the six dimensions, their documents, indexes and unique rules.

organizations (tenants) · people (users, memberships with roles) · things (entities) · connections ·
events · knowledge (tags). Auth tables (users, sessions, verification tokens) are the reference's.

Tables are *org*-scoped (every key starts with the organization, so a read can only reach its own
organization's items) or *platform*-scoped (users, organizations, memberships, sessions and tokens
belong to the platform partition: a user may belong to several organizations).

Every document is validated on write by the table's pydantic model (strict types, unknown fields
rejected). Entity ``properties`` are typed for creator, ai_clone, token, course, media_asset and
payment; every other type takes a JSON object of at most 64 KB and nesting depth 10.

Example::

    from ontology.data.schema import TABLES
    TABLES["entities"].index("by_type").fields  # ("type",)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainValidator,
    StrictStr,
    WithJsonSchema,
)

from ontology.data.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.data.indexes import CREATION_TIME, Index, SearchIndex, Unique
from ontology.data.keys import check_id, register_table_prefix
from ontology.errors import ValidationError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "PLATFORM_SCOPE",
    "RESERVED_PROPERTY_KEYS",
    "TABLES",
    "Table",
    "json_limits",
    "table",
    "validate_document",
]

PLATFORM_SCOPE = "platform"

#: Keys no client may write anywhere inside an entity's ``properties`` (tenancy, ownership, roles,
#: versions, keys, timestamps, credentials): the platform sets these, never a request.
RESERVED_PROPERTY_KEYS = frozenset(
    {
        "organizationId",
        "orgId",
        "organization",
        "ownerId",
        "owner",
        "userId",
        "role",
        "roles",
        "version",
        "pk",
        "sk",
        "tb",
        "v",
        "ct",
        "ttl",
        "createdAt",
        "updatedAt",
        "deletedAt",
        "password",
        "passwordHash",
        "hash",
        "salt",
        "emailVerified",
        "verified",
        "tokenHash",
        "sessionToken",
        "verificationToken",
        "apiKey",
        "secret",
    }
)
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 10
MAX_NAME_LENGTH = 512

# --------------------------------------------------------------------------------------------------
# Field types


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
ShortText = Annotated[StrictStr, Field(max_length=2_000)]
LongText = Annotated[StrictStr, Field(max_length=20_000)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_LENGTH)]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{1,63}$")


def normalize_email(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _email(v: str) -> str:
    v = v.strip()
    if len(v) > 320 or not _EMAIL.match(v):
        raise ValueError("must be an email address")
    return v


Email = Annotated[StrictStr, AfterValidator(_email)]


def _id_check(table_name: str) -> Callable[[str], str]:
    def check(v: str) -> str:
        try:
            return check_id(table_name, v, field="id")
        except ValidationError as exc:
            raise ValueError(exc.message.removeprefix("id ")) from None

    return check


EntityId: TypeAlias = Annotated[StrictStr, AfterValidator(_id_check("entities"))]
UserId: TypeAlias = Annotated[StrictStr, AfterValidator(_id_check("users"))]
OrganizationId: TypeAlias = Annotated[StrictStr, AfterValidator(_id_check("organizations"))]
ConnectionId: TypeAlias = Annotated[StrictStr, AfterValidator(_id_check("connections"))]


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


# --------------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Table:
    name: str
    id_prefix: str
    scope: Literal["org", "platform"]
    indexes: tuple[Index, ...] = ()
    uniques: tuple[Unique, ...] = ()
    description: str = ""
    #: A timestamp field (ms) after which DynamoDB's TTL may delete the document.
    ttl_field: str | None = None
    _by_name: dict[str, Index] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        register_table_prefix(self.name, self.id_prefix)
        implicit = Index("by_creation_time", (), 0, "every document, by creation time")
        slotted = []
        for slot, idx in enumerate((implicit, *self.indexes), start=1):
            slotted.append(_with_slot(idx, slot))
        object.__setattr__(self, "indexes", tuple(slotted))
        names = [i.name for i in slotted]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate index name")
        self._by_name.update({i.name: i for i in slotted})

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model of the table's documents (built on first use)."""
        from ontology.data.documents import DOCUMENT_MODELS

        return DOCUMENT_MODELS[self.name]

    def index(self, name: str) -> Index:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise ValidationError(f"table '{self.name}' has no index '{name}' (known: {known})") from None


def _with_slot(idx: Index, slot: int) -> Index:
    from dataclasses import replace

    return replace(idx, slot=slot)


def _is_creator(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "creator"


def _is_payment(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "payment"


_DECLARED: tuple[Table, ...] = (
    Table(
        "organizations",
        "org",
        "platform",
        indexes=(Index("by_slug", ("slug",), 1),),
        uniques=(Unique("slug", ("slug",), message="organization slug is taken"),),
        description="tenants: every org-scoped key starts with one",
    ),
    Table(
        "users",
        "usr",
        "platform",
        indexes=(Index("by_email", ("email",), 1), Index("by_token", ("tokenIdentifier",), 1)),
        uniques=(Unique("email", ("email",), normalize=normalize_email, message="email already registered"),),
        description="people: accounts (auth)",
    ),
    Table(
        "memberships",
        "mem",
        "platform",
        indexes=(
            Index("by_user", ("userId",), 1),
            Index("by_organization", ("organizationId", "role"), 1),
        ),
        uniques=(Unique("member", ("organizationId", "userId"), message="already a member"),),
        description="people: who belongs to which organization, with which role",
    ),
    Table(
        "sessions",
        "ses",
        "platform",
        indexes=(
            Index("by_token", ("tokenHash",), 1),
            Index("by_user", ("userId",), 1),
            Index("by_expires", ("expiresAt",), 0),
        ),
        uniques=(Unique("token", ("tokenHash",)),),
        description="auth sessions (token hashes only)",
        ttl_field="expiresAt",
    ),
    Table(
        "accounts",
        "acc",
        "platform",
        indexes=(Index("by_user", ("userId",), 1),),
        uniques=(
            Unique("provider_account", ("providerId", "accountId"), message="this account is already linked"),
        ),
        description="how a user signs in: a password (credential) or a linked provider (github, google)",
    ),
    Table(
        "rateLimits",
        "rtl",
        "platform",
        indexes=(Index("by_key", ("key", "window"), 1),),
        uniques=(Unique("bucket", ("key", "window")),),
        description="fixed-window counters (sign-in failures per account, emails per address)",
        ttl_field="expiresAt",
    ),
    Table(
        "verificationTokens",
        "vtk",
        "platform",
        indexes=(
            Index("by_token", ("token",), 1),
            Index("by_identifier", ("identifier", "type"), 1),
            Index("by_expires", ("expires",), 0),
        ),
        uniques=(Unique("token", ("token",)),),
        description="email verification, password reset, invitation and OAuth state tokens (hashes only)",
        ttl_field="expires",
    ),
    Table(
        "scheduledFunctions",
        "job",
        "platform",
        indexes=(
            Index("by_organization", ("organizationId", "scheduledTime"), 1),
            Index("by_state", ("state", "scheduledTime"), 1),
        ),
        description="scheduled functions (Convex's _scheduled_functions): the scheduler's outbox",
    ),
    Table(
        "cronRuns",
        "crn",
        "platform",
        indexes=(Index("by_job", ("job", "window"), 1),),
        uniques=(Unique("run", ("job", "window", "item"), message="already done in this window"),),
        description="what each cron has done in each time window (so a window never runs twice)",
    ),
    Table(
        "chainNonces",
        "cnc",
        "platform",
        uniques=(Unique("account", ("account",)),),
        description="each signing account's next nonce per chain, taken as a transaction is recorded",
    ),
    Table(
        "entities",
        "ent",
        "org",
        indexes=(
            Index("by_type", ("type",), 1),
            Index("by_status", ("status",), 1),
            Index("by_type_status", ("type", "status"), 1),
            Index("by_created", ("createdAt",), 0),
            Index("by_updated", ("updatedAt",), 0),
            SearchIndex(
                "search_entities", ("name",), 0, search_field="name", filter_fields=("type", "status")
            ),
        ),
        uniques=(
            Unique(
                "creator_email",
                ("properties.email",),
                when=_is_creator,
                normalize=normalize_email,
                message="a creator with this email already exists",
            ),
            Unique(
                "payment_idempotency",
                ("properties.buyerId", "properties.idempotencyKey"),
                when=_is_payment,
                message="this idempotency key is already used",
            ),
        ),
        description="things: the 50 entity types",
    ),
    Table(
        "connections",
        "con",
        "org",
        indexes=(
            Index("from_entity", ("fromEntityId",), 1),
            Index("to_entity", ("toEntityId",), 1),
            Index("from_type", ("fromEntityId", "relationshipType"), 1),
            Index("to_type", ("toEntityId", "relationshipType"), 1),
            Index("bidirectional", ("fromEntityId", "toEntityId", "relationshipType"), 1),
            Index("by_created", ("createdAt",), 0),
        ),
        uniques=(
            Unique(
                "triple",
                ("fromEntityId", "toEntityId", "relationshipType"),
                message="this connection already exists",
            ),
        ),
        description="connections: the 33 relationship types",
    ),
    Table(
        "events",
        "evt",
        "org",
        indexes=(
            Index("by_type", ("type",), 1),
            Index("by_actor", ("actorId",), 1),
            Index("by_target", ("targetId",), 1),
            Index("by_timestamp", ("timestamp",), 0),
            Index("by_actor_type", ("actorId", "type"), 1),
            Index("by_target_type", ("targetId", "type"), 1),
        ),
        description="events: the 49 event types",
    ),
    Table(
        "tags",
        "tag",
        "org",
        indexes=(
            Index("by_entity", ("entityId",), 1),
            Index("by_key", ("key",), 1),
            Index("by_key_value", ("key", "value"), 1),
        ),
        uniques=(Unique("tag", ("entityId", "key", "value"), message="this tag is already on the entity"),),
        description="knowledge: key-value labels",
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in _DECLARED}

#: The number of GSIs the single table needs: the most indexes any one table has.
GSI_COUNT = max(len(t.indexes) for t in _DECLARED)


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValidationError(f"unknown table '{name}'", field="table") from None


def validate_properties(entity_type: str, properties: Any) -> dict[str, Any]:
    """Validate an entity's properties for its type (see :mod:`ontology.data.documents`)."""
    from ontology.data.documents import validate_properties as validate

    return validate(entity_type, properties)


def validate_document(table_name: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a document for ``table_name``; returns it normalized (see :mod:`ontology.data.documents`)."""
    from ontology.data.documents import validate_document as validate

    return validate(table_name, doc)


__all__ += ["CREATION_TIME", "GSI_COUNT", "validate_properties"]
