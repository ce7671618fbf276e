"""Sharded counters: a count that many mutations add to at once, beside the document it belongs to.

A count that every call of a busy function moves (a livestream's messages, a clone's interactions, a
token's supply) kept in its document would make that document an item every one of those
transactions writes: one item takes only so many transactions a second before they conflict. A
counter instead lives in ``shards`` items of its own, ``<scope>#<document id>#count#<name>`` with
sort keys ``00``, ``01``, … (``tb`` ``_counter``, the shard's value in ``n``):

- **adding** (:func:`add`) buffers an ``ADD`` to one shard chosen at random, written by the
  mutation's own transaction: no read of the shard and no version condition (additions commute), so
  concurrent mutations meet on one shard item only ``1/shards`` of the time, and not at all on the
  document;
- **reading** (:func:`value`) sums the shards: one strongly consistent Query of the counter's
  partition (one read unit for up to 4 KB of shards), plus what the reading mutation itself added;
  a subscription that read it watches the partition, so a shard's change re-runs it;
- a counter can hold **parts** beside its total (:func:`add`'s ``parts``): more numbers in the same
  shard items (``n_<part>``), moved by the same ``ADD``, read by the same Query (:func:`totals`);
  a creator's content count keeps, beside every item, how many the world or every member sees;
- a counter can be **sealed** (:func:`seal`): every shard is marked in the sealing transaction, and
  an addition that commits after it fails its condition (the mutation runs again, and sees why);
- a **capped** counter (:func:`reserve`, :func:`room`) gives each shard its share of the cap
  and conditions each addition on the shard staying within its share, so the shards together never
  pass the cap however many mutations race, and still never read or condition on one another.

Which document fields are counts is declared in :data:`COUNTED`. Such a property reads as what the
document stores plus its counter: the runtime fills it so in every document a function returns
(:func:`fill`), so a document reads exactly as before while no mutation writes it to count. What the
document stores never changes on a write (:func:`keep_counts`): it is what the document counted
before its counter existed, until migration 0014 moves it into the counter (0 for a document made
since), so a client writing back the properties it read cannot add a count to itself.

Shards per counter: each shard should take at most about 6 additions a second at the busiest load the
platform plans for (a chat at 100 messages a second: 16 shards, 6.25 each), well within the 10
conditional writes a second one item takes without conflicts piling up; the smallest power of two
that does it.

Example::

    counters.add(db, stream_id, "messageCount", 1)        # in the mutation's transaction
    counters.value(db, stream_id, "messageCount")         # the sum, with this mutation's own additions
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ontology.data.tracking import record_range
from ontology.errors import InternalError

if TYPE_CHECKING:
    from ontology.data.db import DatabaseReader, DatabaseWriter, TxState
    from ontology.data.dynamodb import Store

__all__ = [
    "COUNTED",
    "COUNTER_TB",
    "COUNT_MARK",
    "Counted",
    "add",
    "add_in",
    "count",
    "counter_pk",
    "fill",
    "folded_total",
    "keep_counts",
    "operations",
    "own_counts",
    "read_total",
    "reserve",
    "room",
    "seal",
    "shard_caps",
    "shards_of",
    "stored",
    "totals",
    "value",
]

COUNTER_TB = "_counter"
#: What a counter's partition key holds between its document's and its name.
COUNT_MARK = "#count#"
#: A part's attribute in a shard item: ``n_<part>`` (the total is ``n``).
PART_PREFIX = "n_"
#: Sort keys are two digits: at most this many shards.
MAX_SHARDS = 100


class Counted:
    """A property of an entity type that a counter holds: ``name`` is the counter's (and the
    property's) name, ``shards`` its shard count, ``of`` the property holding the id of the document
    whose counter it is (None: the document's own)."""

    __slots__ = ("name", "of", "shards")

    def __init__(self, name: str, shards: int, of: str | None = None) -> None:
        if not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"a counter has 1 to {MAX_SHARDS} shards")
        self.name, self.shards, self.of = name, shards, of


