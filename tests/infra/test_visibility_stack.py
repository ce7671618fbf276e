"""Who sees what, through the local stack as ``make dev`` starts it: a fan of an open organization
reads neither another fan's private conversation (over HTTP, by search, nor live over the socket), nor
the other fans' email addresses, nor the clone's system prompt; anyone, signed in or not, reads what a
creator platform shows the world (a token's page, a creator's profile, published content and courses,
a scheduled livestream) and nothing else; a token answers its public fields, well under 1 KB; creators
give a token a description and an image and change them later."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from ontology.errors import ForbiddenError, UnauthenticatedError
from tests.infra.localstack import PAGE, Stack, convex_query, running_stack, signed_in, until

SECRET = "Private: I was diagnosed with asthma last spring"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "visibility", demo=True)


@pytest.fixture(scope="module")
def owner(stack: Stack) -> OneClient:
    return OneClient(stack.url, token=stack.token())


def _fan(stack: Stack, org_id: str, email: str) -> OneClient:
    """A signed-up user who joins the open organization as a customer and acts in it."""
    client = OneClient(stack.url, token=signed_in(stack, email))
    assert client.action("organizations:join", {"organizationId": org_id}) == {"organizationId": org_id}
    client.action("organizations:switch_active", {"organizationId": org_id})
    return client


@pytest.fixture(scope="module")
def world(stack: Stack, owner: OneClient) -> dict[str, Any]:
    owner.action("organizations:update", {"joinPolicy": "open"})
    session = httpx.get(
        f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {stack.token()}"}
    )
    org_id = session.json()["session"]["activeOrganizationId"]
    creator = owner.mutation(
        "creators:create", {"email": f"ada-{time.time_ns()}@example.com", "name": "Ada", "niche": ["running"]}
    )["creatorId"]

    def post(status: str, name: str) -> str:
        made = owner.mutation("entities:create", {"type": "blog_post", "name": name, "status": status})["id"]
        owner.mutation(
            "connections:create",
            {"fromEntityId": creator, "toEntityId": made, "relationshipType": "authored"},
        )
        return str(made)

    published, draft = post("published", "Pacing a marathon"), post("draft", "Unreleased plans")
    course = owner.mutation(
        "entities:create",
        {
            "type": "course",
            "name": "Marathon basics",
            "status": "published",
            "properties": {"title": "Marathon basics", "description": "From couch to 42 km"},
        },
    )["id"]
    stream = owner.mutation(
        "livestreams:schedule",
        {
            "creatorId": creator,
            "title": "Race week live",
            "scheduledFor": int(time.time() * 1000) + 3_600_000,
        },
    )["livestreamId"]
    clone = owner.mutation("clones:create", {"creatorId": creator, "systemPrompt": "Secret instructions."})[
        "cloneId"
    ]
    fan_a = _fan(stack, org_id, f"fan-a-{time.time_ns()}@example.com")
    fan_b = _fan(stack, org_id, f"fan-b-{time.time_ns()}@example.com")
    chat = fan_a.action("clones:chat", {"cloneId": clone, "message": SECRET})
    demo = stack.dev_session()["demoTokenId"]
    return {
        "org": org_id,
        "creator": creator,
        "published": published,
        "draft": draft,
        "course": course,
        "stream": stream,
        "clone": clone,
        "fan_a": fan_a,
        "fan_b": fan_b,
        "chat": chat,
        "token": demo,
    }


def _texts(docs: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(d) for d in docs]


def _read(stack: Stack, client: OneClient, path: str, args: dict[str, Any]) -> Any:
    """A public function as ``client``'s member reads it, through Convex's ``/api/query`` and
    through its function route (both resolve the session a request carries): the same answer."""
    value = convex_query(stack, path, args, token=client.token)
    assert client.query(path, args) == value, path
    return value


def test_another_fan_reads_no_private_conversation_over_http(stack: Stack, world: dict[str, Any]) -> None:
    fan_b, chat = world["fan_b"], world["chat"]
    listed = fan_b.query("entities:list", {"type": "message", "paginationOpts": PAGE})["page"]
    assert not any("diagnosed" in t for t in _texts(listed))
    for private in (chat["messageId"], chat["replyId"], chat["conversationId"]):
        assert _read(stack, fan_b, "entities:get", {"id": private}) is None
    assert fan_b.query("entities:search", {"query": "diagnosed"}) == []
    parts = fan_b.query(
        "connections:list", {"entityId": chat["conversationId"], "direction": "to", "paginationOpts": PAGE}
    )
    assert parts["page"] == []
    events = fan_b.query("events:list", {"targetId": world["clone"], "paginationOpts": PAGE})["page"]
    assert not any(chat["conversationId"] in t for t in _texts(events))
    # the participant still reads their own conversation, through every path
    fan_a = world["fan_a"]
    assert _read(stack, fan_a, "entities:get", {"id": chat["messageId"]})["properties"]["text"] == SECRET
    assert _read(stack, fan_a, "entities:get", {"id": chat["replyId"]})["_id"] == chat["replyId"]
    mine = fan_a.query("clones:messages", {"conversationId": chat["conversationId"], "paginationOpts": PAGE})
    assert [m["_id"] for m in mine["page"]] == [chat["messageId"], chat["replyId"]]
    assert any("diagnosed" in d["name"] for d in fan_a.query("entities:search", {"query": "diagnosed"}))


def test_another_fan_receives_no_private_message_live_over_the_socket(world: dict[str, Any]) -> None:
    fan_a, fan_b = world["fan_a"], world["fan_b"]
    args = {"type": "message", "paginationOpts": PAGE}
    with fan_b.subscribe("entities:list", args) as sub:
        first = sub.get(timeout=30)
        assert not any("diagnosed" in t for t in _texts(first["page"]))
        fan_a.action(
            "clones:chat",
            {"cloneId": world["clone"], "message": "Private: and the inhaler dose is 2 puffs?"},
        )
        fan_b.action("clones:chat", {"cloneId": world["clone"], "message": "Public question: taper length?"})
        later = sub.wait_for(lambda v: any("taper" in t for t in _texts(v["page"])), timeout=60)
    assert not any("inhaler" in t or "diagnosed" in t for t in _texts(later["page"]))


def test_a_fan_sees_no_other_members_email(stack: Stack, world: dict[str, Any], owner: OneClient) -> None:
    members = world["fan_b"].query("organizations:list_members", {})
    assert len(members) >= 3
    emails = [m["email"] for m in members if m["email"]]
    assert len(emails) == 1 and emails[0].startswith("fan-b-")  # their own only
    others = [m["entityId"] for m in members if m["email"] is None]
    assert all(_read(stack, world["fan_b"], "entities:get", {"id": e}) is None for e in others)
    # the owner sees what they need: every member's address
    assert all(m["email"] for m in owner.query("organizations:list_members", {}))


def test_a_fan_sees_the_clone_without_its_system_prompt(world: dict[str, Any], owner: OneClient) -> None:
    clone = world["fan_b"].query("clones:get", {"cloneId": world["clone"]})
    assert clone["_id"] == world["clone"] and "systemPrompt" not in clone["properties"]
    assert owner.query("clones:get", {"cloneId": world["clone"]})["properties"]["systemPrompt"] == (
        "Secret instructions."
    )


def test_anyone_reads_the_public_pages_by_id_and_nothing_else(stack: Stack, world: dict[str, Any]) -> None:
    public = {
        "tokens:get": {"id": world["token"]},
        "creators:get": {"id": world["creator"]},
        "entities:get": {"id": world["published"]},
        "courses:get": {"courseId": world["course"]},
        "livestreams:get": {"livestreamId": world["stream"]},
    }
    for path, args in public.items():
        via_route = httpx.post(f"{stack.url}/api/{path.replace(':', '/')}", json=args)
        assert via_route.status_code == 200, (path, via_route.text)
        value = via_route.json()["value"]
        assert value is not None and value["_id"] == next(iter(args.values())), path
        assert convex_query(stack, path, args) == value, path
    # the published post only, once the stream's aggregator has counted it (about a second)
    assert until(lambda: convex_query(stack, "creators:get", {"id": world["creator"]})["contentCount"] == 1)
    profile = convex_query(stack, "creators:get", {"id": world["creator"]})
    assert "email" not in profile["properties"] and profile["contentCount"] == 1
    with_content = convex_query(stack, "creators:get_with_content", {"creatorId": world["creator"]})
    assert [d["_id"] for d in with_content["content"]] == [world["published"]]
    chat = world["chat"]
    for hidden in (world["draft"], world["clone"], chat["messageId"], chat["conversationId"]):
        assert convex_query(stack, "entities:get", {"id": hidden}) is None, hidden
    with pytest.raises(UnauthenticatedError):
        convex_query(stack, "entities:list", {"paginationOpts": PAGE})
    with pytest.raises(UnauthenticatedError):
        OneClient(stack.url).query("entities:list", {"paginationOpts": PAGE})


def test_a_token_answers_its_public_fields_well_under_a_kilobyte(
    stack: Stack, world: dict[str, Any], owner: OneClient
) -> None:
    internals = {"deployTx", "argsHash", "idempotencyKey"}
    for reader, hidden in ((world["fan_b"], internals), (None, internals), (owner, {"deployTx"})):
        token = (
            _read(stack, reader, "tokens:get", {"id": world["token"]})
            if reader
            else convex_query(stack, "tokens:get", {"id": world["token"]})
        )
        props = token["properties"]
        assert props["symbol"] == "LOCAL" and props["contractAddress"].startswith("0x")
        assert not hidden & set(props), (reader, set(props))
        assert len(json.dumps(token)) < 1024, len(json.dumps(token))


def test_creators_describe_a_token_and_change_it(
    stack: Stack, world: dict[str, Any], owner: OneClient
) -> None:
    made = owner.action(
        "tokens:create",
        {
            "creatorId": world["creator"],
            "name": "Ada Coin",
            "symbol": "ADA",
            "priceUsd": 1,
            "totalSupply": 1000,
            "description": "Backstage passes for Ada's runners.",
            "image": "https://example.com/ada.png",
        },
    )["tokenId"]
    seen = convex_query(stack, "tokens:get", {"id": made})["properties"]
    assert seen["description"] == "Backstage passes for Ada's runners."
    assert seen["image"] == "https://example.com/ada.png"
    with pytest.raises(ForbiddenError):
        world["fan_b"].mutation("tokens:update", {"id": made, "description": "Hijacked"})
    owner.mutation("tokens:update", {"id": made, "description": "Race-day perks."})
    assert until(
        lambda: (
            convex_query(stack, "tokens:get", {"id": made})["properties"]["description"] == "Race-day perks."
        )
    )


def test_the_reference_page_reads_a_token_with_convex_own_client_anonymously(
    stack: Stack, world: dict[str, Any]
) -> None:
    from tests.infra.test_convex_clients import scenario

    description = f"Live description {time.time_ns()}"
    out = scenario(
        stack,
        "public",
        tokenId=world["token"],
        hiddenIds=[world["draft"], world["chat"]["messageId"]],
        ownerToken=stack.token(),
        description=description,
    )
    assert out["ok"], out
    assert out["token"]["_id"] == world["token"] and out["token"]["properties"]["priceUsd"] == 0.5
    assert out["hidden"] == [None, None]
    assert out["memberOnly"]["code"] == "UNAUTHENTICATED"
    assert out["live"][-1] == description
