"""The OpenAPI 3.1 document of the platform, generated from the function registry.

Arguments and results come from the functions' pydantic models; every operation lists the error
envelope with the fixed list of codes, and says who may call it (``x-auth``: public, any member, or
a minimum role). Served at ``GET /api/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ontology.errors import CODES
from ontology.runtime.registry import FunctionSpec, load_all

__all__ = ["build_document"]

_REF = "#/components/schemas/{model}"


def _schema(tp: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema: dict[str, Any] = TypeAdapter(tp).json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    return schema


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "errorMessage", "errorData"],
        "properties": {
            "status": {"const": "error"},
            "errorMessage": {"type": "string"},
            "errorData": {
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(CODES)},
                    "field": {"type": "string"},
                    "locations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                        },
                    },
                },
                "additionalProperties": True,
            },
        },
    }


def _operation(spec: FunctionSpec, components: dict[str, Any]) -> dict[str, Any]:
    value = _schema(spec.returns, components, "serialization") if spec.returns is not None else {}
    ok = (
        value
        if spec.raw
        else {
            "type": "object",
            "required": ["status", "value"],
            "properties": {"status": {"const": "success"}, "value": value},
        }
    )
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    statuses = sorted({s for s in CODES.values() if s != 500} | {500})
    op: dict[str, Any] = {
        "operationId": spec.path.replace(":", "_"),
        "summary": spec.description or spec.path,
        "tags": [spec.module],
        "x-convex-path": spec.path,
        "x-function-kind": spec.kind,
        "x-auth": spec.auth,
        "security": [] if spec.auth == "public" else [{"session": []}, {"sessionCookie": []}],
        "responses": {
            "200": {"description": "success", "content": {"application/json": {"schema": ok}}},
            **{str(s): {"description": _describe(s), **error} for s in statuses},
        },
    }
    if spec.method == "POST":
        # A request without a body calls the function with no arguments, so the body is required
        # exactly when the arguments have a required field (then an empty body is a VALIDATION_ERROR).
        required = any(f.is_required() for f in spec.args.model_fields.values())
        op["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": _schema(spec.args, components, "validation")}},
        }
    return op


def _describe(status: int) -> str:
    codes = ", ".join(sorted(c for c, s in CODES.items() if s == status))
    return f"error ({codes})"


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _error_schema()}
    paths: dict[str, Any] = {}
    for fn in load_all().values():
        spec = fn.spec
        if spec.internal or spec.route is None or spec.route == "$default":
            continue
        paths.setdefault(spec.route, {})[spec.method.lower()] = _operation(spec, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ONE platform",
            "version": "1.0.0",
            "description": (
                "Every function is `POST /api/<module>/<function>` with a JSON object of arguments; it "
                'answers `{"status": "success", "value": …}` or the error envelope with a stable code.'
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "session": {"type": "http", "scheme": "bearer", "description": "a session token"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "better-auth.session_token"},
            },
        },
    }
