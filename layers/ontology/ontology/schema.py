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

    from ontology.schema import TABLES
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
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError

from ontology.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.errors import PayloadTooLargeError, ValidationError
from ontology.indexes import CREATION_TIME, Index, SearchIndex, Unique
from ontology.keys import check_id, register_table_prefix

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "PLATFORM_SCOPE",
    "PROPERTY_MODELS",
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
        "organizationId", "orgId", "organization", "ownerId", "owner", "userId", "role", "roles",
        "version", "pk", "sk", "tb", "v", "ct", "ttl", "createdAt", "updatedAt", "deletedAt",
        "password", "passwordHash", "hash", "salt", "emailVerified", "verified", "tokenHash",
        "sessionToken", "verificationToken", "apiKey", "secret",
    }
)  # fmt: skip
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


# --------------------------------------------------------------------------------------------------
# Typed entity properties (as the reference gives them)


class BrandColors(_Strict):
    primary: ShortText
    secondary: ShortText
    accent: ShortText


class CreatorProperties(_Strict):
    email: Email
    username: ShortText
    displayName: ShortText
    bio: LongText | None = None
    avatar: ShortText | None = None
    niche: list[ShortText] = Field(default_factory=list, max_length=50)
    expertise: list[ShortText] = Field(default_factory=list, max_length=50)
    # The reference's type requires targetAudience, but its own creators.create never sets it.
    targetAudience: ShortText = ""
    brandColors: BrandColors | None = None
    totalFollowers: NonNegative = 0
    totalContent: NonNegative = 0
    totalRevenue: NonNegative = 0


class AiCloneProperties(_Strict):
    voiceId: ShortText | None = None
    voiceProvider: Literal["elevenlabs", "azure", "custom"] | None = None
    appearanceId: ShortText | None = None
    appearanceProvider: Literal["d-id", "heygen", "custom"] | None = None
    systemPrompt: LongText
    temperature: Annotated[
        int | float,
        PlainValidator(_number_check(0, 2)),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": 2}),
    ] = 0.7
    knowledgeBaseSize: NonNegative = 0
    lastTrainingDate: Timestamp = 0
    totalInteractions: NonNegative = 0
    satisfactionScore: Number = 0


class TokenProperties(_Strict):
    contractAddress: ShortText
    blockchain: Literal["sui", "base", "solana"]
    standard: Literal["ERC20", "ERC721", "ERC1155"]
    totalSupply: NonNegative
    circulatingSupply: NonNegative = 0
    price: NonNegative
    marketCap: NonNegative = 0
    utility: list[ShortText] = Field(default_factory=list, max_length=50)
    burnRate: NonNegative = 0
    holders: NonNegative = 0
    transactions24h: NonNegative = 0
    volume24h: NonNegative = 0
    # The reference's own UI reads these from a token's properties (TokenPurchase, tokens/[id]).
    symbol: Annotated[StrictStr, Field(min_length=1, max_length=11)] | None = None
    priceUsd: NonNegative | None = None
    description: LongText | None = None


class CourseProperties(_Strict):
    title: ShortText
    description: LongText
    thumbnail: ShortText | None = None
    modules: NonNegative = 0
    lessons: NonNegative = 0
    totalDuration: NonNegative = 0
    price: NonNegative = 0
    currency: Annotated[StrictStr, Field(min_length=3, max_length=8)] = "usd"
    tokenPrice: NonNegative | None = None
    enrollments: NonNegative = 0
    completions: NonNegative = 0
    averageRating: Annotated[
        int | float,
        PlainValidator(_number_check(0, 5)),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5}),
    ] = 0
    generatedBy: Literal["ai", "human", "hybrid"] = "human"
    personalizationLevel: Literal["none", "basic", "advanced"] = "none"


class MediaAssetProperties(_Strict):
    """A stored file (the reference's files.saveFile)."""

    storageId: ShortText
    fileType: ShortText
    fileSize: Annotated[StrictInt, Field(ge=0)]


PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")


class PaymentProperties(_Strict):
    """A payment (the reference logs them as ``payment_processed``; the token purchase writes one).

    ``amount`` is in the currency's minor unit (cents), as Stripe counts.
    """

    amount: Annotated[StrictInt, Field(ge=0)]
    currency: Annotated[StrictStr, Field(min_length=3, max_length=8)] = "usd"
    status: Literal["pending", "completed", "failed", "refunded"] = "pending"
    provider: Literal["stripe", "crypto"] = "stripe"
    purpose: ShortText | None = None
    buyerId: EntityId | None = None
    tokenId: EntityId | None = None
    tokenAmount: Annotated[StrictInt, Field(ge=0)] | None = None
    paymentIntentId: ShortText | None = None
    transactionHash: ShortText | None = None
    failureReason: ShortText | None = None
    idempotencyKey: ShortText | None = None


