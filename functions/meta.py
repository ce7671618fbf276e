"""The API's own routes: the OpenAPI document, and the answer for every unknown route."""

from __future__ import annotations

from typing import Any

from ontology.errors import NotFoundError
from ontology.runtime.context import QueryCtx
from ontology.runtime.functions import query


@query(auth="public", method="GET", route="/api/openapi.json", returns=dict[str, Any], raw=True)
def openapi(ctx: QueryCtx, args: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every public function, generated from the registry."""
    from ontology.runtime.openapi import build_document

    return build_document()


@query(auth="public", method="ANY", route="$default")
def not_found(ctx: QueryCtx, args: Any) -> None:
    """Every route no function serves: a typed 404."""
    raise NotFoundError("No such route")
