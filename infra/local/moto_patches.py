"""Targeted replacements of moto internals where moto is too slow or too loose to stand in for AWS.

moto is pinned (requirements/lock.txt) because these touch its internals; each patch says why.

- ``transact_write_items``: moto deep-copies the whole table once *per item* of a transaction to be
  able to roll back, so a mutation costs O(items * table) and a local stack slows down as its table
  grows. DynamoDB's semantics are check-all-then-apply-all on distinct items, so we evaluate every
  condition first and apply only when all pass; an Update that still fails while applying (a bad
  expression) puts back every item the transaction touched.
- ``TransactWriteItems``' ``ClientRequestToken``: moto ignores it. DynamoDB answers a request that
  repeats a token within 10 minutes of the first one's success without applying it again, and refuses
  one that reuses a token for other items with ``IdempotentParameterMismatchException``; a mutation's
  commit relies on that when its first attempt's outcome is unknown, so the local stack does the same.
- ``put_item`` / ``update_item`` / ``delete_item``: under AWS-strict ``conflicts``, refused with
  ``TransactionConflictException`` while a transaction holds the item (:mod:`infra.local.conflicts`).
- ``StreamShard.add``: moto invokes a stream's Lambda mappings synchronously, inside the write that
  made the record (holding the table, and our lock). Lambda polls streams asynchronously; so do we
  (:mod:`infra.local.pollers`), so the patched shard only records.
- ``Table.query``: moto reads every item of the table for a Query; :mod:`infra.local.query_index`
  keeps an ordered index per GSI partition and hands moto only the items of the key range.
- ``list_of_moto_modules``: moto's server lists its package folder (a ``stat`` of each of its 150-odd
  entries) on every request to find the backend a host names; the folder never changes while the
  stack runs, so it is listed once.
- S3 Vectors' ``QueryVectors`` (moto has none): :mod:`infra.local.vectors` answers it exactly.
- ``expire_ttl_items``: DynamoDB deletes items whose TTL has passed (within days); moto never does.
  The local stack calls this periodically so expired sessions, tokens and rate counters go away:
  within a minute, or (AWS-strict ``ttl``) one to three days after their expiry, as AWS may.
- ``ConsumedCapacity``: moto answers a constant per operation (0.5 or 1.0, whatever the item); a
  request that asks (``ReturnConsumedCapacity``: ``TOTAL`` or ``INDEXES``) is answered what DynamoDB
  would charge it, sized by :mod:`infra.local.capacity` from the items before and after it (read from
  the backend, no request sent): what each call's summary line reports (``rcu``, ``wcu``).
- ``Role.put_policy``: moto's CloudFormation hands a role's inline policy over as a dict, which moto
  keeps as is and its IAM API then returns as Python's ``repr``, not JSON; it is kept as JSON text,
  as IAM holds it (the local stack's IAM enforcement reads the same text).
- ``SQSBackend.receive_message`` on a FIFO queue: moto decides whether a message group is in flight
  while it walks the messages, one message at a time, so when a batch of a group comes back after its
  visibility timeout a later message can be handed out before the first one (measured: a group's
  second message delivered alone, then its first). SQS hands a group's messages out in order and
  none of them while one is in flight; the patched receive decides that before it hands anything
  out, and once it passes over a message of a group it hands out no later one of that group. Its
  redrive (a message received ``maxReceiveCount`` times goes to the dead-letter queue at its next
  receive) is moto's.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

_installed = False

#: How long DynamoDB remembers a transaction's ClientRequestToken after it succeeded.
CLIENT_TOKEN_TTL_SECONDS = 600
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _parse_json_templates_as_json() -> None:
    """moto's CloudFormation parses every template with PyYAML's pure-Python loader, JSON ones too
    (JSON is YAML): three seconds for the platform's. A template that is JSON is read as JSON, what
    CloudFormation itself does; anything else still goes to moto's YAML reading."""
    import json

    from moto.cloudformation.models import Stack

    yaml_parse = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        if template.lstrip().startswith("{"):
            try:
                parsed: dict[str, Any] = json.loads(template)
                return parsed
            except ValueError:
                pass
        return yaml_parse(template)

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]


