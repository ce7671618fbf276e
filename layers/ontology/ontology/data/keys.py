"""Ids and the order-preserving encoding of index keys.

**Ids** are typed by table, like Convex's ``Id<"entities">``: a short table prefix and a 26-character
time-ordered body (48-bit milliseconds, 80 random bits, Crockford base32), e.g.
``ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R``. ``check_id("entities", value)`` rejects an id of another table.
A document of a table with a keyed unique rule (a connection, a tag) gets an id derived from its
unique value instead (:func:`keyed_id`): the same prefix and 26 characters of a SHA-256.

**Index keys.** DynamoDB compares string keys by their UTF-8 bytes, which is the order of code points.
``encode_value`` maps a value to a string such that comparing encodings compares values, in Convex's
type order: undefined < null < number < boolean < string. Each encoding is self-delimiting (no
encoding is a prefix of another's), so a tuple is the concatenation of its encodings and sorts
field by field:

- undefined ``"0"``, null ``"1"``;
- numbers ``"3"`` + 16 hex digits of the IEEE-754 double with the sign bit flipped (positives) or all
  bits inverted (negatives), so -1e9 < -1 < -0.5 < 0 < 0.5 < 1 < 1e9; NaN and integers beyond 2**53
  (which a double cannot hold exactly) are rejected;
- booleans ``"4"`` + ``"0"``/``"1"``;
- strings ``"5"`` + the text + the terminator ``"\\x01\\x01"``, where the text's ``\\x00`` and ``\\x01``
  are escaped as ``\\x01\\x02`` and ``\\x01\\x03`` (both above the terminator, so "a" < "a\\x00" < "ab"),
  and the two highest code points are escaped under U+10FFFE, so that :data:`KEY_MAX` (U+10FFFF)
  never occurs in an encoding and can bound a range from above.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import time
from typing import Any

from ontology.errors import ValidationError

__all__ = [
    "ALIAS_TB",
    "DOC_SK",
    "GUARD_SK",
    "KEY_MAX",
    "check_id",
    "encode_tuple",
    "encode_value",
    "keyed_id",
    "new_id",
    "sort_key",
    "table_of_id",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_BODY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

#: Table name → id prefix. The prefixes are part of stored data: never change one.
ID_PREFIXES: dict[str, str] = {}
_PREFIX_TABLES: dict[str, str] = {}

#: Sort keys of the two kinds of item in the table: a document and a unique guard (see
#: :mod:`ontology.data.models`, which stores them, and :mod:`ontology.data.dynamodb`).
DOC_SK = "D"
GUARD_SK = "G"
#: ``tb`` of an alias: at a keyed id's key (sort key ``D``), ``{"ref": <id>}`` names the document
#: written before its table's rule was keyed that holds the value (it has an id of its own).
ALIAS_TB = "_alias"

KEY_MAX = "\U0010ffff"
_TERMINATOR = "\x01\x01"
_MAX_SAFE_INT = 2**53


def register_table_prefix(table: str, prefix: str) -> None:
    """Called by the schema for each table it declares."""
    if not re.fullmatch(r"[a-z]{2,4}", prefix):
        raise ValueError(f"id prefix {prefix!r} must be 2-4 lowercase letters")
    if _PREFIX_TABLES.get(prefix, table) != table or ID_PREFIXES.get(table, prefix) != prefix:
        raise ValueError(f"id prefix {prefix!r} or table {table!r} declared twice")
    ID_PREFIXES[table] = prefix
    _PREFIX_TABLES[prefix] = table


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def now_ms() -> int:
    """The platform's clock: milliseconds since the epoch (every timestamp it writes)."""
    return int(time.time() * 1000)


def new_id(table: str, now_ms: int | None = None) -> str:
    """A new id of ``table``: prefix, 10 characters of time, 16 of randomness (monotonic in time)."""
    prefix = ID_PREFIXES[table]
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"


