"""The aggregates kept from the table's stream: the search index's (each term's document frequency
and each index's totals, :mod:`ontology.data.search`) and the counts of connections a stream record
says (a creator's followers and content, :func:`ontology.data.relation_counts.stream_adds`).

BM25 needs, per term, how many documents hold it (``df``, on the term's dictionary entry) and, per
index, how many documents it holds and their total length (``n``, ``len``, on its totals item). A
document's transaction writes none of them: the ``SearchAggregatorFunction`` reads the postings'
changes from the table's stream (a filter on ``tb`` = ``_posting``) and adds them up:

- a posting that appears adds 1 to its term's ``df``, one that disappears takes 1 away; the posting
  of a document's first term (``h``) counts the document and its length in the totals;
- a ``following`` connection inserted or deleted moves its target's ``followerCount``, an
  ``authored`` one inserted its source's ``contentCount`` (:mod:`ontology.data.relation_counts`):
  a batch adds to one shard of each counter (the same for the whole batch, picked from its first
  record), so 40 follows of one creator in a batch are one ``ADD``;
- a batch's changes are summed per item — one ``ADD`` per distinct term, one per totals item, one
  per counter — and written in TransactWriteItems of at most 100 items, each **chunk** with a *receipt*
  (``platform#search#receipt#<the chunk's first record's eventID>``, the last record it covers, a TTL
  of two days) put only if no receipt has that key.

**Exactly once**, although a stream delivers at least once: chunks are cut from the batch's records in
order and written in order, and the handler reports a failure only at a chunk's first record, so Lambda
retries from the start of a chunk that was not written (records before it are checkpointed) — or,
after a crash or a timeout, from the batch's first record. Either way a record that was written comes
back only at the start of a chunk it was written in: its receipt is there, the transaction is
cancelled, and the records up to the receipt's last one are skipped. The mapping does not bisect (a
bisection would start a retry inside a written chunk) and reads a shard with one batch at a time.

Before a batch's aggregates, the counter shards it changed are folded into their documents
(:mod:`ontology.data.count_folds`: idempotent, so a batch whose folds fail is retried from its first
record, and one retried from a later chunk folds its records again).

The aggregates trail the writes by the stream's delay (about a second): BM25 scores and the counts
may lag a write by that much; whether a document is found never depends on them.
"""

from __future__ import annotations

import logging
import random
import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from ontology.data import relation_counts
from ontology.data.count_folds import fold
from ontology.data.counters import COUNTER_TB, shards_of
from ontology.data.dynamodb import Store, default_store, deserialize
from ontology.data.search import (
    POSTING_TB,
    RECEIPT_PREFIX,
    SEARCH_TB,
    dictionary_pk,
    parse_list_pk,
    parse_posting_sk,
    totals_of,
)

logger = logging.getLogger(__name__)

__all__ = ["RECEIPT_PREFIX", "aggregate", "aggregate_handler", "changes"]

#: Items of one TransactWriteItems: the chunk's aggregates and its receipt.
MAX_ITEMS = 100
RECEIPT_SK = "R"
RECEIPT_TB = "_receipt"
#: A receipt outlives any redelivery: a record is retried for at most the mapping's record age.
RECEIPT_TTL_SECONDS = 2 * 86_400
MAX_ATTEMPTS = 8

_RETRYABLE = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionInProgressException",
}


class AggregateError(RuntimeError):
    """A chunk could not be written (it kept conflicting, or the table refused it)."""


#: An aggregate item: its key, its ``tb``, and what a change adds to its attributes.
Add = tuple[tuple[str, str], str, dict[str, int]]


class Change:
    """What one stream record changes: the aggregate items it adds to (a term's ``df`` and an index's
    totals; a counter's shard)."""

    __slots__ = ("adds", "event", "position")

    def __init__(self, position: int, event: str, adds: list[Add]) -> None:
        self.position, self.event, self.adds = position, event, adds

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [key for key, _, _ in self.adds]


def _counted(image: Mapping[str, Any] | None, sk: str) -> tuple[int, int, int]:
    """What a posting (as a stream image) counts: (df, documents, length)."""
    if not image:
        return 0, 0, 0
    item = deserialize(dict(image))
    if item.get("tb") != POSTING_TB:
        return 0, 0, 0
    if item.get("h") == 1:
        return 1, 1, parse_posting_sk(sk)[1]
    return 1, 0, 0


def changes(records: Sequence[Mapping[str, Any]]) -> list[Change]:
    """The records that change an aggregate, in order (a record that leaves every aggregate alone
    changes none). A batch's counters each take one shard, picked from its first record."""
    out: list[Change] = []
    seed = str((records[0].get("eventID") if records else "") or "")
    for position, record in enumerate(records):
        change = record.get("dynamodb") or {}
        adds = _posting_adds(change) + _count_adds(change, seed)
        if adds:
            event = str(record.get("eventID") or change.get("SequenceNumber") or "")
            out.append(Change(position, event, adds))
    return out


def _posting_adds(change: Mapping[str, Any]) -> list[Add]:
    keys = deserialize(dict(change.get("Keys") or {}))
    pk, sk = keys.get("pk"), keys.get("sk")
    parsed = parse_list_pk(pk) if isinstance(pk, str) else None
    if parsed is None or not isinstance(sk, str):
        return []
    before = _counted(change.get("OldImage"), sk)
    after = _counted(change.get("NewImage"), sk)
    df, n, length = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    if (df, n, length) == (0, 0, 0):
        return []
    base, term, _ = parsed
    return [
        ((dictionary_pk(base, term), term), SEARCH_TB, {"df": df}),
        (totals_of(base), SEARCH_TB, {"n": n, "len": length}),
    ]


