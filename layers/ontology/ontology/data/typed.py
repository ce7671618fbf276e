"""Values JSON cannot hold (bytes, NaN, ±Infinity, a small int64) in a stored document.

A document is stored as JSON text. Convex's values that JSON has no type for are stored in Convex's
own JSON encoding of them (its wire and export format): ``{"$bytes": <base64>}``, ``{"$float":
<base64 of the 8 little-endian bytes>}`` (NaN, ±Infinity) and ``{"$integer": <base64 of the 8
little-endian bytes>}`` (an int64 that a float64 also holds, so that it is not taken for a number
when it is exported again). Convex refuses a field name starting with ``$``, and so does the
platform's write API, so such an object is never a caller's own value: it is unambiguous.

Only an import writes them (``one import``, inside ``properties`` and ``metadata``). A read gives
the values as Python holds them (:func:`decode`): bytes as ``bytes``, NaN and ±Infinity as a
``float``, an int64 as an ``int`` (a number, as every count is); a function's JSON result holds them
in the same encoding (:func:`wrap`). A write of a document read with them (:func:`encode`) stores
them in the same encoding.

Example::

    encode({"raw": b"\\x00"})  # '{"raw":{"$bytes":"AA=="}}'
    decode('{"raw":{"$bytes":"AA=="}}')  # {"raw": b"\\x00"}
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["TYPE_KEYS", "Int64", "decode", "encode", "wrap"]

#: The keys of Convex's encoded values.
TYPE_KEYS = ("$bytes", "$float", "$integer")


class Int64(int):
    """An int that was an int64 in Convex (``v.int64()``, a JavaScript ``bigint``), not a number."""


def wrap(value: Any) -> Any:
    """``value`` with bytes, non-finite floats and :class:`Int64` in Convex's JSON encoding."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Int64):
        raw = int(value).to_bytes(8, "little", signed=True)
        return {"$integer": base64.b64encode(raw).decode()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list | tuple):
        return [wrap(v) for v in value]
    if isinstance(value, dict):
        return {k: wrap(v) for k, v in value.items()}
    return value


def encode(body: Any) -> str:
    """A document's stored JSON text (compact, raw UTF-8)."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(wrap(body), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _b64(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _hook(integer: Callable[[int], int]) -> Callable[[list[tuple[str, Any]]], Any]:
    def pairs(items: list[tuple[str, Any]]) -> Any:
        if len(items) == 1 and items[0][0] in TYPE_KEYS:
            key, text = items[0]
            raw = _b64(text)
            if raw is not None and key == "$bytes":
                return raw
            if raw is not None and len(raw) == 8:
                if key == "$float":
                    return struct.unpack("<d", raw)[0]
                return integer(int.from_bytes(raw, "little", signed=True))
        return dict(items)

    return pairs


_PLAIN = _hook(int)
_TYPED = _hook(Int64)


def decode(text: str | bytes, *, int64: bool = False) -> Any:
    """A stored document's JSON text as Python values (``int64``: an int64 as an :class:`Int64`)."""
    marked = b'"$' in text if isinstance(text, bytes) else '"$' in text
    if not marked:
        return json.loads(text)
    return json.loads(text, object_pairs_hook=_TYPED if int64 else _PLAIN)
