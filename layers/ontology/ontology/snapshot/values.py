"""Convex's export JSON (``ValueFormat::ConvexExportJSON``), read and written losslessly.

Values as Python holds them: ``None``, ``bool``, ``int`` (an int64), ``float`` (a float64, NaN,
±Infinity and -0.0 included), ``str``, ``bytes``, ``list``, ``dict``.

Written as Convex writes a ``documents.jsonl`` line (docs/import-export.md):

- a float64 always with a ``.`` or an exponent, in the shortest text that reads back as the same
  number (``1741615391482.0``, ``0.000032``, ``4.25e16``, ``-0.0``); NaN and ±Infinity as
  ``{"$float": <base64 of the 8 little-endian bytes>}``;
- an int64 as a bare integer (``1000000000000000000``);
- bytes as ``{"$bytes": <standard base64>}``;
- object keys sorted by their UTF-8 bytes at every level, compact, the text as raw UTF-8 with only
  ``"``, ``\\`` and U+0000 to U+001F escaped.

Read as Convex's importer reads it: an integer that fits in an int64 is an int64, any other number a
float64; an object whose first key starts with ``$`` is ``$bytes``, ``$integer`` or ``$float``.

Example::

    line = encode_line({"_id": "j57…", "n": 2**60, "x": 0.5, "raw": b"\\x00"})
    decode_line(line) == {"_id": "j57…", "n": 2**60, "x": 0.5, "raw": b"\\x00"}
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "SnapshotValueError",
    "decode_line",
    "decode_value",
    "encode_document",
    "encode_float",
    "encode_line",
    "encode_value",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Field names Convex accepts: non-control ASCII, at most 1024 characters, never starting with ``$``.
_FIELD_NAME = re.compile(r"^[\x20-\x7e]{1,1024}$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_TO_ESCAPE = re.compile(r'["\\\x00-\x1f]')


class SnapshotValueError(ValueError):
    """A value that is not Convex's export JSON (a line that does not parse, a bad ``$float``)."""


# ------------------------------------------------------------------------------------------ writing


def encode_float(value: float) -> str:
    """A finite float64 as serde_json (ryu) writes it: the shortest digits that read back as the
    same number, always with a ``.`` or an exponent (``1.0``, ``0.0731``, ``1e30``, ``4.25e16``)."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    # repr's shortest digits (as ryu's), as digits * 10^exponent
    digits = (whole + fraction).lstrip("0")
    exponent = int(exp_text or 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    length = len(digits)
    kk = length + exponent  # 10^(kk-1) <= value < 10^kk
    if exponent >= 0 and kk <= 16:
        text = digits + "0" * exponent + ".0"
    elif 0 < kk <= 16:
        text = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + text


def _string(text: str) -> str:
    return '"' + _TO_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text) + '"'


def _check_field(name: Any) -> str:
    if not isinstance(name, str) or name.startswith("$") or not _FIELD_NAME.match(name):
        raise SnapshotValueError(f"field name {str(name)[:64]!r} is not a Convex field name")
    return name


def encode_value(value: Any, *, sort_keys: bool = True) -> str:
    """One value as compact export JSON (``sort_keys=False``: an object's keys in their own order, as
    the ``_storage`` and ``_tables`` lines are written)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise SnapshotValueError(f"{value} does not fit in an int64")
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return encode_float(value)
        return '{"$float":"' + base64.b64encode(struct.pack("<d", value)).decode() + '"}'
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SnapshotValueError("text holds an unpaired surrogate") from None
        return _string(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return '{"$bytes":"' + base64.b64encode(bytes(value)).decode() + '"}'
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        keys = [str(k) for k in value]
        if sort_keys:
            keys.sort(key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(f"{_string(k)}:{encode_value(value[k])}" for k in keys) + "}"
    raise SnapshotValueError(f"a {type(value).__name__} is not a Convex value")


def encode_document(doc: Mapping[str, Any]) -> str:
    """A document's fields checked as Convex field names (system fields ``_id``, ``_creationTime``
    aside), then :func:`encode_value`."""
    _check_fields(doc)
    return encode_value(doc)


def _check_fields(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _check_field(key)
            _check_fields(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_fields(inner)


def encode_line(doc: Mapping[str, Any], *, sort_keys: bool = True) -> bytes:
    """A ``documents.jsonl`` line: the JSON and ``\\n``, as UTF-8."""
    return (encode_value(doc, sort_keys=sort_keys) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------ reading


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise SnapshotValueError(f"{what} must hold a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SnapshotValueError(f"{what} holds invalid base64") from None


def _pairs(pairs: list[tuple[str, Any]]) -> Any:
    if pairs and pairs[0][0].startswith("$"):
        key, inner = pairs[0]
        if len(pairs) != 1:
            raise SnapshotValueError(f"a {key} object holds one field")
        if key == "$bytes":
            return _b64(inner, "$bytes")
        if key == "$integer":
            raw = _b64(inner, "$integer")
            if len(raw) != 8:
                raise SnapshotValueError("$integer holds 8 bytes")
            return int.from_bytes(raw, "little", signed=True)
        if key == "$float":
            raw = _b64(inner, "$float")
            if len(raw) != 8:
                raise SnapshotValueError("$float holds 8 bytes")
            number: float = struct.unpack("<d", raw)[0]
            if math.isfinite(number) and not (number == 0 and math.copysign(1.0, number) < 0):
                raise SnapshotValueError("$float holds NaN, ±Infinity or -0 only")
            return number
        raise SnapshotValueError(f"unknown value type {key}")
    out: dict[str, Any] = {}
    for key, inner in pairs:
        if key in out:
            raise SnapshotValueError(f"field {key!r} given twice")
        out[key] = inner
    return out


def _integer(text: str) -> int | float:
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else float(text)


def _constant(name: str) -> Any:
    raise SnapshotValueError(f"{name} is not JSON")


def decode_value(text: str | bytes) -> Any:
    """One JSON text in Convex's export format (``generated_schema`` ``"uniform"``) as Python values."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_integer,
            parse_float=float,
            parse_constant=_constant,
        )
    except SnapshotValueError:
        raise
    except (ValueError, RecursionError) as exc:
        raise SnapshotValueError(f"not JSON: {exc}") from None


def decode_line(line: str | bytes) -> dict[str, Any]:
    """One ``documents.jsonl`` line: a document (an object)."""
    value = decode_value(line)
    if not isinstance(value, dict):
        raise SnapshotValueError("a line must hold one JSON object")
    return value