def _count_adds(change: Mapping[str, Any], seed: str) -> list[Add]:
    out: list[Add] = []
    for pk, name, deltas in relation_counts.stream_adds(change):
        shard = zlib.crc32(f"{seed}|{pk}".encode()) % shards_of(name)
        out.append(((pk, f"{shard:02d}"), COUNTER_TB, deltas))
    return out


def _chunk(pending: Sequence[Change]) -> list[Change]:
    """The longest run from the start whose aggregates fit one transaction beside the receipt."""
    items: set[tuple[str, str]] = set()
    for i, c in enumerate(pending):
        grown = items | set(c.keys)
        if len(grown) > MAX_ITEMS - 1:
            return list(pending[:i])
        items = grown
    return list(pending)


def _operations(table: str, chunk: Sequence[Change], now: float) -> list[dict[str, Any]]:
    summed: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for c in chunk:
        for key, tb, deltas in c.adds:
            held = summed.setdefault(key, (tb, {}))[1]
            for attr, delta in deltas.items():
                held[attr] = held.get(attr, 0) + delta
    ops: list[dict[str, Any]] = []
    for (pk, sk), (tb, deltas) in sorted(summed.items()):
        moved = {attr: delta for attr, delta in deltas.items() if delta}
        if moved:
            ops.append(_add(table, pk, sk, tb, moved))
    if not ops:
        return []
    receipt = {
        "pk": {"S": RECEIPT_PREFIX + chunk[0].event},
        "sk": {"S": RECEIPT_SK},
        "tb": {"S": RECEIPT_TB},
        "last": {"S": chunk[-1].event},
        "ttl": {"N": str(int(now) + RECEIPT_TTL_SECONDS)},
    }
    ops.append(
        {
            "Put": {
                "TableName": table,
                "Item": receipt,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    )
    return ops


def _add(table: str, pk: str, sk: str, tb: str, deltas: dict[str, int]) -> dict[str, Any]:
    attrs = {f"a{i}": attr for i, attr in enumerate(deltas)}
    names = {"#tb": "tb", **{f"#{k}": attr for k, attr in attrs.items()}}
    values = {":tb": {"S": tb}, **{f":{k}": {"N": str(deltas[attr])} for k, attr in attrs.items()}}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "SET #tb = if_not_exists(#tb, :tb) ADD "
            + ", ".join(f"#{k} :{k}" for k in attrs),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _write(store: Store, chunk: Sequence[Change]) -> str | None:
    """Write one chunk: None when written (or nothing to write), else the last record (its event id)
    of the receipt found in its place: the chunk was written before, up to that record."""
    for attempt in range(MAX_ATTEMPTS):
        ops = _operations(store.table_name, chunk, time.time())
        if not ops:
            return None
        try:
            store.transact_write(ops)
            return None
        except Exception as exc:
            code = _code(exc)
            if code == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]  # type: ignore[attr-defined]
                if reasons and reasons[-1] == "ConditionalCheckFailed":
                    receipt = store.get(RECEIPT_PREFIX + chunk[0].event, RECEIPT_SK)
                    if receipt is not None:
                        return str(receipt.get("last", ""))
                elif not all(r in _RETRYABLE or r == "None" for r in reasons):
                    raise AggregateError(f"the table refused the aggregates: {', '.join(reasons)}") from None
            elif code in ("ValidationException", "ResourceNotFoundException", "AccessDeniedException"):
                raise AggregateError(f"the table refused the aggregates: {code}") from None
            # a conflict with a writer of the same items, throttling, or an outcome unknown (a
            # timeout): the same chunk again (if it was written, its receipt says so)
            time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))  # noqa: S311
    raise AggregateError(f"the aggregates of {len(chunk)} records kept conflicting")


def aggregate(records: Sequence[Mapping[str, Any]], store: Store | None = None) -> int | None:
    """Add a stream batch's changes to the aggregates, exactly once; answers the position of the
    first record not written (a chunk's first: retry from it), or None."""
    st = store or default_store()
    try:  # first: a retry of a batch whose folds failed starts at its first record, as it must
        fold(records, st)
    except Exception:
        logger.exception("counts not folded", extra={"records": len(records)})
        return 0 if records else None
    pending = changes(records)
    while pending:
        chunk = _chunk(pending)
        try:
            seen = _write(st, chunk)
        except Exception:
            logger.exception("aggregates not written", extra={"records": len(chunk)})
            return chunk[0].position
        if seen is None:
            pending = pending[len(chunk) :]
            continue
        # written before, up to the receipt's last record (which may lie past this batch)
        events = [c.event for c in pending]
        logger.info("aggregates already written", extra={"from": chunk[0].event, "to": seen})
        pending = pending[events.index(seen) + 1 :] if seen in events else []
    return None


def aggregate_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``SearchAggregatorFunction``: the table's stream (postings, connections) → the aggregates. A failure is
    reported at the first record of the chunk that was not written, from which Lambda retries."""
    records = list(event.get("Records", []))
    failed = aggregate(records)
    if failed is None:
        return {"batchItemFailures": []}
    sequence = str((records[failed].get("dynamodb") or {}).get("SequenceNumber") or "")
    return {"batchItemFailures": [{"itemIdentifier": sequence}]}