def _list_moto_modules_once() -> None:
    """moto's server asks :func:`moto.backends.list_of_moto_modules` on every request; its answer (the
    package's folders) is fixed for the process, so it is read once."""
    import functools

    from moto import backends

    if hasattr(backends.list_of_moto_modules, "cache_info"):
        return
    original = backends.list_of_moto_modules
    listed = functools.cache(lambda: tuple(original()))
    backends.list_of_moto_modules = listed


def _remember_endpoint_prefixes() -> None:
    """botocore's ``get_available_regions`` reads the service's whole model for its endpoint prefix,
    on every call, with a new session each time: moto's EC2 asks three times (once per partition)
    as moto's CloudFormation imports it, three reads of EC2's model, about a second. Each prefix is
    read once per process; the regions are still botocore's answer."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    own = botocore.session.Session.get_available_regions
    if hasattr(own, "__wrapped__"):
        return
    prefixes: dict[str, str] = {}

    def get_available_regions(
        self: Any, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        if service_name not in prefixes:
            try:
                metadata = self.get_service_data(service_name)["metadata"]
            except UnknownServiceError:
                return []
            prefixes[service_name] = metadata.get("endpointPrefix", service_name)
        resolver = self._get_internal_component("endpoint_resolver")
        regions: list[str] = resolver.get_available_endpoints(
            prefixes[service_name], partition_name, allow_non_regional
        )
        return regions

    get_available_regions.__wrapped__ = own  # type: ignore[attr-defined]
    botocore.session.Session.get_available_regions = get_available_regions


def _honour_client_request_tokens() -> None:
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        digest = hashlib.sha256(json.dumps(self.body["TransactItems"], sort_keys=True).encode()).hexdigest()
        key = (self.current_account, self.region, str(token))
        now = time.monotonic()
        with _tokens_lock:
            for stale in [k for k, (_, at) in _tokens.items() if now - at > CLIENT_TOKEN_TTL_SECONDS]:
                del _tokens[stale]
            seen = _tokens.get(key)
        if seen is not None:
            if seen[0] != digest:
                raise DynamodbException(
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                )
            from moto.core.responses import ActionResult

            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
        result = original(self)
        with _tokens_lock:
            _tokens[key] = (digest, now)
        return result

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


#: Whether ConsumedCapacity is sized (the local stack); in-process harnesses that price requests
#: themselves or never read it (the unit tests, ``bench.cost``'s meter) turn it off and get moto's.
SIZE_CAPACITY = True

#: The DynamoDB handler's methods whose ConsumedCapacity is answered, by operation; and the operations
#: that answer a list (one entry per table).
_CAPACITY_METHODS = {
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
    "BatchWriteItem": "batch_write_item",
    "TransactWriteItems": "transact_write_items",
    "GetItem": "get_item",
    "BatchGetItem": "batch_get_item",
    "Query": "query",
    "Scan": "scan",
}
_PER_TABLE = ("BatchWriteItem", "TransactWriteItems", "BatchGetItem")


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    """An item of moto's answer (its attributes as moto's DynamoType) in DynamoDB's typed form."""
    return {k: v.to_regular_json() if hasattr(v, "to_regular_json") else v for k, v in item.items()}


