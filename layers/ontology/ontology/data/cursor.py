"""Opaque, signed pagination cursors.

A cursor carries the position after the last document of a page, and is signed with HMAC-SHA256
under the settings' cursor secret. It is bound to the organization, table, index and a digest of the
query's arguments (range, filter, order): a tampered cursor, or one from another organization or
another query, is a VALIDATION_ERROR, never a silent read elsewhere.

Example::

    token = encode_cursor(binding, {"pk": ...})
    position = decode_cursor(token, binding)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from ontology.errors import InternalError, ValidationError
from ontology.settings import get_settings

__all__ = ["CursorBinding", "decode_cursor", "encode_cursor"]

_VERSION = 1
_MAX_CURSOR_LENGTH = 4096


@dataclass(frozen=True)
class CursorBinding:
    """What a cursor is bound to: the organization (scope), table, index and the query's arguments."""

    scope: str
    table: str
    index: str
    args_digest: str

    @classmethod
    def of(cls, scope: str, table: str, index: str, args: Any) -> CursorBinding:
        canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return cls(scope, table, index, digest)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> bytes:
    secret = get_settings().cursor_secret
    if not secret:
        from ontology.secrets import get_secret

        secret = get_secret("cursorSecret", required=False) or ""
    if len(secret) < 16:
        raise InternalError("Pagination is not configured (cursor secret missing)")
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()


def encode_cursor(binding: CursorBinding, position: dict[str, str] | None) -> str:
    """A cursor for the position after ``position`` (None: the range is exhausted)."""
    body = {
        "v": _VERSION,
        "s": binding.scope,
        "t": binding.table,
        "i": binding.index,
        "a": binding.args_digest,
        "p": position,
    }
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def decode_cursor(cursor: str, binding: CursorBinding) -> tuple[dict[str, str] | None, bool]:
    """Verify ``cursor`` for this query; returns ``(position, done)``.

    Raises VALIDATION_ERROR (field ``cursor``) when it is malformed, tampered with, or was made for
    another organization, table, index or set of arguments.
    """
    invalid = ValidationError("Invalid cursor", field="cursor")
    if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise invalid
    body_b64, sig_b64 = cursor.split(".")
    try:
        payload = _unb64(body_b64)
        signature = _unb64(sig_b64)
    except (ValueError, TypeError):
        raise invalid from None
    if not hmac.compare_digest(signature, _sign(payload)):
        raise invalid
    try:
        body = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(body, dict) or body.get("v") != _VERSION:
        raise invalid
    found = (body.get("s"), body.get("t"), body.get("i"), body.get("a"))
    if found != (binding.scope, binding.table, binding.index, binding.args_digest):
        raise ValidationError("Invalid cursor: it belongs to another query", field="cursor")
    position = body.get("p")
    if position is not None and not (
        isinstance(position, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in position.items())
    ):
        raise invalid
    return position, position is None
