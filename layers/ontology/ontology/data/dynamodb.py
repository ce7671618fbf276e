"""Low-level I/O on the single table: the only module that sends DynamoDB requests.

It talks to DynamoDB through a botocore client configured from the settings (botocore rather than
boto3 or PynamoDB's connection, to keep a query Lambda's cold start small); items written are
serialized by the PynamoDB model (:mod:`ontology.data.models`), which mutations load on first use. No
request path scans, by design: every read is a GetItem, a BatchGetItem or a Query on a key. The one
Scan is :meth:`Store.scan`, for the data-migration runner (:mod:`ontology.data.migrations`), an
operator's tool run with the operator's credentials: no function's role may call ``dynamodb:Scan``.

Every request can be observed (``add_listener``): the benchmarks count requests and items with it,
and the test suite fails any Scan but the migration runner's (:func:`operator_scan`).

Every request asks DynamoDB what it consumed (``ReturnConsumedCapacity: TOTAL``, a parameter of the
same request, not another one): within :func:`consumed` the read and write units of the requests sent
are summed, which a call's summary line carries (``rcu``, ``wcu``: the dashboard's Health page
prices them). A read answered by the re-runs' shared reads sent nothing and consumed nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Imported at module load, not on first request: Lambda's init phase runs with a full CPU.
import botocore.config

from ontology.aws import session as aws_session
from ontology.data import read_cache
from ontology.errors import UpstreamError
from ontology.settings import get_settings

logger = logging.getLogger(__name__)

__all__ = [
    "Store",
    "Units",
    "add_listener",
    "client_config",
    "consumed",
    "deserialize",
    "operator_scan",
    "remove_listener",
    "serialize",
]

Listener = Callable[[str, dict[str, Any], dict[str, Any] | None], None]
_listeners: list[Listener] = []

BATCH_GET_MAX_KEYS = 100
_METHODS = {
    "GetItem": "get_item",
    "BatchGetItem": "batch_get_item",
    "Query": "query",
    "TransactWriteItems": "transact_write_items",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "BatchWriteItem": "batch_write_item",
    "DeleteItem": "delete_item",
    "Scan": "scan",
    "DescribeTable": "describe_table",
}
BATCH_WRITE_MAX_ITEMS = 25
BATCH_GET_MAX_ATTEMPTS = 8

#: The operations that answer ``ConsumedCapacity``, and which of them read.
_CONSUMING = frozenset(_METHODS) - {"DescribeTable"}
_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


@dataclass
class Units:
    """DynamoDB's read and write capacity units consumed by the requests of a block."""

    read: float = 0.0
    write: float = 0.0


_units: contextvars.ContextVar[Units | None] = contextvars.ContextVar("consumed_units", default=None)


@contextlib.contextmanager
def consumed() -> Iterator[Units]:
    """Sum the units DynamoDB says the block's requests consumed (in this context)."""
    units = Units()
    token = _units.set(units)
    try:
        yield units
    finally:
        _units.reset(token)


def _count_units(operation: str, response: dict[str, Any]) -> None:
    units = _units.get()
    if units is None:
        return
    answered = response.get("ConsumedCapacity")
    entries = [answered] if isinstance(answered, dict) else answered or []
    total = sum(float(e.get("CapacityUnits") or 0) for e in entries if isinstance(e, dict))
    if operation in _READS:
        units.read += total
    else:
        units.write += total


#: True while :meth:`Store.scan` (the migration runner's) is in flight in this thread.
_operator_scan: contextvars.ContextVar[bool] = contextvars.ContextVar("operator_scan", default=False)


def operator_scan() -> bool:
    """Whether the request being sent is the migration runner's Scan (the test suite's guard asks)."""
    return _operator_scan.get()


def client_config() -> botocore.config.Config:
    """The DynamoDB client's settings: standard retries, short timeouts, no client-side validation."""
    return botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": 4},
        connect_timeout=2,
        read_timeout=10,
        max_pool_connections=16,
        parameter_validation=False,
    )


def add_listener(fn: Listener) -> None:
    """Call ``fn(operation, params, response)`` after every request (response None when it raised)."""
    _listeners.append(fn)