def _consumed(
    handler: Any, original: Any, operation: str, *, indexes: bool
) -> tuple[Any, list[dict[str, Any]]]:
    """Run the handler's request; its answer and the ConsumedCapacity entries DynamoDB would give."""
    from infra.local import capacity

    source = capacity.BackendSource(handler.dynamodb_backend)
    body = handler.body
    if operation in capacity.WRITES:
        targets = capacity.write_targets(operation, body, source)
        before = [source.get(name, key) for name, _, key, _ in targets]
        result = original(handler)
        tables = capacity.write_capacity(source, targets, before, succeeded=True)
        return result, [capacity.entry(t, parts, write=True, indexes=indexes) for t, parts in tables.items()]
    if operation in ("GetItem", "BatchGetItem"):
        result = original(handler)
        asked = (
            {body["TableName"]: {**body, "Keys": [body["Key"]]}}
            if operation == "GetItem"
            else body["RequestItems"]
        )
        left = (result.result.get("UnprocessedKeys") or {}) if operation == "BatchGetItem" else {}
        entries = []
        for name, ask in asked.items():
            keys = [k for k in ask["Keys"] if k not in (left.get(name) or {}).get("Keys", [])]
            units = capacity.point_capacity(source, name, keys, consistent=bool(ask.get("ConsistentRead")))
            entries.append(capacity.entry(name, {None: units}, write=False, indexes=indexes))
        return result, entries
    trimmed = capacity.TRIMMING & body.keys()
    evaluated = None
    if trimmed:  # DynamoDB charges what it evaluated: the same request without what only trims it
        handler.body = capacity.untrimmed(body, set(trimmed))
        try:
            evaluated = original(handler).result.get("Items") or []
        finally:
            handler.body = body
    result = original(handler)
    items = [_typed(i) for i in (evaluated if evaluated is not None else result.result.get("Items") or [])]
    parts = capacity.range_capacity(body, items)
    return result, [capacity.entry(body["TableName"], parts, write=False, indexes=indexes)]


def _answer_consumed_capacity() -> None:
    from moto.dynamodb.responses import DynamoHandler

    from infra.local.aws import MOTO_LOCK

    for operation, method in _CAPACITY_METHODS.items():
        original = getattr(DynamoHandler, method)

        def answered(self: Any, _original: Any = original, _operation: str = operation) -> Any:
            wanted = self.body.get("ReturnConsumedCapacity", "NONE")
            if wanted not in ("TOTAL", "INDEXES") or not SIZE_CAPACITY:
                return _original(self)
            with MOTO_LOCK:
                result, entries = _consumed(self, _original, _operation, indexes=wanted == "INDEXES")
            result.result["ConsumedCapacity"] = entries if _operation in _PER_TABLE else entries[0]
            return result

        setattr(DynamoHandler, method, answered)


