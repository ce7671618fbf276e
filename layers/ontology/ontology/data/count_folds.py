"""Counts folded into their documents: what a listed document shows of its counters, read with it.

A counted property (:mod:`ontology.data.counters`) is its document's stored part plus its shards: a
document read by its id reads them (one consistent Query per counter), exactly. A page of documents
would read one counter per counted document on it, more than the page itself costs. So the
table's stream folds each counter into its document: the search aggregator, given a counter shard's
change, sets that shard's value in the document's fold (``cnt``, a map: counter name → shard → the
shard's total), and a document **listed through an index** (a page: its index copy carries the fold)
shows each of its own counts as stored part + the fold's shards, reading nothing more.

- **Exact once the stream has caught up**, like the counts of connections: a shard's records reach
  the aggregator in order, one batch at a time, and each sets the shard's own slot to its newest
  value (no read, no sum): slots never go back, whichever batch lands first.
- **A document's write carries its fold on**: a new counted entity is put with an empty fold, and a
  mutation that writes a document puts back the fold it read, on condition that no fold was written
  since (each adds 1 to ``cnv``): one that was makes the mutation run again, as any conflict does. A
  document with no fold (written before folds, or read by a mutation before its fold was built) is
  listed with its counters read, as before, until the next change of one builds its fold whole
  (every shard of every own counter, read at once), put only where still none is, on the document
  as it was read.
- **No conditions among folds**: a fold sets its slots with no condition (a document without a fold,
  or gone, makes the path invalid and nothing is written), so the folds of one document from several
  stream shards (each shard's records a batch at a time, up to one batch a second) never conflict. A
  16-shard counter spread over 16 stream shards folds its document at most 16 times a second: about
  16 WCU/s on each partition holding a copy of it, far within a partition's 1,000.
- A page a subscription holds re-runs when a fold changes its document (a write of the item, seen by
  the invalidator as any other), at most once per stream batch, not once per counted call.
- A counter kept on another document (a recording's ``messageCount`` is its livestream's) is read.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ontology.data.counters import COUNT_MARK, COUNTED, COUNTER_TB, counter_pk, own_counts
from ontology.data.dynamodb import deserialize
from ontology.data.keys import DOC_SK

if TYPE_CHECKING:
    from ontology.data.dynamodb import Store

__all__ = ["FOLD", "FOLDED", "FOLD_VERSION", "FoldError", "carry", "fold", "listing", "note", "stamp"]

#: The document item's attribute holding its fold (copied into every index that projects it).
FOLD = "cnt"
#: The fold's version: every fold write adds 1, and a write of the document carrying the fold it
#: read is conditioned on it (a fold written meanwhile makes the mutation run again).
FOLD_VERSION = "cnv"
#: The counters that are folded: a document's own (not another document's, like a recording's).
FOLDED = frozenset(c.name for counted in COUNTED.values() for c in counted if c.of is None)
#: Tries at a document's fold that lose to writes of the document before the batch fails (Lambda
#: then hands it over again, from its first record: nothing is skipped).
ATTEMPTS = 3

Slots = dict[str, dict[str, dict[str, int]]]


class FoldError(RuntimeError):
    """A document's fold could not be written: the batch is retried."""


def _changed(records: Sequence[Mapping[str, Any]]) -> Slots:
    """Each folded counter shard the records change, by document item: its newest total."""
    slots: Slots = {}
    for record in records:
        change = record.get("dynamodb") or {}
        keys = deserialize(dict(change.get("Keys") or {}))
        pk, sk = keys.get("pk"), keys.get("sk")
        if not isinstance(pk, str) or COUNT_MARK not in pk or not isinstance(sk, str):
            continue
        new = deserialize(dict(change["NewImage"])) if change.get("NewImage") else {}
        old = deserialize(dict(change["OldImage"])) if change.get("OldImage") else {}
        if (new or old).get("tb") != COUNTER_TB:
            continue
        doc_pk, name = pk.split(COUNT_MARK, 1)
        if name in FOLDED:
            slots.setdefault(doc_pk, {}).setdefault(name, {})[sk] = int(new.get("n", 0))
    return slots


def fold(records: Sequence[Mapping[str, Any]], store: Store) -> int:
    """Fold the counter shards a stream batch changed into their documents; how many documents'
    folds were written. Idempotent: the same records again set the same slots."""
    written = 0
    for doc_pk, changed in sorted(_changed(records).items()):
        if _fold_one(store, doc_pk, changed):
            written += 1
    return written


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _fold_one(store: Store, doc_pk: str, changed: dict[str, dict[str, int]]) -> bool:
    """Set the changed slots in the document's fold, building the fold first where it has none."""
    for _ in range(ATTEMPTS):
        if _set_slots(store, doc_pk, changed):
            return True
        item = store.get(doc_pk, DOC_SK, consistent=True)
        if item is None:
            return False  # deleted: nothing to fold into
        if FOLD in item:
            continue  # built meanwhile: set the slots in it
        if _build(store, item):
            return True  # built from the shards as they are now: the changed slots included
    raise FoldError(f"the count fold of {doc_pk} kept losing to writes of the document")


