"""DynamoDB's typed attribute values ↔ Python values, losslessly, for migrations.

The data layer reads only the scalar types it writes (:func:`ontology.data.dynamodb.deserialize`); a
migration may meet anything an item can hold, so this codec covers every type:

=========  ==================================  =========  ==================================
DynamoDB   Python                              DynamoDB   Python
=========  ==================================  =========  ==================================
``S``      ``str``                             ``L``      ``list``
``N``      ``int`` (integral text) or float    ``M``      ``dict``
``B``      ``bytes``                           ``SS``     ``set[str]``
``BOOL``   ``bool``                            ``NS``     ``set`` of numbers
``NULL``   ``None``                            ``BS``     ``set[bytes]``
=========  ==================================  =========  ==================================

A number that a float cannot hold exactly is kept as :class:`decimal.Decimal`, so reading and writing
an attribute back never changes it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ontology.errors import ValidationError

__all__ = ["decode_item", "decode_value", "encode_item", "encode_value", "item_size"]


def _number(text: str) -> int | float | Decimal:
    if text.lstrip("-").isdigit():
        return int(text)
    value = float(text)
    try:
        exact = Decimal(text) == Decimal(repr(value))
    except InvalidOperation:  # pragma: no cover - DynamoDB sends valid numbers
        exact = False
    return value if exact else Decimal(text)


def _bytes(value: Any) -> bytes:
    # botocore hands binary values over as bytes; a JSON copy of an item holds them in base64
    return value if isinstance(value, bytes) else base64.b64decode(value)


def decode_value(typed: Mapping[str, Any]) -> Any:
    """One typed value (``{"S": "x"}``) as a Python value."""
    ((kind, raw),) = typed.items()
    if kind == "S":
        return raw
    if kind == "N":
        return _number(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "B":
        return _bytes(raw)
    if kind == "L":
        return [decode_value(v) for v in raw]
    if kind == "M":
        return {k: decode_value(v) for k, v in raw.items()}
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_number(v) for v in raw}
    if kind == "BS":
        return {_bytes(v) for v in raw}
    raise ValidationError(f"unknown DynamoDB type {kind!r}")


def decode_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: decode_value(typed) for name, typed in raw.items()}


def _encode_number(value: int | float | Decimal, where: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{where}: DynamoDB numbers are finite", field=where)
    return str(value) if not isinstance(value, float) else repr(value)


def encode_value(value: Any, where: str = "value") -> dict[str, Any]:
    """One Python value as a typed value; a type DynamoDB cannot hold is a VALIDATION_ERROR."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _encode_number(value, where)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, list | tuple):
        return {"L": [encode_value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, Mapping):
        return {"M": {str(k): encode_value(v, f"{where}.{k}") for k, v in value.items()}}
    if isinstance(value, set | frozenset):
        return _encode_set(value, where)
    raise ValidationError(f"{where}: a {type(value).__name__} cannot be stored", field=where)


def _encode_set(value: set[Any] | frozenset[Any], where: str) -> dict[str, Any]:
    if not value:
        raise ValidationError(f"{where}: DynamoDB holds no empty set (remove the attribute)", field=where)
    if all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in value):
        return {"NS": sorted(_encode_number(v, where) for v in value)}
    if all(isinstance(v, bytes) for v in value):
        return {"BS": sorted(value)}
    raise ValidationError(f"{where}: a set holds strings, numbers or bytes, one kind only", field=where)


def encode_item(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: encode_value(value, name) for name, value in attrs.items()}


def _size(typed: Mapping[str, Any]) -> int:
    ((kind, raw),) = typed.items()
    if kind in ("S", "N"):
        return len(str(raw).encode())
    if kind == "B":
        return len(_bytes(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _size(v) for k, v in raw.items())
    return sum(len(str(v).encode()) for v in raw)


def item_size(raw: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB bills it, near enough: names and values in bytes."""
    return sum(len(name.encode()) + _size(typed) for name, typed in raw.items())
