"""creators:* — success, validation error, not found, conflict; events logged in the same transaction."""

from __future__ import annotations

from ontology import run_query


def _create(call, email="ada@example.com", name="Ada", niche=("math",)) -> str:
    return call("creators:create", {"email": email, "name": name, "niche": list(niche)}).value["creatorId"]


def _events(member, type_):
    return run_query(
        lambda db: [e for e in db.query("events").with_index("by_timestamp").collect() if e["type"] == type_],
        org=member.organizationId,
    )


def test_create_get_and_creator_created_event(call, alice) -> None:
    cid = _create(call)
    got = call("creators:get", {"id": cid}).value
    assert got["name"] == "Ada" and got["properties"]["email"] == "ada@example.com"
    assert got["properties"]["username"] == "ada" and got["contentCount"] == 0
    (event,) = _events(alice, "creator_created")
    assert event["actorId"] == cid and event["metadata"] == {"email": "ada@example.com", "niche": ["math"]}


def test_create_conflict_on_email_case_insensitive(call, alice) -> None:
    _create(call)
    r = call("creators:create", {"email": "ADA@example.com", "name": "Other", "niche": []})
    assert (r.status, r.code) == (409, "CONFLICT")
    assert len(_events(alice, "creator_created")) == 1, "the failed create logged nothing"


def test_create_validation(call) -> None:
    r = call("creators:create", {"email": "not-an-email", "name": "A", "niche": []})
    assert (r.status, r.body["errorData"]["field"]) == (400, "email")


def test_get_missing_or_not_a_creator_is_null(call) -> None:
    assert call("creators:get", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}).value is None
    post = call("entities:create", {"type": "blog_post", "name": "P"}).value["id"]
    assert call("creators:get", {"id": post}).value is None


def test_update_merges_properties_and_logs(call, alice) -> None:
    cid = _create(call)
    assert call("creators:update", {"id": cid, "bio": "Hello", "niche": ["poetry"]}).value == {
        "success": True
    }
    props = call("creators:get", {"id": cid}).value["properties"]
    assert props["bio"] == "Hello" and props["niche"] == ["poetry"] and props["email"] == "ada@example.com"
    (event,) = _events(alice, "creator_updated")
    assert event["metadata"] == {"updatedFields": ["bio", "niche"]}


def test_update_not_found_and_validation(call) -> None:
    r = call("creators:update", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "bio": "x"})
    assert (r.status, r.code) == (404, "NOT_FOUND")
    cid = _create(call)
    assert call("creators:update", {"id": cid, "bio": 5}).status == 400


def test_list_active_by_niche_with_limit(call) -> None:
    for i in range(3):
        _create(call, f"m{i}@x.io", f"M{i}", ["math"])
    _create(call, "p@x.io", "P", ["poetry"])
    assert len(call("creators:list", {}).value) == 4
    assert {c["name"] for c in call("creators:list", {"niche": "math"}).value} == {"M0", "M1", "M2"}
    assert len(call("creators:list", {"limit": 2}).value) == 2
    assert call("creators:list", {"limit": 0}).status == 400


def test_list_paginated_newest_first(call) -> None:
    ids = [_create(call, f"u{i}@x.io", f"U{i}") for i in range(5)]
    first = call("creators:list_paginated", {"paginationOpts": {"numItems": 3, "cursor": None}}).value
    assert [c["_id"] for c in first["page"]] == ids[::-1][:3] and not first["isDone"]
    second = call(
        "creators:list_paginated", {"paginationOpts": {"numItems": 3, "cursor": first["continueCursor"]}}
    ).value
    assert [c["_id"] for c in second["page"]] == ids[::-1][3:] and second["isDone"]
    bad = call("creators:list_paginated", {"paginationOpts": {"numItems": 3, "cursor": "forged"}})
    assert (bad.status, bad.body["errorData"]["field"]) == (400, "cursor")


def test_get_with_content(call) -> None:
    cid = _create(call)
    posts = []
    for i in range(3):
        pid = call("entities:create", {"type": "blog_post", "name": f"P{i}"}).value["id"]
        call("connections:create", {"fromEntityId": cid, "toEntityId": pid, "relationshipType": "authored"})
        posts.append(pid)
    fan = call("entities:create", {"type": "audience_member", "name": "Fan"}).value["id"]
    call("connections:create", {"fromEntityId": fan, "toEntityId": cid, "relationshipType": "following"})
    got = call("creators:get_with_content", {"creatorId": cid}).value
    assert [c["_id"] for c in got["content"]] == posts
    assert got["followerCount"] == 1
    assert call("creators:get", {"id": cid}).value["contentCount"] == 3
    assert call("creators:get_with_content", {"creatorId": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}).value is None
    assert call("creators:get_with_content", {"creatorId": "nope"}).status == 400