PROPERTY_MODELS: dict[str, type[BaseModel]] = {
    "creator": CreatorProperties,
    "ai_clone": AiCloneProperties,
    "token": TokenProperties,
    "course": CourseProperties,
    "media_asset": MediaAssetProperties,
    "payment": PaymentProperties,
}

EntityType = Literal[ENTITY_TYPES]  # type: ignore[valid-type]
EntityStatus = Literal[ENTITY_STATUSES]  # type: ignore[valid-type]
RelationshipType = Literal[RELATIONSHIP_TYPES]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]


# --------------------------------------------------------------------------------------------------
# Documents, one model per table


class OrganizationDoc(_Strict):
    name: Name
    slug: Annotated[StrictStr, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
    status: Literal["active", "suspended"] = "active"
    plan: ShortText | None = None
    personal: StrictBool = False
    createdAt: Timestamp
    updatedAt: Timestamp


class UserDoc(_Strict):
    email: Email
    name: ShortText | None = None
    image: ShortText | None = None
    emailVerified: StrictBool = False
    tokenIdentifier: ShortText | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class MembershipDoc(_Strict):
    organizationId: OrganizationId
    userId: UserId
    role: Role
    #: The member's own entity in the organization (an ``audience_member``): the actor of their events.
    entityId: EntityId | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class SessionDoc(_Strict):
    userId: UserId
    tokenHash: ShortText
    expiresAt: Timestamp
    activeOrganizationId: OrganizationId | None = None
    ipAddress: ShortText | None = None
    userAgent: ShortText | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class VerificationTokenDoc(_Strict):
    identifier: ShortText
    token: ShortText  # SHA-256 of the token: the token itself is never stored
    expires: Timestamp
    type: Literal["email_verification", "password_reset", "invitation"]
    data: JsonObject | None = None


class EntityDoc(_Strict):
    type: EntityType
    name: Name
    properties: dict[str, Any] = Field(default_factory=dict)
    status: EntityStatus | None = None
    createdAt: Timestamp
    updatedAt: Timestamp
    deletedAt: Timestamp | None = None


class ConnectionDoc(_Strict):
    fromEntityId: EntityId
    toEntityId: EntityId
    relationshipType: RelationshipType
    metadata: JsonObject | None = None
    createdAt: Timestamp
    deletedAt: Timestamp | None = None


class EventDoc(_Strict):
    type: EventType
    actorId: EntityId
    targetId: EntityId | None = None
    timestamp: Timestamp
    metadata: JsonValue = Field(default_factory=dict)


class TagDoc(_Strict):
    entityId: EntityId
    key: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    value: Annotated[StrictStr, Field(max_length=512)]


# --------------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Table:
    name: str
    id_prefix: str
    scope: Literal["org", "platform"]
    model: type[BaseModel]
    indexes: tuple[Index, ...] = ()
    uniques: tuple[Unique, ...] = ()
    description: str = ""
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


_DECLARED: tuple[Table, ...] = (
    Table(
        "organizations", "org", "platform", OrganizationDoc,
        indexes=(Index("by_slug", ("slug",), 1),),
        uniques=(Unique("slug", ("slug",), message="organization slug is taken"),),
        description="tenants: every org-scoped key starts with one",
    ),
    Table(
        "users", "usr", "platform", UserDoc,
        indexes=(Index("by_email", ("email",), 1), Index("by_token", ("tokenIdentifier",), 1)),
        uniques=(Unique("email", ("email",), normalize=normalize_email, message="email already registered"),),
        description="people: accounts (auth)",
    ),
    Table(
        "memberships", "mem", "platform", MembershipDoc,
        indexes=(
            Index("by_user", ("userId",), 1),
            Index("by_organization", ("organizationId", "role"), 1),
        ),
        uniques=(Unique("member", ("organizationId", "userId"), message="already a member"),),
        description="people: who belongs to which organization, with which role",
    ),
    Table(
        "sessions", "ses", "platform", SessionDoc,
        indexes=(
            Index("by_token", ("tokenHash",), 1),
            Index("by_user", ("userId",), 1),
            Index("by_expires", ("expiresAt",), 0),
        ),
        uniques=(Unique("token", ("tokenHash",)),),
        description="auth sessions (token hashes only)",
    ),
    Table(
        "verificationTokens", "vtk", "platform", VerificationTokenDoc,
        indexes=(
            Index("by_token", ("token",), 1),
            Index("by_identifier", ("identifier", "type"), 1),
            Index("by_expires", ("expires",), 0),
        ),
        uniques=(Unique("token", ("token",)),),
        description="email verification, password reset and invitation tokens (hashes only)",
    ),
    Table(
        "entities", "ent", "org", EntityDoc,
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
                "creator_email", ("properties.email",), when=_is_creator, normalize=normalize_email,
                message="a creator with this email already exists",
            ),
        ),
        description="things: the 50 entity types",
    ),
    Table(
        "connections", "con", "org", ConnectionDoc,
        indexes=(
            Index("from_entity", ("fromEntityId",), 1),
            Index("to_entity", ("toEntityId",), 1),
            Index("from_type", ("fromEntityId", "relationshipType"), 1),
            Index("to_type", ("toEntityId", "relationshipType"), 1),
            Index("bidirectional", ("fromEntityId", "toEntityId", "relationshipType"), 1),
            Index("by_created", ("createdAt",), 0),
        ),
        uniques=(
            Unique("triple", ("fromEntityId", "toEntityId", "relationshipType"),
                   message="this connection already exists"),
        ),
        description="connections: the 33 relationship types",
    ),
    Table(
        "events", "evt", "org", EventDoc,
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
        "tags", "tag", "org", TagDoc,
        indexes=(
            Index("by_entity", ("entityId",), 1),
            Index("by_key", ("key",), 1),
            Index("by_key_value", ("key", "value"), 1),
        ),
        uniques=(Unique("tag", ("entityId", "key", "value"), message="this tag is already on the entity"),),
        description="knowledge: key-value labels",
    ),
)  # fmt: skip

