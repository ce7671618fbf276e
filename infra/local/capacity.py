"""DynamoDB's capacity units, as AWS's developer guide sizes items and prices requests, and the local
stack's ``ConsumedCapacity``: moto answers a constant per operation (0.5 or 1.0 whatever the item);
:func:`consumed_capacity` answers what DynamoDB would, for every request that asks
(``ReturnConsumedCapacity``), and :mod:`infra.local.moto_patches` puts it in moto's answers. The cost
bench's meter (:mod:`bench.meter`) prices the requests it counts with the same rules.

- **item size**: the UTF-8 bytes of each attribute's name plus its value's: a string's UTF-8 bytes, a
  number's (significant digits / 2) + 1 (at most 21), a binary's raw bytes, a boolean or null 1, a list
  or map 3 bytes plus 1 per element plus the elements (a map's keys count as names), a set its
  elements (`CapacityUnitCalculations.html`);
- **writes**: one write unit per started KB of the item; PutItem and UpdateItem pay for the larger of
  the item before and after, DeleteItem for the deleted item; in TransactWriteItems every item pays
  twice; each secondary index's entry that changes pays 1x (:func:`index_writes`);
- **reads**: a read unit per started 4 KB (strongly consistent 1x, eventually ½), GetItem and each key
  of a BatchGetItem its item (a missing one as a 0-byte one), Query and Scan the total size of the
  items they evaluate (before any filter or projection), an index's items as it projects them.

Example::

    write_units(item_size({"pk": {"S": "a"}, "doc": {"S": "x" * 1500}}))   # 2
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

#: DynamoDB's billing units: a write request unit covers 1 KB of item, a read request unit 4 KB.
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
#: The most bytes a number takes (38 significant digits).
MAX_NUMBER_BYTES = 21

Typed = dict[str, Any]
Item = dict[str, Typed]


# ------------------------------------------------------------------------------------------ sizing


def number_size(text: str) -> int:
    """Bytes of a number: one per two significant digits (leading and trailing zeros trimmed) plus
    one, at most 21."""
    mantissa = re.split("[eE]", text.strip().lstrip("+-"), maxsplit=1)[0]
    digits = mantissa.replace(".", "").strip("0")
    return min(math.ceil(len(digits) / 2) + 1, MAX_NUMBER_BYTES)


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(base64.b64decode(value))  # the wire's (and moto's) base64 text


def value_size(typed: Typed) -> int:
    """Bytes of one attribute value in DynamoDB's typed form (``{"S": "…"}``), without its name."""
    ((kind, value),) = typed.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        return number_size(value)
    if kind == "B":
        return _binary_size(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in value)
    if kind == "NS":
        return sum(number_size(v) for v in value)
    if kind == "BS":
        return sum(_binary_size(v) for v in value)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in value.items())
    raise ValueError(f"not a DynamoDB attribute value: {typed!r}")


def item_size(item: Item | None) -> int:
    """Bytes of an item: each attribute's name (UTF-8) and value."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def write_units(size: int) -> int:
    """Write request units of one standard write of ``size`` bytes (at least one)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    """Read request units of ``size`` bytes read in one request (at least one 4 KB unit), halved when
    eventually consistent."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


# ------------------------------------------------------------------------------- table schema


@dataclass(frozen=True)
class Index:
    """A secondary index as the table's description gives it."""

    name: str
    hash_key: str
    range_key: str | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    """A table's key attributes and secondary indexes."""

    hash_key: str
    range_key: str | None
    indexes: tuple[Index, ...] = ()

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> Schema:
        """From DescribeTable's ``Table`` (or ``TableDescription``)."""

        def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
            by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
            return by_type["HASH"], by_type.get("RANGE")

        hash_key, range_key = keys(description["KeySchema"])
        indexes = []
        for idx in [
            *description.get("GlobalSecondaryIndexes", []),
            *description.get("LocalSecondaryIndexes", []),
        ]:
            ih, ir = keys(idx["KeySchema"])
            projection = idx.get("Projection", {})
            indexes.append(
                Index(
                    name=idx["IndexName"],
                    hash_key=ih,
                    range_key=ir,
                    projection=projection.get("ProjectionType", "ALL"),
                    non_key=tuple(projection.get("NonKeyAttributes", [])),
                )
            )
        return cls(hash_key, range_key, tuple(indexes))

    def key_of(self, item: Item) -> Item:
        names = [self.hash_key] + ([self.range_key] if self.range_key else [])
        return {n: item[n] for n in names}

    def index(self, name: str) -> Index:
        return next(i for i in self.indexes if i.name == name)

    def entry(self, index: Index, item: Item | None) -> Item | None:
        """The item's entry in ``index`` (its projection), or None when the item is not in it (a
        sparse index: one of the index's key attributes is missing)."""
        if item is None or index.hash_key not in item:
            return None
        if index.range_key and index.range_key not in item:
            return None
        if index.projection == "ALL":
            return dict(item)
        names = {self.hash_key, index.hash_key}
        names |= {n for n in (self.range_key, index.range_key) if n}
        if index.projection == "INCLUDE":
            names |= set(index.non_key)
        return {n: v for n, v in item.items() if n in names}


