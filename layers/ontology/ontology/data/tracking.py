"""Read sets and write sets: what a function read and what a commit wrote, as the table's keys.

A subscription re-runs when a write touches what it read (``docs/architecture.md``, "Reactivity"):

- a **point** is an item read by its key (``db.get``, ``get_many``, a unique guard): ``(pk, sk)``;
- a **range** is the stretch of one index partition a query read: ``(pk attribute, partition value,
  sort key attribute, lo, hi)``, from where the query started to the last entry it examined (the
  whole condition when it read to the end), so a write just past a ``take(n)`` touches nothing.

A write is seen as item keys too: its ``(pk, sk)`` and, for each index, the (partition, sort key) of
the item before and after the write; a stream record carries both images, so the stream's consumer
finds the same keys as the writer did. Recording is off unless a caller asks for it::

    with recording() as reads:
        value = run_the_query()
    reads.touches(write_set)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "KEY_PAIRS",
    "Range",
    "ReadSet",
    "WriteSet",
    "record_point",
    "record_range",
    "record_reads",
    "record_write",
    "recording",
    "recording_writes",
]


class Range:
    # plain classes, not dataclasses: every Lambda imports this module, and dataclass creation
    # costs a millisecond of cold start
    __slots__ = ("hi", "lo", "pk", "pk_attr", "sk_attr")

    def __init__(self, pk_attr: str, pk: str, sk_attr: str, lo: str, hi: str) -> None:
        self.pk_attr, self.pk, self.sk_attr, self.lo, self.hi = pk_attr, pk, sk_attr, lo, hi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Range) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(tuple(self.to_json()))

    def __repr__(self) -> str:
        return f"Range{tuple(self.to_json())}"

    def contains(self, sk: str) -> bool:
        return self.lo <= sk <= self.hi

    def to_json(self) -> list[str]:
        return [self.pk_attr, self.pk, self.sk_attr, self.lo, self.hi]


class ReadSet:
    __slots__ = ("points", "ranges")

    def __init__(self, points: set[tuple[str, str]] | None = None, ranges: list[Range] | None = None) -> None:
        self.points: set[tuple[str, str]] = points if points is not None else set()
        self.ranges: list[Range] = ranges if ranges is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReadSet) and self.points == other.points and self.ranges == other.ranges

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.points) + len(self.ranges)

    def touches(self, writes: WriteSet) -> bool:
        if self.points & writes.points:
            return True
        for r in self.ranges:
            for pk, sk in writes.index.get(r.pk_attr, ()):
                if pk == r.pk and r.contains(sk):
                    return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {"p": sorted([list(p) for p in self.points]), "r": [r.to_json() for r in self.ranges]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReadSet:
        return cls(
            points={(str(p[0]), str(p[1])) for p in data.get("p", [])},
            ranges=[Range(*[str(x) for x in r]) for r in data.get("r", [])],
        )

    def watch_keys(self) -> list[str]:
        """The keys a write is looked up by: one per point and one per range partition."""
        keys = {point_key(pk, sk) for pk, sk in self.points}
        keys |= {range_key(r.pk_attr, r.pk) for r in self.ranges}
        return sorted(keys)


class WriteSet:
    __slots__ = ("index", "points")

    def __init__(
        self,
        points: set[tuple[str, str]] | None = None,
        index: dict[str, set[tuple[str, str]]] | None = None,
    ) -> None:
        self.points: set[tuple[str, str]] = points if points is not None else set()
        #: index pk attribute → {(partition value, sort key value)}
        self.index: dict[str, set[tuple[str, str]]] = index if index is not None else {}

    def add_item(self, attrs: Mapping[str, Any], pairs: Iterable[tuple[str, str]] | None = None) -> None:
        """An item image (plain attribute values): its key and every index key it carries."""
        pk, sk = attrs.get("pk"), attrs.get("sk")
        if isinstance(pk, str) and isinstance(sk, str):
            self.points.add((pk, sk))
        for pk_attr, sk_attr in pairs if pairs is not None else KEY_PAIRS():
            p, s = attrs.get(pk_attr), attrs.get(sk_attr)
            if isinstance(p, str) and isinstance(s, str):
                self.index.setdefault(pk_attr, set()).add((p, s))

    def __bool__(self) -> bool:
        return bool(self.points or self.index)

    def watch_keys(self) -> list[str]:
        keys = {point_key(pk, sk) for pk, sk in self.points}
        for pk_attr, entries in self.index.items():
            keys |= {range_key(pk_attr, pk) for pk, _ in entries}
        return sorted(keys)

    def to_json(self) -> dict[str, Any]:
        return {
            "p": sorted([list(p) for p in self.points]),
            "i": {a: sorted([list(e) for e in v]) for a, v in sorted(self.index.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WriteSet:
        return cls(
            points={(str(p[0]), str(p[1])) for p in data.get("p", [])},
            index={a: {(str(e[0]), str(e[1])) for e in v} for a, v in (data.get("i") or {}).items()},
        )


def point_key(pk: str, sk: str) -> str:
    return f"p|{pk}|{sk}"


def range_key(pk_attr: str, pk: str) -> str:
    return f"r|{pk_attr}|{pk}"


_KEY_PAIRS: list[tuple[str, str]] | None = None


def KEY_PAIRS() -> list[tuple[str, str]]:
    """(pk attribute, sk attribute) of the table and each of its GSIs."""
    global _KEY_PAIRS  # noqa: PLW0603
    if _KEY_PAIRS is None:
        from ontology.data.schema import TABLES

        slots = sorted({idx.slot for t in TABLES.values() for idx in t.indexes})
        _KEY_PAIRS = [("pk", "sk"), *[(f"g{n}pk", f"g{n}sk") for n in slots]]
    return _KEY_PAIRS


_reads: contextvars.ContextVar[ReadSet | None] = contextvars.ContextVar("one_reads", default=None)
_writes: contextvars.ContextVar[WriteSet | None] = contextvars.ContextVar("one_writes", default=None)


@contextlib.contextmanager
def recording() -> Iterator[ReadSet]:
    reads = ReadSet()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


@contextlib.contextmanager
def recording_writes() -> Iterator[WriteSet]:
    writes = WriteSet()
    token = _writes.set(writes)
    try:
        yield writes
    finally:
        _writes.reset(token)


def record_point(pk: str, sk: str) -> None:
    reads = _reads.get()
    if reads is not None:
        reads.points.add((pk, sk))


def record_range(pk_attr: str, pk: str, sk_attr: str, lo: str, hi: str) -> Range | None:
    """Start recording a range (widened by the caller as it reads); None when nobody records."""
    reads = _reads.get()
    if reads is None:
        return None
    r = Range(pk_attr, pk, sk_attr, lo, hi)
    reads.ranges.append(r)
    return r


def record_reads(other: ReadSet) -> None:
    """Record what another call read (a function run in its own Lambda on this call's behalf), as if
    this call had read it: a subscription re-runs when that changes too."""
    reads = _reads.get()
    if reads is not None:
        reads.points |= other.points
        reads.ranges.extend(other.ranges)


def record_write(attrs: Mapping[str, Any]) -> None:
    writes = _writes.get()
    if writes is not None:
        writes.add_item(attrs)
