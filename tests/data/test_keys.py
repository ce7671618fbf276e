"""The order-preserving key encoding and typed ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontology.data.keys import (
    KEY_MAX,
    UNDEFINED,
    check_id,
    encode_tuple,
    encode_value,
    new_id,
    sort_key,
    table_of_id,
)
from ontology.errors import ValidationError

finite = st.floats(allow_nan=False, allow_infinity=False)
safe_ints = st.integers(min_value=-(2**53), max_value=2**53)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)


def _utf8(s: str) -> bytes:
    return s.encode("utf-8")


@pytest.mark.parametrize(
    "ordered",
    [
        [-(2**53), -1e9, -2, -1.5, -1, -0.5, 0, 0.25, 1, 1.5, 2, 10, 1e9, 2**53],
        [
            "",
            "\x00",
            "\x00\x00",
            "\x01",
            "a",
            "a\x00",
            "a\x01",
            "a b",
            "a#b",
            "ab",
            "a|b",
            "b",
            "é",
            "ø",
            "中",
            "😀",
            "\U0010ffff",
        ],
        [UNDEFINED, None, -1, 0, 1, False, True, "", "a"],
    ],
)
def test_known_orders_are_preserved(ordered: list[object]) -> None:
    encoded = [encode_value(v) for v in ordered]
    assert encoded == sorted(encoded)
    assert [_utf8(e) for e in encoded] == sorted(_utf8(e) for e in encoded), "DynamoDB compares UTF-8 bytes"
    assert len(set(encoded)) == len(encoded)


@settings(max_examples=300)
@given(st.one_of(finite, safe_ints), st.one_of(finite, safe_ints))
def test_numbers_compare_like_their_values(a: float, b: float) -> None:
    ea, eb = encode_value(a), encode_value(b)
    assert (ea < eb) == (float(a) < float(b))
    assert (ea == eb) == (float(a) == float(b))


@settings(max_examples=300)
@given(text, text)
def test_strings_compare_like_code_points_and_bytes(a: str, b: str) -> None:
    ea, eb = encode_value(a), encode_value(b)
    assert (ea < eb) == (a < b)
    assert (_utf8(ea) < _utf8(eb)) == (a.encode() < b.encode())
    assert KEY_MAX not in ea


@settings(max_examples=300)
@given(st.tuples(text, safe_ints), st.tuples(text, safe_ints))
def test_tuples_sort_field_by_field(a: tuple[str, int], b: tuple[str, int]) -> None:
    assert (encode_tuple(a) < encode_tuple(b)) == (a < b)


@settings(max_examples=200)
@given(text, text)
def test_no_encoding_is_a_prefix_of_another(a: str, b: str) -> None:
    if a != b:
        assert not encode_value(b).startswith(encode_value(a))


def test_sort_key_matches_encoding_across_types() -> None:
    values = [UNDEFINED, None, -3, 2.5, True, "x"]
    shuffled = [values[i] for i in (3, 0, 5, 1, 4, 2)]
    assert sorted(shuffled, key=sort_key) == values


@pytest.mark.parametrize("bad", [float("nan"), 2**60, {"a": 1}, [1], "\ud800"])
def test_unindexable_values_are_validation_errors(bad: object) -> None:
    with pytest.raises(ValidationError):
        encode_value(bad, "field")


def test_ids_are_typed_by_table() -> None:
    eid = new_id("entities")
    assert eid.startswith("ent_") and len(eid) == 30
    assert table_of_id(eid) == "entities"
    assert check_id("entities", eid) == eid
    with pytest.raises(ValidationError) as err:
        check_id("connections", eid, field="connectionId")
    assert err.value.field == "connectionId"
    assert "entities" in err.value.message
    for bad in [
        "",
        "ent_",
        "ent_short",
        "xyz_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
        42,
        None,
        "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8I",
    ]:
        assert table_of_id(bad) is None


def test_ids_are_time_ordered() -> None:
    early, late = new_id("entities", now_ms=1_000), new_id("entities", now_ms=2_000)
    assert early < late