def keyed_id(table: str, scope: str, encoded: str) -> str:
    """The id of the document of ``table`` in ``scope`` whose keyed unique value encodes to
    ``encoded`` (the fields' :func:`encode_value`, concatenated): the table's prefix and 26
    characters (130 bits) of SHA-256 over scope, table and value. A valid id of the table, opaque as
    any other; the same value gets the same id again after its document was deleted."""
    digest = hashlib.sha256(f"{scope}#{table}#{encoded}".encode()).digest()
    return f"{ID_PREFIXES[table]}_{_b32(int.from_bytes(digest, 'big') >> (256 - 130), 26)}"


def table_of_id(value: object) -> str | None:
    """The table an id belongs to, or None when ``value`` is not a well-formed id."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    prefix, sep, body = value.partition("_")
    if not sep or not _ID_BODY.match(body):
        return None
    return _PREFIX_TABLES.get(prefix)


def check_id(table: str, value: object, *, field: str = "id") -> str:
    """Return ``value`` if it is an id of ``table``; otherwise raise VALIDATION_ERROR naming ``field``."""
    found = table_of_id(value)
    if found != table:
        what = f"an id of table '{found}'" if found else "not an id"
        raise ValidationError(f"{field} must be an id of table '{table}' ({what})", field=field)
    return value  # type: ignore[return-value]


def _encode_number(value: float | int, field: str) -> str:
    if isinstance(value, int) and abs(value) > _MAX_SAFE_INT:
        raise ValidationError(f"{field}: integers beyond 2**53 cannot be indexed exactly", field=field)
    f = float(value)
    if math.isnan(f):
        raise ValidationError(f"{field}: NaN cannot be indexed", field=field)
    if f == 0.0:
        f = 0.0  # -0.0 and 0.0 are the same key
    bits: int = struct.unpack(">Q", struct.pack(">d", f))[0]
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return f"3{bits:016x}"


def _encode_string(value: str, field: str) -> str:
    out = ["5"]
    for ch in value:
        cp = ord(ch)
        if cp <= 1:
            out.append("\x01" + chr(cp + 2))
        elif cp >= 0x10FFFE:
            out.append("\U0010fffe" + chr(cp - 0x10FFFE + 2))
        elif 0xD800 <= cp <= 0xDFFF:
            raise ValidationError(f"{field}: text contains an unpaired surrogate", field=field)
        else:
            out.append(ch)
    out.append(_TERMINATOR)
    return "".join(out)


class _Undefined:
    """The absent value of an optional indexed field (sorts first, as Convex's undefined)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Any = _Undefined()


def encode_value(value: Any, field: str = "value") -> str:
    """The order-preserving encoding of one indexable value."""
    if value is UNDEFINED:
        return "0"
    if value is None:
        return "1"
    if isinstance(value, bool):
        return "41" if value else "40"
    if isinstance(value, int | float):
        return _encode_number(value, field)
    if isinstance(value, str):
        return _encode_string(value, field)
    raise ValidationError(f"{field}: a {type(value).__name__} cannot be an index key", field=field)


def encode_tuple(values: list[Any] | tuple[Any, ...], fields: tuple[str, ...] | None = None) -> str:
    names = fields or tuple(f"value[{i}]" for i in range(len(values)))
    return "".join(encode_value(v, n) for v, n in zip(values, names, strict=True))


_TYPE_RANK = {type(None): 1, bool: 4, int: 3, float: 3, str: 5, list: 6, dict: 7}


def sort_key(value: Any) -> tuple[Any, ...]:
    """A Python sort key with the same order as :func:`encode_value`, for any JSON value.

    Filters compare with it, so ``q.lt(q.field("x"), 5)`` orders mixed types the way indexes do.
    """
    if value is UNDEFINED:
        return (0,)
    rank = _TYPE_RANK.get(type(value), 8)
    if rank == 3:
        return (3, float(value))
    if rank == 6:
        return (6, tuple(sort_key(v) for v in value))
    if rank == 7:
        return (7, tuple((k, sort_key(v)) for k, v in sorted(value.items())))
    if rank == 8:
        return (8, repr(value))
    return (rank, value)