# ----------------------------------------------------------------------------- index writes


@dataclass
class IndexWrite:
    """One write to a secondary index that a table write caused."""

    index: str
    kind: str  # put | delete | update
    pk: str
    size: int
    units: int


def key_text(typed: Typed | None) -> str:
    if not typed:
        return ""
    ((_, value),) = typed.items()
    return str(value)


def index_writes(schema: Schema, before: Item | None, after: Item | None) -> list[IndexWrite]:
    """The secondary-index writes a table write from ``before`` to ``after`` causes (1x each)."""
    out: list[IndexWrite] = []
    for index in schema.indexes:
        old, new = schema.entry(index, before), schema.entry(index, after)
        if old is None and new is None:
            continue
        old_pk, new_pk = key_text((old or {}).get(index.hash_key)), key_text((new or {}).get(index.hash_key))
        if old is None and new is not None:
            out.append(IndexWrite(index.name, "put", new_pk, item_size(new), write_units(item_size(new))))
        elif new is None and old is not None:
            out.append(IndexWrite(index.name, "delete", old_pk, item_size(old), write_units(item_size(old))))
        elif old is not None and new is not None:
            keys = [index.hash_key] + ([index.range_key] if index.range_key else [])
            if any(old.get(k) != new.get(k) for k in keys):
                out.append(
                    IndexWrite(index.name, "delete", old_pk, item_size(old), write_units(item_size(old)))
                )
                out.append(IndexWrite(index.name, "put", new_pk, item_size(new), write_units(item_size(new))))
            elif old != new:
                size = max(item_size(old), item_size(new))
                out.append(IndexWrite(index.name, "update", new_pk, size, write_units(size)))
    return out


def untrimmed(params: dict[str, Any], trimmed: set[str]) -> dict[str, Any]:
    """``params`` without ``trimmed``, and without the names and values only those used."""
    again = {k: v for k, v in params.items() if k not in trimmed}
    used = str(again.get("KeyConditionExpression", ""))
    for placeholders in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {
            k: v
            for k, v in (again.pop(placeholders, None) or {}).items()
            if re.search(rf"{re.escape(k)}\b", used)
        }
        if kept:
            again[placeholders] = kept
    return again


# ---------------------------------------------------------------------------------- ConsumedCapacity

#: The operations that write, and what an item of each kind of write is called.
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
#: What only trims a Query's or Scan's answer: DynamoDB still reads (and charges) what it evaluated.
TRIMMING = frozenset({"Select", "ProjectionExpression", "FilterExpression", "AttributesToGet"})

Target = tuple[str, str, Item, bool]  # table, Put | Update | Delete | ConditionCheck, key, in a transaction


class Source(Protocol):
    """Where items and schemas are read from (moto's backend, read directly: nothing is sent)."""

    def schema(self, table_name: str) -> Schema: ...

    def get(self, table_name: str, key: Item) -> Item | None: ...


