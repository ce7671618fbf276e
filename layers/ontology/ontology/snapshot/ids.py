"""Convex's document ids (``DeveloperDocumentId``), decoded and made.

An id is ``VInt(table number) ‖ internal id (16 bytes) ‖ footer (2 bytes, little-endian)`` in
lowercase base32 (``0123456789abcdefghjkmnpqrstvwxyz``, big-endian bits, no padding): 31 to 37
characters. The footer is the mod-256 Fletcher-16 of the bytes before it. The internal id is 14
random bytes and the day number (days since the epoch, big-endian u16).

Example::

    decode_id("kg25efbgcywfzkr6h78cjw1pzx85r2ha").table_number  # 540: a storage id
    make_id(10001, internal)                                   # "j57…"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STORAGE_TABLE_NUMBER", "ConvexId", "decode_id", "looks_like_id", "make_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_VALUES = {c: i for i, c in enumerate(_ALPHABET)}
_SHAPE = re.compile(r"^[0-9a-hjkmnp-tv-z]{31,37}$")
#: ``_storage`` shares the ``_file_storage`` system table's default number, 512 + 28.
STORAGE_TABLE_NUMBER = 540
_VERSION = 0


@dataclass(frozen=True)
class ConvexId:
    table_number: int
    internal_id: bytes


def _base32_encode(data: bytes) -> str:
    bits = int.from_bytes(data, "big")
    nbits = len(data) * 8
    length = (nbits + 4) // 5
    bits <<= length * 5 - nbits
    return "".join(_ALPHABET[(bits >> (5 * (length - 1 - i))) & 31] for i in range(length))


def _base32_decode(text: str) -> bytes | None:
    nbits = len(text) * 5
    nbytes = nbits // 8
    value = 0
    for ch in text:
        value = (value << 5) | _VALUES[ch]
    extra = nbits - nbytes * 8
    if value & ((1 << extra) - 1):
        return None  # not the canonical encoding: leftover bits set
    return (value >> extra).to_bytes(nbytes, "big")


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_vint(data: bytes) -> tuple[int, int] | None:
    value = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    return None


def _fletcher16(data: bytes) -> int:
    c0 = c1 = 0
    for byte in data:
        c0 = (c0 + byte) % 256
        c1 = (c1 + c0) % 256
    return (c1 << 8) | c0


def looks_like_id(value: object) -> bool:
    """Whether ``value`` has the shape of an id (length and alphabet), before any decoding."""
    return isinstance(value, str) and _SHAPE.match(value) is not None


def decode_id(value: object) -> ConvexId | None:
    """The id's table number and internal id, or None when ``value`` is no valid id (shape, table
    number 0, checksum, or not the canonical encoding)."""
    if not looks_like_id(value):
        return None
    assert isinstance(value, str)
    raw = _base32_decode(value)
    if raw is None:
        return None
    read = _read_vint(raw)
    if read is None:
        return None
    table_number, used = read
    if table_number == 0 or len(raw) != used + 16 + 2:
        return None
    body, footer = raw[:-2], int.from_bytes(raw[-2:], "little")
    if footer != _fletcher16(body) ^ _VERSION:
        return None
    if _base32_encode(raw) != value:
        return None
    return ConvexId(table_number, raw[used:-2])


def make_id(table_number: int, internal_id: bytes) -> str:
    """The id of ``internal_id`` (16 bytes) in table ``table_number``."""
    if len(internal_id) != 16 or not 0 < table_number < 2**32:
        raise ValueError("an id is a table number and 16 bytes")
    body = _vint(table_number) + internal_id
    return _base32_encode(body + (_fletcher16(body) ^ _VERSION).to_bytes(2, "little"))
