"""The Data page's documents: an organization's documents of one table read through one of its
indexes, equal to given values of a prefix of the index's fields, newest first (or oldest), a page at
a time, with the layer's query builder: a Query of the index's partition, never a Scan. Entities come
as a function returns them (their counted properties filled from their counters)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ontology.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from ontology.data.indexes import Index
    from ontology.data.query import Query
    from ontology.data.schema import Table

__all__ = [
    "CURSOR_LIMIT",
    "NUMBER_FIELDS",
    "PAGE_DEFAULT",
    "PAGE_LIMIT",
    "default_index",
    "document",
    "documents",
    "filled",
    "located",
    "org_table",
    "reader",
    "table_of",
]

#: Index fields whose values are numbers (every other field's value is a string).
NUMBER_FIELDS = frozenset({"timestamp", "chunkIndex", "_creationTime"})
#: At most this many documents a page; this many when the page says nothing.
PAGE_LIMIT = 100
PAGE_DEFAULT = 20
#: A cursor's length at most (the layer's own bound).
CURSOR_LIMIT = 4096
#: The first page of each thing that hangs from an entity.
RELATED_PAGE = 10
#: A filter's value's length at most.
VALUE_LIMIT = 200
_INTEGER = re.compile(r"^-?\d{1,16}$")


def org_table(name: str | None, field: str = "table") -> Table:
    """The organization-scoped table ``name``; VALIDATION_ERROR (naming ``field``) for any other."""
    from ontology.data.schema import TABLES

    found = TABLES.get(name or "")
    if found is None:
        raise ValidationError(f"No table {name!r} (known: {', '.join(TABLES)})", field=field)
    if found.scope != "org":
        raise ValidationError(
            f"{found.name} is the platform's (every organization's rows): it is not browsed here", field=field
        )
    return found


def default_index(t: Table) -> Index | None:
    """The index a table is browsed by when none is named: every document by creation time, else
    the first index that needs no value."""
    return next((i for i in (*t.indexes, *t.virtual_indexes) if i.partition == 0), None)


def reader(organization: str) -> Any:
    from ontology.data.db import DatabaseReader

    return DatabaseReader(organization)


def filled(docs: Any, organization: str) -> Any:
    """Documents as a function returns them: an entity's counted properties with their counters."""
    from ontology.data import counters

    return counters.fill(docs, org=organization)


def _value(field: str, raw: str) -> Any:
    if field not in NUMBER_FIELDS:
        return raw
    if not _INTEGER.match(raw):
        raise ValidationError(f"{field} is a number", field=field)
    return int(raw)


def _browse_index(t: Table, name: str | None) -> Index:
    from ontology.data.indexes import SearchIndex, VectorIndex

    if name is None:
        found = default_index(t)
        if found is None:
            names = ", ".join(i.name for i in (*t.indexes, *t.virtual_indexes))
            raise ValidationError(f"{t.name} is read through one of its indexes ({names})", field="index")
        return found
    try:
        index = t.index(name)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="index") from None
    if isinstance(index, SearchIndex | VectorIndex):
        raise ValidationError(f"{name} is a search index: browse by another", field="index")
    return index


def _equalities(index: Index, given: Mapping[str, str]) -> list[tuple[str, Any]]:
    """The index's fields given, in order: a prefix of them (VALIDATION_ERROR naming the field
    otherwise), every field its partition needs among them."""
    for field in given:
        if field not in index.fields:
            known = ", ".join(index.fields) or "no field"
            raise ValidationError(f"index {index.name} filters on {known}, not {field!r}", field=field)
    eqs: list[tuple[str, Any]] = []
    for position, field in enumerate(index.fields):
        if field not in given:
            if position < index.partition:
                raise ValidationError(f"index {index.name} needs a value of {field}", field=field)
            later = next((f for f in index.fields[position:] if f in given), None)
            if later is not None:
                raise ValidationError(f"filter by {field} before {later} (index {index.name})", field=later)
            break
        eqs.append((field, _value(field, given[field])))
    return eqs


