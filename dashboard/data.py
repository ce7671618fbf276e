"""The dashboard's Data page: the schema's tables, an organization's documents read through the
tables' indexes, a document with what hangs from it, and changes made through the functions.

- ``GET  /dashboard/api/tables?organization=``: every table with its indexes and their fields, which
  functions write it, and the reference's enumerations (entity types, statuses, relationship and
  event types). No counts: counting a table is a read of all of it.
- ``GET  /dashboard/api/documents?organization=&table=&index=&<field>=&cursor=&numItems=&order=``: a
  page of the organization's documents through one index (equality on a prefix of its fields),
  newest first, with the layer's query builder: a Query of the index's partition, never a Scan.
- ``GET  /dashboard/api/document?organization=&id=``: the document as stored (the reference's shape),
  and for an entity the first page of its connections (from and to), of the events that target it and
  of its tags.
- ``POST /dashboard/api/document/{create,update,delete}``: the table's function (``entities:create``,
  ``entities:update``, ``entities:archive``, ``connections:create``, ``tags:add``, …) run in its own
  Lambda with the operator's own identity, so validation, the transaction and the event log are the
  function's. The answer is the function's envelope (a refused change: its typed error and field).

Platform-scoped tables (accounts, sessions, memberships, …) hold every organization's rows: they are
listed, never browsed here.

Example::

    api_documents(request)   # {"table": "entities", "index": "by_creation_time", "page": [...], ...}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ontology.auth.identity import Identity
from ontology.errors import ValidationError
from ontology.services.dashboard.documents import (
    PAGE_LIMIT,
    default_index,
    document,
    documents,
    located,
    org_table,
    table_of,
)

if TYPE_CHECKING:
    from dashboard.app import Request
    from ontology.data.indexes import Index
    from ontology.data.schema import Table

__all__ = ["ROUTES", "WRITES"]

#: The functions that write each table, by the page's action: a table missing here is read-only.
WRITES: dict[str, dict[str, str]] = {
    "entities": {"create": "entities:create", "update": "entities:update", "delete": "entities:archive"},
    "connections": {"create": "connections:create", "delete": "connections:delete"},
    "tags": {"create": "tags:add", "delete": "tags:remove"},
}
#: Why a table has no writes in the page.
READ_ONLY = {
    "events": "the event log: every change a function makes logs its own event",
    "knowledge": "written by knowledge:add and a clone's training (run them from Functions)",
}
#: Query parameters of ``documents`` that are not index fields.
PAGE_PARAMS = frozenset({"organization", "table", "index", "cursor", "numItems", "order"})


def _index_row(index: Index, kind: str) -> dict[str, Any]:
    return {
        "name": index.name,
        "fields": list(index.fields),
        "required": list(index.fields[: index.partition]),
        "kind": kind,
        "description": index.description,
    }


def _table_row(t: Table) -> dict[str, Any]:
    from ontology.data import enums

    browsable = t.scope == "org"
    default = default_index(t) if browsable else None
    indexes = [_index_row(i, "index") for i in (*t.indexes, *t.virtual_indexes)]
    indexes += [_index_row(i, "search") for i in t.search_indexes]
    indexes += [_index_row(i, "vector") for i in t.vector_indexes]
    row: dict[str, Any] = {
        "name": t.name,
        "scope": t.scope,
        "description": t.description,
        "browsable": browsable,
        "defaultIndex": default.name if default is not None else None,
        "indexes": indexes,
        "writes": WRITES.get(t.name, {}),
    }
    if not browsable:
        row["readOnly"] = "the platform's table, with every organization's rows: not browsed here"
    elif t.name not in WRITES:
        row["readOnly"] = READ_ONLY.get(t.name, "no function writes it")
    if t.name == "entities":
        row["types"] = list(enums.ENTITY_TYPES)
        row["statuses"] = list(enums.ENTITY_STATUSES)
    elif t.name == "connections":
        row["relationshipTypes"] = list(enums.RELATIONSHIP_TYPES)
    elif t.name == "events":
        row["eventTypes"] = list(enums.EVENT_TYPES)
    return row


def _caller(request: Request) -> tuple[Identity, str]:
    from dashboard.app import _caller as caller

    return caller(request)


def api_tables(request: Request) -> dict[str, Any]:
    from ontology.data.schema import TABLES

    _caller(request)
    return {"tables": [_table_row(t) for t in TABLES.values()]}


def _numbered(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise ValidationError(f"numItems is from 1 to {PAGE_LIMIT}", field="numItems")
    return int(raw)  # its range is checked where the page is read (services.dashboard.documents)


def api_documents(request: Request) -> dict[str, Any]:
    _, organization = _caller(request)
    return documents(
        organization,
        request.param("table"),
        index=request.param("index"),
        filters={k: v for k, v in request.query.items() if k not in PAGE_PARAMS},
        order=request.param("order"),
        num_items=_numbered(request.param("numItems")),
        cursor=request.query.get("cursor") or None,  # a signed cursor is longer than a parameter
    )


def api_document(request: Request) -> dict[str, Any]:
    _, organization = _caller(request)
    return document(organization, request.param("id"))


# ---------------------------------------------------------------- writes, through the functions


def _operator(identity: Identity, organization: str) -> Identity:
    """The operator as a caller of the organization's functions: themselves (a platform owner in
    another organization: with their entity there, if they have one)."""
    if identity.organizationId == organization:
        return identity
    from ontology.auth.people import membership
    from ontology.data.db import DatabaseReader

    member = membership(DatabaseReader(None, platform=True), organization, identity.userId)
    return replace(identity, organizationId=organization, entityId=(member or {}).get("entityId"))


def _fields(request: Request) -> dict[str, Any]:
    fields = request.body.get("fields", {})
    if not isinstance(fields, dict):
        raise ValidationError("fields is a JSON object", field="fields")
    return fields


def _run(
    request: Request, identity: Identity, organization: str, path: str, args: dict[str, Any]
) -> dict[str, Any]:
    from dashboard.app import _invoke

    operator = _operator(identity, organization)
    started = time.perf_counter()
    answer = _invoke(
        path, {"_sync": {"args": args, "auth": operator.to_context(), "requestId": request.request_id}}
    )
    result = {k: answer[k] for k in ("status", "value", "errorMessage", "errorData") if k in answer}
    return {
        "path": path,
        "args": args,
        "result": result,
        "requestId": request.request_id,
        "durationMs": round((time.perf_counter() - started) * 1000, 2),
        "as": {"userId": operator.userId, "role": operator.role, "entityId": operator.entityId},
    }


def _function(t: Table, action: str, field: str) -> str:
    path = WRITES.get(t.name, {}).get(action)
    if path is None:
        why = READ_ONLY.get(t.name, "no function does it")
        raise ValidationError(f"{t.name}: no {action} here ({why})", field=field)
    return path


def api_create(request: Request) -> dict[str, Any]:
    identity, organization = _caller(request)
    t = org_table(request.param("table"))
    return _run(request, identity, organization, _function(t, "create", "table"), _fields(request))


def api_update(request: Request) -> dict[str, Any]:
    identity, organization = _caller(request)
    doc_id = request.param("id")
    t = table_of(doc_id)
    path = _function(t, "update", "id")
    return _run(request, identity, organization, path, {**_fields(request), "id": doc_id})


def api_delete(request: Request) -> dict[str, Any]:
    identity, organization = _caller(request)
    doc_id = request.param("id")
    t = table_of(doc_id)
    path = _function(t, "delete", "id")
    if t.name == "tags":  # a tag is removed by what it says, not by its id
        _, doc = located(organization, doc_id)
        args = {"entityId": doc["entityId"], "key": doc["key"], "value": doc["value"]}
    else:
        args = {"id": doc_id}
    return _run(request, identity, organization, path, args)


ROUTES: dict[tuple[str, str], Callable[[Request], Any]] = {
    ("GET", "tables"): api_tables,
    ("GET", "documents"): api_documents,
    ("GET", "document"): api_document,
    ("POST", "document/create"): api_create,
    ("POST", "document/update"): api_update,
    ("POST", "document/delete"): api_delete,
}
