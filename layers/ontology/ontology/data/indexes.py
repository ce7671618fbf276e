"""Index declarations and their mapping onto the single table's overloaded GSIs.

Each table declares its indexes once (in :mod:`ontology.data.schema`). Every table also has the implicit
``by_creation_time`` index, as in Convex. Within a table, the indexes take GSI slots 1, 2, 3, … in
declaration order, so one GSI serves one index of each table ("overloaded"); the PynamoDB models, the
table in ``template.yaml`` and the access-pattern table of docs/data-model.md are all derived from this.

Key of a document in index ``I`` of table ``T`` in organization ``O`` (fields f1..fn, of which the
first ``partition`` form the partition):

- GSI partition key ``gNpk`` = ``O#T#I`` + ``#`` + enc(f1..fp)   (only when partition > 0), then
  ``#~<shard>`` where the partition is sharded (``shards``, ``value_shards``)
- GSI sort key ``gNsk``      = enc(fp+1..fn) + enc(_creationTime) + enc(_id)

with the order-preserving encoding of :mod:`ontology.data.keys`. A query must give ``eq`` on the partition
fields; ``eq`` on further fields becomes a ``begins_with`` on the sort key, and one range on the next
field a ``BETWEEN`` — so a range is always one contiguous run of one GSI partition.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ontology.data.keys import UNDEFINED, encode_value

__all__ = [
    "CREATION_TIME",
    "MAX_SEARCH_FILTER_FIELDS",
    "Index",
    "SearchIndex",
    "Unique",
    "VectorIndex",
    "get_path",
]

CREATION_TIME = "_creationTime"


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a document, or UNDEFINED."""
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return UNDEFINED
        cur = cur[part]
    return cur


@dataclass(frozen=True)
class Index:
    """A database index: ``fields`` in order; the first ``partition`` of them must be given with eq.

    ``slot`` is its GSI number (0: the table assigns the next free one). A slot is part of stored data:
    an index keeps its slot for good, and a removed index leaves its slot empty in its table.

    A ``sparse`` index holds only the documents whose partition fields are set (not undefined, not
    null): a document without them costs no index entry, and no partition gathers them all.

    A ``shards`` > 1 index spreads each of its partitions over that many GSI partitions (the document's
    id picks one): a partition every write of an organization lands on (newest first) stays under
    DynamoDB's per-partition limits. A query reads the shards together, merged in index order.
    ``value_shards`` does the same for the partitions of some values of the first field only (a type
    of document an organization writes many times a second, when its other values stay quiet):
    ``(("payment", 4),)`` spreads ``by_type``'s payment partition over 4 shards and no other.

    An index that ``merges`` another takes no GSI either: it has that index's fields but the last,
    and is read as the other index's partition merged over every value of that field (one stretch
    per value, found by skipping from one value to the next), so ``from_entity`` (an entity's
    connections, newest first) is read from ``from_type`` (by relationship type, then newest first).

    An index ``served_by`` another index of its table takes no GSI: its fields are that index's
    fields followed by further ones, which a query must fix with ``eq``; it reads the serving index's
    range and keeps the documents whose further fields are equal (a filter, with a filter's bound on
    the documents it examines). Declare one where its queries are rare or their matches dense, so
    that every write of the table does not pay for an index entry that few reads use.
    """

    name: str
    fields: tuple[str, ...]
    partition: int = 0
    description: str = ""
    slot: int = 0
    served_by: str = ""
    sparse: bool = False
    shards: int = 1
    merges: str = ""
    value_shards: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.partition <= len(self.fields):
            raise ValueError(f"index {self.name}: partition {self.partition} outside its fields")
        if self.value_shards and (not self.partition or any(n < 2 for _, n in self.value_shards)):
            raise ValueError(f"index {self.name}: value shards need a partition field and 2 shards or more")

    @property
    def sharded_anywhere(self) -> bool:
        """Whether some partition of the index is spread over shards."""
        return self.shards > 1 or bool(self.value_shards)

    def shards_for(self, partition_values: list[Any]) -> int:
        """How many shards the partition of these (partition field) values is spread over."""
        if self.value_shards and partition_values:
            first = partition_values[0]
            for value, n in self.value_shards:
                if first == value:
                    return n
        return self.shards

    @property
    def gsi_name(self) -> str:
        return f"gsi{self.slot}"

    @property
    def pk_attr(self) -> str:
        return f"g{self.slot}pk"

    @property
    def sk_attr(self) -> str:
        return f"g{self.slot}sk"

    @property
    def range_fields(self) -> tuple[str, ...]:
        """Fields a query may constrain, in order (the implicit creation time closes every index)."""
        return (*self.fields, CREATION_TIME)

    def values_of(self, doc: Mapping[str, Any]) -> list[Any]:
        return [get_path(doc, f) for f in self.fields]

    def holds(self, doc: Mapping[str, Any]) -> bool:
        """Whether the document has an entry in this index (a sparse index skips unset partitions)."""
        if not self.sparse:
            return True
        return all(get_path(doc, f) not in (UNDEFINED, None) for f in self.fields[: self.partition])

    def partition_key(self, scope: str, table: str, partition_values: list[Any]) -> str:
        head = f"{scope}#{table}#{self.name}"
        if not self.partition:
            return head
        encoded = "".join(
            encode_value(v, f) for v, f in zip(partition_values, self.fields[: self.partition], strict=True)
        )
        return f"{head}#{encoded}"

    def shard_of(self, doc_id: str, shards: int | None = None) -> int:
        """The shard of a document (of ``shards``: the index's own count by default): from its id's
        random part (an id's first characters are its time)."""
        return zlib.crc32(doc_id[-16:].encode()) % (shards or self.shards)

    def sharded(self, pk: str, shard: int, shards: int | None = None) -> str:
        """A shard's GSI partition key, from the index's partition key (of ``shards`` shards: the
        index's own count by default)."""
        return pk if (shards or self.shards) == 1 else f"{pk}#~{shard}"

    def keys_for(self, scope: str, table: str, doc: Mapping[str, Any]) -> tuple[str, str]:
        """(gsi pk, gsi sk) of a stored document (which carries ``_id`` and ``_creationTime``)."""
        values = self.values_of(doc)
        pk = self.partition_key(scope, table, values[: self.partition])
        shards = self.shards_for(values[: self.partition])
        if shards > 1:
            pk = self.sharded(pk, self.shard_of(doc["_id"], shards), shards)
        tail = values[self.partition :]
        sk = "".join(encode_value(v, f) for v, f in zip(tail, self.fields[self.partition :], strict=True))
        sk += encode_value(doc[CREATION_TIME], CREATION_TIME) + encode_value(doc["_id"], "_id")
        return pk, sk