#: The counters of the platform, by name: how many shards each is kept in (the rule above).
SHARDS: dict[str, int] = {
    "messageCount": 16,  # a livestream's chat: 100 messages a second
    "totalInteractions": 16,  # an AI clone: 100 chat turns a second
    "circulatingSupply": 8,  # a token on sale: 50 purchases a second
    "holders": 8,  # likewise (each buyer a new holder)
    "followerCount": 8,  # a popular creator: 40 follows a second (docs/cost.md's scenario)
    "contentCount": 4,  # a creator's content: a few items a second at most
}

#: Entity properties kept in counters, by entity type. A recording's message count is its
#: livestream's (sealed when the stream ended).
COUNTED: dict[str, tuple[Counted, ...]] = {
    "livestream": (Counted("messageCount", SHARDS["messageCount"]),),
    "recording": (Counted("messageCount", SHARDS["messageCount"], of="livestreamId"),),
    "ai_clone": (Counted("totalInteractions", SHARDS["totalInteractions"]),),
    "token": (
        Counted("circulatingSupply", SHARDS["circulatingSupply"]),
        Counted("holders", SHARDS["holders"]),
    ),
}


def own_counts(entity_type: str) -> list[str]:
    """The counters an entity type keeps of its own (not another document's)."""
    return [c.name for c in COUNTED.get(entity_type, ()) if c.of is None]


def shards_of(name: str) -> int:
    """The shard count of a counter, by its name."""
    try:
        return SHARDS[name]
    except KeyError:
        raise InternalError(f"no counter named {name!r}") from None


def counter_pk(scope: str, doc_id: str, name: str) -> str:
    return f"{scope}#{doc_id}{COUNT_MARK}{name}"


def _shard(i: int) -> str:
    return f"{i:02d}"


def _scope(db: DatabaseReader) -> str:
    from ontology.data.schema import table

    return db.scope_of(table("entities"))


def _entries(db: DatabaseWriter) -> dict[tuple[str, str], dict[str, Any]]:
    return db.tx.counters


# ------------------------------------------------------------------------------------ writing


def add(
    db: DatabaseWriter, doc_id: str, name: str, delta: int, parts: Mapping[str, int] | None = None
) -> None:
    """Add ``delta`` (negative: take away) to the counter, and each of ``parts`` to the part of that
    name, in the mutation's transaction: one shard, chosen at random once per counter and mutation."""
    add_in(db.tx, _scope(db), doc_id, name, delta, parts=parts)


def add_in(
    tx: TxState,
    scope: str,
    doc_id: str,
    name: str,
    delta: int,
    *,
    parts: Mapping[str, int] | None = None,
) -> None:
    """:func:`add` in ``tx``, for a document of ``scope`` (the data layer's own bookkeeping)."""
    moved = {k: v for k, v in (parts or {}).items() if v}
    if delta == 0 and not moved:
        return
    pk = counter_pk(scope, doc_id, name)
    shard = tx.counter_shards.get(pk)
    if shard is None:
        shard = _shard(random.randrange(shards_of(name)))  # noqa: S311 - spreading load, not a secret
        tx.counter_shards[pk] = shard
    entry = tx.counters.setdefault((pk, shard), {"n": 0})
    entry["n"] += delta
    if moved:
        held = entry.setdefault("parts", {})
        for part, value in moved.items():
            held[part] = held.get(part, 0) + value


def seal(db: DatabaseWriter, doc_id: str, name: str) -> None:
    """Seal the counter in the mutation's transaction: an addition that commits after it fails (its
    mutation runs again, and should then see why: the stream has ended)."""
    pk = counter_pk(_scope(db), doc_id, name)
    for i in range(shards_of(name)):
        _entries(db).setdefault((pk, _shard(i)), {"n": 0})["seal"] = True


