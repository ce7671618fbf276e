"""Who sees what: one rule per kind of document, applied wherever a function reads documents.

A caller stands to an organization's documents as one of three **audiences**:

- ``staff``: an ``org_user``, ``org_owner`` or ``platform_owner`` of that organization: every document,
  every field (what the organization needs to run);
- ``member``: a ``customer`` of that organization: what the world sees, what every member sees (an AI
  clone, a community), what is theirs (their own entity, payments and events) and what they take part
  in (their conversations, the chats of the livestreams they joined), without the fields only staff
  read (a creator's email, a clone's system prompt, idempotency keys);
- ``public``: anyone else, signed in or not (no session, or a member of another organization): what a
  creator platform shows the world (an active token or creator, published content and courses, a
  scheduled or live livestream), with the same fields hidden.

Each kind of document has one :class:`Rule` (entities one per type; connections, events, tags and
knowledge one each), declared here next to the schema. A connection is seen by whoever sees both its
ends, a tag by whoever sees its entity, a knowledge chunk by whoever sees its owner (else its source).
The rule is applied by the database reader a public function's context holds (:class:`Sight`, given to
``ctx.db``): point reads, queries, full-text search, and therefore subscriptions, which re-run the same
queries; an action's vector search keeps only what its caller may read. Mutations and internal
functions read unfiltered (the platform's own code decides for itself).

Deciding costs no request per document: public and member rules read the document alone; what needs
another item (a participant's ``participated_in`` connection, at the key its triple derives; the two
ends of a connection) is read for a whole page at once, one BatchGetItem per kind of need, and never
for staff.

Anonymous reads need no organization from the caller: the transaction that makes an entity public
writes a pointer item (its id → its organization, ``publicEntities``) and the one that makes it stop
being public deletes it, so ``db.get(id)`` finds a public entity of any organization by its id.

Example::

    sight = Sight(Viewer.of(identity))
    db = DatabaseReader(identity.organizationId if identity else None, sight=sight)
    db.get(token_id, "entities")   # the token as this caller may see it, or None
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ontology.data.indexes import get_path
from ontology.data.keys import DOC_SK, UNDEFINED, table_of_id
from ontology.data.tracking import record_point

if TYPE_CHECKING:
    from ontology.data.db import DatabaseReader
    from ontology.data.schema import Table

__all__ = [
    "MEMBER",
    "PUBLIC",
    "PUBLIC_TABLE",
    "RULES",
    "STAFF",
    "STAFF_ROLES",
    "Rule",
    "Sight",
    "Viewer",
    "is_public",
    "pointer_changes",
    "rule_for",
]

STAFF, MEMBER, PUBLIC = "staff", "member", "public"
STAFF_ROLES = frozenset({"org_user", "org_owner", "platform_owner"})
#: The platform table of pointers to public entities (their ids are the entities' own).
PUBLIC_TABLE = "publicEntities"
#: Statuses of a document that is out in the world (content, products, creators, tokens).
LIVE = frozenset({"active", "published"})
#: Fields of any entity no one but staff reads: a client's idempotency key and the digest of its
#: arguments (tokens, payments, courses, livestreams, messages).
INTERNAL_PROPERTIES = ("properties.idempotencyKey", "properties.argsHash")

Doc = dict[str, Any]


class Viewer:
    """Who reads: the caller's active organization, role and own entity (all None: anonymous)."""

    __slots__ = ("entity", "org", "role")

    def __init__(self, org: str | None = None, role: str | None = None, entity: str | None = None) -> None:
        self.org, self.role, self.entity = org, role, entity

    @classmethod
    def of(cls, identity: Any) -> Viewer:
        """The viewer an ``Identity`` (or None: anonymous) stands for."""
        if identity is None:
            return cls()
        return cls(identity.organizationId, identity.role, getattr(identity, "entityId", None))

    def audience(self, org: str | None) -> str:
        """How this viewer stands to the documents of ``org``: STAFF, MEMBER or PUBLIC."""
        if self.role is None or org is None or org != self.org:
            return PUBLIC
        return STAFF if self.role in STAFF_ROLES else MEMBER

    def __repr__(self) -> str:
        return f"Viewer({self.org!r}, {self.role!r}, {self.entity!r})"


