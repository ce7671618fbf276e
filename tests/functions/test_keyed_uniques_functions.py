"""Connections and tags written before their unique rules were keyed (random ids, guard items),
through the functions a client calls, before and after migration 0011: a duplicate is still a
CONFLICT, the old ones are found, removed and their values taken again."""

from __future__ import annotations

from typing import Any

import pytest

from ontology.data.dynamodb import default_store
from ontology.data.migrations import runner
from ontology.data.migrations.versions.m0011_keyed_uniques import KeyedUniques
from tests.data.helpers import written_before

PAGE = {"numItems": 10, "cursor": None}


@pytest.mark.parametrize("migrated", [False, True])
def test_old_connections_and_tags_through_the_functions(call: Any, alice: Any, migrated: bool) -> None:
    org = alice.organizationId
    a, b = (call("entities:create", {"type": "blog_post", "name": n}).value["id"] for n in ("A", "B"))
    triple = {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"}
    tag = {"entityId": a, "key": "skill", "value": "math"}
    old_link = written_before("connections", {**triple, "createdAt": 1}, org=org)
    written_before("tags", tag, org=org)
    if migrated:
        assert runner.run(default_store(), KeyedUniques()).counts["changed"] == 2

    dup = call("connections:create", triple)
    assert (dup.status, dup.code, dup.body["errorMessage"]) == (
        409,
        "CONFLICT",
        "this connection already exists",
    )
    again = call("tags:add", tag)
    assert (again.status, again.code) == (409, "CONFLICT")
    listed = call("connections:list", {"entityId": a, "paginationOpts": PAGE}).value["page"]
    assert [c["_id"] for c in listed] == [old_link]

    assert call("tags:remove", tag).value == {"success": True}  # found through its guard or alias
    assert call("tags:add", tag).status == 200
    assert call("connections:delete", {"id": old_link}).value == {"success": True}
    new_link = call("connections:create", triple).value["id"]
    assert new_link != old_link
    assert call("connections:create", triple).code == "CONFLICT"