def remove_listener(fn: Listener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def serialize(attrs: dict[str, Any]) -> dict[str, Any]:
    """Python attribute values → DynamoDB's typed map, through the PynamoDB model."""
    from ontology.data.models import Item

    return Item(**attrs).serialize()  # type: ignore[no-any-return]


def deserialize(raw: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed map → Python attribute values (strings, numbers, null, booleans, string sets
    and maps of these; the attributes of other types are left out)."""
    out: dict[str, Any] = {}
    for name, typed in raw.items():
        if "S" in typed:
            out[name] = typed["S"]
        elif "N" in typed:
            text = typed["N"]
            out[name] = int(text) if text.lstrip("-").isdigit() else float(text)
        elif "NULL" in typed:
            out[name] = None
        elif "BOOL" in typed:
            out[name] = typed["BOOL"]
        elif "SS" in typed:
            out[name] = set(typed["SS"])
        elif "M" in typed:
            out[name] = deserialize(typed["M"])
    return out


class Store:
    """The table's requests. One instance per process is enough; it holds no per-request state.

    ``client`` and ``table``: another client and table than the settings' (the operator's tools).
    ``memo``: what the data layer learned of the table and keeps for the process (whether a data
    migration is done)."""

    def __init__(self, client: Any = None, *, table: str | None = None) -> None:
        self._client = client
        self._table = table
        self.memo: dict[str, Any] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            settings = get_settings()
            self._client = aws_session().create_client(
                "dynamodb",
                region_name=settings.region,
                endpoint_url=settings.dynamodb_endpoint,
                config=client_config(),
            )
        return self._client

    @property
    def table_name(self) -> str:
        return self._table or get_settings().table_name

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request; a read may be answered by the re-runs' shared reads (:mod:`.read_cache`)."""
        shared = read_cache.lookup(operation, params)
        if shared is not None:
            return shared
        sent = read_cache.now()
        response = self.send(operation, params)
        read_cache.remember(operation, params, sent, response)
        return response

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request to DynamoDB, observed by the listeners."""
        response: dict[str, Any] | None = None
        if operation in _CONSUMING and "ReturnConsumedCapacity" not in params:
            params = {**params, "ReturnConsumedCapacity": "TOTAL"}
        try:
            response = getattr(self.client, _METHODS[operation])(**params)
            _count_units(operation, response)
            return response
        finally:
            for fn in list(_listeners):
                fn(operation, params, response)

    # ---------------------------------------------------------------------------------------- reads

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
        resp = self.call(
            "GetItem",
            {
                "TableName": self.table_name,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "ConsistentRead": consistent,
            },
        )
        raw = resp.get("Item")
        return deserialize(raw) if raw else None

    def batch_get(
        self, keys: Iterable[tuple[str, str]], *, consistent: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Items by pk, in as few BatchGetItem requests as the 100-key limit allows.

        Unprocessed keys (throttling) are retried with jittered exponential backoff.
        """
        return {pk: item for (pk, _), item in self.batch_get_items(keys, consistent=consistent).items()}

    def batch_get_items(
        self, keys: Iterable[tuple[str, str]], *, consistent: bool = True
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Like :meth:`batch_get`, keyed by (pk, sk): for items that share a partition."""
        return {key: deserialize(raw) for key, raw in self.batch_get_raw(keys, consistent=consistent).items()}

    def batch_get_raw(
        self, keys: Iterable[tuple[str, str]], *, consistent: bool = True
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Like :meth:`batch_get_items`, the items as DynamoDB's typed maps (every attribute type)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET_MAX_KEYS):
            pending = [
                {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted[start : start + BATCH_GET_MAX_KEYS]
            ]
            attempt = 0
            while pending:
                resp = self.call(
                    "BatchGetItem",
                    {"RequestItems": {self.table_name: {"Keys": pending, "ConsistentRead": consistent}}},
                )
                for raw in resp.get("Responses", {}).get(self.table_name, []):
                    found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
                pending = resp.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if pending:
                    attempt += 1
                    if attempt >= BATCH_GET_MAX_ATTEMPTS:
                        raise UpstreamError("The database is throttling reads; try again")
                    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311
        return found

    def query(
        self,
        *,
        index: str | None,
        pk_attr: str,
        pk: str,
        sk_attr: str,
        sk_condition: tuple[str, ...] | None,
        forward: bool,
        limit: int | None,
        start_key: dict[str, Any] | None,
        consistent: bool = False,
        count_only: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
        """One Query request: ``(items, last_evaluated_key, count)``.

        ``sk_condition`` is ``("begins_with", prefix)``, ``("between", lo, hi)``, ``("lte", hi)`` or None;
        no key value is ever the empty string (DynamoDB rejects those).
        """
        names = {"#p": pk_attr}
        values: dict[str, Any] = {":p": {"S": pk}}
        expr = "#p = :p"
        if sk_condition is not None:
            names["#s"] = sk_attr
            if sk_condition[0] == "begins_with":
                expr += " AND begins_with(#s, :a)"
                values[":a"] = {"S": sk_condition[1]}
            elif sk_condition[0] == "lte":
                expr += " AND #s <= :b"
                values[":b"] = {"S": sk_condition[1]}
            else:
                expr += " AND #s BETWEEN :a AND :b"
                values[":a"] = {"S": sk_condition[1]}
                values[":b"] = {"S": sk_condition[2]}
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": forward,
        }
        if index:
            params["IndexName"] = index
        elif consistent:
            params["ConsistentRead"] = True
        if limit is not None:
            params["Limit"] = limit
        if start_key:
            params["ExclusiveStartKey"] = start_key
        if count_only:
            params["Select"] = "COUNT"
        resp = self.call("Query", params)
        items = [deserialize(raw) for raw in resp.get("Items", [])]
        return items, resp.get("LastEvaluatedKey"), int(resp.get("Count", len(items)))

    def scan(
        self,
        *,
        segment: int,
        segments: int,
        limit: int,
        start_key: dict[str, Any] | None,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, int]:
        """One page of one segment of a parallel Scan, strongly consistent: ``(raw typed items,
        last_evaluated_key, items examined)``. ``limit`` bounds the items examined (before the filter).

        Only the migration runner calls it (an operator's tool, never a request path: no function's
        role may Scan)."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Segment": segment,
            "TotalSegments": segments,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if start_key:
            params["ExclusiveStartKey"] = start_key
        if filter_expression:
            params["FilterExpression"] = filter_expression
            params["ExpressionAttributeNames"] = names or {}
            if values:
                params["ExpressionAttributeValues"] = values
        token = _operator_scan.set(True)
        try:
            resp = self.call("Scan", params)
        finally:
            _operator_scan.reset(token)
        items: list[dict[str, Any]] = resp.get("Items", [])
        return items, resp.get("LastEvaluatedKey"), int(resp.get("ScannedCount", len(items)))

    def describe(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` (its approximate ``ItemCount`` among the rest)."""
        table: dict[str, Any] = self.call("DescribeTable", {"TableName": self.table_name})["Table"]
        return table

    # --------------------------------------------------------------------------------------- writes

    def transact_write(self, items: list[dict[str, Any]], token: str | None = None) -> None:
        params: dict[str, Any] = {"TransactItems": items}
        if token:
            params["ClientRequestToken"] = token
        self.call("TransactWriteItems", params)

    def batch_write(self, puts: Iterable[dict[str, Any]], deletes: Iterable[tuple[str, str]] = ()) -> None:
        """Unconditional puts (attribute values) and deletes (keys), 25 to a BatchWriteItem, retrying
        unprocessed ones with jittered backoff. For the sync protocol's own bookkeeping, never for
        documents (those are written by transactions)."""
        requests = [{"PutRequest": {"Item": serialize(a)}} for a in puts]
        requests += [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in deletes]
        for start in range(0, len(requests), BATCH_WRITE_MAX_ITEMS):
            pending = requests[start : start + BATCH_WRITE_MAX_ITEMS]
            attempt = 0
            while pending:
                resp = self.call("BatchWriteItem", {"RequestItems": {self.table_name: pending}})
                pending = resp.get("UnprocessedItems", {}).get(self.table_name, [])
                if pending:
                    attempt += 1
                    if attempt >= BATCH_GET_MAX_ATTEMPTS:
                        raise UpstreamError("The database is throttling writes; try again")
                    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        """One UpdateItem (an atomic counter: ``ADD``, ``SET``), answering the item's new attributes.
        For bookkeeping items that are not documents (rate limits), never for documents."""
        resp = self.call(
            "UpdateItem",
            {
                "TableName": self.table_name,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValues": "ALL_NEW",
            },
        )
        return deserialize(resp.get("Attributes") or {})

    def delete(self, pk: str, sk: str) -> None:
        """One unconditional DeleteItem of a bookkeeping item (never a document)."""
        self.call("DeleteItem", {"TableName": self.table_name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}})

    def put(self, attrs: dict[str, Any]) -> None:
        """An unconditional put: only for tooling (seeding), never on a request path."""
        self.call("PutItem", {"TableName": self.table_name, "Item": serialize(attrs)})


_default: Store | None = None


def default_store() -> Store:
    global _default  # noqa: PLW0603
    if _default is None:
        _default = Store()
    return _default


def reset_default_store() -> None:
    """Forget the cached client (after ``configure_models`` points at another endpoint)."""
    global _default  # noqa: PLW0603
    _default = None


__all__ += ["default_store", "reset_default_store"]