# ------------------------------------------------------------------------------------------- rules


class Rule:
    """Who, besides staff, sees documents of one kind, and which fields they do not see.

    ``public(doc)``: the world sees it; ``members(doc)``: every member of its organization does;
    ``own(doc, me)``: the member whose entity is ``me`` does; ``parents``: paths of the conversation or
    livestream the document belongs to (or ``_id``: itself), whose participants see it;
    ``related``: paths of entity ids the document is about — seen by whoever sees every one of them
    (the first path present when ``any_related``); ``hidden``: fields only staff read. ``public_text``
    and ``member_text`` say it in words (docs/auth.md's table)."""

    __slots__ = (
        "any_related",
        "hidden",
        "member_text",
        "members",
        "own",
        "parents",
        "public",
        "public_text",
        "related",
    )

    def __init__(
        self,
        *,
        public: Callable[[Mapping[str, Any]], bool] | None = None,
        members: Callable[[Mapping[str, Any]], bool] | None = None,
        own: Callable[[Mapping[str, Any], str], bool] | None = None,
        parents: tuple[str, ...] = (),
        related: tuple[str, ...] = (),
        any_related: bool = False,
        hidden: tuple[str, ...] = (),
        public_text: str = "nothing",
        member_text: str = "",
    ) -> None:
        self.public, self.members, self.own = public, members, own
        self.parents, self.related, self.any_related = parents, related, any_related
        self.hidden = hidden
        self.public_text = public_text
        self.member_text = member_text or public_text


def _live(doc: Mapping[str, Any]) -> bool:
    return doc.get("status") in LIVE


def _not_archived(doc: Mapping[str, Any]) -> bool:
    return doc.get("status") != "archived"


def _on_air(doc: Mapping[str, Any]) -> bool:
    props = doc.get("properties") or {}
    return _not_archived(doc) and props.get("streamStatus") in ("scheduled", "started")


def _prop_is(name: str) -> Callable[[Mapping[str, Any], str], bool]:
    return lambda doc, me: (doc.get("properties") or {}).get(name) == me


def _self(doc: Mapping[str, Any], me: str) -> bool:
    return doc.get("_id") == me


STAFF_ONLY = Rule(public_text="nothing", member_text="nothing")
CONTENT = Rule(public=_live, public_text="when active or published")
MEMBERS_WHEN_LIVE = Rule(members=_live, public_text="nothing", member_text="when active or published")

_CONTENT_TYPES = (
    "blog_post",
    "video",
    "podcast",
    "social_post",
    "lesson",
    "recording",
    "digital_product",
    "membership",
    "consultation",
    "nft",
    "community",
    "website",
    "landing_page",
    "announcement",
    "token_contract",
)
_STAFF_TYPES = (
    "strategy_agent",
    "research_agent",
    "marketing_agent",
    "sales_agent",
    "service_agent",
    "design_agent",
    "engineering_agent",
    "finance_agent",
    "legal_agent",
    "intelligence_agent",
    "knowledge_item",
    "embedding",
    "template",
    "subscription",
    "invoice",
    "metric",
    "insight",
    "prediction",
    "report",
    "notification",
    "email_campaign",
    "referral",
    "campaign",
    "lead",
)

