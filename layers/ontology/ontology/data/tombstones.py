"""Tombstones: reading a document for its existence alone, without conflicting on its item.

A mutation's commit is conditioned on the version of every document it read (a ``ConditionCheck``
of the item), so that it commits only if what it read is still so: Convex's serializability. A
document that many concurrent mutations read and none writes — the creator a thousand fans follow
at once, each ``connections:create`` reading both ends — then becomes an item that every one of
those transactions names, and one item takes only so many transactions a second before they
conflict with one another (docs/cost.md, "Hot keys"). Yet such a mutation depends on less than
the version: ``connections:create`` only needs its ends to *exist* (a connection to a deleted
entity must not commit), and any other change of them leaves its outcome as it was.

So a document may be read with ``checked="existence"`` (:meth:`ontology.data.db.DatabaseReader.get`,
``get_many``), for tables that declare ``tombstones`` (entities). The commit then conditions on
one of :data:`SHARDS` *tombstone* items of the document, ``<document pk>#gone`` with sort keys
``00`` … (``tb`` ``_tombstone``), not existing, picked at random; and every transaction that
deletes a document of such a table puts all its tombstones. Why this is enough:

- a deletion that commits before the reading mutation does: the reader's condition on its
  tombstone fails, the reader runs again and finds the document gone (NOT_FOUND, say);
- a deletion that commits after it: the reader is serialized first, as if it had run before the
  deletion started (Convex's order: the connection is made, then the entity deleted);
- the two at once: both transactions name the reader's tombstone item, so DynamoDB lets one of
  them through and cancels the other, which runs again: one of the two cases above;
- any other write of the document (a patch) changes nothing the reader depends on: the two commute.

A mutation that also reads the document checked, or writes it, is conditioned on its version as
before (which says more), and a document read as missing is conditioned on staying missing. Readers
of one document meet on one tombstone item ``1/SHARDS`` of the time: 40 follows a second of one
creator are 5 conditional checks a second per item. Reading for existence is only right where the
mutation uses nothing of the document that a patch could change (its id, and that it exists).

A tombstone is kept a day (DynamoDB's TTL deletes it some time after): far longer than any
mutation runs between its reads and its commit, and document ids are never used again.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ontology.data.dynamodb import serialize

if TYPE_CHECKING:
    from ontology.data.db import TxState

__all__ = ["KEEP_SECONDS", "SHARDS", "TOMBSTONE_TB", "checks", "pick", "puts", "tombstone_pk"]

TOMBSTONE_TB = "_tombstone"
#: Tombstones per deleted document (and per document, the items its existence readers spread over).
SHARDS = 8
#: How long a tombstone is kept.
KEEP_SECONDS = 86_400


def tombstone_pk(doc_pk: str) -> str:
    """The partition of a document's tombstones."""
    return f"{doc_pk}#gone"


def _shard(i: int) -> str:
    return f"{i:02d}"


def pick() -> str:
    """The tombstone a reader checks: one at random (spreading load, not a secret)."""
    return _shard(random.randrange(SHARDS))  # noqa: S311


def puts(doc_pk: str, table_name: str) -> list[dict[str, Any]]:
    """The ``Put`` of every tombstone of a document deleted by the transaction."""
    expires = datetime.fromtimestamp(time.time() + KEEP_SECONDS, tz=UTC)
    return [
        {
            "Put": {
                "TableName": table_name,
                "Item": serialize(
                    {"pk": tombstone_pk(doc_pk), "sk": _shard(i), "tb": TOMBSTONE_TB, "ttl": expires}
                ),
            }
        }
        for i in range(SHARDS)
    ]


def checks(tx: TxState, table_name: str, conditioned: set[str]) -> list[dict[str, Any]]:
    """A ``ConditionCheck`` that its tombstone does not exist for each document the mutation read
    for its existence alone (not those ``conditioned`` on their version or written already)."""
    return [
        {
            "ConditionCheck": {
                "TableName": table_name,
                "Key": {"pk": {"S": tombstone_pk(pk)}, "sk": {"S": shard}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for pk, shard in sorted(tx.alive.items())
        if pk not in conditioned
    ]
