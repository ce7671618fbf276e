"""The schema is exactly the reference's: enumerations and indexes parsed from the spec itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ontology.data.documents import PROPERTY_MODELS, validate_document
from ontology.data.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.data.indexes import SearchIndex
from ontology.data.keys import new_id
from ontology.data.schema import OMITTED_INDEXES, TABLES
from ontology.errors import PayloadTooLargeError, ValidationError

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "one-platform-api-reference.md"


@pytest.fixture(scope="module")
def spec() -> str:
    assert SPEC.exists(), f"the API reference must sit beside the repository: {SPEC}"
    return SPEC.read_text()


def _block(spec: str, start: str, end: str) -> str:
    i = spec.index(start)
    j = spec.index(end, i)
    return spec[i:j]


def _literals(text: str) -> list[str]:
    return re.findall(r'v\.literal\("([^"]+)"\)', text)


def test_entity_types_are_the_references_fifty(spec: str) -> None:
    listed = _literals(_block(spec, "entities: defineTable({", "name: v.string()"))
    assert len(listed) == 50
    assert list(ENTITY_TYPES) == listed


def test_entity_statuses_are_the_references(spec: str) -> None:
    listed = _literals(_block(spec, "status: v.optional(v.union(", "createdAt:"))
    assert list(ENTITY_STATUSES) == listed


def test_relationship_types_are_the_references_thirty_three(spec: str) -> None:
    listed = _literals(_block(spec, "connections: defineTable({", "metadata:"))
    assert len(listed) == 33
    assert list(RELATIONSHIP_TYPES) == listed


def test_event_types_are_the_references_forty_nine(spec: str) -> None:
    listed = _literals(_block(spec, "events: defineTable({", "actorId:"))
    assert len(listed) == 49
    assert list(EVENT_TYPES) == listed


def test_roles() -> None:
    assert ROLES == ("platform_owner", "org_owner", "org_user", "customer")


@pytest.mark.parametrize("table_name", ["entities", "connections", "events", "tags"])
def test_every_reference_index_exists_with_its_fields(spec: str, table_name: str) -> None:
    block = _block(spec, f"{table_name}: defineTable({{", "```")
    t = TABLES[table_name]
    declared = {i.name: i for i in (*t.indexes, *t.virtual_indexes, *t.search_indexes)}
    for name, fields in re.findall(r'\.index\("([^"]+)", \[([^\]]*)\]\)', block):
        expected = tuple(f.strip().strip('"') for f in fields.split(","))
        if f"{table_name}.{name}" in OMITTED_INDEXES:
            assert name not in declared  # and docs/data-model.md says how its queries are answered
            continue
        assert name in declared, f"{table_name}.{name} missing"
        assert declared[name].fields == expected
    for name in re.findall(r'\.searchIndex\("([^"]+)"', block):
        assert isinstance(declared[name], SearchIndex)


def test_auth_indexes_the_reference_uses(spec: str) -> None:
    for table_name, index in re.findall(r'ctx\.db\s*\.query\("(\w+)"\)\s*\.withIndex\("(\w+)"', spec):
        t = TABLES[table_name]
        if f"{table_name}.{index}" in OMITTED_INDEXES:
            continue
        assert index in {i.name for i in (*t.indexes, *t.virtual_indexes)}, f"{table_name}.{index}"
    assert {"users", "verificationTokens", "sessions", "organizations", "memberships"} <= set(TABLES)


def test_gsi_budget() -> None:
    from ontology.data.schema import GSI_COUNT

    assert GSI_COUNT <= 10
    for t in TABLES.values():
        slots = [i.slot for i in t.indexes]
        assert len(set(slots)) == len(slots) and all(1 <= s <= GSI_COUNT for s in slots)


def _creator(**props: object) -> dict[str, object]:
    base = {"email": "a@b.co", "username": "a", "displayName": "A"}
    base.update(props)
    return {"type": "creator", "name": "A", "properties": base, "createdAt": 1, "updatedAt": 1}


def test_typed_properties_fill_defaults_and_reject_unknown_fields() -> None:
    doc = validate_document("entities", _creator())
    assert doc["properties"]["totalFollowers"] == 0
    assert doc["properties"]["niche"] == []
    with pytest.raises(ValidationError) as err:
        validate_document("entities", _creator(organization="org_x"))
    assert err.value.field == "properties.organization"
    with pytest.raises(ValidationError) as err:
        validate_document("entities", _creator(email="not-an-email"))
    assert err.value.field == "properties.email"


def test_typed_models_cover_the_reference_types() -> None:
    assert set(PROPERTY_MODELS) == {"creator", "ai_clone", "token", "course", "media_asset", "payment"}


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"blob": "x" * (64 * 1024)}, PayloadTooLargeError),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": 1}}}}}}}}}}}, ValidationError),
        ("not an object", ValidationError),
    ],
)
def test_untyped_properties_limits(props: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        validate_document(
            "entities", {"type": "video", "name": "v", "properties": props, "createdAt": 1, "updatedAt": 1}
        )


def test_untyped_properties_within_limits_pass() -> None:
    nested: dict[str, object] = {"leaf": 1}
    for _ in range(8):
        nested = {"n": nested}
    doc = validate_document(
        "entities", {"type": "video", "name": "v", "properties": nested, "createdAt": 1, "updatedAt": 1}
    )
    assert doc["properties"] == nested


@pytest.mark.parametrize(
    ("table_name", "doc", "field"),
    [
        ("entities", {"type": "robot", "name": "x", "createdAt": 1, "updatedAt": 1}, "type"),
        ("entities", {"type": "video", "name": "x", "createdAt": "1", "updatedAt": 1}, "createdAt"),
        ("entities", {"type": "video", "name": "x", "createdAt": 1, "updatedAt": 1, "extra": 1}, "extra"),
        ("entities", {"type": "video", "name": "x", "createdAt": 1, "updatedAt": 1, "_id": "x"}, "_id"),
        (
            "connections",
            {
                "fromEntityId": new_id("tags"),
                "toEntityId": new_id("entities"),
                "relationshipType": "owns",
                "createdAt": 1,
            },
            "fromEntityId",
        ),
        (
            "connections",
            {
                "fromEntityId": new_id("entities"),
                "toEntityId": new_id("entities"),
                "relationshipType": "likes",
                "createdAt": 1,
            },
            "relationshipType",
        ),
        ("events", {"type": "nope", "actorId": new_id("entities"), "timestamp": 1}, "type"),
        (
            "memberships",
            {
                "organizationId": new_id("organizations"),
                "userId": new_id("users"),
                "role": "admin",
                "createdAt": 1,
                "updatedAt": 1,
            },
            "role",
        ),
    ],
)
def test_bad_documents_name_the_field(table_name: str, doc: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_document(table_name, doc)
    assert err.value.field == field
