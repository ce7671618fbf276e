"""Running mutations: buffer, commit once with TransactWriteItems, re-run on conflict.

A mutation's writes are buffered by :class:`~ontology.data.db.DatabaseWriter` and committed here in one
TransactWriteItems:

- every document written is a Put/Delete conditioned on the version it was read at (or on not
  existing, for an insert); every document only read is a ConditionCheck on its version (unless
  read with ``checked=False``, or with ``checked="existence"``: then a ConditionCheck that one of
  its tombstones does not exist, and a deletion puts them all: :mod:`ontology.data.tombstones`);
- every unique value claimed or released is a guard item Put/Delete in the same transaction, but a
  keyed rule's (a connection's, a tag's): its value is the document's key, so the document's own
  Put (on a key nothing holds) claims it and its Delete releases it; a document written before the
  rule was keyed releases its alias (and its guard, until migration 0011 is done) with a Delete;
- every counter the mutation adds to is an Update of one of its shards (:mod:`ontology.data.counters`);
- the request carries a ``ClientRequestToken`` of its own. When the outcome of a commit is unknown
  (a timeout, a dropped connection, a 5xx) the same request is sent again with the same token, at
  once: DynamoDB applies a request whose token it saw succeed within the last 10 minutes no second
  time and answers it as a success (the local stack does the same), so a mutation is applied exactly
  once, never twice, and no item is written to prove it.

A conflict (a version or guard condition failed, DynamoDB reported a transaction conflict, or the
mutation read one document at two versions: an index that had not caught up yet) re-runs the whole
mutation, as Convex does, up to ``mutation_max_attempts`` times with jittered exponential
backoff, then fails with CONFLICT. A mutation that would exceed the transaction limits (100 items,
4 MB) fails with TRANSACTION_TOO_LARGE before anything is sent.

Example::

    def rename(db):
        db.patch(entity_id, {"name": "New"})
        return {"success": True}

    run_mutation(rename, org="org_…")
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ontology.data import count_folds, tombstones, typed
from ontology.data.db import UNREAD, DatabaseReader, DatabaseWriter, StaleReadError, TxState
from ontology.data.dynamodb import Store, default_store, serialize
from ontology.data.keys import DOC_SK, GUARD_SK
from ontology.data.relation_counts import settle
from ontology.data.schema import PLATFORM_SCOPE, table
from ontology.data.search import IndexWrites
from ontology.data.visibility import PUBLIC_TABLE, pointer_changes
from ontology.errors import ConflictError, InternalError, TransactionTooLargeError, UpstreamError
from ontology.settings import get_settings

logger = logging.getLogger(__name__)

__all__ = ["MAX_TRANSACTION_BYTES", "MAX_TRANSACTION_ITEMS", "commit", "run_mutation", "run_query"]

T = TypeVar("T")

MAX_TRANSACTION_ITEMS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
#: How often an ambiguous commit is re-sent before giving up (with its outcome still unknown).
AMBIGUOUS_RESENDS = 3

_RETRYABLE_REASONS = {
    "ConditionalCheckFailed",
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
_TRANSIENT_ERRORS = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "InternalServerError",
    "ServiceUnavailable",
}


class _RetryError(Exception):
    """Internal: the mutation must run again on fresh reads. ``conflict`` is False when the cause was
    not a conflict (the store cancelled for another, presumably transient, reason)."""

    def __init__(self, conflict: bool = True) -> None:
        super().__init__()
        self.conflict = conflict


def _doc_attrs(tx_scope: str, doc_id: str, full: dict[str, Any], version: int, where: Any) -> dict[str, Any]:
    t, scope = where
    body = {k: v for k, v in full.items() if k not in ("_id", "_creationTime")}
    attrs: dict[str, Any] = {
        "pk": f"{scope}#{doc_id}",
        "sk": DOC_SK,
        "tb": t.name,
        "ct": full["_creationTime"],
        "v": version,
        "doc": typed.encode(body),
    }
    for idx in t.indexes:
        if idx.holds(full):
            attrs[idx.pk_attr], attrs[idx.sk_attr] = idx.keys_for(scope, t.name, full)
    if t.ttl_field and isinstance(full.get(t.ttl_field), int | float):
        # DynamoDB's TTL deletes the item some time after this (ms → a datetime for PynamoDB)
        attrs["ttl"] = datetime.fromtimestamp(full[t.ttl_field] / 1000, tz=UTC)
    return attrs


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def build_transaction(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The TransactItems for a mutation's state."""
    items: list[dict[str, Any]] = []
    written: set[str] = set()
    for doc_id, full in tx.docs.items():
        t, scope = tx.where[doc_id]
        pk = f"{scope}#{doc_id}"
        written.add(pk)
        read_v = tx.reads.get(pk)
        if full is None and doc_id in tx.inserted:
            continue
        if full is None:
            items.append(
                {
                    "Delete": {
                        "TableName": table_name,
                        "Key": _key(pk, DOC_SK),
                        "ConditionExpression": "#v = :v",
                        "ExpressionAttributeNames": {"#v": "v"},
                        "ExpressionAttributeValues": {":v": {"N": str(read_v)}},
                    }
                }
            )
            if t.tombstones:  # a mutation that read it alive commits no more (ontology.data.tombstones)
                items.extend(tombstones.puts(pk, table_name))
            continue
        put: dict[str, Any] = {
            "TableName": table_name,
            "Item": serialize(
                _doc_attrs(tx.scope, doc_id, full, (read_v or 0) + 1, (t, scope)) | tx.stamps.get(doc_id, {})
            ),
        }
        if read_v:
            put["ConditionExpression"] = "#v = :v"
            put["ExpressionAttributeNames"] = {"#v": "v"}
            put["ExpressionAttributeValues"] = {":v": {"N": str(read_v)}}
            count_folds.carry(put, tx.folds.get(pk))
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
            count_folds.stamp(put, t.name, full)
        items.append({"Put": put})
    items.extend(_alias_drops(tx, table_name))
    written.update(tx.alias_drops)  # their reads, if any, are checked by the Deletes' own conditions
    for pk, version in tx.reads.items():
        if pk in written:
            continue
        check: dict[str, Any] = {"TableName": table_name, "Key": _key(pk, DOC_SK)}
        if version:
            check["ConditionExpression"] = "#v = :v"
            check["ExpressionAttributeNames"] = {"#v": "v"}
            check["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        else:
            check["ConditionExpression"] = "attribute_not_exists(pk)"
        items.append({"ConditionCheck": check})
    if tx.alive:  # documents read for their existence alone: their tombstones must not exist
        items.extend(tombstones.checks(tx, table_name, written | set(tx.reads)))
    items.extend(_guard_operations(tx, table_name))
    items.extend(_search_operations(tx, table_name))
    items.extend(_pointer_operations(tx, table_name))
    if tx.counters:
        from ontology.data.counters import operations

        items.extend(operations(tx, table_name))
    return items


def _alias_drops(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The aliases of deleted documents (written before their table's rule was keyed): each goes if
    it is still this document's (or is gone already)."""
    return [
        {
            "Delete": {
                "TableName": table_name,
                "Key": _key(pk, DOC_SK),
                "ConditionExpression": "attribute_not_exists(pk) OR #d = :held",
                "ExpressionAttributeNames": {"#d": "doc"},
                "ExpressionAttributeValues": {":held": {"S": json.dumps({"ref": holder})}},
            }
        }
        for pk, holder in tx.alias_drops.items()
    ]


def _guard_operations(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The guard items the mutation read (checked) or moved (put, deleted)."""
    items: list[dict[str, Any]] = []
    for gpk, entry in tx.guards.items():
        seen = entry["seen"]
        ref = entry["ref"]
        if seen is UNREAD:
            if ref == entry.get("holder"):
                continue
            cond = "attribute_not_exists(pk) OR #d = :held"
            held = entry["holder"]
        elif seen is None:
            cond, held = "attribute_not_exists(pk)", None
        else:
            cond, held = "#d = :held", seen
        op: dict[str, Any]
        if not entry.get("dirty") or (seen is not UNREAD and ref == seen):
            op_name, op = "ConditionCheck", {"Key": _key(gpk, GUARD_SK)}
        elif ref is None:
            op_name, op = "Delete", {"Key": _key(gpk, GUARD_SK)}
        else:
            op_name = "Put"
            op = {
                "Item": serialize(
                    {"pk": gpk, "sk": GUARD_SK, "tb": "_guard", "v": 1, "doc": json.dumps({"ref": ref})}
                )
            }
        op["TableName"] = table_name
        op["ConditionExpression"] = cond
        if held is not None:
            op["ExpressionAttributeNames"] = {"#d": "doc"}
            op["ExpressionAttributeValues"] = {":held": {"S": json.dumps({"ref": held})}}
        items.append({op_name: op})
    return items


def search_writes(tx: TxState) -> IndexWrites | None:
    """The full-text index entries the written documents move (ontology.data.search), if any."""
    writes = None
    for doc_id, full in tx.docs.items():
        t, scope = tx.where[doc_id]
        if not t.search_indexes or (full is None and doc_id in tx.inserted):
            continue
        writes = writes or IndexWrites()
        old = None if doc_id in tx.inserted else tx.seen.get(f"{scope}#{doc_id}")
        for idx in t.search_indexes:
            writes.add(idx, scope, t.name, old, full)
    return writes


def _search_operations(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The index entries' operations: those :func:`commit` resolved against the dictionary (only the
    terms new to the organization's index write their entry), or, unresolved, every entry."""
    writes = tx.search_writes if tx.search_writes is not None else search_writes(tx)
    if writes is None:
        return []
    tx.search_touched = writes.touched()
    return writes.operations(table_name)


def _pointer_operations(tx: TxState, table_name: str) -> list[dict[str, Any]]:
    """The public pointers the written entities gain or lose (ontology.data.visibility): an entity that
    becomes public gets its pointer (its id → its organization) in the same transaction, and loses it
    in the one that makes it stop being public."""
    ops: list[dict[str, Any]] = []
    touched: list[dict[str, Any]] = []
    for doc_id, full in tx.docs.items():
        t, scope = tx.where[doc_id]
        if t.name != "entities" or (full is None and doc_id in tx.inserted):
            continue
        old = None if doc_id in tx.inserted else tx.seen.get(f"{scope}#{doc_id}")
        change = pointer_changes(t.name, scope, old, full)
        if change is None:
            continue
        where = (table(PUBLIC_TABLE), PLATFORM_SCOPE)
        before, after = change
        if before is not None:
            touched.append(_doc_attrs(tx.scope, doc_id, before, 0, where))
        if after is None:
            ops.append(
                {"Delete": {"TableName": table_name, "Key": _key(f"{PLATFORM_SCOPE}#{doc_id}", DOC_SK)}}
            )
            continue
        attrs = _doc_attrs(tx.scope, doc_id, after, 1, where)
        touched.append(attrs)
        ops.append({"Put": {"TableName": table_name, "Item": serialize(attrs)}})
    tx.pointers_touched = touched
    return ops


def _check_limits(items: list[dict[str, Any]]) -> None:
    if len(items) > MAX_TRANSACTION_ITEMS:
        raise TransactionTooLargeError(
            f"this mutation reads or writes {len(items)} items; one transaction holds at most "
            f"{MAX_TRANSACTION_ITEMS}. Split the work across several mutations (from an action).",
            items=len(items),
            limit=MAX_TRANSACTION_ITEMS,
        )
    size = sum(len(json.dumps(i, separators=(",", ":"))) for i in items)
    if size > MAX_TRANSACTION_BYTES:
        raise TransactionTooLargeError(
            f"this mutation writes about {size} bytes; one transaction holds at most {MAX_TRANSACTION_BYTES}",
            bytes=size,
            limit=MAX_TRANSACTION_BYTES,
        )


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def commit(tx: TxState, store: Store) -> bool:
    """Commit a mutation's buffered state; True when something was written.

    Raises ``_RetryError`` on a conflict, TRANSACTION_TOO_LARGE before sending an oversized transaction.
    """
    if not (tx.docs or tx.alias_drops or tx.counters or any(g.get("dirty") for g in tx.guards.values())):
        return False  # read-only: the reads were consistent when made
    txid = str(uuid.uuid4())
    writes = search_writes(tx)
    if writes is not None:
        # which of its terms' dictionary entries the index already has: one consistent BatchGetItem
        writes.resolve(store.batch_get_items)
        tx.search_writes = writes
    items = build_transaction(tx, store.table_name)
    _check_limits(items)
    for attempt in range(AMBIGUOUS_RESENDS + 1):
        try:
            store.transact_write(items, token=txid)
            _record_writes(tx)
            return True
        except Exception as exc:
            code = _error_code(exc)
            if code == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]  # type: ignore[attr-defined]
                logger.debug("transaction cancelled", extra={"reasons": reasons})
                if "ValidationError" in reasons:
                    logger.error("transaction item rejected", extra={"reasons": reasons})
                    raise InternalError("The database rejected the write") from None
                conflict = all(r in _RETRYABLE_REASONS or r == "None" for r in reasons)
                raise _RetryError(conflict) from None
            if code in (
                "ValidationException",
                "IdempotentParameterMismatchException",
                "ResourceNotFoundException",
            ):
                logger.error("transaction rejected", exc_info=exc)
                raise InternalError("The database rejected the write") from None
            # Anything else (timeouts, dropped connections, 5xx, throttling): the outcome is unknown.
            # Re-send the same request with the same token: applied once, whichever attempt landed.
            logger.warning(
                "commit outcome unknown; re-sending",
                extra={"txid": txid, "error": code or type(exc).__name__},
            )
            time.sleep(min(0.05 * 2**attempt, 0.5))
    raise UpstreamError("The database did not confirm the write; its outcome is unknown")


def _record_writes(tx: TxState) -> None:
    """The committed items' keys, before and after, for whoever records writes (the sync protocol
    re-runs the writer's own subscriptions from them)."""
    from ontology.data.tracking import record_write

    for doc_id, full in tx.docs.items():
        t, scope = tx.where[doc_id]
        pk = f"{scope}#{doc_id}"
        for doc in (tx.seen.get(pk), full):
            attrs: dict[str, Any] = {"pk": pk, "sk": DOC_SK}
            if doc is not None:
                for idx in t.indexes:
                    if idx.holds(doc):
                        attrs[idx.pk_attr], attrs[idx.sk_attr] = idx.keys_for(scope, t.name, doc)
            record_write(attrs)
    for gpk, entry in tx.guards.items():
        if entry.get("dirty"):
            record_write({"pk": gpk, "sk": GUARD_SK})
    for pk in tx.alias_drops:
        record_write({"pk": pk, "sk": DOC_SK})
    for attrs in (*tx.search_touched, *tx.pointers_touched):
        record_write(attrs)
    for pk, sk in tx.counters:
        record_write({"pk": pk, "sk": sk})


def run_mutation(
    fn: Callable[[DatabaseWriter], T],
    *,
    org: str | None,
    platform: bool = False,
    store: Store | None = None,
    max_attempts: int | None = None,
) -> T:
    """Run ``fn(db)`` as one transaction, re-running it on conflict; returns its result.

    ``fn`` may run more than once: keep side effects other than ``db`` writes out of it (schedule
    them, or use an action).
    """
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

    st = store or default_store()
    attempts = max_attempts or get_settings().mutation_max_attempts
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.01, max=1.0),
        retry=retry_if_exception_type(_RetryError),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                tx = TxState(org or "platform")
                db = DatabaseWriter(org, store=st, platform=platform, tx=tx)
                try:
                    result = fn(db)
                    settle(db)  # the counts its writes move (ontology.data.relation_counts)
                except StaleReadError:
                    raise _RetryError() from None  # its reads disagreed: run it again on fresh ones
                commit(tx, st)
                return result
    except _RetryError as last:
        if not last.conflict:
            raise UpstreamError("The database kept cancelling the write; nothing was written") from None
        raise ConflictError(
            f"the data this mutation read kept changing; gave up after {attempts} attempts", attempts=attempts
        ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def run_query(
    fn: Callable[[DatabaseReader], T], *, org: str | None, platform: bool = False, store: Store | None = None
) -> T:
    """Run ``fn(db)`` with a read-only database (it has no write methods)."""
    return fn(DatabaseReader(org, store=store or default_store(), platform=platform))
