"""The functions the dashboard lists and runs, read from the platform's own OpenAPI document (the
registry's, served by ``meta:openapi`` at ``GET /api/openapi.json``): every function a client may
call, never an internal one, with its kind, who may call it, its description, an example and its
arguments' JSON schema (``$ref`` into the document's ``components``).

The dashboard's package holds no function: it asks ``meta:openapi``'s Lambda for the document, so
the list is the deployed code's (locally, the code the dev loop reloaded).

Example::

    catalogue(document)["functions"][0]   # {"path": "analytics:...", "kind": "query", "schema": {...}}
"""

from __future__ import annotations

from typing import Any

__all__ = ["catalogue", "find"]


def _entry(operation: dict[str, Any]) -> dict[str, Any]:
    body = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
    schema = dict(body.get("schema") or {"type": "object", "properties": {}})
    examples = schema.pop("examples", None) or []
    return {
        "path": operation["x-convex-path"],
        "kind": operation.get("x-function-kind"),
        "auth": operation.get("x-auth"),
        "description": operation.get("summary"),
        "example": examples[0] if examples else None,
        "schema": schema,
    }


def catalogue(document: dict[str, Any]) -> dict[str, Any]:
    """The document's functions, by path, and the schemas their ``$ref`` name."""
    found = [
        _entry(operation)
        for methods in (document.get("paths") or {}).values()
        for operation in methods.values()
        if isinstance(operation, dict) and operation.get("x-convex-path")
    ]
    components = dict((document.get("components") or {}).get("schemas") or {})
    components.pop("Error", None)
    return {"functions": sorted(found, key=lambda e: e["path"]), "components": components}


def find(document: dict[str, Any], path: str) -> dict[str, Any] | None:
    """A function's entry by its path (``creators:get``); None for an unknown or internal one."""
    return next((e for e in catalogue(document)["functions"] if e["path"] == path), None)
