"""An organization's documents, read from its own index partitions (``one export``, ``one import``'s
empty check and ``--replace``, the scheduled backups), and where a snapshot is read and written.

:class:`SnapshotTarget` names the table (a :class:`~ontology.data.dynamodb.Store`), the files bucket
and its S3 client, and the organization.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ontology.data.schema import TABLES

__all__ = ["ORG_TABLES", "PARTITIONS", "SnapshotTarget", "org_documents", "org_items", "partition_items"]

#: The tables an organization's snapshot holds: the org-scoped ones (the reference's entities,
#: connections, events and tags, and the platform's knowledge), in the schema's order.
ORG_TABLES = tuple(name for name, t in TABLES.items() if t.scope == "org")


@dataclass
class SnapshotTarget:
    store: Any  # ontology.data.dynamodb.Store
    s3: Any  # a botocore S3 client
    bucket: str
    org: str
    where: str


#: How each table's documents of one organization are found in its own index partitions (never a
#: Scan of the table): ``(index, partition values)``; ``ENTITY`` stands for each of the organization's
#: entity ids (a connection is read from its ``fromEntityId``'s partition, a tag from its entity's).
ENTITY = object()
PARTITIONS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "entities": ("by_creation_time", ()),  # every entity, newest first, its shards merged
    "events": ("by_timestamp", ()),  # every event
    "knowledge": ("by_kind", ("label", "chunk")),  # KnowledgeDoc.kind's two values
    "connections": ("from_type", (ENTITY,)),
    "tags": ("by_entity", (ENTITY,)),
}
_PAGE = 500
missing = set(ORG_TABLES) - set(PARTITIONS)
if missing:  # a new organization table must say where its documents are found
    raise ValueError(f"no partitions to list the documents of {sorted(missing)}")


def partition_items(store: Any, org: str, name: str, index_name: str, value: Any) -> Iterator[dict[str, Any]]:
    """The document items of one partition of a table's index (every shard; ``org``: the scope, an
    organization or the platform's), page by page."""
    from ontology.data import layout
    from ontology.data.keys import DOC_SK
    from ontology.data.schema import table

    index = table(name).index(index_name)
    values = [] if value is None else [value]
    pk = index.partition_key(org, name, values)
    shards = index.shards_for(values)
    partitions = [index.sharded(pk, shard, shards) for shard in range(shards)]
    if shards > 1 and layout.unsharded_left(store, name, index_name):
        partitions.append(pk)  # written before the partition was sharded, until the migration moves them
    for partition in partitions:
        start: dict[str, Any] | None = None
        while True:
            items, start, _ = store.query(
                index=index.gsi_name,
                pk_attr=index.pk_attr,
                pk=partition,
                sk_attr=index.sk_attr,
                sk_condition=None,
                forward=True,
                limit=_PAGE,
                start_key=start,
            )
            for item in items:
                if item.get("sk") == DOC_SK and item.get("tb") == name:
                    yield item
            if not start:
                break


def org_items(store: Any, org: str, tables: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, stored item) of every document of ``tables`` in the organization, read from the
    organization's own index partitions (:data:`PARTITIONS`): Queries whose cost is the
    organization's documents, not the table's. Index reads are eventually consistent: a document
    written a moment before may not be listed yet. Only the organization's entity ids are held in
    memory (for the connections' and tags' partitions); items are yielded page by page."""
    entity_ids: list[str] = []
    by_entity = [name for name in tables if PARTITIONS[name][1] == (ENTITY,)]
    if "entities" in tables or by_entity:
        for item in partition_items(store, org, "entities", "by_creation_time", None):
            if by_entity:
                entity_ids.append(str(item["pk"]).rsplit("#", 1)[1])
            if "entities" in tables:
                yield "entities", item
    for name in tables:
        index_name, values = PARTITIONS[name]
        if name == "entities":
            continue
        if values == (ENTITY,):
            for entity_id in entity_ids:
                for item in partition_items(store, org, name, index_name, entity_id):
                    yield name, item
        else:
            for value in values or (None,):
                for item in partition_items(store, org, name, index_name, value):
                    yield name, item


def org_documents(store: Any, org: str, tables: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, document) of every document of ``tables`` in the organization (:func:`org_items`)."""
    from ontology.data.db import DatabaseReader

    for name, item in org_items(store, org, tables):
        yield name, DatabaseReader._to_doc(item)
