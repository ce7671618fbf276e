"""The search index's aggregates, kept from the table's stream: each term's document frequency and
each index's totals (:mod:`ontology.data.search`).

BM25 needs, per term, how many documents hold it (``df``, on the term's dictionary entry) and, per
index, how many documents it holds and their total length (``n``, ``len``, on its totals item). A
document's transaction writes none of them: the ``SearchAggregatorFunction`` reads the postings'
changes from the table's stream (a filter on ``tb`` = ``_posting``) and adds them up:

- a posting that appears adds 1 to its term's ``df``, one that disappears takes 1 away; the posting
  of a document's first term (``h``) counts the document and its length in the totals;
- a batch's changes are summed per item — one ``ADD`` per distinct term, one per totals item — and
  written in TransactWriteItems of at most 100 items, each **chunk** with a *receipt*
  (``platform#search#receipt#<the chunk's first record's eventID>``, the last record it covers, a TTL
  of two days) put only if no receipt has that key.

**Exactly once**, although a stream delivers at least once: chunks are cut from the batch's records in
order and written in order, and the handler reports a failure only at a chunk's first record, so Lambda
retries from the start of a chunk that was not written (records before it are checkpointed) — or,
after a crash or a timeout, from the batch's first record. Either way a record that was written comes
back only at the start of a chunk it was written in: its receipt is there, the transaction is
cancelled, and the records up to the receipt's last one are skipped. The mapping does not bisect (a
bisection would start a retry inside a written chunk) and reads a shard with one batch at a time.

The aggregates trail the postings by the stream's delay (about a second): BM25 scores may lag a write
by that much; whether a document is found never depends on them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

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


class Change:
    """What one stream record changes: a term's ``df``, an index's totals."""

    __slots__ = ("df", "entry", "event", "length", "n", "position", "totals")

    def __init__(
        self,
        position: int,
        event: str,
        entry: tuple[str, str],
        totals: tuple[str, str],
        deltas: tuple[int, int, int],
    ) -> None:
        self.position, self.event, self.entry, self.totals = position, event, entry, totals
        self.df, self.n, self.length = deltas


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
    """The records that change an aggregate, in order (a record of anything but a posting, or that
    leaves what it counts alone, changes none)."""
    out: list[Change] = []
    for position, record in enumerate(records):
        change = record.get("dynamodb") or {}
        keys = deserialize(dict(change.get("Keys") or {}))
        pk, sk = keys.get("pk"), keys.get("sk")
        parsed = parse_list_pk(pk) if isinstance(pk, str) else None
        if parsed is None or not isinstance(sk, str):
            continue
        before = _counted(change.get("OldImage"), sk)
        after = _counted(change.get("NewImage"), sk)
        deltas = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
        if deltas == (0, 0, 0):
            continue
        base, term, _ = parsed
        event = str(record.get("eventID") or change.get("SequenceNumber") or "")
        out.append(Change(position, event, (dictionary_pk(base, term), term), totals_of(base), deltas))
    return out


def _chunk(pending: Sequence[Change]) -> list[Change]:
    """The longest run from the start whose aggregates fit one transaction beside the receipt."""
    items: set[tuple[str, str]] = set()
    for i, c in enumerate(pending):
        grown = items | {c.entry, c.totals}
        if len(grown) > MAX_ITEMS - 1:
            return list(pending[:i])
        items = grown
    return list(pending)


def _operations(table: str, chunk: Sequence[Change], now: float) -> list[dict[str, Any]]:
    df: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], list[int]] = {}
    for c in chunk:
        df[c.entry] = df.get(c.entry, 0) + c.df
        total = totals.setdefault(c.totals, [0, 0])
        total[0] += c.n
        total[1] += c.length
    ops: list[dict[str, Any]] = []
    for (pk, sk), delta in sorted(df.items()):
        if delta:
            ops.append(_add(table, pk, sk, {"df": delta}))
    for (pk, sk), (n, length) in sorted(totals.items()):
        if n or length:
            ops.append(_add(table, pk, sk, {"n": n, "len": length}))
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


def _add(table: str, pk: str, sk: str, deltas: dict[str, int]) -> dict[str, Any]:
    names = {"#tb": "tb", **{f"#{k}": k for k in deltas}}
    values = {":tb": {"S": SEARCH_TB}, **{f":{k}": {"N": str(v)} for k, v in deltas.items()}}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "SET #tb = if_not_exists(#tb, :tb) ADD "
            + ", ".join(f"#{k} :{k}" for k in deltas),
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
    """Add a stream batch's posting changes to the aggregates, exactly once; answers the position of
    the first record not written (a chunk's first: retry from it), or None."""
    st = store or default_store()
    pending = changes(records)
    while pending:
        chunk = _chunk(pending)
        try:
            seen = _write(st, chunk)
        except Exception:
            logger.exception("search aggregates not written", extra={"records": len(chunk)})
            return chunk[0].position
        if seen is None:
            pending = pending[len(chunk) :]
            continue
        # written before, up to the receipt's last record (which may lie past this batch)
        events = [c.event for c in pending]
        logger.info("search aggregates already written", extra={"from": chunk[0].event, "to": seen})
        pending = pending[events.index(seen) + 1 :] if seen in events else []
    return None


def aggregate_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``SearchAggregatorFunction``: the table's stream (postings only) → the aggregates. A failure is
    reported at the first record of the chunk that was not written, from which Lambda retries."""
    records = list(event.get("Records", []))
    failed = aggregate(records)
    if failed is None:
        return {"batchItemFailures": []}
    sequence = str((records[failed].get("dynamodb") or {}).get("SequenceNumber") or "")
    return {"batchItemFailures": [{"itemIdentifier": sequence}]}
