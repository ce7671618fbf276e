"""Peak load per partition key and per item in a stated scenario, from what the meter counted per call.

Each *stream* of the scenario (a call at a rate: the largest organization's creates, a livestream's
chat, a token sale, the reactive updates they cause) was run twice in the largest organization (two
callers, the targets the scenario shares: the same livestream, token, followed creator, tag key) and,
where the platform has more of it, once in a second organization. A key both runs of the largest
organization touched is *shared*: it takes the stream's rate in that organization, or, when the
second organization's run touched it too, the stream's rate over the whole platform. A key only one
run touched belongs to that call alone (a new document, its unique guard) and takes one call's load.
The reactive streams' subscribers are measured at two counts and each shared key's load extrapolated
linearly to the scenario's count (a key of one subscriber's connection keeps its load). Loads add up
per key over the streams; a key class (:func:`shape`: ids and values replaced by placeholders) shows
its hottest key.

Some keys are one of ``n`` alike that each call picks among at random or by a hash (:func:`spread`):
a counter's shards, a document's tombstones, the signing accounts' nonce items. Two runs rarely
pick the same one, which would make each look like a key of one call only; such keys are measured
as their family (shared when both runs touched the family), each member taking ``1/n`` of the
family's load.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bench.meter import TABLE, Meter

#: DynamoDB serves a partition at most 1,000 WCU/s and 3,000 RCU/s; the budget keeps half of it.
MAX_WCU = 500.0
MAX_RCU = 1500.0
#: Concurrent transactions on one item conflict: at most this many conditional writes per item.
MAX_CONDITIONAL = 10.0

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"#guard#([^#]+)#([^#]+)#.*"), r"#guard#\1#\2#<value>"),
    (re.compile(r"#t#.*"), "#t#<term>"),
    (re.compile(r"#terms#.$"), "#terms#<letter>"),
    (re.compile(r"^platform#sync#[^#]+$"), "platform#sync#<connection>"),
    # the order-preserving encodings of ontology.data.keys: strings, numbers
    (re.compile(r"(?:(?<=#)|^)5((?:[^\x01]|\x01[\x02\x03])*)\x01\x01"), r"\1"),
    (re.compile(r"(?:(?<=#)|^)3[0-9a-f]{16}(?![0-9a-f])"), "<n>"),
    (re.compile(r"([a-z]{3})_[0-9A-HJKMNP-TV-Z]{26}"), r"<\1>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"[0-9a-f]{16,}"), "<hash>"),
    (re.compile(r"[^#@\s]+@[^#\s]+"), "<email>"),
    (re.compile(r"\d{6,}"), "<n>"),
)

_UNNAMED = ("<n>", "<undefined>", "<null>")
_SCALES = {
    "<org>": "organization",
    "<ent>": "entity",
    "<ses>": "session",
    "<usr>": "user",
    "<connection>": "connection",
    "<hash>": "hashed key",
    "<letter>": "first letter of a term",
}


#: An index key's encoded undefined and null (a document without the field is in the index too).
_ABSENT = ((re.compile(r"(?<=#)0$"), "<undefined>"), (re.compile(r"(?<=#)1$"), "<null>"))


def shape(key: str, *, index: bool = False) -> str:
    """A key with its ids, hashes, numbers and values replaced by placeholders
    (``org_01…#entities#by_type#5blog_post\\x01\\x01`` → ``<org>#entities#by_type#blog_post``);
    ``index``: a secondary index's key, whose last field may be undefined or null."""
    for pattern, replacement in _SHAPES + (_ABSENT if index else ()):
        key = pattern.sub(replacement, key)
    return key.replace("\x01", "")


@dataclass
class Stream:
    """A call of the scenario at a rate, and the runs that measured it."""

    name: str
    #: calls per second in the largest organization, and over the whole platform
    rate: float
    platform_rate: float
    #: two runs in the largest organization, and (optional) one in another organization
    runs: tuple[Meter, Meter]
    other: Meter | None = None
    #: reactive streams: a run at ``measured[0]`` subscribers (the runs were at ``measured[1]``) and
    #: the scenario's count, ``measured[2]``
    base: Meter | None = None
    measured: tuple[int, int, int] = (1, 1, 1)


@dataclass
class _Key:
    wcu: float = 0.0
    rcu: float = 0.0
    scale: str = ""
    top: dict[str, float] = field(default_factory=lambda: defaultdict(float))


_SHARD = re.compile(r"#~\d+$")


def _shards(index: str, pk: str) -> int:
    """How many shards the sharded index whose partition ``pk`` is spreads it over (1: not sharded)."""
    from ontology.data.keys import encode_value
    from ontology.data.schema import TABLES

    for t in TABLES.values():
        for idx in t.indexes:
            head = f"#{t.name}#{idx.name}#"
            if not idx.sharded_anywhere or idx.gsi_name != index or head not in pk + "#":
                continue
            for value, n in idx.value_shards:
                if f"{head}{encode_value(value, idx.fields[0])}" in pk:
                    return n
            return idx.shards
    return 1


_COUNTER = re.compile(r"#count#([A-Za-z]+)$")
_NONCE_GUARD = "platform#guard#chainNonces#account#"
_TOMBSTONES = "#gone"


def spread(pk: str, sk: str | None) -> tuple[str, int] | None:
    """``(family, n)`` when the item (``sk``) or table partition (``sk`` None) ``pk`` is one of ``n``
    alike a call picks among: a counter's shards and a document's tombstones (one partition, ``n``
    items), a signing account's nonce item and its guard (a partition each); else None."""
    from ontology.data import tombstones
    from ontology.data.counters import shards_of
    from ontology.data.keys import table_of_id
    from ontology.providers.chain import signer_count

    counter = _COUNTER.search(pk)
    if counter is not None:
        return (pk, shards_of(counter.group(1))) if sk is not None else None
    if pk.endswith(_TOMBSTONES):
        return (pk, tombstones.SHARDS) if sk is not None else None
    if pk.startswith(_NONCE_GUARD):
        return _NONCE_GUARD, signer_count()
    if pk.startswith("platform#") and table_of_id(pk.rsplit("#", 1)[1]) == "chainNonces":
        return "platform#<chainNonces>", signer_count()
    return None


_Load = tuple[float, float]


def _families(
    loads: dict[Any, Any], key_of: Any, first: dict[Any, Any], divisors: dict[Any, int]
) -> dict[Any, Any]:
    """``loads`` with the members of each family summed under the family's first key seen (in
    ``first``, shared across runs), its ``n`` in ``divisors``."""
    out: dict[Any, Any] = {}
    for key, load in loads.items():
        family = key_of(key)
        if family is None:
            out[key] = load
            continue
        rep = first.setdefault(family[0], key)
        divisors[rep] = family[1]
        if rep in out:
            out[rep] = (
                tuple(a + b for a, b in zip(out[rep], load, strict=True))
                if isinstance(load, tuple)
                else out[rep] + load
            )
        else:
            out[rep] = load
    return out


def _partition_loads(m: Meter) -> dict[tuple[str, str], tuple[float, float]]:
    """Load per partition; a sharded partition's shards as one key (``#~*``) with the load of one
    shard: the documents of many calls spread evenly over the shards, so a shard takes 1/S of it."""
    loads: dict[tuple[str, str], tuple[float, float]] = {}
    for (index, pk), v in m.partitions().items():
        if _SHARD.search(pk):
            n = _shards(index, pk)
            key = (index, _SHARD.sub("#~*", pk))
            w, r = loads.get(key, (0.0, 0.0))
            loads[key] = (w + v.wru / n, r + v.rru / n)
        else:
            loads[(index, pk)] = (v.wru, v.rru)
    return loads


def _extrapolate(
    stream: Stream, key: object, loads: tuple[float, float], base: dict[object, tuple[float, float]]
) -> tuple[float, float]:
    if stream.base is None or key not in base:
        return loads
    lo, hi, target = stream.measured
    before = base[key]
    return tuple(  # type: ignore[return-value]
        max(b, b + (b - a) * (target - hi) / (hi - lo)) for a, b in zip(before, loads, strict=True)
    )


def _scale_of(index: str, pk: str, platform: bool) -> str:
    if platform:
        return "platform-wide"
    placeholders = [p for p in re.findall(r"<[a-z]+>", shape(pk, index=index != TABLE)) if p not in _UNNAMED]
    named = [_SCALES.get(p, p.strip("<>")) for p in placeholders]
    return "per " + (named[-1] if named else "organization")


def peaks(streams: list[Stream]) -> tuple[dict[tuple[str, str], _Key], dict[tuple[str, str], _Key]]:
    """Load per partition (``(index, pk)``: WCU/s, RCU/s) and conditional writes per item
    (``(pk, sk)``: writes/s, kept in ``wcu``) over the streams."""
    partitions: dict[tuple[str, str], _Key] = defaultdict(_Key)
    items: dict[tuple[str, str], _Key] = defaultdict(_Key)
    # a family's first key seen (partitions and items apart), and its n
    partition_reps: dict[Any, Any] = {}
    item_reps: dict[Any, Any] = {}
    divisors: dict[Any, int] = {}

    def partition_family(key: tuple[str, str]) -> tuple[str, int] | None:
        return spread(key[1], None) if key[0] == TABLE else None

    def item_family(key: tuple[str, str]) -> tuple[str, int] | None:
        return spread(key[0], key[1])

    for s in streams:
        first, second, other, base = (
            _families(_partition_loads(m) if m else {}, partition_family, partition_reps, divisors)
            for m in (*s.runs, s.other, s.base)
        )
        for key in first.keys() | second.keys():
            shared = key in first and key in second
            platform = shared and key in other
            rate = (s.platform_rate if platform else s.rate) if shared else 1.0
            if shared:
                w1, r1 = first[key]
                w2, r2 = second[key]
                loads = _extrapolate(s, key, ((w1 + w2) / 2, (r1 + r2) / 2), base)  # type: ignore[arg-type]
            else:
                loads = first.get(key) or second[key]
            n = divisors.get(key, 1) if shared else 1  # one of n alike, each run its own pick
            loads = (loads[0] / n, loads[1] / n)
            entry = partitions[key]
            entry.wcu += loads[0] * rate
            entry.rcu += loads[1] * rate
            entry.top[s.name] += (loads[0] + loads[1]) * rate
            if not entry.scale or platform:
                entry.scale = _scale_of(key[0], key[1], platform) if shared else "per call"
        c1, c2, co, cb = (
            _families(dict(m.conditional_writes()) if m else {}, item_family, item_reps, divisors)
            for m in (*s.runs, s.other, s.base)
        )
        for item in c1.keys() | c2.keys():
            shared = item in c1 and item in c2
            platform = shared and item in co
            rate = (s.platform_rate if platform else s.rate) if shared else 1.0
            n = (c1[item] + c2[item]) / 2 if shared else float(c1.get(item) or c2[item])
            if shared and s.base is not None and item in cb:
                lo, hi, target = s.measured
                n = max(n, n + (n - cb[item]) * (target - hi) / (hi - lo))
            n /= divisors.get(item, 1) if shared else 1
            entry = items[item]
            entry.wcu += n * rate
            entry.top[s.name] += n * rate
            if not entry.scale or platform:
                entry.scale = _scale_of(TABLE, item[0], platform) if shared else "per call"
    return partitions, items


@dataclass
class PeakRow:
    """The hottest key of a key class."""

    index: str
    key: str  # the class: the key's shape
    scale: str
    wcu: float
    rcu: float
    conditional: float  # per item, the class's hottest item
    top: str  # the stream that puts the most on it

    @property
    def ok(self) -> bool:
        return self.wcu <= MAX_WCU and self.rcu <= MAX_RCU and self.conditional <= MAX_CONDITIONAL


def table(streams: list[Stream]) -> list[PeakRow]:
    """One row per key class (its hottest partition and hottest item), hottest first."""
    partitions, items = peaks(streams)
    rows: dict[tuple[str, str], PeakRow] = {}
    for (index, pk), load in partitions.items():
        cls = (index, shape(pk, index=index != TABLE))
        row = rows.get(cls)
        top = max(load.top, key=lambda k: load.top[k])
        if row is None:
            rows[cls] = PeakRow(index, cls[1], load.scale, load.wcu, load.rcu, 0.0, top)
        else:
            if load.wcu + load.rcu > row.wcu + row.rcu:
                row.top = top
            row.wcu, row.rcu = max(row.wcu, load.wcu), max(row.rcu, load.rcu)
            if load.scale == "platform-wide" or row.scale == "per call":
                row.scale = load.scale
    for (pk, _sk), load in items.items():
        cls = (TABLE, shape(pk))
        row = rows.setdefault(
            cls, PeakRow(TABLE, cls[1], load.scale, 0.0, 0.0, 0.0, max(load.top, key=lambda k: load.top[k]))
        )
        row.conditional = max(row.conditional, load.wcu)
    return sorted(
        rows.values(),
        key=lambda r: (
            -max(r.wcu / MAX_WCU, r.rcu / MAX_RCU, r.conditional / MAX_CONDITIONAL),
            r.index,
            r.key,
        ),
    )
