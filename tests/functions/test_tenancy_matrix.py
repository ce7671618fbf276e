"""Every public function, called by whom it must not serve, with the ids of what it must not show:

- **another organization** (3 organizations x 2 staff roles): its ids are NOT_FOUND (mutations) or read
  only as the world reads them (queries: what an anonymous caller gets, nothing for a private document),
  and nothing is written anywhere;
- **the same organization, another member** (a customer, with the ids of another customer's
  conversation, payment, entity, and of the organization's drafts, clone and agents): no query answers
  any of it (no id, no text, no field only staff read), no mutation or action touches it;
- **anonymous** (no session), x every kind of entity: a public function answers a public document
  as the world sees it and nothing for any other; any other function is UNAUTHENTICATED.

Every private document and every field only staff read holds the word SECRET: no answer may."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.auth.identity import Identity
from ontology.errors import NotFoundError, OneError, UnauthenticatedError
from ontology.runtime.context import invoke
from ontology.runtime.registry import load_all, resolve
from tests.data.helpers import every_document
from tests.functions.conftest import Member, _make_org

ORG_TABLES = ("entities", "connections", "events", "tags", "knowledge")
PLATFORM_TABLES = ("memberships", "sessions", "organizations", "scheduledFunctions", "publicEntities")
PAGE = {"numItems": 50, "cursor": None}
STORAGE_ID = "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
SESSION = "ses_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
SECRET = "SECRET"


def _entity(kind: str, name: str, status: str | None, **props: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": kind, "name": name, "createdAt": 1, "updatedAt": 1, "properties": props}
    if status is not None:
        doc["status"] = status
    return doc


def _seed(member: Member) -> dict[str, Any]:
    """An organization with what the world sees, what only staff see, and two customers (``fan``,
    whose private documents the matrix asks for, and ``other``, who asks)."""
    from ontology.auth.people import add_member

    org = member.organizationId
    low = org.lower()

    class _Db:  # one transaction per document: the seed is larger than one transaction holds
        @staticmethod
        def insert(table: str, doc: dict[str, Any]) -> str:
            return str(run_mutation(lambda db: db.insert(table, doc), org=org))

    # another customer's user id: the fan's with its last character changed (never the same id)
    other_user = f"usr_{org[4:-1]}{'Y' if org[-1] == 'Z' else 'Z'}"

    def body(db: Any) -> dict[str, Any]:
        fan = run_mutation(
            lambda w: add_member(
                w, org_id=org, user_id=f"usr_{org[4:]}", role="customer", display_name=f"{SECRET}@f.io"
            ),
            org=org,
            platform=True,
        )
        other = run_mutation(
            lambda w: add_member(w, org_id=org, user_id=other_user, role="customer", display_name="Other"),
            org=org,
            platform=True,
        )
        ids: dict[str, Any] = {"fan": fan, "other": other, "fan_user": f"usr_{org[4:]}", "org": org}
        creator = {"email": f"{SECRET.lower()}@{low}.io", "username": "c", "displayName": "C", "niche": ["x"]}
        ids["creator"] = db.insert("entities", _entity("creator", "Creator", "active", **creator))
        quiet = {**creator, "email": f"{SECRET.lower()}2@{low}.io"}
        ids["creator_off"] = db.insert(
            "entities", _entity("creator", f"{SECRET} creator", "inactive", **quiet)
        )
        ids["post"] = db.insert("entities", _entity("blog_post", "Published post", "published", body="hello"))
        ids["draft"] = db.insert("entities", _entity("blog_post", f"{SECRET} draft", "draft", body=SECRET))
        token = {
            "contractAddress": "0x1",
            "blockchain": "base",
            "standard": "ERC20",
            "totalSupply": 100,
            "price": 1,
            "priceUsd": 1,
            "symbol": "T",
            "idempotencyKey": f"{SECRET}-key",
            "argsHash": SECRET,
        }
        ids["token"] = db.insert("entities", _entity("token", "Token", "active", **token))
        ids["token_draft"] = db.insert("entities", _entity("token", f"{SECRET} token", "draft", **token))
        generation = {"state": "complete", "topic": "t", "audience": "a", "format": "f", "reason": SECRET}
        course = {"title": "Course", "description": "d", "tokenPrice": 1, "generation": generation}
        ids["course"] = db.insert("entities", _entity("course", "Course", "published", **course))
        ids["course_draft"] = db.insert(
            "entities", _entity("course", f"{SECRET} course", "draft", title="K", description=SECRET)
        )
        ids["lesson"] = db.insert("entities", _entity("lesson", "Lesson", "published", lessonIndex=0))
        ids["lesson_draft"] = db.insert(
            "entities", _entity("lesson", f"{SECRET} lesson", "draft", lessonIndex=1)
        )
        stream = {
            "creatorId": ids["creator"],
            "streamStatus": "scheduled",
            "viewerCount": 0,
            "idempotencyKey": SECRET,
        }
        ids["stream"] = db.insert("entities", _entity("livestream", "Live", "published", **stream))
        ended = {**stream, "streamStatus": "ended", "idempotencyKey": f"{SECRET}-2"}
        ids["stream_ended"] = db.insert("entities", _entity("livestream", "Ended live", "published", **ended))
        ids["clone"] = db.insert(
            "entities",
            _entity("ai_clone", "Clone", "active", systemPrompt=f"{SECRET} prompt", creatorId=ids["creator"]),
        )
        ids["agent"] = db.insert("entities", _entity("intelligence_agent", f"{SECRET} agent", "active"))
        ids["item"] = db.insert("entities", _entity("knowledge_item", f"{SECRET} item", "active"))
        asset = {"storageId": STORAGE_ID, "fileType": "image/png", "fileSize": 1}
        ids["asset"] = db.insert("entities", _entity("media_asset", f"{SECRET} file", "active", **asset))
        ids["conversation"] = db.insert(
            "entities",
            _entity("conversation", f"{SECRET} chat", "active", cloneId=ids["clone"], startedBy=fan),
        )
        ids["message"] = db.insert(
            "entities",
            _entity(
                "message",
                f"{SECRET} message",
                "active",
                senderId=fan,
                text=SECRET,
                conversationId=ids["conversation"],
            ),
        )
        ids["reply"] = db.insert(
            "entities",
            _entity(
                "message",
                f"{SECRET} reply",
                "active",
                senderId=ids["clone"],
                text=SECRET,
                conversationId=ids["conversation"],
            ),
        )
        payment = {
            "amount": 100,
            "buyerId": fan,
            "tokenId": ids["token"],
            "purpose": "token_purchase",
            "argsHash": SECRET,
        }
        ids["payment"] = db.insert("entities", _entity("payment", f"{SECRET} payment", "active", **payment))

        def link(src: str, dst: str, rel: str, **meta: Any) -> str:
            doc = {"fromEntityId": src, "toEntityId": dst, "relationshipType": rel, "createdAt": 1}
            return str(db.insert("connections", {**doc, **({"metadata": meta} if meta else {})}))

        ids["authored"] = link(ids["creator"], ids["post"], "authored")
        ids["authored_draft"] = link(ids["creator"], ids["draft"], "authored", note=SECRET)
        link(ids["course"], ids["lesson"], "part_of")
        link(ids["course"], ids["lesson_draft"], "part_of")
        ids["participated"] = link(fan, ids["conversation"], "participated_in")
        link(ids["clone"], ids["conversation"], "participated_in")
        link(ids["message"], ids["conversation"], "part_of")
        link(ids["reply"], ids["conversation"], "part_of")
        ids["holds"] = link(fan, ids["token"], "holds_tokens", balance=5, note=SECRET)
        link(fan, ids["creator"], "following")
        link(fan, ids["payment"], "transacted")
        link(ids["creator"], ids["clone"], "owns")

        def event(kind: str, actor: str, target: str | None, **meta: Any) -> str:
            doc = {"type": kind, "actorId": actor, "timestamp": 1, "metadata": meta}
            return str(db.insert("events", {**doc, **({"targetId": target} if target else {})}))

        ids["interaction"] = event(
            "clone_interaction", fan, ids["clone"], conversationId=ids["conversation"], s=SECRET
        )
        event("tokens_purchased", fan, ids["token"], amount=5, s=SECRET)
        event("revenue_generated", ids["creator"], ids["token"], buyerId=fan, s=SECRET)
        event("creator_created", ids["creator"], None, email=f"{SECRET}@x.io")
        ids["tag"] = db.insert("tags", {"entityId": ids["draft"], "key": "topic", "value": SECRET})
        db.insert("tags", {"entityId": ids["post"], "key": "topic", "value": "running"})
        chunk = {"kind": "chunk", "createdAt": 1, "updatedAt": 1, "labels": {}}
        ids["chunk"] = db.insert("knowledge", {**chunk, "text": SECRET, "sourceId": ids["draft"]})
        ids["clone_chunk"] = db.insert(
            "knowledge",
            {**chunk, "text": "what the clone knows", "sourceId": ids["item"], "ownerId": ids["clone"]},
        )
        return ids

    ids = body(_Db())
    from ontology.runtime.scheduler import Scheduler

    ident = Identity(member.userId, org, "org_owner", member.entityId)
    ids["job"] = run_mutation(
        lambda db: Scheduler(ident, writer=type(db)(org, platform=True, tx=db.tx)).run_after(
            3600, "entities:create", {"type": "video", "name": SECRET}
        ),
        org=org,
        platform=True,
    )
    ids["user"] = member.userId
    return ids


#: The entities only staff (or, for a customer's own, that customer) may read.
PRIVATE = (
    "creator_off",
    "draft",
    "token_draft",
    "course_draft",
    "lesson_draft",
    "agent",
    "item",
    "asset",
    "conversation",
    "message",
    "reply",
    "payment",
)
PUBLIC = ("creator", "post", "token", "course", "lesson", "stream")
#: What every member of the organization reads, and the world does not.
MEMBERS = ("clone", "stream_ended")


def _calls(f: dict[str, Any], private: bool = False) -> dict[str, dict[str, Any]]:
    """Every public function with arguments that name ``f``'s documents (with ``private``, the most
    private document of each kind the argument takes)."""
    p = (lambda pub, priv: f[priv]) if private else (lambda pub, priv: f[pub])
    creator, post, token = p("creator", "creator_off"), p("post", "message"), p("token", "token_draft")
    course, stream = p("course", "course_draft"), p("stream", "conversation")
    return {
        "creators:get": {"id": creator},
        "creators:get_with_content": {"creatorId": creator},
        "creators:list": {},
        "creators:list_paginated": {"paginationOpts": PAGE},
        "creators:create": {"email": "new@example.com", "name": "New", "niche": []},
        "creators:update": {"id": creator, "bio": "stolen"},
        "tokens:get": {"id": token},
        "tokens:get_balance": {"tokenId": token},
        "tokens:get_user_holdings": {"userId": p("creator", "fan")},
        "tokens:get_purchase": {"purchaseId": p("token", "payment")},
        "tokens:create": {"creatorId": creator, "name": "Stolen", "symbol": "STL", "priceUsd": 1},
        "tokens:update": {"id": token, "description": "stolen"},
        "tokens:purchase": {"tokenId": token, "amount": 1, "paymentMethodId": "pm_card_visa"},
        "tokens:transfer": {"tokenId": token, "toEntityId": p("creator", "fan"), "amount": 1},
        "courses:enroll": {"courseId": course},
        "courses:generate": {"creatorId": creator, "topic": "Stolen course"},
        "courses:get": {"courseId": course},
        "livestreams:schedule": {"creatorId": creator, "title": "Stolen", "scheduledFor": 4102444800000},
        "livestreams:start": {"livestreamId": stream},
        "livestreams:end": {"livestreamId": stream},
        "livestreams:join": {"livestreamId": stream},
        "livestreams:leave": {"livestreamId": stream},
        "livestreams:send_message": {"livestreamId": stream, "text": "hello"},
        "livestreams:chat": {"livestreamId": stream, "paginationOpts": PAGE},
        "livestreams:get": {"livestreamId": stream},
        "files:generate_upload_url": {"contentType": "image/png", "size": 1},
        "files:delete_file": {"fileId": f["asset"]},
        "files:get_file_url": {"storageId": STORAGE_ID},
        "files:save_file": {"storageId": STORAGE_ID, "name": "x", "type": "image/png", "size": 1},
        "entities:get": {"id": post},
        "entities:list": {"paginationOpts": PAGE},
        "entities:search": {"query": "secret"},
        "entities:create": {"type": "video", "name": "New"},
        "entities:update": {"id": post, "name": "Stolen"},
        "entities:archive": {"id": post},
        "connections:create": {"fromEntityId": creator, "toEntityId": post, "relationshipType": "references"},
        "connections:list": {
            "entityId": p("creator", "conversation"),
            "direction": "to",
            "paginationOpts": PAGE,
        },
        "connections:delete": {"id": p("authored", "participated")},
        "events:list": {"actorId": p("creator", "fan"), "paginationOpts": PAGE},
        "tags:add": {"entityId": post, "key": "stolen", "value": "x"},
        "tags:remove": {"entityId": p("post", "draft"), "key": "topic", "value": SECRET},
        "tags:list": {"entityId": p("post", "draft"), "paginationOpts": PAGE},
        "scheduler:list": {"paginationOpts": PAGE},
        "scheduler:cancel": {"jobId": f["job"]},
        "organizations:list_members": {},
        "organizations:create": {"name": "Mine"},
        "organizations:update": {"name": "Renamed"},
        "organizations:invite": {"email": "x@example.com"},
        "organizations:accept": {"token": "t" * 43},
        "organizations:change_role": {"userId": p("user", "fan_user"), "role": "customer"},
        "organizations:remove_member": {"userId": p("user", "fan_user")},
        "organizations:switch_active": {"organizationId": f["org"]},
        "organizations:join": {"organizationId": f["org"]},
        "knowledge:add": {"sourceId": creator, "text": "stolen words"},
        "knowledge:search": {"query": "words", "sourceId": post},
        "clones:create": {"creatorId": creator},
        "clones:get": {"cloneId": p("post", "clone")},
        "clones:chat": {"cloneId": f["clone"], "message": "hello", "conversationId": f["conversation"]},
        "clones:messages": {"conversationId": f["conversation"], "paginationOpts": PAGE},
        "clones:clone_voice": {"creatorId": creator, "audioSamples": [STORAGE_ID]},
        "clones:speak": {"cloneId": f["clone"], "text": "hello"},
        "clones:clone_appearance": {"cloneId": f["clone"], "imageStorageId": STORAGE_ID},
        "meta:openapi": {},
        "meta:not_found": {},
        # the caller's own cards (their Stripe customer), and Stripe's signed webhook
        "billing:create_setup_intent": {},
        "billing:save_payment_method": {"setupIntentId": "seti_123"},
        "billing:list_payment_methods": {},
        "billing:remove_payment_method": {"paymentMethodId": "pm_card_visa"},
        "billing:stripe_webhook": {"body": "{}", "headers": {"stripe-signature": "t=1,v1=forged"}},
    }


def _snapshot(orgs: list[str]) -> dict[Any, Any]:
    snap: dict[Any, Any] = {}
    for org in orgs:
        for t in ORG_TABLES:
            snap[(org, t)] = sorted(
                (d["_id"], str(d)) for d in run_query(lambda db, t=t: every_document(db, t), org=org)
            )
    for t in PLATFORM_TABLES:
        snap[t] = sorted(
            (d["_id"], str(d))
            for d in run_query(lambda db, t=t: every_document(db, t), org=None, platform=True)
        )
    return snap


def _leaks(value: Any, args: dict[str, Any], secrets: list[str]) -> list[str]:
    """What of ``secrets`` (private ids, the word SECRET) ``value`` shows, besides its arguments. (A
    member's own entity id is no secret: fans name each other by it, e.g. to give tokens; what their
    entity holds is.)"""
    text = json.dumps(value)
    for arg in args.values():
        if isinstance(arg, str):
            text = text.replace(json.dumps(arg), '""')
    return [s for s in (*secrets, SECRET) if s in text]


class _NoStripe:
    """The payments port with Stripe out of reach: every call is UPSTREAM_ERROR (the card functions
    act on the caller's own Stripe customer; what the matrix checks is that they answer nothing of
    anyone else's)."""

    def __getattr__(self, name: str) -> Any:
        from ontology.errors import UpstreamError

        def down(*args: Any, **kwargs: Any) -> Any:
            raise UpstreamError("Stripe is out of reach")

        return down


@pytest.fixture
def ai(bucket: str) -> Iterator[Any]:
    from infra.local.openai_stub import LocalAI
    from ontology.providers.payments import set_payments
    from tests.functions.conftest import local_ai

    set_payments(_NoStripe())  # type: ignore[arg-type]
    try:
        with local_ai(LocalAI(8), 8) as fake:
            yield fake
    finally:
        set_payments(None)


def test_every_public_function_is_in_the_matrix() -> None:
    # system functions (the dashboard's) have no route: tests/infra/test_dashboard_* try their access
    public = {path for path, fn in load_all().items() if not fn.spec.internal and not fn.spec.system}
    assert public == set(_calls(_Any()))


class _Any(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "x"


@pytest.mark.parametrize("role", ["org_owner", "org_user"])
def test_another_organization_reads_only_what_the_world_does_and_writes_nothing(
    bucket: str, role: str
) -> None:
    from ontology.errors import ForbiddenError

    members = [_make_org(f"m{i}@example.com", f"Org {i}") for i in range(3)]
    seeded = [_seed(m) for m in members]
    before = _snapshot([m.organizationId for m in members])
    checked = 0
    for i, caller in enumerate(members):
        me = Identity(
            caller.userId, caller.organizationId, role, caller.entityId, SESSION, f"m{i}@example.com"
        )
        for j, foreign in enumerate(seeded):
            if i == j:
                continue
            secrets = [foreign[k] for k in (*PRIVATE, *MEMBERS)]
            for path, args in _calls(foreign).items():
                fn = resolve(path)
                named = (
                    set(foreign.values()) - {foreign["org"]}
                    if path != "organizations:join"
                    else {foreign["org"]}
                )
                if not named & {v for v in args.values() if isinstance(v, str)}:
                    continue  # names none of the other organization's documents
                try:
                    value = invoke(fn, args, me)
                except (NotFoundError, ForbiddenError) as exc:
                    assert fn.spec.kind != "query", f"{path}: a query answers nothing rather than an error"
                    # an owner is told NOT_FOUND (a closed organization refuses a join: FORBIDDEN)
                    assert (
                        isinstance(exc, NotFoundError)
                        or role != "org_owner"
                        or fn.spec.auth != "member"
                        or path == "organizations:join"
                    ), path
                    checked += 1
                    continue
                assert fn.spec.kind == "query", f"{path} accepted another organization's id: {value!r}"
                assert not _leaks(value, args, secrets), (path, value)
                if fn.spec.auth == "public":  # what anyone reads, no more
                    assert value == invoke(fn, args, None), path
                else:
                    leaked = value if not isinstance(value, dict) or "page" not in value else value["page"]
                    empty = leaked in (None, [], {})
                    assert empty or (path == "tokens:get_balance" and value["amount"] == 0), (path, value)
                checked += 1
    assert checked >= 3 * 2 * 40
    assert _snapshot([m.organizationId for m in members]) == before


def test_another_member_of_the_same_organization_reads_and_touches_nothing_of_theirs(ai: Any) -> None:
    owner = _make_org("owner@example.com", "Fan club")
    f = _seed(owner)
    org = owner.organizationId
    other = Identity(f"usr_{org[4:-1]}Z", org, "customer", f["other"], SESSION, "other@example.com")
    secrets = [f[k] for k in PRIVATE]
    calls = _calls(f, private=True)

    def private_docs() -> list[Any]:
        ids = [f[k] for k in (*PRIVATE, "fan")]
        return run_query(lambda db: db.get_many(ids), org=org)

    before = private_docs()
    refused = 0
    for path, args in calls.items():
        fn = resolve(path)
        try:
            value = invoke(fn, args, other)
        except OneError:
            refused += 1
            continue
        assert not _leaks(value, args, secrets), (path, value)
    assert private_docs() == before, "another member's documents changed"
    assert refused > 20  # the staff-only functions, and the private ids


def test_a_customer_sees_what_the_world_sees_and_what_is_theirs(bucket: str) -> None:
    owner = _make_org("owner@example.com", "Fan club")
    f = _seed(owner)
    org = owner.organizationId
    fan = Identity(f["fan_user"], org, "customer", f["fan"], SESSION, f"{SECRET}@f.io")
    other = Identity(f"usr_{org[4:-1]}Z", org, "customer", f["other"], SESSION, "other@example.com")
    listed = {d["_id"] for d in invoke(resolve("entities:list"), {"paginationOpts": PAGE}, other)["page"]}
    assert {f[k] for k in PUBLIC} | {f["clone"], f["other"], f["stream_ended"]} == listed
    mine = {d["_id"] for d in invoke(resolve("entities:list"), {"paginationOpts": PAGE}, fan)["page"]}
    assert {f["conversation"], f["message"], f["reply"], f["payment"], f["fan"]} <= mine
    assert not {f["draft"], f["agent"], f["asset"], f["token_draft"], f["other"]} & mine
    clone = invoke(resolve("clones:get"), {"cloneId": f["clone"]}, other)
    assert clone["_id"] == f["clone"] and "systemPrompt" not in clone["properties"]
    holdings = invoke(resolve("tokens:get_user_holdings"), {"userId": f["fan"]}, fan)
    assert [h["balance"] for h in holdings] == [5]
    events = invoke(resolve("events:list"), {"paginationOpts": PAGE}, fan)["page"]
    assert {e["type"] for e in events} == {
        "clone_interaction",
        "tokens_purchased",
        "revenue_generated",
        "user_joined",
    }
    staff = Identity(owner.userId, org, "org_user", owner.entityId)
    everything = invoke(resolve("entities:list"), {"paginationOpts": PAGE}, staff)["page"]
    assert {d["_id"] for d in everything} >= {f[k] for k in (*PUBLIC, *PRIVATE)}
    token = next(d for d in everything if d["_id"] == f["token"])
    assert token["properties"]["idempotencyKey"] == f"{SECRET}-key"  # staff see what they saw


@pytest.fixture
def world(bucket: str) -> dict[str, Any]:
    return _seed(_make_org("owner@example.com", "Studio"))


def test_anonymous_callers_of_every_function(world: dict[str, Any]) -> None:
    """Every function without a session: the public ones answer, the others are UNAUTHENTICATED."""
    for path, args in _calls(world).items():
        fn = resolve(path)
        if fn.spec.auth != "public":
            with pytest.raises(UnauthenticatedError):
                invoke(fn, args, None)
            continue
        try:
            value = invoke(fn, args, None)
        except OneError as exc:  # no such route; a forged webhook (or no webhook secret here)
            assert path in ("meta:not_found", "billing:stripe_webhook"), (path, exc)
            continue
        assert not _leaks(value, args, [world[k] for k in (*PRIVATE, *MEMBERS)]), (path, value)


#: The public functions that read one entity by id, and the argument naming it.
BY_ID = {
    "entities:get": ("id", None),
    "tokens:get": ("id", "token"),
    "creators:get": ("id", "creator"),
    "creators:get_with_content": ("creatorId", "creator"),
    "courses:get": ("courseId", "course"),
    "livestreams:get": ("livestreamId", "livestream"),
}


@pytest.mark.parametrize("path", sorted(BY_ID))
def test_anonymous_reads_of_every_kind_of_document(world: dict[str, Any], path: str) -> None:
    """Each public function that reads by id x each kind of entity, anonymously: the public ones of
    its kind as the world sees them (no field only staff read), nothing for any other."""
    arg, kind = BY_ID[path]
    fn = resolve(path)
    names = (*PUBLIC, *PRIVATE, *MEMBERS, "fan")
    docs = run_query(lambda db: db.get_many([world[k] for k in names]), org=world["org"])
    for doc in docs:
        value = invoke(fn, {arg: doc["_id"]}, None)
        name = next(k for k in names if world[k] == doc["_id"])
        visible = name in PUBLIC and (kind is None or doc["type"] == kind)
        if not visible:
            assert value is None, (path, name, value)
            continue
        assert value is not None and value["_id"] == doc["_id"], (path, name)
        assert not _leaks(value, {arg: doc["_id"]}, [world[k] for k in (*PRIVATE, *MEMBERS)]), (path, name)
    profile = invoke(resolve("creators:get_with_content"), {"creatorId": world["creator"]}, None)
    assert [d["_id"] for d in profile["content"]] == [world["post"]] and "email" not in profile["properties"]
    course = invoke(resolve("courses:get"), {"courseId": world["course"]}, None)
    assert [lesson["lessonId"] for lesson in course["lessonList"]] == [world["lesson"]]
    assert course["generation"] is None  # where a generation stands is for staff


def test_anonymous_lists_are_every_organizations_public_creators(bucket: str) -> None:
    worlds = [_seed(_make_org(f"o{i}@example.com", f"Org {i}")) for i in range(2)]
    listed = invoke(resolve("creators:list"), {}, None)
    assert sorted(c["_id"] for c in listed) == sorted(w["creator"] for w in worlds)
    assert all("email" not in c["properties"] for c in listed)
    assert invoke(resolve("creators:list"), {"niche": "nothing"}, None) == []
    first = invoke(
        resolve("creators:list_paginated"), {"paginationOpts": {"numItems": 1, "cursor": None}}, None
    )
    second = invoke(
        resolve("creators:list_paginated"),
        {"paginationOpts": {"numItems": 1, "cursor": first["continueCursor"]}},
        None,
    )
    assert [c["_id"] for c in first["page"] + second["page"]] == [w["creator"] for w in reversed(worlds)]
