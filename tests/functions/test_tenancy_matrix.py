"""3 organizations x 2 roles x every function that takes an id: another organization's ids are
NOT_FOUND (mutations) or nothing (queries), and nothing is written anywhere."""

from __future__ import annotations

from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.errors import NotFoundError
from ontology.runtime.registry import load_all
from tests.functions.conftest import Member, _make_org

ORG_TABLES = ("entities", "connections", "events", "tags")
PLATFORM_TABLES = ("memberships", "sessions", "organizations", "scheduledFunctions")
PAGE = {"numItems": 50, "cursor": None}
STORAGE_ID = "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"


def _seed(member: Member) -> dict[str, str]:
    org = member.organizationId

    def body(db: Any) -> dict[str, str]:
        creator = db.insert(
            "entities",
            {
                "type": "creator",
                "name": "C",
                "createdAt": 1,
                "updatedAt": 1,
                "status": "active",
                "properties": {"email": f"c@{org.lower()}.io", "username": "c", "displayName": "C"},
            },
        )
        post = db.insert("entities", {"type": "blog_post", "name": "P", "createdAt": 1, "updatedAt": 1})
        token = db.insert(
            "entities",
            {
                "type": "token",
                "name": "T",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {
                    "contractAddress": "0x1",
                    "blockchain": "base",
                    "standard": "ERC20",
                    "totalSupply": 1,
                    "price": 1,
                },
            },
        )
        asset = db.insert(
            "entities",
            {
                "type": "media_asset",
                "name": "F",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {
                    "storageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
                    "fileType": "image/png",
                    "fileSize": 1,
                },
            },
        )
        course = db.insert(
            "entities",
            {
                "type": "course",
                "name": "K",
                "status": "published",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {"title": "K", "description": "k", "tokenPrice": 1, "tokenId": token},
            },
        )
        conn = db.insert(
            "connections",
            {"fromEntityId": creator, "toEntityId": post, "relationshipType": "authored", "createdAt": 1},
        )
        db.insert("tags", {"entityId": post, "key": "skill", "value": "math"})
        return {
            "creator": creator,
            "post": post,
            "token": token,
            "asset": asset,
            "connection": conn,
            "course": course,
        }

    ids = run_mutation(body, org=org)
    from ontology.auth.identity import Identity
    from ontology.runtime.scheduler import Scheduler

    ident = Identity(member.userId, org, "org_owner", member.entityId)
    ids["job"] = run_mutation(
        lambda db: Scheduler(ident, writer=type(db)(org, platform=True, tx=db.tx)).run_after(
            3600, "entities:create", {"type": "video", "name": "later"}
        ),
        org=org,
        platform=True,
    )
    ids["user"], ids["org"] = member.userId, org
    return ids


