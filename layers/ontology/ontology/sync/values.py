"""Convex's ``convex_encoded_json`` values and timestamps.

Convex's numbers are float64 and its integers Int64. Arguments are decoded for the platform's strict
models: ``{"$integer": …}`` is an int, an integral float (``10.0``, which Python clients send for ``10``)
is an int, a fractional one stays a float (so an integer field rejects it with VALIDATION_ERROR),
``{"$float": …}`` carries NaN, ±Infinity and -0, ``{"$bytes": …}`` bytes. Results are encoded the other
way: an int is a plain JSON number while a float64 holds it exactly (as Convex's JS clients expect
numbers for ``v.number()``), a larger one ``$integer``.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import threading
import time
from collections.abc import Mapping
from typing import Any

from ontology.errors import ValidationError

__all__ = ["decode_args", "decode_ts", "decode_value", "encode_ts", "encode_value", "next_ts"]

_SAFE_INT = 2**53
_SPECIAL = ("$integer", "$float", "$bytes")


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{what} is not valid base64") from None


def decode_value(value: Any, *, path: str = "args") -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("numbers must be finite (use $float for NaN/Infinity)", field=path)
        return int(value) if value.is_integer() and abs(value) < _SAFE_INT else value
    if isinstance(value, list):
        return [decode_value(v, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if len(value) == 1:
            (key, inner), *_ = value.items()
            if key == "$integer":
                raw = _b64(inner, "$integer")
                if len(raw) != 8:
                    raise ValidationError("$integer must hold 8 bytes", field=path)
                return int.from_bytes(raw, "little", signed=True)
            if key == "$float":
                raw = _b64(inner, "$float")
                if len(raw) != 8:
                    raise ValidationError("$float must hold 8 bytes", field=path)
                number = struct.unpack("<d", raw)[0]
                if math.isfinite(number) and not (number == 0 and math.copysign(1, number) < 0):
                    raise ValidationError("$float holds a normal number: send it as a number", field=path)
                return number
            if key == "$bytes":
                return _b64(inner, "$bytes")
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise ValidationError(f"field name {key!r} is reserved", field=path)
            out[key] = decode_value(inner, path=f"{path}.{key}")
        return out
    raise ValidationError("not a Convex value", field=path)


def decode_args(raw: Any) -> dict[str, Any]:
    """A request's ``args``: ``[obj]`` (the npm clients) or ``obj`` (Python, ``/api/run``)."""
    if isinstance(raw, list):
        if len(raw) != 1:
            raise ValidationError("args must be one object (or a list holding one)", field="args")
        raw = raw[0]
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValidationError("args must be an object", field="args")
    try:
        decoded: dict[str, Any] = decode_value(raw)
    except RecursionError:
        raise ValidationError("args are nested too deeply", field="args") from None
    return decoded


def encode_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if -_SAFE_INT < value < _SAFE_INT:
            return value
        return {"$integer": base64.b64encode(value.to_bytes(8, "little", signed=True)).decode()}
    if isinstance(value, float):
        if math.isfinite(value) and not (value == 0 and math.copysign(1, value) < 0):
            return value
        return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Mapping):
        if len(value) == 1 and next(iter(value)) in _ENCODED and isinstance(next(iter(value.values())), str):
            # a value a function's JSON answer carries in Convex's own encoding already (bytes, a
            # float JSON cannot hold, an int64: ontology.data.typed); no field name starts with "$"
            _b64(next(iter(value.values())), next(iter(value))[1:])
            return dict(value)
        for k in value:
            if not isinstance(k, str) or k.startswith("$") or not all(32 <= ord(c) <= 126 for c in k):
                raise ValidationError(f"field name {str(k)[:64]!r} is not a Convex field name")
        return {k: encode_value(v) for k, v in value.items() if v is not _UNDEFINED}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode_value(v) for v in value]
    if hasattr(value, "model_dump"):
        return encode_value(value.model_dump(mode="json"))
    raise TypeError(f"{type(value).__name__} is not a Convex value")


_UNDEFINED = object()
_ENCODED = ("$bytes", "$float", "$integer")


# ------------------------------------------------------------------------------------ timestamps


def encode_ts(ts: int) -> str:
    """Base64 of the u64 little-endian (``0`` → ``"AAAAAAAAAAA="``)."""
    return base64.b64encode(int(ts).to_bytes(8, "little", signed=False)).decode()


def decode_ts(text: Any) -> int:
    raw = _b64(text, "timestamp")
    if len(raw) != 8:
        raise ValidationError("a timestamp holds 8 bytes")
    value = int.from_bytes(raw, "little", signed=False)
    if value >= 2**63:
        raise ValidationError("a timestamp is at most i64::MAX")
    return value


_ts_lock = threading.Lock()
_last_ts = 0


def next_ts(at_least: int = 0) -> int:
    """A timestamp (nanoseconds since the epoch, as Convex's), strictly increasing in this process and
    above ``at_least`` (what a connection has already seen: restarts never go back)."""
    global _last_ts  # noqa: PLW0603
    with _ts_lock:
        _last_ts = max(time.time_ns(), _last_ts + 1)
        # a connection's own floor lifts its timestamp, never the process's clock for the others
        return max(_last_ts, at_least + 1)