#: DynamoDB's item operations, whose answers moto builds as the JSON the wire carries.
_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _answer_items_as_json() -> None:
    """moto writes every answer by walking the operation's output shape in botocore's model, member by
    member (a fifth of the CPU of a test that talks to DynamoDB); an item operation's answer is
    already the wire's JSON (attribute values as ``{type: text}``), so it is written with
    :func:`json.dumps`. An answer holding anything JSON has no text for (a binary attribute's bytes,
    a date) still takes moto's way, which encodes them; so do errors and every other operation."""
    import json

    from moto import settings
    from moto.dynamodb.responses import DynamoResult

    shaped = DynamoResult.execute_result

    def _refuse(value: Any) -> Any:
        raise TypeError(type(value).__name__)

    def execute_result(self: Any, context: Any) -> Any:
        if (
            isinstance(self.result, dict)
            and context.operation_model.name in _ITEM_OPERATIONS
            and not settings.PRETTIFY_RESPONSES
        ):
            members = context.operation_model.output_shape.members
            # what the output shape names (moto adds a legacy ConsumedCapacityUnits to DeleteItem's)
            answer = {k: v for k, v in self.result.items() if k in members and v is not None}
            try:
                body = json.dumps(answer, default=_refuse, allow_nan=False)
            except (TypeError, ValueError):
                pass
            else:
                version = context.service_model.metadata.get("jsonVersion", "1.0")
                return 200, {"Content-Type": f"application/x-amz-json-{version}"}, body
        return shaped(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def install_moto_patches() -> None:
    global _installed  # noqa: PLW0603
    if _installed:
        return
    _remember_endpoint_prefixes()
    _list_moto_modules_once()
    from moto.dynamodb.models import DynamoDBBackend

    from infra.local import gsi_lag, query_index, vectors, wake

    vectors.install()
    _parse_json_templates_as_json()
    _answer_items_as_json()

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _check_then_apply(self, transact_items)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _honour_client_request_tokens()
    _answer_consumed_capacity()

    from infra.local import conflicts

    def refused_while_held(name: str, key_of: Any) -> None:
        original_write = getattr(DynamoDBBackend, name)

        def write(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            if conflicts.on():
                table = self.get_table(table_name)
                conflicts.single_item_write(table, key_of(table, args[0] if args else None, kwargs))
            return original_write(self, table_name, *args, **kwargs)

        setattr(DynamoDBBackend, name, write)

    def attrs_key(table: Any, first: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        attrs = first if first is not None else kwargs["item_attrs"]
        return {k: attrs[k] for k in (table.hash_key_attr, table.range_key_attr) if k is not None}

    refused_while_held("put_item", attrs_key)
    refused_while_held("update_item", lambda t, first, kw: first if first is not None else kw["key"])
    refused_while_held("delete_item", lambda t, first, kw: first if first is not None else kw["key"])

    from moto.dynamodb.models.table import StreamRecord, StreamShard

    def add(self: Any, old: Any, new: Any) -> None:
        view = self.table.stream_specification["StreamViewType"]
        event_name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
        seq = len(self.items) + self.starting_sequence_number
        self.items.append(StreamRecord(self.table, view, event_name, old, new, seq))
        query_index.changed(self.table, old, new)
        gsi_lag.changed(self.table, old, new)
        wake.notify("stream")  # the stream's pollers deliver it now, as Lambda's mapping would

    StreamShard.add = add  # type: ignore[method-assign]

    from moto.sqs.models import SQSBackend

    for name in ("send_message", "send_message_batch"):
        original_send = getattr(SQSBackend, name)

        def sent(
            self: Any, queue_name: str, *args: Any, _original: Any = original_send, **kwargs: Any
        ) -> Any:
            result = _original(self, queue_name, *args, **kwargs)
            wake.notify(wake.queue_channel(queue_name))  # only that queue's poller looks
            return result

        setattr(SQSBackend, name, sent)
    original_receive = SQSBackend.receive_message

    def receive_message(  # noqa: PLR0917 (moto's own signature: it passes them by position)
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return list(
                original_receive(
                    self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names
                )
            )
        from moto.core.utils import unix_time

        deadline = unix_time() + wait_seconds_timeout
        while True:
            got = _receive_fifo(self, queue, count, visibility_timeout, message_attribute_names or [])
            if got or not wait_seconds_timeout or unix_time() > deadline:
                return got
            queue.wait_for_messages(1)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    query_index.install()

    import json

    from moto.iam.models import Role

    original_put_policy = Role.put_policy

    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        text = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)
        original_put_policy(self, policy_name, text)

    Role.put_policy = put_policy  # type: ignore[method-assign]
    _installed = True


def _receive_fifo(
    backend: Any, queue: Any, count: int, visibility_timeout: int, attribute_names: list[str]
) -> list[Any]:
    """Up to ``count`` messages of a FIFO queue as SQS hands them out: each group's in order, none of
    a group while one of its messages is in flight (or waits out its delay)."""
    from copy import deepcopy

    from moto.sqs.models import _filter_message_attributes

    for message in list(queue.pending_messages):
        if message.visible:  # its visibility timeout passed: no longer in flight
            queue.pending_messages.remove(message)
    held = {m.group_id for m in queue.pending_messages}
    redrive = queue.redrive_policy if queue.dead_letter_queue is not None else None
    result: list[Any] = []
    to_dead_letters: list[Any] = []
    for message in list(queue._messages):
        group = message.group_id
        if group in held:
            continue
        if not message.visible or message.delayed:
            held.add(group)  # nothing behind it in its group goes first
            continue
        if redrive and message.approximate_receive_count >= redrive["maxReceiveCount"]:
            to_dead_letters.append(message)
            continue
        if not backend.is_message_valid_based_on_retention_period(queue.name, message):
            held.add(group)
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        copied = deepcopy(message)  # as moto does: the caller's copy, its attributes filtered
        _filter_message_attributes(copied, attribute_names)
        result.append(copied)
        if len(result) >= count:
            break
    for message in to_dead_letters:
        queue._messages.remove(message)
        queue.dead_letter_queue.add_message(message)
    return result


def _check_then_apply(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    from infra.local import conflicts

    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    idents: list[tuple[str, str]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        table = backend.get_table(table_name)
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        ident = (str(table_name), str(dict(sorted(key.items()))))
        if ident in seen:
            raise MultipleTransactionsException()
        seen.add(ident)
        idents.append(conflicts.item_ident(table, key))
        current = backend.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            expr = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not expr.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
                continue
        errors.append((None, None, None))
        plan.append((op_type, table_name, key, op))
    if conflicts.on() and any(busy := conflicts.held(idents)):
        # Another transaction holds one of the items (AWS-strict ``conflicts``): cancelled, as
        # DynamoDB cancels it, whatever the conditions say.
        conflicts.count_raised()
        raise TransactionCanceledException(
            [
                ("TransactionConflict", conflicts.CONFLICT_MESSAGE, None) if b else (None, None, None)
                for b in busy
            ]
        )
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    with conflicts.applying():
        _apply_atomically(backend, plan, TransactionCanceledException)
    if conflicts.on():
        conflicts.committing(idents)


def _apply_atomically(
    backend: Any, plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]], cancelled: Any
) -> None:
    """Apply the planned writes; if one fails, put every touched item (and stream) back as it was."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    from infra.local import query_index

    undo: list[tuple[Any, Any, Any, Any, int | None]] = []
    for index, (op_type, table_name, key, op) in enumerate(plan):
        table = backend.get_table(table_name)
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        bucket = table.items.get(hash_value)
        old = (bucket or {}).get(range_value) if range_value is not None else bucket
        shard = table.stream_shard
        undo.append((table, hash_value, range_value, old, len(shard.items) if shard is not None else None))
        try:
            if op_type == "Put":
                backend.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                backend.delete_item(table_name, key)
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
        except Exception as exc:
            for t, hv, rv, previous, shard_len in reversed(undo):
                if rv is not None:
                    if previous is None:
                        t.items.get(hv, {}).pop(rv, None)
                    else:
                        t.items[hv][rv] = previous
                elif previous is None:
                    t.items.pop(hv, None)
                else:
                    t.items[hv] = previous
                if shard_len is not None and t.stream_shard is not None:
                    del t.stream_shard.items[shard_len:]
                query_index.forget(t)  # restored behind the shard's back
            reasons: list[tuple[str | None, str | None, None]] = [(None, None, None)] * len(plan)
            reasons[index] = (type(exc).__name__, str(exc), None)
            raise cancelled(reasons) from exc


#: AWS-strict ``ttl``: DynamoDB deletes an expired item "within a few days"; each item waits from
#: one to three days past its expiry (its own, fixed by its key), so a run never sees it go.
STRICT_TTL_DELAY = (86_400.0, 3 * 86_400.0)


def ttl_delay(key: str) -> float:
    """How long past its expiry an item stays under AWS-strict ``ttl`` (0 otherwise)."""
    from infra.local import strict

    if not strict.current().on("ttl"):
        return 0.0
    import hashlib

    low, high = STRICT_TTL_DELAY
    fraction = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2**32
    return low + (high - low) * fraction


def expire_ttl_items(now: float | None = None) -> int:
    """Delete items whose TTL attribute is in the past (past it by :func:`ttl_delay`), in every moto
    DynamoDB table; returns how many. Runs against moto's backend directly (no API call, so no Scan
    request)."""
    from moto.dynamodb.models import dynamodb_backends

    from infra.local import conflicts

    cutoff = time.time() if now is None else now
    removed = 0
    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            for table in list(backend.tables.values()):
                ttl = (
                    (table.ttl or {}).get("AttributeName")
                    if table.ttl.get("TimeToLiveStatus") == "ENABLED"
                    else None
                )
                if not ttl:
                    continue
                for item in list(table.all_items()):
                    value = item.attrs.get(ttl)
                    if value is None or value.type != "N" or float(value.value) >= cutoff:
                        continue
                    key = {table.hash_key_attr: item.hash_key.to_json()}
                    if table.range_key_attr and item.range_key is not None:
                        key[table.range_key_attr] = item.range_key.to_json()
                    if float(value.value) + ttl_delay(repr(sorted(key.items()))) >= cutoff:
                        continue
                    with conflicts.applying():
                        backend.delete_item(table.name, key)
                    removed += 1
    return removed