def _calls(f: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each function that takes an id, called with the *foreign* organization's ids."""
    return {
        "creators:get": {"id": f["creator"]},
        "creators:get_with_content": {"creatorId": f["creator"]},
        "creators:update": {"id": f["creator"], "bio": "stolen"},
        "tokens:get": {"id": f["token"]},
        "tokens:get_balance": {"tokenId": f["token"]},
        "tokens:get_user_holdings": {"userId": f["creator"]},
        "tokens:get_purchase": {"purchaseId": f["token"]},
        "tokens:create": {"creatorId": f["creator"], "name": "Stolen", "symbol": "STL", "priceUsd": 1},
        "tokens:purchase": {"tokenId": f["token"], "amount": 1, "paymentMethodId": "pm_card_visa"},
        "tokens:transfer": {"tokenId": f["token"], "toEntityId": f["creator"], "amount": 1},
        "courses:enroll": {"courseId": f["course"]},
        "courses:generate": {"creatorId": f["creator"], "topic": "Stolen course"},
        "livestreams:schedule": {"creatorId": f["creator"], "title": "Stolen", "scheduledFor": 4102444800000},
        "livestreams:start": {"livestreamId": f["post"]},
        "livestreams:end": {"livestreamId": f["post"]},
        "livestreams:join": {"livestreamId": f["post"]},
        "livestreams:leave": {"livestreamId": f["post"]},
        "livestreams:send_message": {"livestreamId": f["post"], "text": "hello"},
        "livestreams:chat": {"livestreamId": f["post"], "paginationOpts": PAGE},
        "livestreams:get": {"livestreamId": f["post"]},
        "courses:get": {"courseId": f["course"]},
        "files:delete_file": {"fileId": f["asset"]},
        "files:get_file_url": {"storageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"},
        "files:save_file": {"storageId": STORAGE_ID, "name": "x", "type": "image/png", "size": 1},
        "entities:get": {"id": f["post"]},
        "entities:archive": {"id": f["post"]},
        "connections:create": {
            "fromEntityId": f["creator"],
            "toEntityId": f["post"],
            "relationshipType": "references",
        },
        "connections:list": {"entityId": f["creator"], "paginationOpts": PAGE},
        "connections:delete": {"id": f["connection"]},
        "events:list": {"actorId": f["creator"], "paginationOpts": PAGE},
        "tags:add": {"entityId": f["post"], "key": "stolen", "value": "x"},
        "tags:remove": {"entityId": f["post"], "key": "skill", "value": "math"},
        "tags:list": {"entityId": f["post"], "paginationOpts": PAGE},
        "scheduler:cancel": {"jobId": f["job"]},
        "organizations:change_role": {"userId": f["user"], "role": "customer"},
        "organizations:remove_member": {"userId": f["user"]},
        "organizations:switch_active": {"organizationId": f["org"]},
        "organizations:join": {"organizationId": f["org"]},
        "knowledge:add": {"sourceId": f["creator"], "text": "stolen words"},
        "knowledge:search": {"query": "words", "sourceId": f["post"]},
        "clones:create": {"creatorId": f["creator"]},
        "clones:get": {"cloneId": f["post"]},
        "clones:chat": {"cloneId": f["post"], "message": "hello"},
        "clones:messages": {"conversationId": f["post"], "paginationOpts": PAGE},
        "clones:clone_voice": {"creatorId": f["creator"], "audioSamples": [STORAGE_ID]},
        "clones:speak": {"cloneId": f["post"], "text": "hello"},
        "clones:clone_appearance": {"cloneId": f["post"], "imageStorageId": STORAGE_ID},
        # Stripe's ids: another member's card or SetupIntent is never the caller's
        "billing:save_payment_method": {"setupIntentId": "seti_1OtherMembersIntent"},
        "billing:remove_payment_method": {"paymentMethodId": "pm_1OtherMembersCard"},
    }


def _snapshot(orgs: list[str]) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for org in orgs:
        for t in ORG_TABLES:
            snap[(org, t)] = sorted(
                (d["_id"], str(d)) for d in run_query(lambda db, t=t: db.query(t).collect(), org=org)
            )
    for t in PLATFORM_TABLES:
        snap[t] = sorted(
            (d["_id"], str(d))
            for d in run_query(lambda db, t=t: db.query(t).collect(), org=None, platform=True)
        )
    return snap


def test_every_function_taking_an_id_is_in_the_matrix() -> None:
    with_ids = {
        path
        for path, fn in load_all().items()
        if not fn.spec.internal and any(n == "id" or n.endswith("Id") for n in fn.spec.args.model_fields)
    }
    assert with_ids <= set(
        _calls(
            dict.fromkeys(
                ("creator", "post", "token", "asset", "connection", "job", "user", "org", "course"), "x"
            )
        )
    )


@pytest.mark.parametrize("role", ["org_owner", "org_user"])
def test_foreign_ids_are_not_found_and_nothing_is_written(bucket: str, role: str) -> None:

    from ontology.auth.identity import Identity
    from ontology.errors import ForbiddenError
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    members = [_make_org(f"m{i}@example.com", f"Org {i}") for i in range(3)]
    seeded = [_seed(m) for m in members]
    before = _snapshot([m.organizationId for m in members])
    checked = 0
    for i, caller in enumerate(members):
        me = Identity(
            caller.userId,
            caller.organizationId,
            role,
            caller.entityId,
            "ses_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
            f"m{i}@example.com",
        )
        for j, foreign in enumerate(seeded):
            if i == j:
                continue
            for path, args in _calls(foreign).items():
                fn = resolve(path)
                try:
                    value = invoke(fn, args, me)
                except (NotFoundError, ForbiddenError) as exc:
                    assert fn.spec.kind != "query", f"{path}: a query answers nothing rather than an error"
                    # Joining is asking another organization in: a closed one refuses (FORBIDDEN).
                    assert (
                        isinstance(exc, NotFoundError)
                        or role != "org_owner"
                        or fn.spec.auth != "member"
                        or path == "organizations:join"
                    ), path
                    checked += 1
                    continue
                assert fn.spec.kind == "query", f"{path} accepted another organization's id: {value!r}"
                leaked = value if not isinstance(value, dict) or "page" not in value else value["page"]
                assert leaked in (None, [], {}) or (path == "tokens:get_balance" and value["amount"] == 0), (
                    path,
                    value,
                )
                checked += 1
    assert checked == 3 * 2 * len(_calls(seeded[0]))
    assert _snapshot([m.organizationId for m in members]) == before
