"""DynamoDB's own units for every request the store sends, sized as DynamoDB sizes items.

:class:`Meter` wraps :meth:`ontology.data.dynamodb.Store.send` (``metered``): before a write it reads
the items the request may change, after it the same items again, straight from the in-process moto
backend (:class:`MotoSource`), and it prices each item by the rules of AWS's developer guide:

- **item size**: the UTF-8 bytes of each attribute's name plus its value's: a string's UTF-8 bytes, a
  number's (significant digits / 2) + 1 (at most 21), a binary's raw bytes, a boolean or null 1, a list
  or map 3 bytes plus 1 per element plus the elements (a map's keys count as names), a set its
  elements (`CapacityUnitCalculations.html`);
- **writes** (`read-write-operations.html`): one write request unit per started KB of the item;
  PutItem and UpdateItem pay for the larger of the item before and after, DeleteItem for the deleted
  item; in TransactWriteItems every Put, Update, Delete and ConditionCheck pays twice
  (`transaction-apis.html#transaction-capacity-handling`: prepare and commit);
- **secondary indexes** (`GSI.html#GSI.ThroughputConsiderations.Writes`), at 1x whatever wrote the
  table (an index is updated after the transaction, not in it): an entry whose index key changes is a
  delete of the old entry plus a put of the new one, an entry that appears a put, one that disappears a
  delete, an entry whose key stays and whose projected attributes change one write of the larger of
  the two, an unchanged one nothing. An entry is its projection of the item (``KEYS_ONLY``: the
  table's and the index's keys; ``INCLUDE``: those and the ``NonKeyAttributes``; ``ALL``: the item),
  read from the table's description, so a change of projection is priced without changing this file;
- **reads**: GetItem a read unit per started 4 KB (strongly consistent 1x, eventually ½, a missing
  item as a 0-byte one), BatchGetItem the same per key, Query and Scan the total size of the items
  they evaluate (before any filter or projection) per started 4 KB of the request (an index query is
  always eventually consistent, its items as the index projects them), TransactGetItems 2x.

It also keeps the load per partition (the table's or an index's partition key value) and the
conditional writes per item, for the hot-key table of :mod:`bench.cost`.

The sizing rules are :mod:`infra.local.capacity`'s, with which the local stack answers
``ConsumedCapacity`` (moto's own is a constant per operation); the meter reads items itself rather
than asking, to keep what each item and index write cost.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from infra.local.capacity import (
    IndexWrite,
    Item,
    Schema,
    index_writes,
    item_size,
    read_units,
    write_units,
)
from infra.local.capacity import key_text as _s
from infra.local.capacity import untrimmed as _untrimmed

#: The base table's partitions, beside the indexes' names.
TABLE = "table"


# --------------------------------------------------------------------------------- records


@dataclass
class ItemWrite:
    """One item a request wrote (or checked, in a transaction), with what it cost."""

    request: int
    operation: str  # Put | Update | Delete | ConditionCheck
    table_name: str
    pk: str
    sk: str
    tb: str | None  # the ontology's table the item belongs to (its ``tb`` attribute)
    size_before: int
    size_after: int
    transactional: bool
    conditional: bool
    units: int  # the table's write units (x2 in a transaction)
    indexes: list[IndexWrite] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.units + sum(w.units for w in self.indexes)


@dataclass
class ItemRead:
    """What one read request (or one key of a BatchGetItem) read."""

    request: int
    operation: str
    table_name: str
    index: str | None
    pk: str
    items: int
    size: int
    consistent: bool
    units: float


@dataclass
class Load:
    """What a partition (or an item) took."""

    wru: float = 0.0
    rru: float = 0.0
    conditional_writes: int = 0


# ----------------------------------------------------------------------------------- sources


class Source(Protocol):
    """Where the meter reads items and schemas (the in-process moto backend; a dict in tests)."""

    def schema(self, table_name: str) -> Schema: ...

    def get(self, table_name: str, key: Item) -> Item | None: ...

    def lock(self) -> contextlib.AbstractContextManager[Any]: ...


class MotoSource:
    """moto's DynamoDB backend in this process, read directly (no request is sent, nothing counted),
    every metered request under moto's own lock so that its before and after are exact."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.region = region
        self._schemas: dict[str, Schema] = {}

    def _backend(self) -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]

    def schema(self, table_name: str) -> Schema:
        if table_name not in self._schemas:
            described = self._backend().get_table(table_name).describe()["TableDescription"]
            self._schemas[table_name] = Schema.from_description(described)
        return self._schemas[table_name]

    def get(self, table_name: str, key: Item) -> Item | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        schema = self.schema(table_name)
        table = self._backend().get_table(table_name)
        hash_key = DynamoType(key[schema.hash_key])
        range_key = DynamoType(key[schema.range_key]) if schema.range_key else None
        found = table.get_item(hash_key, range_key)
        if found is None:
            return None
        attrs: Item = found.to_json()["Attributes"]
        return attrs

    def lock(self) -> contextlib.AbstractContextManager[Any]:
        from infra.local.aws import MOTO_LOCK

        return MOTO_LOCK


