"""Cursors are opaque, signed and bound to organization, table, index and arguments."""

from __future__ import annotations

import base64
import json

import pytest

from ontology.data.cursor import CursorBinding, decode_cursor, encode_cursor
from ontology.errors import InternalError, ValidationError
from ontology.settings import configure

BINDING = CursorBinding.of("org_a", "entities", "by_type", {"eq": ["creator"]})
POSITION = {"pk": "org_a#ent_1", "sk": "D", "g2pk": "x", "g2sk": "y"}


def test_round_trip() -> None:
    token = encode_cursor(BINDING, POSITION)
    assert decode_cursor(token, BINDING) == (POSITION, False)
    assert decode_cursor(encode_cursor(BINDING, None), BINDING) == (None, True)


def test_cursor_is_opaque() -> None:
    token = encode_cursor(BINDING, POSITION)
    assert "org_a#ent_1" not in token


@pytest.mark.parametrize(
    "other",
    [
        CursorBinding.of("org_b", "entities", "by_type", {"eq": ["creator"]}),
        CursorBinding.of("org_a", "connections", "by_type", {"eq": ["creator"]}),
        CursorBinding.of("org_a", "entities", "by_status", {"eq": ["creator"]}),
        CursorBinding.of("org_a", "entities", "by_type", {"eq": ["video"]}),
    ],
)
def test_foreign_cursor_is_rejected(other: CursorBinding) -> None:
    with pytest.raises(ValidationError) as err:
        decode_cursor(encode_cursor(BINDING, POSITION), other)
    assert err.value.field == "cursor"


def _tamper(token: str) -> str:
    body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["s"] = "org_b"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{forged}.{sig}"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "a.b.c",
        "!!!.???",
        "x" * 5000,
        _tamper,
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.split(".")[0] + "." + base64.urlsafe_b64encode(b"0" * 32).decode().rstrip("="),
    ],
)
def test_tampered_cursor_is_a_validation_error(bad: object) -> None:
    token = encode_cursor(BINDING, POSITION)
    value = bad(token) if callable(bad) else bad
    with pytest.raises(ValidationError):
        decode_cursor(value, BINDING)  # type: ignore[arg-type]


def test_cursor_signed_with_another_secret_is_rejected() -> None:
    token = encode_cursor(BINDING, POSITION)
    configure(cursor_secret="another-secret-of-sufficient-length")
    try:
        with pytest.raises(ValidationError):
            decode_cursor(token, BINDING)
    finally:
        configure(None)


def test_missing_secret_refuses_to_sign() -> None:
    configure(cursor_secret="")
    try:
        with pytest.raises(InternalError):
            encode_cursor(BINDING, POSITION)
    finally:
        configure(None)