def _set_slots(store: Store, doc_pk: str, changed: dict[str, dict[str, int]]) -> bool:
    """The changed slots set in the document's fold (no read: each is the shard's newest total), with
    no condition: folds from several stream shards never conflict, and a document without a fold (or
    gone) makes the path invalid, so nothing is written; False then."""
    names: dict[str, str] = {"#f": FOLD, "#fv": FOLD_VERSION}
    values: dict[str, Any] = {":one": {"N": "1"}}
    sets: list[str] = []
    for i, (name, shards) in enumerate(sorted(changed.items())):
        names[f"#c{i}"] = name
        for j, (shard, total) in enumerate(sorted(shards.items())):
            names[f"#s{i}_{j}"] = shard
            values[f":v{i}_{j}"] = {"N": str(total)}
            sets.append(f"#f.#c{i}.#s{i}_{j} = :v{i}_{j}")
    try:
        store.send(
            "UpdateItem",
            {
                "TableName": store.table_name,
                "Key": {"pk": {"S": doc_pk}, "sk": {"S": DOC_SK}},
                "UpdateExpression": "SET " + ", ".join(sets) + " ADD #fv :one",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
        )
    except Exception as exc:
        if _code(exc) == "ValidationException":
            return False  # no fold (or gone; or, built before its type had this counter, not this one)
        raise
    return True


def _typed(whole: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """A fold as DynamoDB's typed map."""
    return {
        "M": {
            name: {"M": {shard: {"N": str(int(n))} for shard, n in shards.items()}}
            for name, shards in whole.items()
        }
    }


def _build(store: Store, item: Mapping[str, Any]) -> bool:
    """The document's whole fold (every shard of each of its own counters, read now), put only if
    the document is still as read and has none; False when it is not."""
    from ontology.data import typed
    from ontology.data.counters import _read_shards

    doc = typed.decode(item["doc"])
    if item.get("tb") != "entities" or doc.get("type") not in COUNTED:
        return True  # nothing of it is folded
    scope, doc_id = str(item["pk"]).rsplit("#", 1)
    whole: dict[str, dict[str, int]] = {
        name: _read_shards(store, counter_pk(scope, doc_id, name), watch=False)
        for name in own_counts(str(doc["type"]))
    }
    try:
        store.send(
            "UpdateItem",
            {
                "TableName": store.table_name,
                "Key": {"pk": {"S": item["pk"]}, "sk": {"S": DOC_SK}},
                "UpdateExpression": "SET #f = :fold ADD #fv :one",
                "ConditionExpression": "attribute_not_exists(#f) AND #v = :v",
                "ExpressionAttributeNames": {"#f": FOLD, "#fv": FOLD_VERSION, "#v": "v"},
                "ExpressionAttributeValues": {
                    ":fold": _typed(whole),
                    ":v": {"N": str(item["v"])},
                    ":one": {"N": "1"},
                },
            },
        )
    except Exception as exc:
        if _code(exc) == "ConditionalCheckFailedException":
            return False  # written (or folded) since it was read: read it again
        raise
    return True


# ------------------------------------------------------------------------------------ writing


def stamp(put: dict[str, Any], table_name: str, doc: Mapping[str, Any]) -> None:
    """A new counted entity's Put with its fold (every own counter empty: nothing counted yet), so
    it is listed without reading its counters from the start."""
    names = own_counts(str(doc.get("type"))) if table_name == "entities" else []
    if names:
        put["Item"][FOLD] = _typed({name: {} for name in names})
        put["Item"][FOLD_VERSION] = {"N": "0"}


def carry(put: dict[str, Any], read: tuple[Any, int] | None) -> None:
    """A document's Put (conditioned on its version) with the fold it was read with, on condition
    that no fold was written since; without one (none was read) the Put drops any fold built since,
    and the next change of a counter builds it again."""
    if read is None:
        return
    fold_, version = read
    put["Item"][FOLD] = _typed(fold_)
    put["Item"][FOLD_VERSION] = {"N": str(version)}
    put["ConditionExpression"] += " AND #fv = :fv"
    put["ExpressionAttributeNames"]["#fv"] = FOLD_VERSION
    put["ExpressionAttributeValues"][":fv"] = {"N": str(version)}


# ------------------------------------------------------------------------------------ reading

_seen: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("count_folds", default=None)


@contextlib.contextmanager
def listing() -> Iterator[dict[str, Any]]:
    """The folds of the documents a query lists in the block (by document id), for
    :func:`ontology.data.counters.fill`."""
    seen: dict[str, Any] = {}
    token = _seen.set(seen)
    try:
        yield seen
    finally:
        _seen.reset(token)


def note(item: Mapping[str, Any]) -> None:
    """A page's item read: its fold, if it has one, kept for the query's result."""
    fold_ = item.get(FOLD)
    seen = _seen.get()
    if fold_ is not None and seen is not None:
        seen[str(item["pk"]).rsplit("#", 1)[1]] = fold_
