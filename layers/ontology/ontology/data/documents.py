"""Document models: what every table's documents, and typed entity properties, must look like.

Kept apart from :mod:`ontology.data.schema` (the tables and their indexes) so that a function that only
reads — a query Lambda — never builds these models at cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ontology.data.fields import (
    MAX_KNOWLEDGE_TEXT,
    Count,
    DocumentId,
    Email,
    EntityId,
    EntityStatus,
    EntityType,
    EventType,
    JsonObject,
    JsonValue,
    KnowledgeLabels,
    LongText,
    Name,
    NonNegative,
    Number,
    OrganizationId,
    RelationshipType,
    Role,
    ShortText,
    Timestamp,
    UserId,
    _number_check,
    json_limits,
)
from ontology.data.schema import table
from ontology.errors import PayloadTooLargeError, ValidationError

__all__ = ["DOCUMENT_MODELS", "PROPERTY_MODELS", "validate_document", "validate_properties"]


class _Strict(BaseModel):
    # defer_build: a model compiles its validator on first use, so a query Lambda (which validates no
    # documents) does not pay for every table's and type's model at cold start.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False, defer_build=True)


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
    #: the creator the clone is of (set by clones:create; one clone per creator)
    creatorId: EntityId | None = None


class RecordedTx(_Strict):
    """A chain transaction recorded before it is sent (hash, signed raw bytes, nonce)."""

    hash: ShortText
    raw: LongText  # a contract's deploy carries its bytecode (about 5 KB)
    nonce: Count
    #: the signing account (absent: the deployer, the pool's first)
    signer: ShortText | None = None


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
    #: Its price in US dollars, which the reference's UI multiplies (``amount * priceUsd``): always
    #: there (``price`` when it is not given; ``tokens:create`` and ``tokens:update`` set both).
    priceUsd: NonNegative
    description: LongText | None = None
    #: Its picture: an https URL or a storage id of the organization's files.
    image: ShortText | None = None
    #: The creator who owns it (also their ``owns`` connection): tokens spent on their courses go to them.
    creatorId: EntityId | None = None
    #: Its deploy, recorded before it is sent (the token is a ``draft`` until it is mined), so that a
    #: retried ``tokens:create`` finds this contract instead of deploying a second one; removed once
    #: the token is active (no one needs it then).
    deployTx: RecordedTx | None = None
    idempotencyKey: ShortText | None = None
    argsHash: ShortText | None = None

    @model_validator(mode="before")
    @classmethod
    def _price_usd(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "priceUsd" not in data and "price" in data:
            return {**data, "priceUsd": data["price"]}
        return data


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
    #: The creator token ``tokenPrice`` is counted in.
    tokenId: EntityId | None = None
    enrollments: NonNegative = 0
    completions: NonNegative = 0
    averageRating: Annotated[
        int | float,
        PlainValidator(_number_check(0, 5)),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5}),
    ] = 0
    generatedBy: Literal["ai", "human", "hybrid"] = "human"
    personalizationLevel: Literal["none", "basic", "advanced"] = "none"
    #: the creator whose course it is, and (a generated course) its clone, idempotency key and progress
    creatorId: EntityId | None = None
    cloneId: EntityId | None = None
    idempotencyKey: ShortText | None = None
    generation: CourseGeneration | None = None


class OutlineLesson(_Strict):
    title: ShortText
    summary: LongText
    minutes: Annotated[StrictInt, Field(ge=1, le=600)]


class CourseGeneration(_Strict):
    """Where a generated course stands: ``outlining`` → ``writing`` (lesson ``step`` of ``lessons``) →
    ``complete``, or ``failed`` with the reason; the course stays ``draft`` until ``complete``."""

    state: Literal["outlining", "writing", "complete", "failed"]
    step: Count = 0
    #: asking again after a failure resumes as a new attempt (its watchdog watches that attempt only)
    attempt: Count = 0
    topic: ShortText
    audience: ShortText
    format: ShortText
    reason: ShortText | None = None
    outline: list[OutlineLesson] = Field(default_factory=list, max_length=50)
    skills: list[ShortText] = Field(default_factory=list, max_length=10)
    industry: ShortText | None = None
    #: the lessons written so far, in order (read by id when publishing: an index may lag the table)
    lessonIds: list[EntityId] = Field(default_factory=list, max_length=50)
    updatedAt: NonNegative = 0


class MediaAssetProperties(_Strict):
    """A stored file (the reference's files.saveFile)."""

    storageId: ShortText
    fileType: ShortText
    fileSize: Count


PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")


class PaymentProperties(_Strict):
    """A payment (the reference logs them as ``payment_processed``; the token purchase writes one).

    ``amount`` is in the currency's minor unit (cents), as Stripe counts.
    """

    amount: Count
    currency: Annotated[StrictStr, Field(min_length=3, max_length=8)] = "usd"
    status: Literal["pending", "completed", "failed", "refunded"] = "pending"
    provider: Literal["stripe", "crypto"] = "stripe"
    purpose: ShortText | None = None
    buyerId: EntityId | None = None
    tokenId: EntityId | None = None
    tokenAmount: Count | None = None
    paymentIntentId: ShortText | None = None
    transactionHash: ShortText | None = None
    failureReason: ShortText | None = None
    idempotencyKey: ShortText | None = None
    # The token purchase saga's recorded state: each step decides from it what is left to do.
    paymentMethodId: ShortText | None = None
    creatorId: EntityId | None = None
    contractAddress: ShortText | None = None
    unitPriceUsd: NonNegative | None = None
    argsHash: ShortText | None = None
    chargeStatus: Literal[
        "none", "requires_action", "authorized", "captured", "declined", "voided", "refunded"
    ] = "none"
    #: The buyer's Stripe customer, when the card is one they saved.
    customerId: ShortText | None = None
    #: While the card waits for 3-D Secure (``requires_action``): what the buyer's page needs
    #: (``tokens:get_purchase`` shows it to the buyer only) and the waiting execution's task token.
    clientSecret: ShortText | None = None
    nextAction: JsonObject | None = None
    taskToken: ShortText | None = None
    refundId: ShortText | None = None
    mintStatus: Literal["none", "sent", "minted", "failed", "burned"] = "none"
    mintTx: RecordedTx | None = None
    burnTx: RecordedTx | None = None
    #: Set once compensation starts: from then on the purchase only goes backward.
    compensating: StrictBool = False
    failedStep: ShortText | None = None
    failureCode: ShortText | None = None
    completedAt: NonNegative | None = None


PROPERTY_MODELS: dict[str, type[BaseModel]] = {
    "creator": CreatorProperties,
    "ai_clone": AiCloneProperties,
    "token": TokenProperties,
    "course": CourseProperties,
    "media_asset": MediaAssetProperties,
    "payment": PaymentProperties,
}

# --------------------------------------------------------------------------------------------------
# Documents, one model per table


class OrganizationDoc(_Strict):
    name: Name
    slug: Annotated[StrictStr, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
    status: Literal["active", "suspended"] = "active"
    plan: ShortText | None = None
    personal: StrictBool = False
    #: Who may become a member: only people invited by email, or also anyone signed in (fans join
    #: as ``customer`` with ``organizations:join``).
    joinPolicy: Literal["invitation", "open"] = "invitation"
    createdAt: Timestamp
    updatedAt: Timestamp


class UserDoc(_Strict):
    email: Email
    name: ShortText | None = None
    image: ShortText | None = None
    emailVerified: StrictBool = False
    tokenIdentifier: ShortText | None = None
    #: The organization made with the user (their own), where a new session opens while they are
    #: a member: read by id, as an index of memberships may not show one made a moment ago.
    homeOrganizationId: OrganizationId | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class MembershipDoc(_Strict):
    organizationId: OrganizationId
    userId: UserId
    role: Role
    #: The member's own entity in the organization (an ``audience_member``): the actor of their events.
    entityId: EntityId | None = None
    #: The member's Stripe customer (made on first use) and the saved card their purchases are
    #: charged to: on the membership, which no function shows to other members.
    stripeCustomerId: ShortText | None = None
    paymentMethodId: ShortText | None = None
    #: When the SetupIntent that saved the default card was created (Stripe's seconds).
    paymentMethodSince: Count | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class SessionDoc(_Strict):
    userId: UserId
    tokenHash: ShortText
    expiresAt: Timestamp
    activeOrganizationId: OrganizationId | None = None
    #: The membership in the active organization, kept on the session so that one consistent read
    #: of the session is the whole identity of a call (set by sign-in and switching, updated when the
    #: member's role changes, removed with the membership). Absent on sessions written before.
    role: Role | None = None
    entityId: EntityId | None = None
    email: ShortText | None = None
    ipAddress: ShortText | None = None
    userAgent: ShortText | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class VerificationTokenDoc(_Strict):
    identifier: ShortText
    token: ShortText  # SHA-256 of the token: the token itself is never stored
    expires: Timestamp
    type: Literal["email_verification", "password_reset", "invitation", "oauth_state"]
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


class ScheduledFunctionDoc(_Strict):
    name: Annotated[StrictStr, Field(min_length=3, max_length=200)]
    args: JsonObject
    scheduledTime: Timestamp
    state: Literal["pending", "inProgress", "success", "failed", "canceled"]
    kind: Literal["mutation", "action"]
    organizationId: OrganizationId | None = None
    auth: dict[str, StrictStr] | None = None
    completedTime: Timestamp | None = None
    error: Annotated[StrictStr, Field(max_length=2000)] | None = None
    createdAt: Timestamp


class AccountDoc(_Strict):
    userId: UserId
    providerId: Literal["credential", "github", "google"]
    accountId: Annotated[StrictStr, Field(min_length=1, max_length=320)]
    passwordHash: Annotated[StrictStr, Field(max_length=512)] | None = None
    createdAt: Timestamp
    updatedAt: Timestamp


class RateLimitDoc(_Strict):
    key: Annotated[StrictStr, Field(min_length=1, max_length=400)]
    window: Annotated[StrictStr, Field(min_length=1, max_length=40)]
    count: Count
    expiresAt: Timestamp


class CronRunDoc(_Strict):
    job: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    window: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    item: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    result: JsonObject | None = None
    createdAt: Timestamp


class WebhookEventDoc(_Strict):
    """A provider's webhook event applied once (its id), kept a while to refuse it again."""

    provider: Literal["stripe"]
    eventId: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    type: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    createdAt: Timestamp
    expiresAt: Timestamp


class ChainNonceDoc(_Strict):
    account: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    next: Count
    updatedAt: Timestamp


class KnowledgeDoc(_Strict):
    kind: Literal["label", "chunk"]
    text: Annotated[StrictStr, Field(min_length=1, max_length=MAX_KNOWLEDGE_TEXT)]
    sourceId: DocumentId
    #: whose knowledge it is, when not the source's own (a clone's training chunks: the clone)
    ownerId: DocumentId | None = None
    chunkIndex: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    contentHash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    # the vector index checks the dimensions; any finite number is a component
    embedding: list[Annotated[float, Field(strict=False, allow_inf_nan=False)]] | None = None
    labels: KnowledgeLabels = Field(default_factory=dict)
    createdAt: Timestamp
    updatedAt: Timestamp


class PublicEntityDoc(_Strict):
    """A public entity's pointer (written by the transaction layer, its id the entity's own)."""

    organizationId: OrganizationId
    type: EntityType


DOCUMENT_MODELS: dict[str, type[BaseModel]] = {
    "organizations": OrganizationDoc,
    "users": UserDoc,
    "memberships": MembershipDoc,
    "sessions": SessionDoc,
    "verificationTokens": VerificationTokenDoc,
    "entities": EntityDoc,
    "connections": ConnectionDoc,
    "events": EventDoc,
    "tags": TagDoc,
    "knowledge": KnowledgeDoc,
    "scheduledFunctions": ScheduledFunctionDoc,
    "cronRuns": CronRunDoc,
    "accounts": AccountDoc,
    "rateLimits": RateLimitDoc,
    "chainNonces": ChainNonceDoc,
    "webhookEvents": WebhookEventDoc,
    "publicEntities": PublicEntityDoc,
}


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
    table(table_name)  # an unknown table is a VALIDATION_ERROR
    for key in doc:
        if key.startswith("_"):
            raise ValidationError(f"'{key}' is a system field and cannot be written", field=key)
    try:
        parsed = DOCUMENT_MODELS[table_name].model_validate(dict(doc))
    except PydanticValidationError as exc:
        err = _locate(exc)
        if "bytes; the limit is" in err.message:
            raise PayloadTooLargeError(err.message, field=err.field) from None
        raise err from None
    out = parsed.model_dump(mode="json", exclude_unset=True)
    # Defaults of the model count as written (e.g. an event's empty metadata).
    for name, info in DOCUMENT_MODELS[table_name].model_fields.items():
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