#: Entities, by type.
ENTITY_RULES: dict[str, Rule] = {
    **dict.fromkeys(_CONTENT_TYPES, CONTENT),
    **dict.fromkeys(_STAFF_TYPES, STAFF_ONLY),
    "email": MEMBERS_WHEN_LIVE,
    "creator": Rule(
        public=_live,
        hidden=("properties.email", "properties.totalRevenue"),
        public_text="when active: the public profile",
    ),
    "ai_clone": Rule(
        members=_not_archived,
        hidden=("properties.systemPrompt",),
        public_text="nothing",
        member_text="unless archived",
    ),
    "audience_member": Rule(own=_self, public_text="nothing", member_text="their own"),
    "course": Rule(public=_live, hidden=("properties.generation",), public_text="when active or published"),
    "token": Rule(public=_live, hidden=("properties.deployTx",), public_text="when active (deployed)"),
    "livestream": Rule(
        public=_on_air,
        members=_not_archived,
        public_text="while scheduled or live",
        member_text="unless archived",
    ),
    "conversation": Rule(
        own=_prop_is("startedBy"),
        parents=("_id",),
        public_text="nothing",
        member_text="those they take part in",
    ),
    "message": Rule(
        own=_prop_is("senderId"),
        parents=("properties.conversationId", "properties.livestreamId"),
        public_text="nothing",
        member_text="their own, and those of the conversations and livestream chats they take part in",
    ),
    "media_asset": Rule(public=lambda doc: doc.get("status") == "published", public_text="when published"),
    "payment": Rule(
        own=_prop_is("buyerId"),
        hidden=("properties.mintTx", "properties.burnTx", "properties.paymentMethodId"),
        public_text="nothing",
        member_text="their own purchases",
    ),
}


def _event_own(doc: Mapping[str, Any], me: str) -> bool:
    meta = doc.get("metadata")
    buyer = meta.get("buyerId") if isinstance(meta, Mapping) else None
    return me in (doc.get("actorId"), doc.get("targetId"), buyer)


#: The other org-scoped tables.
TABLE_RULES: dict[str, Rule] = {
    "connections": Rule(
        related=("fromEntityId", "toEntityId"),
        public_text="those between two entities they see",
    ),
    "events": Rule(
        own=_event_own,
        public_text="nothing",
        member_text="those they act in, are the target of, or bought in",
    ),
    "tags": Rule(related=("entityId",), public_text="those of the entities they see"),
    "knowledge": Rule(
        related=("ownerId", "sourceId"),
        any_related=True,
        public_text="those whose owner (else source) they see",
    ),
}

#: Every rule by the name docs/auth.md gives its kind.
RULES: dict[str, Rule] = {
    **{f"entities: {t}": r for t, r in sorted(ENTITY_RULES.items())},
    **TABLE_RULES,
}


def rule_for(table: str, doc: Mapping[str, Any]) -> Rule:
    """The rule of a document (an entity type without its own rule, or a platform table: staff only)."""
    if table == "entities":
        return ENTITY_RULES.get(str(doc.get("type")), STAFF_ONLY)
    return TABLE_RULES.get(table, STAFF_ONLY)


def is_public(table: str, doc: Mapping[str, Any] | None) -> bool:
    """Whether the world sees ``doc`` (whether it has a pointer in ``publicEntities``)."""
    if doc is None or table != "entities":
        return False
    rule = rule_for(table, doc)
    return rule.public is not None and bool(rule.public(doc))


def _pointer(scope: str, doc: Mapping[str, Any]) -> Doc:
    return {
        "organizationId": scope,
        "type": doc["type"],
        "_id": doc["_id"],
        "_creationTime": doc["_creationTime"],
    }


