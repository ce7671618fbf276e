"""entities:*, connections:*, events:list, tags:*, tokens:* — success, validation, not found, conflict."""

from __future__ import annotations

from ontology import run_mutation

PAGE = {"numItems": 10, "cursor": None}


def _entity(call, type_="blog_post", name="Post", **extra) -> str:
    return call("entities:create", {"type": type_, "name": name, **extra}).value["id"]


def test_entities_create_get_list_archive(call) -> None:
    a = _entity(call, status="published", properties={"words": 10})
    b = _entity(call, "video", "Clip", status="draft")
    assert call("entities:get", {"id": a}).value["properties"] == {"words": 10}
    by_type = call("entities:list", {"type": "blog_post", "paginationOpts": PAGE}).value
    assert [e["_id"] for e in by_type["page"]] == [a]
    by_status = call("entities:list", {"status": "draft", "paginationOpts": PAGE}).value
    assert [e["_id"] for e in by_status["page"]] == [b]
    both = call("entities:list", {"type": "video", "status": "draft", "paginationOpts": PAGE}).value
    assert [e["_id"] for e in both["page"]] == [b]
    assert call("entities:archive", {"id": a}).value == {"success": True}
    assert call("entities:get", {"id": a}).value["status"] == "archived"


def test_entities_update_validates_and_logs_the_caller_as_actor(call) -> None:
    a = _entity(call, properties={"words": 10})
    changed = {"id": a, "name": "Renamed", "status": "published", "properties": {"words": 12}}
    assert call("entities:update", changed).value == {"success": True}
    doc = call("entities:get", {"id": a}).value
    assert (doc["name"], doc["status"], doc["properties"]) == ("Renamed", "published", {"words": 12})
    events = call("events:list", {"targetId": a, "paginationOpts": PAGE}).value["page"]
    updated = [e for e in events if e["metadata"].get("action") == "updated"]
    assert len(updated) == 1 and updated[0]["type"] == "content_changed"
    assert updated[0]["metadata"]["updatedFields"] == ["name", "properties", "status"]
    assert call("entities:update", {"id": a, "name": ""}).body["errorData"]["field"] == "name"
    course = _entity(call, "course", "C", properties={"title": "T", "description": "D"})
    bad = call("entities:update", {"id": course, "properties": {"title": "T"}})
    assert (bad.status, bad.body["errorData"]["field"]) == (400, "properties.description")
    owned = call("entities:update", {"id": a, "properties": {"ownerId": "x"}})
    assert owned.status == 400
    missing = call("entities:update", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "name": "x"})
    assert missing.code == "NOT_FOUND"
    assert call("entities:get", {"id": a}).value["name"] == "Renamed"


def test_entities_create_every_type_with_validated_properties(call) -> None:
    from ontology.data.documents import PROPERTY_MODELS
    from ontology.data.enums import ENTITY_TYPES
    from ontology.services.ontology_ops import MANAGED_ENTITY_TYPES

    typed = {
        "creator": {"email": "t@x.io", "username": "t", "displayName": "T"},
        "ai_clone": {"systemPrompt": "You are helpful."},
        "token": {
            "contractAddress": "0xabc",
            "blockchain": "base",
            "standard": "ERC20",
            "totalSupply": 10,
            "price": 1,
        },
        "course": {"title": "T", "description": "D"},
        "media_asset": {"storageId": "sto_x", "fileType": "image/png", "fileSize": 3},
        "payment": {"amount": 100},
    }
    assert set(typed) == set(PROPERTY_MODELS)
    for t in ENTITY_TYPES:
        r = call("entities:create", {"type": t, "name": t, "properties": typed.get(t, {"note": t})})
        if t in MANAGED_ENTITY_TYPES:  # written only by their own functions (tokens:create, tokens:purchase)
            assert (r.status, r.body["errorData"]["field"]) == (400, "type"), (t, r.body)
        else:
            assert r.status == 200, (t, r.body)
    bad = call("entities:create", {"type": "course", "name": "C", "properties": {"title": "T"}})
    assert (bad.status, bad.body["errorData"]["field"]) == (400, "properties.description")
    assert call("entities:create", {"type": "spaceship", "name": "x"}).status == 400


def test_entities_properties_cannot_set_platform_fields(call) -> None:
    for props in (
        {"organizationId": "org_x"},
        {"nested": {"role": "org_owner"}},
        {"list": [{"passwordHash": "x"}]},
        {"_id": "x"},
    ):
        r = call("entities:create", {"type": "video", "name": "v", "properties": props})
        assert r.status == 400, props