def shard_caps(cap: int, shards: int) -> list[int]:
    """Each shard's share of ``cap`` (they add up to it)."""
    base, extra = divmod(cap, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def room(db: DatabaseReader, doc_id: str, name: str, *, cap: int) -> int:
    """What :func:`reserve` can still take under ``cap``: each shard's share less what it holds."""
    caps = shard_caps(cap, shards_of(name))
    held = _shard_values(db, counter_pk(_scope(db), doc_id, name))
    return sum(max(0, c - held.get(_shard(i), 0)) for i, c in enumerate(caps))


def reserve(db: DatabaseWriter, doc_id: str, name: str, amount: int, *, cap: int) -> dict[str, int] | None:
    """Take ``amount`` out of what is left under ``cap``, in the mutation's transaction, from the
    shards with room (starting at a random one): ``{shard: amount taken}``, or None when less than
    ``amount`` is left (:func:`room` tells how much). Each shard's addition is
    conditioned on the shard staying within its share of the cap, so racing reservations can never
    pass it together: one that would fails its condition and its mutation runs again on fresh reads."""
    shards = shards_of(name)
    pk = counter_pk(_scope(db), doc_id, name)
    caps = shard_caps(cap, shards)
    held = _shard_values(db, pk)
    room = [max(0, caps[i] - held.get(_shard(i), 0)) for i in range(shards)]
    if sum(room) < amount:
        return None
    start = random.randrange(shards)  # noqa: S311 - spreading load, not a secret
    taken: dict[str, int] = {}
    left = amount
    for step in range(shards):
        i = (start + step) % shards
        take = min(room[i], left)
        if take:
            taken[_shard(i)] = take
            entry = _entries(db).setdefault((pk, _shard(i)), {"n": 0})
            entry["n"] += take
            entry["cap"] = caps[i]
            left -= take
        if not left:
            break
    return taken


def operations(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The counters' TransactWriteItems operations: one ``Update`` per shard the mutation moves
    (``ADD`` without reading it), conditioned on the shard not being sealed and, for a capped
    addition, on the shard staying within its share."""
    ops: list[dict[str, Any]] = []
    for (pk, sk), entry in sorted(tx.counters.items()):
        delta, sealing = int(entry["n"]), bool(entry.get("seal"))
        if sealing and delta:
            raise InternalError("a mutation cannot add to a counter it seals")
        names: dict[str, str] = {"#tb": "tb"}
        values: dict[str, Any] = {":tb": {"S": COUNTER_TB}}
        if sealing:
            names["#sealed"] = "sealed"
            values[":t"] = {"BOOL": True}
            update = {"UpdateExpression": "SET #tb = :tb, #sealed = :t"}
        elif delta or entry.get("parts"):
            names |= {"#n": "n", "#sealed": "sealed"}
            values[":d"] = {"N": str(delta)}
            adds = ["#n :d"]
            for i, (part, moved) in enumerate(sorted(entry.get("parts", {}).items())):
                if moved:
                    names[f"#p{i}"] = f"{PART_PREFIX}{part}"
                    values[f":p{i}"] = {"N": str(int(moved))}
                    adds.append(f"#p{i} :p{i}")
            condition = "attribute_not_exists(#sealed)"
            if entry.get("cap") is not None and delta > 0:
                values[":lim"] = {"N": str(int(entry["cap"]) - delta)}
                condition += " AND (attribute_not_exists(#n) OR #n <= :lim)"
            update = {
                "UpdateExpression": f"SET #tb = :tb ADD {', '.join(adds)}",
                "ConditionExpression": condition,
            }
        else:
            continue
        ops.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                    **update,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        )
    return ops


# ------------------------------------------------------------------------------------ reading


def _shard_items(store: Store, pk: str, *, watch: bool = True) -> list[dict[str, Any]]:
    """Every shard item of a counter (one consistent Query of its partition), watched by a
    subscription that reads it (``watch``; else the caller recorded it)."""
    if watch:
        record_range("pk", pk, "sk", _shard(0), _shard(MAX_SHARDS - 1))
    items, _, _ = store.query(
        index=None,
        pk_attr="pk",
        pk=pk,
        sk_attr="sk",
        sk_condition=None,
        forward=True,
        limit=None,
        start_key=None,
        consistent=True,
    )
    return list(items)


def _read_shards(store: Store, pk: str, *, watch: bool = True) -> dict[str, int]:
    """Every shard's total (one consistent Query of the counter's partition)."""
    return {str(i["sk"]): int(i.get("n", 0)) for i in _shard_items(store, pk, watch=watch)}


def _shard_values(db: DatabaseReader, pk: str) -> dict[str, int]:
    """The shards as stored, plus what this mutation adds to them."""
    values = _read_shards(db._store, pk)
    tx = db._tx
    if tx is not None:
        for (entry_pk, sk), entry in tx.counters.items():
            if entry_pk == pk:
                values[sk] = values.get(sk, 0) + int(entry["n"])
    return values


def value(db: DatabaseReader, doc_id: str, name: str) -> int:
    """The counter's value: the sum of its shards, with what this mutation added to them."""
    return sum(_shard_values(db, counter_pk(_scope(db), doc_id, name)).values())


def totals(db: DatabaseReader, doc_id: str, name: str) -> dict[str, int]:
    """The counter's total (key ``""``) and each of its parts (a part never added to: absent), with
    what this mutation added: one consistent Query, whatever the parts."""
    pk = counter_pk(_scope(db), doc_id, name)
    out: dict[str, int] = {"": 0}
    for item in _shard_items(db._store, pk):
        for attr, held in item.items():
            if attr == "n":
                out[""] += int(held)
            elif attr.startswith(PART_PREFIX):
                part = attr[len(PART_PREFIX) :]
                out[part] = out.get(part, 0) + int(held)
    tx = db._tx
    if tx is not None:
        for (entry_pk, _), entry in tx.counters.items():
            if entry_pk == pk:
                out[""] += int(entry["n"])
                for part, moved in entry.get("parts", {}).items():
                    out[part] = out.get(part, 0) + int(moved)
    return out


def read_total(store: Store, scope: str, doc_id: str, name: str) -> int:
    """The counter's stored value, outside any mutation (the runtime's :func:`fill`, migrations)."""
    return sum(_read_shards(store, counter_pk(scope, doc_id, name)).values())


# ------------------------------------------------------------------------------------ documents


def stored(doc: Mapping[str, Any], name: str) -> int:
    """A counted property as its document stores it: what it counted before its counter existed
    (until migration 0014 moves it into the counter; 0 for a document made since)."""
    found = (doc.get("properties") or {}).get(name)
    return int(found) if isinstance(found, int | float) and not isinstance(found, bool) else 0


def count(db: DatabaseReader, doc: Mapping[str, Any], name: str) -> int:
    """A document's counted property as its readers see it: what the document stores plus its
    counter (with what this mutation added)."""
    return stored(doc, name) + value(db, str(doc["_id"]), name)


def keep_counts(current: Mapping[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (an entity about to replace ``current``) with the counted properties ``current``
    stores: a write never changes them (a client that read a document and writes its properties
    back would otherwise add its count to itself); only their counters move."""
    counted = COUNTED.get(str(body.get("type")))
    props = body.get("properties")
    if not counted or not isinstance(props, dict):
        return body
    kept = dict(props)
    for c in counted:
        kept[c.name] = stored(current or {}, c.name)
    return {**body, "properties": kept}


def _counted_docs(value: Any) -> Iterable[dict[str, Any]]:
    """The entity documents in a function's result whose type has counted properties."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 16:
            continue
        if isinstance(node, dict):
            props = node.get("properties")
            if (
                isinstance(node.get("_id"), str)
                and str(node["_id"]).startswith("ent_")
                and node.get("type") in COUNTED
                and isinstance(props, dict)
            ):
                yield node
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))


def _owner_base(store: Store, scope: str, owner: str, name: str) -> int:
    """What the document ``owner`` stores of a counted property (a recording counts its stream's).
    Not watched: only migration 0014 changes it, moving it into the shards, which are."""
    import json

    from ontology.data.keys import DOC_SK

    item = store.get(f"{scope}#{owner}", DOC_SK, consistent=True)
    return stored(json.loads(item["doc"]), name) if item else 0


def fill(
    result: Any,
    *,
    org: str | None,
    homes: Mapping[str, str] | None = None,
    store: Store | None = None,
    folds: Mapping[str, Any] | None = None,
) -> Any:
    """Fill every counted property of the entity documents in ``result`` (a function's result, in
    place): what the document stores plus its counter's shards, one consistent Query per counter
    (several at once: a page of counted documents costs one round trip's latency, not one each). A
    property the document does not show (a field its reader may not see) stays out. ``homes``: the
    organization each document was read from, when not ``org`` (public documents of others).
    ``folds``: the folds of documents listed through an index, by id (:mod:`.count_folds`): their
    own counters are read from the fold, not from their shards."""
    docs = list(_counted_docs(result))
    if not docs:
        return result
    from ontology.data.dynamodb import default_store

    st = store or default_store()
    wanted: dict[tuple[str, str, str], tuple[bool, dict[str, Any]]] = {}
    known: dict[tuple[str, str], int] = {}
    for doc in docs:
        scope = (homes or {}).get(str(doc["_id"]), org)
        fold = (folds or {}).get(str(doc["_id"]))
        for c, owner in _counts_of(doc):
            folded = folded_total(fold, c.name) if c.of is None else None
            if folded is not None:
                known[(str(doc["_id"]), c.name)] = stored(doc, c.name) + folded
            elif scope is not None:
                wanted.setdefault((scope, owner, c.name), (c.of is not None, doc))
    totals = _totals(st, wanted)
    for doc in docs:
        scope = (homes or {}).get(str(doc["_id"]), org)
        filled = dict(doc["properties"])
        for c, owner in _counts_of(doc):
            listed = known.get((str(doc["_id"]), c.name))
            if listed is not None:
                filled[c.name] = max(0, listed)
            elif scope is not None:
                filled[c.name] = max(0, totals[(scope, owner, c.name)])
        doc["properties"] = filled
    return result


def folded_total(fold: Any, name: str) -> int | None:
    """The sum of a counter's shards as a fold holds them (None: the fold does not hold it)."""
    if not isinstance(fold, Mapping):
        return None
    shards = fold.get(name)
    if not isinstance(shards, Mapping):
        return None
    return sum(int(v) for v in shards.values())


def _counts_of(doc: Mapping[str, Any]) -> Iterator[tuple[Counted, str]]:
    """The counted properties the document shows, and whose counter each is."""
    props = doc["properties"]
    for c in COUNTED[doc["type"]]:
        owner = doc["_id"] if c.of is None else props.get(c.of)
        if c.name in props and isinstance(owner, str):
            yield c, owner


def _totals(
    store: Store, wanted: Mapping[tuple[str, str, str], tuple[bool, dict[str, Any]]]
) -> dict[tuple[str, str, str], int]:
    """Each counter's count: its document's stored part (its owner's, read, for a counter of another
    document) plus its shards; the reads of several counters made at once."""
    for scope, owner, name in wanted:  # in the caller's context: a subscription watches them
        record_range("pk", counter_pk(scope, owner, name), "sk", _shard(0), _shard(MAX_SHARDS - 1))

    def total(key: tuple[str, str, str]) -> int:
        scope, owner, name = key
        elsewhere, doc = wanted[key]
        base = _owner_base(store, scope, owner, name) if elsewhere else stored(doc, name)
        return base + sum(_read_shards(store, counter_pk(scope, owner, name), watch=False).values())

    keys = list(wanted)
    if len(keys) <= 1:
        return {key: total(key) for key in keys}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
        return dict(zip(keys, pool.map(total, keys), strict=True))