class BackendSource:
    """moto's DynamoDB backend, read directly."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def schema(self, table_name: str) -> Schema:
        table = self.backend.get_table(table_name)
        return Schema.from_description(
            {
                "KeySchema": table.schema,
                "GlobalSecondaryIndexes": [i.describe() for i in table.global_indexes],
                "LocalSecondaryIndexes": [i.describe() for i in table.indexes],
            }
        )

    def get(self, table_name: str, key: Item) -> Item | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        schema = self.schema(table_name)
        range_key = DynamoType(key[schema.range_key]) if schema.range_key else None
        found = self.backend.get_table(table_name).get_item(DynamoType(key[schema.hash_key]), range_key)
        return None if found is None else dict(found.to_json()["Attributes"])


def write_targets(operation: str, params: dict[str, Any], source: Source) -> list[Target]:
    """Every item a write request names."""
    out: list[Target] = []
    if operation == "PutItem":
        name = params["TableName"]
        out.append((name, "Put", source.schema(name).key_of(params["Item"]), False))
    elif operation in ("UpdateItem", "DeleteItem"):
        out.append((params["TableName"], operation[:-4], params["Key"], False))
    elif operation == "BatchWriteItem":
        for name, requests in params["RequestItems"].items():
            for r in requests:
                if "PutRequest" in r:
                    out.append((name, "Put", source.schema(name).key_of(r["PutRequest"]["Item"]), False))
                else:
                    out.append((name, "Delete", r["DeleteRequest"]["Key"], False))
    else:
        for entry in params["TransactItems"]:
            ((op, body),) = entry.items()
            name = body["TableName"]
            key = source.schema(name).key_of(body["Item"]) if op == "Put" else body["Key"]
            out.append((name, op, key, True))
    return out


def write_capacity(
    source: Source, targets: list[Target], before: list[Item | None], *, succeeded: bool
) -> dict[str, dict[str | None, float]]:
    """Write units per table, split into the table's (key None) and each index's."""
    out: dict[str, dict[str | None, float]] = {}
    for (name, op, key, tx), old in zip(targets, before, strict=True):
        new = source.get(name, key) if succeeded else old
        size_before, size_after = item_size(old), item_size(new)
        charged = (
            size_before
            if op in ("Delete", "ConditionCheck") or not succeeded
            else max(size_before, size_after)
        )
        parts = out.setdefault(name, {})
        parts[None] = parts.get(None, 0.0) + write_units(charged) * (2 if tx else 1)
        if succeeded and op != "ConditionCheck":
            for w in index_writes(source.schema(name), old, new):
                parts[w.index] = parts.get(w.index, 0.0) + w.units
    return out


def point_capacity(source: Source, name: str, keys: list[Item], *, consistent: bool) -> float:
    """Read units of GetItem or a BatchGetItem's keys of one table: each key's whole item."""
    return sum(read_units(item_size(source.get(name, key)), consistent=consistent) for key in keys)


def range_capacity(params: dict[str, Any], evaluated: list[Item]) -> dict[str | None, float]:
    """Read units of a Query or Scan that evaluated ``evaluated`` (an index's items as projected)."""
    index = params.get("IndexName")
    consistent = bool(params.get("ConsistentRead")) and index is None
    return {index: read_units(sum(item_size(i) for i in evaluated), consistent=consistent)}


def entry(table_name: str, parts: dict[str | None, float], *, write: bool, indexes: bool) -> dict[str, Any]:
    """One table's ``ConsumedCapacity`` as DynamoDB answers it (``TOTAL``; ``INDEXES`` adds the table's
    and each index's share)."""
    total = sum(parts.values())
    out: dict[str, Any] = {
        "TableName": table_name,
        "CapacityUnits": total,
        "WriteCapacityUnits" if write else "ReadCapacityUnits": total,
    }
    if indexes:
        out["Table"] = {"CapacityUnits": parts.get(None, 0.0)}
        named = {k: {"CapacityUnits": v} for k, v in parts.items() if k is not None}
        if named:
            out["GlobalSecondaryIndexes"] = named
    return out