# ------------------------------------------------------------------------------------- meter

_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


@dataclass
class _Pending:
    """A write request's items as they were before it was sent."""

    targets: list[tuple[str, str, Item, bool, bool, Item | None]]  # table, op, key, tx, cond, before


class Meter:
    """Counts the requests the store sends, in DynamoDB's units (see the module's docstring)."""

    def __init__(self, source: Source | None = None) -> None:
        self.source: Source = source or MotoSource()
        self.requests: list[str] = []
        self.writes: list[ItemWrite] = []
        self.reads: list[ItemRead] = []
        self.paused = False
        self._lock = threading.RLock()

    # -------------------------------------------------------------------- totals and views

    @property
    def wru(self) -> int:
        return sum(w.total for w in self.writes)

    @property
    def rru(self) -> float:
        return sum(r.units for r in self.reads)

    def mark(self) -> tuple[int, int, int]:
        return len(self.requests), len(self.writes), len(self.reads)

    def since(self, mark: tuple[int, int, int]) -> Meter:
        """A meter holding only what was counted after ``mark``."""
        out = Meter(self.source)
        out.requests = self.requests[mark[0] :]
        out.writes = [replace(w, request=w.request - mark[0]) for w in self.writes[mark[1] :]]
        out.reads = [replace(r, request=r.request - mark[0]) for r in self.reads[mark[2] :]]
        return out

    def reset(self) -> None:
        self.requests.clear()
        self.writes.clear()
        self.reads.clear()

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Requests sent in the block are not counted (the bench's own look-ups)."""
        before, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = before

    def partitions(self) -> dict[tuple[str, str], Load]:
        """Load per partition: ``(TABLE or index name, partition key value)``."""
        out: dict[tuple[str, str], Load] = defaultdict(Load)
        for w in self.writes:
            out[(TABLE, w.pk)].wru += w.units
            for iw in w.indexes:
                out[(iw.index, iw.pk)].wru += iw.units
        for r in self.reads:
            out[(r.index or TABLE, r.pk)].rru += r.units
        return dict(out)

    def conditional_writes(self) -> Counter[tuple[str, str]]:
        """Conditional writes (a condition expression, or any item of a transaction) per item key."""
        return Counter((w.pk, w.sk) for w in self.writes if w.conditional)

    # ------------------------------------------------------------------------------ hooks

    def observe(self, store: Any, operation: str, params: dict[str, Any], send: Any) -> Any:
        """Send ``params`` with ``send()`` and count what it cost."""
        if self.paused:
            return send()
        with self.source.lock(), self._lock:
            pending = self._before(operation, params) if operation in _WRITES else None
            response = None
            try:
                response = send()
                return response
            finally:
                self.requests.append(operation)
                if pending is not None:
                    self._after_write(operation, pending, succeeded=response is not None)
                elif response is not None:
                    self._count_read(store, operation, params, response)

    # ------------------------------------------------------------------------------ writes

    def _targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, str, Item, bool, bool]]:
        """(table, op, key, transactional, conditional) of every item the request names."""
        out: list[tuple[str, str, Item, bool, bool]] = []

        def key_of(table_name: str, item: Item) -> Item:
            return self.source.schema(table_name).key_of(item)

        if operation == "PutItem":
            name = params["TableName"]
            cond = "ConditionExpression" in params or "Expected" in params
            out.append((name, "Put", key_of(name, params["Item"]), False, cond))
        elif operation in ("UpdateItem", "DeleteItem"):
            name = params["TableName"]
            cond = "ConditionExpression" in params or "Expected" in params
            out.append((name, operation[:-4], params["Key"], False, cond))
        elif operation == "BatchWriteItem":
            for name, requests in params["RequestItems"].items():
                for r in requests:
                    if "PutRequest" in r:
                        out.append((name, "Put", key_of(name, r["PutRequest"]["Item"]), False, False))
                    else:
                        out.append((name, "Delete", r["DeleteRequest"]["Key"], False, False))
        else:  # TransactWriteItems: every item is conditional on the transaction as a whole
            for entry in params["TransactItems"]:
                ((op, body),) = entry.items()
                name = body["TableName"]
                key = key_of(name, body["Item"]) if op == "Put" else body["Key"]
                out.append((name, op, key, True, True))
        return out

    def _before(self, operation: str, params: dict[str, Any]) -> _Pending:
        return _Pending(
            [
                (t, op, key, tx, cond, self.source.get(t, key))
                for t, op, key, tx, cond in self._targets(operation, params)
            ]
        )

    def _after_write(self, operation: str, pending: _Pending, *, succeeded: bool) -> None:
        request = len(self.requests) - 1
        for table_name, op, key, tx, cond, before in pending.targets:
            after = self.source.get(table_name, key) if succeeded else before
            schema = self.source.schema(table_name)
            size_before, size_after = item_size(before), item_size(after)
            if op in ("Delete", "ConditionCheck") or not succeeded:
                # a failed condition still pays, for the item as it is (AWS: "the size of the
                # existing item, or a minimum of 1")
                charged = size_before
            else:
                charged = max(size_before, size_after)
            units = write_units(charged) * (2 if tx else 1)
            record = ItemWrite(
                request=request,
                operation=op,
                table_name=table_name,
                pk=_s(key.get(schema.hash_key)),
                sk=_s(key.get(schema.range_key)) if schema.range_key else "",
                tb=_s((after or before or {}).get("tb")) or None,
                size_before=size_before,
                size_after=size_after,
                transactional=tx,
                conditional=cond,
                units=units,
            )
            if succeeded and op != "ConditionCheck":
                record.indexes = index_writes(schema, before, after)
            self.writes.append(record)

    # ------------------------------------------------------------------------------- reads

    def _count_read(
        self, store: Any, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> None:
        request = len(self.requests) - 1
        if operation == "GetItem":
            name = params["TableName"]
            item = response.get("Item")
            if item is not None and "ProjectionExpression" in params:
                item = self.source.get(name, params["Key"])
            consistent = bool(params.get("ConsistentRead"))
            self.reads.append(
                _point_read(
                    request, operation, name, params["Key"], item, consistent=consistent, source=self.source
                )
            )
        elif operation == "BatchGetItem":
            for name, ask in params["RequestItems"].items():
                consistent = bool(ask.get("ConsistentRead"))
                schema = self.source.schema(name)
                found = {
                    _s(i.get(schema.hash_key)) + "\0" + _s(i.get(schema.range_key)): i
                    for i in response.get("Responses", {}).get(name, [])
                }
                unprocessed = response.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])
                for key in ask["Keys"]:
                    if key in unprocessed:
                        continue
                    item = found.get(_s(key.get(schema.hash_key)) + "\0" + _s(key.get(schema.range_key)))
                    if item is not None and "ProjectionExpression" in ask:
                        item = self.source.get(name, key)
                    self.reads.append(
                        _point_read(
                            request, operation, name, key, item, consistent=consistent, source=self.source
                        )
                    )
        elif operation == "TransactGetItems":
            for entry in params["TransactItems"]:
                body = entry["Get"]
                item = self.source.get(body["TableName"], body["Key"])
                read = _point_read(
                    request,
                    operation,
                    body["TableName"],
                    body["Key"],
                    item,
                    consistent=True,
                    source=self.source,
                )
                read.units *= 2
                self.reads.append(read)
        elif operation in ("Query", "Scan"):
            self.reads.append(self._range_read(store, request, operation, params, response))

    def _range_read(
        self, store: Any, request: int, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> ItemRead:
        name = params["TableName"]
        index = params.get("IndexName")
        items = response.get("Items")
        trimmed = {"Select", "ProjectionExpression", "FilterExpression", "AttributesToGet"} & params.keys()
        if items is None or trimmed:
            # what DynamoDB evaluated: the same request without what only trims its answer
            items = getattr(store.client, "query" if operation == "Query" else "scan")(
                **_untrimmed(params, trimmed)
            ).get("Items", [])
        consistent = bool(params.get("ConsistentRead")) and index is None
        size = sum(item_size(i) for i in items)
        pk = ""
        if operation == "Query":
            schema = self.source.schema(name)
            attr = schema.index(index).hash_key if index else schema.hash_key
            pk = _query_partition(params, attr)
        return ItemRead(
            request=request,
            operation=operation,
            table_name=name,
            index=index,
            pk=pk,
            items=len(items),
            size=size,
            consistent=consistent,
            units=read_units(size, consistent=consistent),
        )


def _point_read(
    request: int,
    operation: str,
    table_name: str,
    key: Item,
    item: Item | None,
    *,
    consistent: bool,
    source: Source,
) -> ItemRead:
    schema = source.schema(table_name)
    size = item_size(item)
    return ItemRead(
        request=request,
        operation=operation,
        table_name=table_name,
        index=None,
        pk=_s(key.get(schema.hash_key)),
        items=1 if item else 0,
        size=size,
        consistent=consistent,
        units=read_units(size, consistent=consistent),
    )


def _query_partition(params: dict[str, Any], attr: str) -> str:
    """The partition key value a Query's key condition fixes."""
    names = {v: k for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
    placeholder = names.get(attr, attr)
    condition = params.get("KeyConditionExpression", "")
    match = re.search(rf"{re.escape(placeholder)}\s*=\s*(:\w+)", condition)
    if match:
        return _s(params["ExpressionAttributeValues"][match.group(1)])
    legacy = (params.get("KeyConditions") or {}).get(attr)
    return _s(legacy["AttributeValueList"][0]) if legacy else ""


@contextlib.contextmanager
def metered(meter: Meter) -> Iterator[Meter]:
    """Count every request of every :class:`~ontology.data.dynamodb.Store` in the block."""
    from ontology.data.dynamodb import Store

    original = Store.send

    def send(self: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = meter.observe(
            self, operation, params, lambda: original(self, operation, params)
        )
        return result

    Store.send = send  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        Store.send = original  # type: ignore[method-assign]
