"""Convex's HTTP API: ``POST /api/query``, ``/api/mutation``, ``/api/action``.

The body is ``{"path": "tokens:get", "args": [{…}] | {…}, "format": "convex_encoded_json"}``; the
answer is HTTP 200 ``{"status": "success", "value", "logLines": []}`` or, for a function's error (a
typed one included), HTTP 200 ``{"status": "error", "errorMessage", "errorData": {"code", …}}`` — what
``ConvexHttpClient`` turns into ``ConvexError`` with ``.data.code``. A request that is not Convex's at
all (not JSON, no path) is HTTP 400 ``{"code", "message"}``, as Convex's backend answers. The session
token comes from ``Authorization: Bearer``; the function runs in its own Lambda
(:mod:`ontology.sync.calls`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ontology.auth.callers import caller
from ontology.errors import OneError, ValidationError, error_envelope
from ontology.runtime.resolvers.http import http_response, parse_body
from ontology.sync.calls import call
from ontology.sync.paths import resolve_public
from ontology.sync.values import decode_args, encode_value

__all__ = ["handle_convex_http"]

_FORMATS = ("convex_encoded_json", "json")


def _function_error(answer: Mapping[str, Any]) -> dict[str, Any]:
    return http_response(
        200,
        {
            "status": "error",
            "errorMessage": str(answer.get("errorMessage") or "Function failed"),
            "errorData": encode_value(answer.get("errorData") or {"code": "INTERNAL"}),
            "logLines": [],
        },
    )


def handle_convex_http(kind: str, event: Mapping[str, Any]) -> dict[str, Any]:
    try:
        body = parse_body(event)
        path = body.get("path")
        if not isinstance(path, str):
            raise ValidationError("the body needs a function path", field="path")
        fmt = body.get("format", "convex_encoded_json")
        if fmt not in _FORMATS:
            raise ValidationError(f"format must be one of {', '.join(_FORMATS)}", field="format")
    except OneError as exc:
        return http_response(exc.status, {"code": exc.code, "message": exc.message})
    try:
        fn = resolve_public(path)
        if fn.spec.kind != kind:
            raise ValidationError(
                f"{path} is a {fn.spec.kind}; call it through /api/{fn.spec.kind}",
                path=path,
                kind=fn.spec.kind,
            )
        args = decode_args(body.get("args"))
        identity = caller(event)
    except Exception as exc:
        return _function_error(error_envelope(exc)[1])
    answer = call(fn, args, identity, counted=True)
    if answer.get("status") != "success":
        return _function_error(answer)
    try:
        value = encode_value(answer.get("value"))
    except (TypeError, ValidationError) as exc:
        return _function_error(error_envelope(ValidationError(f"the result is not a Convex value: {exc}"))[1])
    return http_response(200, {"status": "success", "value": value, "logLines": []})
