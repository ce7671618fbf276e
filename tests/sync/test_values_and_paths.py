"""Convex's value encoding, timestamps and function paths."""

from __future__ import annotations

import math

import pytest

from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.registry import load_all
from ontology.sync.paths import resolve_public, snake_case
from ontology.sync.values import decode_args, decode_ts, decode_value, encode_ts, encode_value, next_ts


def test_integers_floats_and_bytes_decode_for_strict_models() -> None:
    assert decode_value({"$integer": "+//////+//8="}) == -(2**40) - 5
    assert decode_value(10.0) == 10 and isinstance(decode_value(10.0), int)
    assert decode_value(10.5) == 10.5
    assert math.isnan(decode_value({"$float": "AAAAAAAA+H8="}))
    assert decode_value({"$bytes": "aGk="}) == b"hi"
    assert decode_args([{"n": 3.0, "nested": {"x": [1.0, 2.5]}}]) == {"n": 3, "nested": {"x": [1, 2.5]}}
    assert decode_args({"a": 1}) == {"a": 1}


@pytest.mark.parametrize(
    "bad",
    [
        {"$set": []},
        {"$integer": "AAAA"},
        {"$float": "AAAAAAAA8D8="},  # 1.0 is a normal number: send it as one
        {"ok": {"$weird": 1}},
        [{"a": 1}, {"b": 2}],
        "not an object",
    ],
)
def test_malformed_values_are_validation_errors(bad: object) -> None:
    with pytest.raises(ValidationError):
        decode_args(bad if isinstance(bad, list | str) else [bad])


def test_results_encode_as_convex_expects() -> None:
    assert encode_value({"n": 10, "f": 1.5, "b": True, "s": "x", "none": None}) == {
        "n": 10,
        "f": 1.5,
        "b": True,
        "s": "x",
        "none": None,
    }
    assert encode_value(2**60) == {"$integer": "AAAAAAAAABA="}
    assert encode_value(float("inf")) == {"$float": "AAAAAAAA8H8="}
    assert encode_value(b"hi") == {"$bytes": "aGk="}


def test_timestamps_are_base64_little_endian_and_increase() -> None:
    assert encode_ts(0) == "AAAAAAAAAAA="
    assert decode_ts(encode_ts(123456789)) == 123456789
    first = next_ts()
    assert next_ts() > first
    assert next_ts(at_least=first + 10**12) > first + 10**12  # above what a client has seen


def test_camel_case_js_suffix_and_aliases_resolve() -> None:
    assert resolve_public("tokens:getBalance").spec.path == "tokens:get_balance"
    assert resolve_public("creators:listPaginated").spec.path == "creators:list_paginated"
    assert resolve_public("tokens.js:get").spec.path == "tokens:get"
    assert resolve_public("creators:getCreatorWithContent").spec.path == "creators:get_with_content"
    assert resolve_public("tokens:getUserTokenHoldings").spec.path == "tokens:get_user_holdings"


def test_every_public_function_answers_to_its_camel_case_name() -> None:
    for path, fn in load_all().items():
        module, name = path.split(":")
        parts = name.split("_")
        camel = parts[0] + "".join(p.capitalize() for p in parts[1:])
        if fn.spec.internal:
            with pytest.raises(NotFoundError):
                resolve_public(f"{module}:{camel}")
        elif fn.spec.system:  # by its _system/ path only
            assert resolve_public(fn.spec.convex_path.replace(name, camel)) is fn
            with pytest.raises(NotFoundError):
                resolve_public(f"{module}:{camel}")
        else:
            assert resolve_public(f"{module}:{camel}") is fn
            assert snake_case(camel) == name


@pytest.mark.parametrize("path", ["nope:x", "creators:nope", "purchases:charge", "", "creators", 42])
def test_unknown_and_internal_functions_are_not_found(path: object) -> None:
    with pytest.raises(NotFoundError):
        resolve_public(path)


def test_a_value_already_in_convex_encoding_passes_through() -> None:
    import base64
    import math
    import struct

    from ontology.errors import ValidationError
    from ontology.sync.values import decode_value, encode_value

    nan = {"$float": base64.b64encode(struct.pack("<d", math.nan)).decode()}
    raw = {"$bytes": base64.b64encode(b"\x00\x01").decode()}
    big = {"$integer": base64.b64encode((2**60).to_bytes(8, "little", signed=True)).decode()}
    value = {"properties": {"blob": raw, "ratio": nan, "big": big}}
    assert encode_value(value) == value  # as a function's JSON answer carries them (imported data)
    assert decode_value(raw) == b"\x00\x01" and decode_value(big) == 2**60
    for bad in ({"$bytes": "not base64!"}, {"$other": "AAE="}):
        with pytest.raises(ValidationError):
            encode_value(bad)