@dataclass(frozen=True)
class SearchIndex(Index):
    """A full-text search index on one text field (Convex ``searchIndex``), with up to
    :data:`MAX_SEARCH_FILTER_FIELDS` filter fields for ``.eq``.

    It takes no GSI slot: its postings are items of their own, written in the document's transaction
    (:mod:`ontology.data.search`).
    """

    search_field: str = "name"
    filter_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.filter_fields) > MAX_SEARCH_FILTER_FIELDS:
            raise ValueError(f"search index {self.name}: at most {MAX_SEARCH_FILTER_FIELDS} filter fields")


#: Filter fields of one search index: the first one's values partition a term's postings into lists,
#: the others' are read off the postings (ontology.data.search).
MAX_SEARCH_FILTER_FIELDS = 3


@dataclass(frozen=True)
class VectorIndex(Index):
    """A vector index (Convex ``vectorIndex``): the vector field, its dimensions (2-4096; None: the
    platform's embedding dimensions, ``ONE_EMBEDDING_DIMENSIONS``, 1536 by default) and filter fields.

    It takes no GSI slot: the vectors are copied from the table's stream into S3 Vectors
    (:mod:`ontology.data.vectors`)."""

    vector_field: str = "embedding"
    filter_fields: tuple[str, ...] = ()
    declared_dimensions: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.declared_dimensions is not None and not 2 <= self.declared_dimensions <= 4096:
            raise ValueError(f"vector index {self.name}: dimensions from 2 to 4096")
        if len(self.filter_fields) > 16:
            raise ValueError(f"vector index {self.name}: at most 16 filter fields")

    @property
    def dimensions(self) -> int:
        if self.declared_dimensions is not None:
            return self.declared_dimensions
        from ontology.settings import get_settings

        return get_settings().embedding_dimensions


@dataclass(frozen=True)
class Unique:
    """A uniqueness rule, enforced by a guard item written in the same transaction as the document.

    ``when`` restricts the rule to some documents (e.g. creators only); ``normalize`` folds values
    (emails are compared case-insensitively).

    A ``keyed`` rule is enforced by the document's own key instead of a guard: a new document's id is
    derived from its value (:func:`ontology.data.keys.keyed_id`), so a second document with the
    value would land on the first one's key, which its insert's condition refuses. A keyed rule
    applies to every document of its table (no ``when``), its fields never change once written
    (a patch changing one is a VALIDATION_ERROR), and a table has at most one.
    """

    name: str
    fields: tuple[str, ...]
    when: Callable[[Mapping[str, Any]], bool] | None = None
    normalize: Callable[[Any], Any] | None = None
    message: str = ""
    keyed: bool = False

    def __post_init__(self) -> None:
        if self.keyed and self.when is not None:
            raise ValueError(f"unique rule {self.name}: a keyed rule applies to every document (no when)")

    def value_of(self, doc: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The guarded value of a document, or None when the rule does not apply to it."""
        if self.when is not None and not self.when(doc):
            return None
        values = []
        for f in self.fields:
            v = get_path(doc, f)
            if v is UNDEFINED or v is None:
                return None
            values.append(self.normalize(v) if self.normalize else v)
        return tuple(values)
