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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ontology.data.fields import normalize_email
from ontology.data.indexes import CREATION_TIME, Index, SearchIndex, Unique, VectorIndex
from ontology.data.keys import register_table_prefix
from ontology.errors import ValidationError

__all__ = [
    "CREATION_TIME",
    "GSI_COUNT",
    "OMITTED_INDEXES",
    "PLATFORM_SCOPE",
    "RESERVED_PROPERTY_KEYS",
    "TABLES",
    "Table",
    "table",
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
# --------------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Table:
    """A table of the schema: its id prefix, scope, indexes and uniqueness rules."""

    name: str
    id_prefix: str
    scope: Literal["org", "platform"]
    indexes: tuple[Index, ...] = ()
    uniques: tuple[Unique, ...] = ()
    description: str = ""
    #: A timestamp field (ms) after which DynamoDB's TTL may delete the document.
    ttl_field: str | None = None
    #: The GSI slot of the implicit ``by_creation_time`` index, or None where no query of the table
    #: reads every document by creation time (a query then names its index).
    creation_time: int | None = 1
    #: Shards of ``by_creation_time`` (every write of the table in an organization lands on it).
    creation_time_shards: int = 1
    #: The full-text search and vector indexes (declared among ``indexes``; they take no GSI slot).
    search_indexes: tuple[SearchIndex, ...] = ()
    vector_indexes: tuple[VectorIndex, ...] = ()
    #: Indexes answered by another index of the table and a filter (``Index.served_by``).
    virtual_indexes: tuple[Index, ...] = ()
    #: Whether deleting a document leaves tombstones, so that a mutation may read one for its
    #: existence alone (``checked="existence"``: :mod:`ontology.data.tombstones`).
    tombstones: bool = False
    #: The keyed unique rule (``Unique.keyed``): its value derives a new document's id.
    keyed: Unique | None = field(default=None, init=False)
    _by_name: dict[str, Index] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        register_table_prefix(self.name, self.id_prefix)
        declared = [i for i in self.indexes if not isinstance(i, SearchIndex | VectorIndex)]
        regular = [i for i in declared if not i.served_by and not i.merges]
        if self.creation_time is not None:
            what, shards = "every document, by creation time", self.creation_time_shards
            regular.insert(0, Index("by_creation_time", (), 0, what, self.creation_time, shards=shards))
        slotted = _assign_slots(self.name, regular)
        virtual = tuple(_check_served(self.name, i, slotted) for i in declared if i.served_by or i.merges)
        searches = tuple(i for i in self.indexes if isinstance(i, SearchIndex))
        vectors = tuple(i for i in self.indexes if isinstance(i, VectorIndex))
        object.__setattr__(self, "indexes", slotted)
        object.__setattr__(self, "virtual_indexes", virtual)
        object.__setattr__(self, "search_indexes", searches)
        object.__setattr__(self, "vector_indexes", vectors)
        every = (*slotted, *virtual, *searches, *vectors)
        names = [i.name for i in every]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate index name")
        self._by_name.update({i.name: i for i in every})
        keyed = [u for u in self.uniques if u.keyed]
        if len(keyed) > 1:
            raise ValueError(f"table {self.name}: one keyed unique rule at most (it derives the id)")
        object.__setattr__(self, "keyed", keyed[0] if keyed else None)

    def index(self, name: str) -> Index:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise ValidationError(f"table '{self.name}' has no index '{name}' (known: {known})") from None


def _assign_slots(table_name: str, regular: list[Index]) -> tuple[Index, ...]:
    """Declared slots stay; the others take the next free slots in declaration order."""
    from dataclasses import replace

    taken = {i.slot for i in regular if i.slot}
    if len(taken) != len([i for i in regular if i.slot]):
        raise ValueError(f"table {table_name}: two indexes declare one slot")
    free = (n for n in range(1, 64) if n not in taken)
    return tuple(i if i.slot else replace(i, slot=next(free)) for i in regular)


def _check_served(table_name: str, virtual: Index, real: tuple[Index, ...]) -> Index:
    if virtual.merges:
        merged = next((i for i in real if i.name == virtual.merges), None)
        if (
            merged is None
            or merged.fields[:-1] != virtual.fields
            or merged.partition != virtual.partition
            or merged.partition != len(virtual.fields)
            or merged.sharded_anywhere
        ):
            raise ValueError(
                f"table {table_name}: {virtual.name} must be {virtual.merges} less its last field"
            )
        return virtual
    base = next((i for i in real if i.name == virtual.served_by), None)
    if base is None:
        raise ValueError(
            f"table {table_name}: {virtual.name} is served by an unknown index {virtual.served_by}"
        )
    if virtual.fields[: len(base.fields)] != base.fields or len(virtual.fields) == len(base.fields):
        raise ValueError(f"table {table_name}: {virtual.name} must extend the fields of {base.name}")
    if virtual.partition < base.partition:
        raise ValueError(f"table {table_name}: {virtual.name} must fix what {base.name} fixes")
    return virtual


def _is_creator(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "creator"


def _is_token(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "token"


def _is_payment(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "payment"


def _is_chunk(doc: Mapping[str, Any]) -> bool:
    return doc.get("kind") == "chunk"


def _is_clone(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "ai_clone"


def _is_knowledge_item(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "knowledge_item"


def _keyed_by_creator(doc: Mapping[str, Any]) -> bool:
    """Entities a creator's request makes once per idempotency key (a token has its own rule)."""
    return doc.get("type") in ("course", "livestream")


def _is_message(doc: Mapping[str, Any]) -> bool:
    return doc.get("type") == "message"


def _is_organization_default(doc: Mapping[str, Any]) -> bool:
    """The organization's own entity of its type (its agent, its website: one each)."""
    properties = doc.get("properties")
    return isinstance(properties, Mapping) and properties.get("organizationDefault") is True


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
        description="fixed-window counters of the emails sent to an address",
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
        "webhookEvents",
        "whe",
        "platform",
        uniques=(Unique("event", ("provider", "eventId"), message="this event was already applied"),),
        description="providers' webhook events already applied (Stripe's, by id): each is applied once",
        ttl_field="expiresAt",
    ),
    Table(
        "chainNonces",
        "cnc",
        "platform",
        uniques=(Unique("account", ("account",)),),
        description="each signing account's next nonce per chain, taken as a transaction is recorded",
    ),
    Table(
        "publicEntities",
        "pub",
        "platform",
        creation_time=None,
        indexes=(Index("by_type", ("type",), 1, slot=2, shards=8),),
        description=(
            "what the world sees: a pointer per public entity (its own id → its organization), written "
            "in the transaction that makes it public, deleted in the one that makes it stop being public"
        ),
    ),
    Table(
        "entities",
        "ent",
        "org",
        creation_time_shards=4,
        tombstones=True,  # a connection's ends are read for their existence (connections:create)
        indexes=(
            # every purchase writes its payment several times (docs/token-purchase.md): a token sale
            # spreads the organization's payment partitions over shards
            Index("by_type", ("type",), 1, slot=2, value_shards=(("payment", 4),)),
            Index("by_status", ("status",), 1, served_by="by_creation_time"),
            Index("by_type_status", ("type", "status"), 1, slot=4, value_shards=(("payment", 4),)),
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
                "token_symbol",
                ("properties.creatorId", "properties.symbol"),
                when=_is_token,
                message="this creator already has a token with this symbol",
            ),
            Unique(
                "token_idempotency",
                ("properties.creatorId", "properties.idempotencyKey"),
                when=_is_token,
                message="this idempotency key is already used",
            ),
            Unique(
                "payment_idempotency",
                ("properties.buyerId", "properties.idempotencyKey"),
                when=_is_payment,
                message="this idempotency key is already used",
            ),
            Unique(
                "clone_of_creator",
                ("properties.creatorId",),
                when=_is_clone,
                message="this creator already has an AI clone",
            ),
            Unique(
                "trained_item",
                ("properties.cloneId", "properties.contentId"),
                when=_is_knowledge_item,
                message="this content is already in the clone's knowledge",
            ),
            Unique(
                "creator_idempotency",
                ("type", "properties.creatorId", "properties.idempotencyKey"),
                when=_keyed_by_creator,
                message="this idempotency key is already used",
            ),
            Unique(
                "message_idempotency",
                ("properties.senderId", "properties.idempotencyKey"),
                when=_is_message,
                message="this idempotency key is already used",
            ),
            Unique(
                "organization_default",
                ("type",),
                when=_is_organization_default,
                message="the organization already has its own entity of this type",
            ),
        ),
        description="things: the 50 entity types",
    ),
    Table(
        "connections",
        "con",
        "org",
        creation_time=None,
        indexes=(
            Index("from_entity", ("fromEntityId",), 1, merges="from_type"),
            Index("to_entity", ("toEntityId",), 1, merges="to_type"),
            Index("from_type", ("fromEntityId", "relationshipType"), 1, slot=4),
            Index("to_type", ("toEntityId", "relationshipType"), 1, slot=5),
        ),
        uniques=(
            Unique(
                "triple",
                ("fromEntityId", "toEntityId", "relationshipType"),
                message="this connection already exists",
                keyed=True,
            ),
        ),
        description="connections: the 33 relationship types",
    ),
    Table(
        "events",
        "evt",
        "org",
        creation_time=None,
        indexes=(
            Index("by_actor", ("actorId",), 1, slot=3, sparse=True),
            Index("by_target", ("targetId",), 1, slot=4, sparse=True),
            # every mutation of an organization logs an event: its timeline is spread over shards
            Index("by_timestamp", ("timestamp",), 0, slot=5, shards=4),
            Index("by_actor_type", ("actorId", "type"), 1, served_by="by_actor"),
            Index("by_target_type", ("targetId", "type"), 1, served_by="by_target"),
        ),
        description="events: the 49 event types",
    ),
    Table(
        "tags",
        "tag",
        "org",
        creation_time=None,
        indexes=(
            Index("by_entity", ("entityId",), 1, slot=2),
            Index("by_key", ("key",), 1, slot=3),
            Index("by_key_value", ("key", "value"), 1, served_by="by_key"),
        ),
        uniques=(
            Unique(
                "tag", ("entityId", "key", "value"), message="this tag is already on the entity", keyed=True
            ),
        ),
        description="knowledge: key-value labels",
    ),
    Table(
        "knowledge",
        "kno",
        "org",
        creation_time=None,
        indexes=(
            Index("by_source", ("sourceId", "chunkIndex"), 1, slot=2),
            Index("by_kind", ("kind",), 1, slot=3),
            VectorIndex(
                "by_embedding",
                ("embedding",),
                0,
                "chunks and labels by meaning (cosine similarity)",
                vector_field="embedding",
                filter_fields=("sourceId", "kind", "ownerId"),
            ),
        ),
        uniques=(
            Unique(
                "chunk",
                ("sourceId", "contentHash"),
                when=_is_chunk,
                message="this text is already known for this source",
            ),
        ),
        description="knowledge: labels and chunks of text with their embeddings (RAG and search)",
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in _DECLARED}

#: Indexes of the reference's schema the platform does not keep, and how their queries are answered
#: instead: each index costs a write unit on every write of its table (docs/cost.md).
OMITTED_INDEXES: dict[str, str] = {
    "entities.by_created": "no query reads entities by createdAt; by_creation_time orders them by creation",
    "entities.by_updated": "no query reads entities by updatedAt",
    "events.by_type": "an organization's events of a type are its timeline (by_timestamp) with a filter",
    "connections.bidirectional": (
        "a (from, to, type) is unique and names its connection: lookup_unique reads the one; from_type "
        "with a filter on toEntityId reads an entity's connections of a type to another"
    ),
    "connections.by_created": (
        "the weekly report counts follows from the events it reads (a follow logs user_engaged)"
    ),
}
for _name in OMITTED_INDEXES:
    _t, _, _index = _name.partition(".")
    if _index in TABLES[_t]._by_name:
        raise ValueError(f"{_name} is declared and listed as omitted")

#: The GSIs of the single table. A slot whose index was removed stays declared (and empty: no item
#: carries its keys): CloudFormation adds or removes one GSI per stack update at most, so a table's
#: GSIs change one deploy at a time (docs/deploying.md).
GSI_COUNT = 7
if max(i.slot for t in _DECLARED for i in t.indexes) > GSI_COUNT:
    raise ValueError("an index's slot is past the table's GSIs")


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValidationError(f"unknown table '{name}'", field="table") from None