def _paged(query: Query, count: int, cursor: str | None) -> dict[str, Any]:
    try:
        page: dict[str, Any] = query.paginate({"numItems": count, "cursor": cursor})
    except ValidationError as exc:
        field = str(exc.data.get("field") or "")
        if field.startswith("paginationOpts."):
            raise ValidationError(exc.message, field=field.removeprefix("paginationOpts.")) from None
        raise
    return page


def documents(
    organization: str,
    table: str | None,
    *,
    index: str | None = None,
    filters: Mapping[str, str] | None = None,
    order: str | None = None,
    num_items: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of the organization's documents of ``table`` through ``index`` (its default when
    none), equal to ``filters`` on a prefix of its fields; VALIDATION_ERROR naming what is wrong."""
    t = org_table(table)
    chosen = _browse_index(t, index)
    given = {k: v for k, v in (filters or {}).items() if v != ""}
    for field, value in given.items():
        if len(value) > VALUE_LIMIT:
            raise ValidationError(f"{field} is at most {VALUE_LIMIT} characters", field=field)
    eqs = _equalities(chosen, given)
    order = order or "desc"
    if order not in ("asc", "desc"):
        raise ValidationError("order is asc or desc", field="order")
    count = PAGE_DEFAULT if num_items is None else num_items
    if not 1 <= count <= PAGE_LIMIT:
        raise ValidationError(f"numItems is from 1 to {PAGE_LIMIT}", field="numItems")

    def build(q: Any) -> Any:
        for field, value in eqs:
            q = q.eq(field, value)
        return q

    try:
        query = reader(organization).query(t.name).with_index(chosen.name, build).order(order)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=exc.data.get("field") or "index") from None
    if cursor is not None and len(cursor) > CURSOR_LIMIT:
        raise ValidationError("Invalid cursor", field="cursor")
    page = _paged(query, count, cursor or None)
    return {
        "table": t.name,
        "index": chosen.name,
        "filters": dict(eqs),
        "order": order,
        "page": filled(page["page"], organization),
        "isDone": page["isDone"],
        "continueCursor": page["continueCursor"],
    }


def _related(organization: str, table_name: str, index: str, field: str, value: str) -> dict[str, Any]:
    """The first page of a table's documents with ``field`` = ``value`` (newest first), and the
    ``documents`` query that reads on."""
    query = reader(organization).query(table_name).with_index(index, lambda q: q.eq(field, value))
    page = query.order("desc").paginate({"numItems": RELATED_PAGE, "cursor": None})
    return {
        "page": page["page"],
        "isDone": page["isDone"],
        "query": {"table": table_name, "index": index, field: value},
    }


def table_of(doc_id: str | None) -> Table:
    """The organization-scoped table an id is of; VALIDATION_ERROR (naming ``id``) otherwise."""
    from ontology.data.keys import table_of_id

    if doc_id is None:
        raise ValidationError("id is a document id", field="id")
    name = table_of_id(doc_id)
    if name is None:
        raise ValidationError(f"{doc_id!r} is not a document id", field="id")
    return org_table(name, field="id")


def located(organization: str, doc_id: str | None) -> tuple[Table, dict[str, Any]]:
    """The document ``doc_id`` of the organization and its table; NOT_FOUND when it has none."""
    t = table_of(doc_id)
    doc = reader(organization).get(str(doc_id), t.name, field="id")  # table_of refused None
    if doc is None:
        raise NotFoundError(f"No document {doc_id} in this organization", field="id")
    return t, doc


def document(organization: str, doc_id: str | None) -> dict[str, Any]:
    """A document as a function returns it; an entity with the first page (newest first) of what
    hangs from it: its connections either way, the events about it and its tags, each with the
    ``documents`` query that reads on."""
    t, doc = located(organization, doc_id)
    answer: dict[str, Any] = {"table": t.name, "document": filled(doc, organization)}
    if t.name == "entities":
        doc_id = doc["_id"]
        answer["related"] = {
            "connectionsFrom": _related(organization, "connections", "from_entity", "fromEntityId", doc_id),
            "connectionsTo": _related(organization, "connections", "to_entity", "toEntityId", doc_id),
            "events": _related(organization, "events", "by_target", "targetId", doc_id),
            "tags": _related(organization, "tags", "by_entity", "entityId", doc_id),
        }
    return answer
