"""Each index's range builder: eq on a prefix of its fields, then one bound on the next field."""

from __future__ import annotations

import pytest

from ontology.data.db import DatabaseReader
from ontology.data.indexes import SearchIndex
from ontology.data.keys import KEY_MAX, encode_value
from ontology.data.query import IndexRange
from ontology.data.schema import TABLES
from ontology.errors import ValidationError

ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
INDEXES = [(t.name, i) for t in TABLES.values() for i in t.indexes if not isinstance(i, SearchIndex)]


def _sample(field: str) -> object:
    if field in {"createdAt", "updatedAt", "timestamp", "expiresAt", "expires", "_creationTime"}:
        return 1_700_000_000_000
    return "value"


def _query(table_name: str):
    return DatabaseReader(ORG, platform=True, store=object()).query(table_name)  # type: ignore[arg-type]


@pytest.mark.parametrize(("table_name", "index"), INDEXES, ids=[f"{t}.{i.name}" for t, i in INDEXES])
def test_every_index_accepts_each_valid_prefix_and_bound(table_name: str, index) -> None:
    fields = index.range_fields
    for n_eq in range(index.partition, len(fields) + 1):

        def build(q: IndexRange, n=n_eq) -> IndexRange:
            for f in fields[:n]:
                q = q.eq(f, _sample(f))
            return q

        q = _query(table_name).with_index(index.name, build)
        pk, _cond = q._key_condition()
        assert pk.startswith(
            f"{ORG if TABLES[table_name].scope == 'org' else 'platform'}#{table_name}#{index.name}"
        )
        if n_eq < len(fields):
            nxt = fields[n_eq]
            for op in ("gt", "gte", "lt", "lte"):
                ranged = _query(table_name).with_index(
                    index.name, lambda q, n=n_eq, op=op, nxt=nxt: getattr(build(q, n), op)(nxt, _sample(nxt))
                )
                _, cond2 = ranged._key_condition()
                assert cond2[0] in ("between", "lte")
                assert all(cond2[1:]), "DynamoDB refuses empty strings in key conditions"
                if cond2[0] == "between":
                    assert cond2[1] <= cond2[2]
            both = _query(table_name).with_index(
                index.name, lambda q, n=n_eq, nxt=nxt: build(q, n).gt(nxt, _sample(nxt)).lt(nxt, _sample(nxt))
            )
            assert both._key_condition() is None, "an empty range sends no request"


def test_bounds_translate_to_exclusive_and_inclusive_keys() -> None:
    q = _query("connections").with_index(
        "from_type", lambda q: q.eq("fromEntityId", "a").gt("relationshipType", "m")
    )
    _, (kind, lo, hi) = q._key_condition()
    prefix = ""  # fromEntityId is the partition
    assert (kind, lo, hi) == ("between", prefix + encode_value("m") + KEY_MAX, prefix + KEY_MAX)
    q = _query("connections").with_index(
        "from_type", lambda q: q.eq("fromEntityId", "a").lte("relationshipType", "m")
    )
    assert q._key_condition()[1] == ("lte", encode_value("m") + KEY_MAX)
    q = _query("sessions").with_index("by_expires", lambda q: q.lt("expiresAt", 5))
    assert q._key_condition()[1] == ("lte", encode_value(5))
    q = _query("connections").with_index(
        "from_type",
        lambda q: q.eq("fromEntityId", "a").gte("relationshipType", "m").lt("relationshipType", "p"),
    )
    _, (kind, lo, hi) = q._key_condition()
    assert (lo, hi) == (encode_value("m"), encode_value("p"))


def test_an_index_served_by_another_reads_that_range_and_filters_the_rest() -> None:
    """events.by_actor_type is answered by by_actor: the same partition and creation-time bounds,
    the type as a filter; a range on the type (which only an index of its own could read in order)
    is refused with what to do instead."""
    q = _query("events").with_index(
        "by_actor_type", lambda q: q.eq("actorId", "a").eq("type", "x").gt("_creationTime", 5)
    )
    plain = _query("events").with_index("by_actor", lambda q: q.eq("actorId", "a").gt("_creationTime", 5))
    assert q._index.name == "by_actor"
    assert q._key_condition() == plain._key_condition()
    assert q._matches_filters({"type": "x"}) and not q._matches_filters({"type": "y"})
    with pytest.raises(ValidationError) as err:
        _query("events").with_index("by_actor_type", lambda q: q.eq("actorId", "a").gt("type", "m"))
    assert "answered by by_actor: fix type with eq" in err.value.message


def test_a_table_without_a_creation_time_index_names_one() -> None:
    with pytest.raises(ValidationError) as err:
        _query("events")._key_condition()
    assert "by_actor" in err.value.message and "by_creation_time" in err.value.message


@pytest.mark.parametrize(
    ("index", "build", "message"),
    [
        ("from_type", lambda q: q.eq("relationshipType", "owns"), "out of order"),
        (
            "from_type",
            lambda q: q.eq("fromEntityId", "a").gt("relationshipType", "a").eq("createdAt", 1),
            "after a range",
        ),
        (
            "from_type",
            lambda q: q.eq("fromEntityId", "a").gt("relationshipType", "a").gt("relationshipType", "b"),
            "two lower",
        ),
        ("from_type", lambda q: q.gt("fromEntityId", "a"), "needs eq"),
        ("from_type", lambda q: q.eq("fromEntityId", {"x": 1}), "cannot be an index key"),
        ("from_entity", lambda q: q.eq("fromEntityId", "a").eq("_creationTime", 1).eq("x", 1), "all fields"),
        ("from_type", lambda q: None, "needs eq on fromEntityId"),
    ],
)
def test_invalid_ranges_are_validation_errors(index: str, build, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        _query("connections").with_index(index, build)
    assert message in err.value.message


def test_unknown_index_and_table() -> None:
    with pytest.raises(ValidationError):
        _query("entities").with_index("by_nothing")
    with pytest.raises(ValidationError):
        _query("nothing")


def test_platform_tables_are_not_reachable_from_an_org_context() -> None:
    db = DatabaseReader(ORG, store=object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        db.query("users").with_index("by_email", lambda q: q.eq("email", "a@b.co"))._key_condition()