TABLES: dict[str, Table] = {t.name: t for t in _DECLARED}

#: The number of GSIs the single table needs: the most indexes any one table has.
GSI_COUNT = max(len(t.indexes) for t in _DECLARED)


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValidationError(f"unknown table '{name}'", field="table") from None


def _locate(exc: PydanticValidationError, prefix: str = "") -> ValidationError:
    errs = exc.errors(include_url=False, include_context=False, include_input=False)
    locations = [{"field": prefix + ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in errs]
    first = locations[0]
    return ValidationError(
        f"Invalid {first['field']}: {first['message']}", field=first["field"], locations=locations
    )


def validate_properties(entity_type: str, properties: Any) -> dict[str, Any]:
    model = PROPERTY_MODELS.get(entity_type)
    if model is None:
        if not isinstance(properties, dict):
            raise ValidationError("Invalid properties: must be an object", field="properties")
        try:
            json_limits(properties, what="properties")
        except ValueError as exc:
            raise ValidationError(f"Invalid properties: {exc}", field="properties") from None
        return properties
    try:
        parsed = model.model_validate(properties)
    except PydanticValidationError as exc:
        raise _locate(exc, "properties.") from None
    return parsed.model_dump(mode="json", exclude_none=True)


def validate_document(table_name: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a document for ``table_name``; returns the normalized document (without system fields).

    Raises VALIDATION_ERROR naming the field, or PAYLOAD_TOO_LARGE past 64 KB of properties.
    """
    t = table(table_name)
    for key in doc:
        if key.startswith("_"):
            raise ValidationError(f"'{key}' is a system field and cannot be written", field=key)
    try:
        parsed = t.model.model_validate(dict(doc))
    except PydanticValidationError as exc:
        err = _locate(exc)
        if "bytes; the limit is" in err.message:
            raise PayloadTooLargeError(err.message, field=err.field) from None
        raise err from None
    out = parsed.model_dump(mode="json", exclude_unset=True)
    # Defaults of the model count as written (e.g. an event's empty metadata).
    for name, info in t.model.model_fields.items():
        if name not in out and not info.is_required():
            default = info.get_default(call_default_factory=True)
            if default is not None:
                out[name] = default
    if table_name == "entities":
        try:
            out["properties"] = validate_properties(out["type"], out.get("properties", {}))
        except ValidationError as exc:
            if "bytes; the limit is" in exc.message:
                raise PayloadTooLargeError(exc.message, field="properties") from None
            raise
    return out


__all__ += ["CREATION_TIME", "GSI_COUNT", "PAYMENT_STATUSES", "validate_properties"]