def pointer_changes(
    table: str, scope: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[Doc | None, Doc | None] | None:
    """What a write of ``old`` → ``new`` (None: absent) in ``scope`` does to the document's public
    pointer: ``(pointer before, pointer after)`` (None: none), or None when it does not change."""
    before = _pointer(scope, old) if old is not None and is_public(table, old) else None
    after = _pointer(scope, new) if new is not None and is_public(table, new) else None
    return None if before == after else (before, after)


def _project(doc: Doc, hidden: Iterable[str]) -> Doc:
    """``doc`` without the ``hidden`` dotted paths (copies only what it changes)."""
    out = doc
    for path in hidden:
        *parents, last = path.split(".")
        holder: Any = out
        for p in parents:
            holder = holder.get(p) if isinstance(holder, Mapping) else None
        if not isinstance(holder, Mapping) or last not in holder:
            continue
        if out is doc:
            out = dict(doc)
        cur = out
        for p in parents:  # copy the path down to the field
            cur[p] = dict(cur[p])
            cur = cur[p]
        del cur[last]
    return out


# ------------------------------------------------------------------------------------------- sight


class Sight:
    """One caller's view of the database for one function run: decides and projects documents, and
    reads (a page at a time) what a decision needs. Held by the reader of a public function."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        #: (org, entity id) → the entity (None: missing), read to decide a connection, tag or chunk
        self._entities: dict[tuple[str, str], Doc | None] = {}
        #: (org, parent id) → whether the viewer takes part in it (their participated_in connection)
        self._participates: dict[tuple[str, str], bool] = {}
        #: entity id → the organization of its public pointer (None: not public)
        self._pointers: dict[str, str | None] = {}
        #: document id → the organization this caller read it from
        self.homes: dict[str, str] = {}

    def sees_all(self, org: str | None) -> bool:
        return self.viewer.audience(org) == STAFF

    # -- deciding

    def show(self, org: str, table: str, doc: Doc | None) -> Doc | None:
        """``doc`` as this viewer sees it (hidden fields removed), or None when they do not see it.
        What deciding needs beyond the document is what :meth:`prepare` read for its page (what it
        did not read counts as not seen: a reader prepares every page before it shows it)."""
        if doc is None:
            return None
        audience = self.viewer.audience(org)
        if audience == STAFF:
            self.homes.setdefault(str(doc["_id"]), org)
            return doc
        rule = rule_for(table, doc)
        if not self._visible(org, audience, rule, doc):
            return None
        self.homes.setdefault(str(doc["_id"]), org)
        hidden = (*INTERNAL_PROPERTIES, *rule.hidden) if table == "entities" else rule.hidden
        return _project(doc, hidden)

    def _visible(self, org: str, audience: str, rule: Rule, doc: Mapping[str, Any]) -> bool:
        if rule.public is not None and rule.public(doc):
            return True
        if rule.related:
            return self._related_visible(org, audience, rule, doc)
        if audience != MEMBER:
            return False
        if rule.members is not None and rule.members(doc):
            return True
        me = self.viewer.entity
        if not me:
            return False
        if rule.own is not None and rule.own(doc, me):
            return True
        return any(self._participates.get((org, p), False) for p in _parents(rule, doc))

    def _related_visible(self, org: str, audience: str, rule: Rule, doc: Mapping[str, Any]) -> bool:
        ids = _related(rule, doc)
        if not ids:
            return False
        for entity_id in ids:
            if audience == PUBLIC:
                if self._pointers.get(entity_id) != org:
                    return False
                continue
            entity = self._entities.get((org, entity_id))
            if entity is None:
                return False
            if not self._visible(org, MEMBER, rule_for("entities", entity), entity):
                return False
        return True

    # -- reading what decisions need, a page at a time

    def prepare(self, reader: DatabaseReader, org: str, table: str, docs: Iterable[Doc | None]) -> None:
        """Read, in one request per kind of need, what deciding ``docs`` (of ``org``) takes beyond
        the documents themselves: the entities a connection, tag or chunk is about, the participant
        guards of conversations and livestreams. Nothing for staff, nothing already known."""
        audience = self.viewer.audience(org)
        if audience == STAFF:
            return
        related: set[str] = set()
        deciding: list[tuple[Rule, Mapping[str, Any]]] = []
        for doc in docs:
            if doc is None:
                continue
            rule = rule_for(table, doc)
            if rule.related:
                related.update(_related(rule, doc))
            else:
                deciding.append((rule, doc))
        if audience == PUBLIC:
            self._read_pointers(reader, [i for i in related if i not in self._pointers])
            return
        wanted = [i for i in related if (org, i) not in self._entities]
        if wanted:
            for entity_id, entity in zip(
                wanted, reader.view(org=org)._get_many(wanted, "entities"), strict=True
            ):
                self._entities[(org, entity_id)] = entity
                if entity is not None:
                    deciding.append((rule_for("entities", entity), entity))
        self._read_participation(reader, org, deciding)

    def _read_participation(
        self, reader: DatabaseReader, org: str, deciding: list[tuple[Rule, Mapping[str, Any]]]
    ) -> None:
        me = self.viewer.entity
        if not me:
            return
        parents: set[str] = set()
        for rule, doc in deciding:
            if not rule.parents or (rule.public is not None and rule.public(doc)):
                continue
            if (rule.members is not None and rule.members(doc)) or (
                rule.own is not None and rule.own(doc, me)
            ):
                continue
            parents.update(p for p in _parents(rule, doc) if (org, p) not in self._participates)
        if not parents:
            return
        keys = {
            p: reader.holder_keys(org, "connections", "triple", (me, p, "participated_in")) for p in parents
        }
        found = reader._store.batch_get_items([k for held in keys.values() for k in held])
        for parent, held in keys.items():
            for key in held:
                record_point(*key)
            self._participates[(org, parent)] = any(k in found for k in held)

    def _read_pointers(self, reader: DatabaseReader, ids: list[str]) -> None:
        ids = [i for i in ids if table_of_id(i) == "entities"]
        if not ids:
            return
        keys = {i: f"platform#{i}" for i in ids}
        found = reader._store.batch_get([(k, DOC_SK) for k in keys.values()])
        for entity_id, key in keys.items():
            record_point(key, DOC_SK)
            item = found.get(key)
            self._pointers[entity_id] = (
                str(json.loads(item["doc"])["organizationId"])
                if item and item.get("tb") == PUBLIC_TABLE
                else None
            )

    def pointer(self, reader: DatabaseReader, entity_id: str) -> str | None:
        """The organization of a public entity (None: it is not public), read once per run."""
        if entity_id not in self._pointers:
            self._read_pointers(reader, [entity_id])
        return self._pointers.get(entity_id)

    def pointers(self, reader: DatabaseReader, ids: list[str]) -> dict[str, str | None]:
        self._read_pointers(reader, [i for i in dict.fromkeys(ids) if i not in self._pointers])
        return {i: self._pointers.get(i) for i in ids}

    # -- reads on behalf of a reader

    def get(self, reader: DatabaseReader, t: Table, doc_id: str) -> Doc | None:
        """``reader.get`` as this viewer sees it: the caller's organization first, then (an entity)
        the organization a public pointer names."""
        return self.get_many(reader, [t], [doc_id])[0]

    def shown(self, reader: DatabaseReader, t: Table, doc: Doc) -> Doc | None:
        """A document the reader read itself in its own organization, as this viewer sees it."""
        scope = reader.scope_of(t)
        self.prepare(reader, scope, t.name, [doc])
        return self.show(scope, t.name, doc)

    def get_many(self, reader: DatabaseReader, tables: list[Table], ids: list[str]) -> list[Doc | None]:
        """``reader.get_many`` as this viewer sees it: one BatchGetItem in the caller's organization,
        then for the entities not there one for their public pointers and one for the public ones."""
        found: dict[str, tuple[str, Doc]] = {}
        local = [
            (t, i) for t, i in zip(tables, ids, strict=True) if reader.org is not None or t.scope != "org"
        ]
        if local:
            for (t, doc_id), doc in zip(local, reader._get_many([i for _, i in local]), strict=True):
                if doc is not None:
                    found[doc_id] = (reader.scope_of(t), doc)
        elsewhere = [i for t, i in zip(tables, ids, strict=True) if t.name == "entities" and i not in found]
        if elsewhere:
            homes = self.pointers(reader, elsewhere)
            found.update(self._read_public(reader, {i: h for i, h in homes.items() if h and h != reader.org}))
        by_scope: dict[tuple[str, str], list[Doc]] = {}
        for t, doc_id in zip(tables, ids, strict=True):
            if doc_id in found:
                by_scope.setdefault((found[doc_id][0], t.name), []).append(found[doc_id][1])
        for (scope, table_name), page in by_scope.items():
            self.prepare(reader, scope, table_name, page)
        out: list[Doc | None] = []
        for t, doc_id in zip(tables, ids, strict=True):
            scope, doc = found.get(doc_id, ("", None))
            out.append(self.show(scope, t.name, doc) if doc is not None else None)
        return out

    def _read_public(self, reader: DatabaseReader, homes: Mapping[str, str]) -> dict[str, tuple[str, Doc]]:
        """Public entities of other organizations (id → its organization), in one BatchGetItem."""
        if not homes:
            return {}
        keys = {doc_id: f"{home}#{doc_id}" for doc_id, home in homes.items()}
        items = reader._store.batch_get([(k, DOC_SK) for k in keys.values()])
        out: dict[str, tuple[str, Doc]] = {}
        for doc_id, key in keys.items():
            record_point(key, DOC_SK)
            item = items.get(key)
            if item is not None and item.get("tb") == "entities":
                out[doc_id] = (homes[doc_id], reader._to_doc(item))
        return out


class PublicEntities:
    """What the world sees of one entity type across the platform (``db.public_entities(type)``): the
    pointers of ``publicEntities.by_type`` in creation order, a page at a time, and their entities in
    one BatchGetItem per page, each as the caller sees it. For anonymous listings (``creators:list``)."""

    def __init__(
        self, reader: DatabaseReader, platform: DatabaseReader, entity_type: str, order: str = "asc"
    ) -> None:
        self._reader = reader
        self._sight = reader._sight or Sight(Viewer())
        self._query = (
            platform.query(PUBLIC_TABLE)
            .with_index("by_type", lambda q: q.eq("type", entity_type))
            .order(order)
        )

    def _entities(self, pointers: list[Doc]) -> list[Doc]:
        for p in pointers:
            self._sight._pointers[str(p["_id"])] = str(p["organizationId"])
        found = self._sight._read_public(
            self._reader, {str(p["_id"]): str(p["organizationId"]) for p in pointers}
        )
        out = []
        for p in pointers:
            if str(p["_id"]) in found:
                home, doc = found[str(p["_id"])]
                shown = self._sight.show(home, "entities", doc)
                if shown is not None:
                    out.append(shown)
        return out

    def paginate(self, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Convex's page (``{page, isDone, continueCursor}``) of the public entities."""
        page: dict[str, Any] = self._query.paginate(opts)
        page["page"] = self._entities(page["page"])
        return page

    def take(self, n: int, keep: Callable[[Doc], bool] | None = None) -> list[Doc]:
        """The first ``n`` public entities (that ``keep`` accepts), reading pointers a page at a
        time (at most MAX_EXAMINED of them)."""
        from ontology.data.query import MAX_EXAMINED

        out: list[Doc] = []
        cursor: str | None = None
        examined = 0
        while len(out) < n and examined < MAX_EXAMINED:
            size = n if keep is None else min(max(2 * n, 64), MAX_EXAMINED)
            page = self._query.paginate({"numItems": size, "cursor": cursor})
            examined += len(page["page"])
            out += [d for d in self._entities(page["page"]) if keep is None or keep(d)]
            if page["isDone"]:
                break
            cursor = page["continueCursor"]
        return out[:n]


def _parents(rule: Rule, doc: Mapping[str, Any]) -> list[str]:
    found = []
    for path in rule.parents:
        value = get_path(doc, path)
        if isinstance(value, str) and value is not UNDEFINED:
            found.append(value)
    return found


def _related(rule: Rule, doc: Mapping[str, Any]) -> list[str]:
    """The entity ids a connection, tag or chunk is about ([] when one is missing or no entity)."""
    ids = []
    for path in rule.related:
        value = get_path(doc, path)
        if isinstance(value, str):
            ids.append(value)
            if rule.any_related:
                break
        elif not rule.any_related:
            return []
    if any(table_of_id(i) != "entities" for i in ids):
        return []
    return ids