def test_entities_not_found(call) -> None:
    assert call("entities:get", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}).value is None
    assert call("entities:archive", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}).code == "NOT_FOUND"


def test_connections_create_list_delete(call) -> None:
    a, b, c = _entity(call, name="A"), _entity(call, name="B"), _entity(call, name="C")
    ab = call(
        "connections:create", {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"}
    ).value["id"]
    call(
        "connections:create",
        {"fromEntityId": a, "toEntityId": c, "relationshipType": "part_of", "metadata": {"w": 1}},
    )
    out = call("connections:list", {"entityId": a, "paginationOpts": PAGE}).value
    assert len(out["page"]) == 2
    typed = call(
        "connections:list", {"entityId": a, "relationshipType": "references", "paginationOpts": PAGE}
    ).value
    assert [x["_id"] for x in typed["page"]] == [ab]
    incoming = call("connections:list", {"entityId": b, "direction": "to", "paginationOpts": PAGE}).value
    assert [x["_id"] for x in incoming["page"]] == [ab]
    dup = call("connections:create", {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"})
    assert (dup.status, dup.code) == (409, "CONFLICT")
    assert call("connections:delete", {"id": ab}).value == {"success": True}
    assert call("connections:delete", {"id": ab}).code == "NOT_FOUND"
    again = call("connections:create", {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"})
    assert again.status == 200, "deleting frees the triple"


def test_connections_validation_and_not_found(call) -> None:
    a = _entity(call)
    missing = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
    r = call("connections:create", {"fromEntityId": a, "toEntityId": missing, "relationshipType": "owns"})
    assert (r.status, r.body["errorData"]["field"]) == (404, "toEntityId")
    r = call("connections:create", {"fromEntityId": a, "toEntityId": a, "relationshipType": "owns"})
    assert r.status == 400
    r = call("connections:create", {"fromEntityId": a, "toEntityId": missing, "relationshipType": "likes"})
    assert (r.status, r.body["errorData"]["field"]) == (400, "relationshipType")


def test_events_list_by_actor_target_type_and_time(call, alice) -> None:
    a = _entity(call, name="A")
    b = _entity(call, name="B")
    call("connections:create", {"fromEntityId": a, "toEntityId": b, "relationshipType": "following"})
    by_actor = call("events:list", {"actorId": alice.entityId, "paginationOpts": PAGE}).value["page"]
    assert {e["type"] for e in by_actor} >= {"content_changed", "user_engaged"}
    by_target = call("events:list", {"targetId": b, "type": "user_engaged", "paginationOpts": PAGE}).value[
        "page"
    ]
    assert len(by_target) == 1 and by_target[0]["metadata"]["action"] == "followed"
    by_type = call("events:list", {"type": "content_changed", "paginationOpts": PAGE}).value["page"]
    assert len(by_type) == 2
    everything = call("events:list", {"paginationOpts": {"numItems": 100, "cursor": None}}).value["page"]
    newest = everything[0]["timestamp"]
    assert [e["timestamp"] for e in everything] == sorted((e["timestamp"] for e in everything), reverse=True)
    window = call("events:list", {"since": newest, "paginationOpts": PAGE}).value["page"]
    assert window and all(e["timestamp"] >= newest for e in window)
    assert call("events:list", {"since": 5, "until": 1, "paginationOpts": PAGE}).status == 400
    assert call("events:list", {"actorId": a, "targetId": b, "paginationOpts": PAGE}).status == 400


def test_tags_add_list_remove(call) -> None:
    a, b = _entity(call, name="A"), _entity(call, name="B")
    call("tags:add", {"entityId": a, "key": "skill", "value": "math"})
    call("tags:add", {"entityId": b, "key": "skill", "value": "math"})
    call("tags:add", {"entityId": a, "key": "industry", "value": "edu"})
    assert call("tags:add", {"entityId": a, "key": "skill", "value": "math"}).code == "CONFLICT"
    assert len(call("tags:list", {"entityId": a, "paginationOpts": PAGE}).value["page"]) == 2
    assert len(call("tags:list", {"key": "skill", "paginationOpts": PAGE}).value["page"]) == 2
    assert (
        len(call("tags:list", {"key": "skill", "value": "math", "paginationOpts": PAGE}).value["page"]) == 2
    )
    assert call("tags:remove", {"entityId": a, "key": "skill", "value": "math"}).value == {"success": True}
    assert call("tags:remove", {"entityId": a, "key": "skill", "value": "math"}).code == "NOT_FOUND"
    assert (
        call("tags:add", {"entityId": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "key": "k", "value": "v"}).code
        == "NOT_FOUND"
    )
    assert call("tags:list", {"paginationOpts": PAGE}).status == 400
    assert call("tags:add", {"entityId": a, "key": "bad key!", "value": "v"}).status == 400


def test_tokens_get_balance_and_holdings(call, alice) -> None:
    token = run_mutation(
        lambda db: db.insert(
            "entities",
            {
                "type": "token",
                "name": "Ada Coin",
                "status": "active",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {
                    "contractAddress": "0x1",
                    "blockchain": "base",
                    "standard": "ERC20",
                    "totalSupply": 1000,
                    "price": 2,
                },
            },
        ),
        org=alice.organizationId,
    )
    assert call("tokens:get", {"id": token}).value["name"] == "Ada Coin"
    assert call("tokens:get", {"id": _entity(call)}).value is None
    assert call("tokens:get_balance", {"tokenId": token}).value == {"tokenId": token, "amount": 0}
    run_mutation(
        lambda db: db.insert(
            "connections",
            {
                "fromEntityId": alice.entityId,
                "toEntityId": token,
                "relationshipType": "holds_tokens",
                "metadata": {"balance": 40},
                "createdAt": 1,
            },
        ),
        org=alice.organizationId,
    )
    assert call("tokens:get_balance", {"tokenId": token}).value["amount"] == 40
    holdings = call("tokens:get_user_holdings", {"userId": alice.entityId}).value
    assert [(h["token"]["_id"], h["balance"]) for h in holdings] == [(token, 40)]
    assert call("tokens:get_balance", {"tokenId": "x"}).status == 400
    # the ledger is written only by purchases, transfers and enrollments
    held = call("connections:list", {"entityId": alice.entityId, "paginationOpts": PAGE}).value["page"][0]
    assert call("connections:delete", {"id": held["_id"]}).status == 400
    forged = call(
        "connections:create",
        {"fromEntityId": alice.entityId, "toEntityId": token, "relationshipType": "holds_tokens"},
    )
    assert (forged.status, forged.body["errorData"]["field"]) == (400, "relationshipType")


def test_another_organization_sees_nothing(call, alice, bob) -> None:
    a = _entity(call, name="Secret")
    assert call("entities:get", {"id": a}, as_=bob).value is None
    assert call("entities:archive", {"id": a}, as_=bob).code == "NOT_FOUND"
    assert call("entities:list", {"type": "blog_post", "paginationOpts": PAGE}, as_=bob).value["page"] == []
    assert call("entities:get", {"id": a}).value["name"] == "Secret"


def test_a_follow_racing_the_deletion_of_its_creator_never_commits(call, monkeypatch) -> None:
    """connections:create reads its ends for their existence alone (ontology/data/tombstones.py): a
    deletion that commits between its reads and its commit makes it run again and answer NOT_FOUND;
    a rename in between changes nothing it depends on, and it commits the first time."""
    from ontology import run_mutation
    from ontology.data import transaction

    fan = _entity(call, type_="audience_member", name="Fan")
    stars = [_entity(call, type_="video", name=n) for n in ("Gone", "Renamed")]
    original = transaction.commit
    commits: list[str] = []

    def racing(tx, store):
        if not commits and tx.docs:  # the follow's first commit: another mutation lands first
            commits.append("raced")
            gone, renamed = stars
            if any(gone in pk for pk in tx.seen):
                run_mutation(lambda db: db.delete(gone, "entities"), org=tx.scope)
            else:
                run_mutation(lambda db: db.patch(renamed, {"name": "New name"}), org=tx.scope)
        commits.append("commit")
        return original(tx, store)

    monkeypatch.setattr(transaction, "commit", racing)
    r = call(
        "connections:create", {"fromEntityId": fan, "toEntityId": stars[0], "relationshipType": "following"}
    )
    assert (r.status, r.code, r.body["errorData"]["field"]) == (404, "NOT_FOUND", "toEntityId")
    # the deletion's commit, then the follow's, refused: its re-run finds the creator gone
    assert commits == ["raced", "commit", "commit"]
    incoming = call("connections:list", {"entityId": fan, "paginationOpts": PAGE}).value
    assert incoming["page"] == []

    commits.clear()
    ok = call(
        "connections:create", {"fromEntityId": fan, "toEntityId": stars[1], "relationshipType": "following"}
    )
    assert ok.status == 200 and commits == ["raced", "commit", "commit"]  # the rename's, then the follow's
    assert call("entities:get", {"id": stars[1]}).value["name"] == "New name"
