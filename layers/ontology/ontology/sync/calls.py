"""Calling a function from the protocol: in its own Lambda (with its own permissions), by name.

The HTTP gateway and the sync worker never run a function in their own process: they invoke the
function's Lambda with a ``_sync`` event (:func:`ontology.runtime.handler.handle`), passing the
identity they resolved, and get its answer back as data (success with the value, and what it read or
wrote; or Convex's function error). Tests swap the invoker for an in-process one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from ontology.auth.identity import Identity
from ontology.errors import UpstreamError, error_envelope
from ontology.runtime.registry import RegisteredFunction, function_name
from ontology.settings import get_settings

__all__ = ["call", "in_process", "invoke_path", "outcome", "query_as", "set_invoker"]

Invoker = Callable[[RegisteredFunction, dict[str, Any]], dict[str, Any]]


def lambda_invoker(fn: RegisteredFunction, payload: dict[str, Any]) -> dict[str, Any]:
    return invoke_path(fn.spec.path, payload)


def invoke_path(path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The answer of the function ``path``'s own Lambda to ``payload`` (UPSTREAM_ERROR when it could
    not be invoked or failed as a whole)."""
    from ontology.aws import client

    try:
        resp = client("lambda").invoke(
            FunctionName=function_name(path, get_settings().function_prefix),
            InvocationType="RequestResponse",
            Payload=json.dumps(payload, separators=(",", ":")).encode(),
        )
        body: Any = json.loads(resp["Payload"].read() or b"null")
    except Exception as exc:
        raise UpstreamError(f"{path} could not be invoked") from exc
    if resp.get("FunctionError") or not isinstance(body, dict) or "status" not in body:
        raise UpstreamError(f"{path} failed")
    return body


def in_process(fn: RegisteredFunction, payload: dict[str, Any]) -> dict[str, Any]:
    from ontology.runtime.handler import handle

    result: dict[str, Any] = handle(fn, payload)
    return result


_invoker: Invoker = lambda_invoker


def set_invoker(invoker: Invoker | None) -> None:
    global _invoker  # noqa: PLW0603
    _invoker = invoker or lambda_invoker


def call(
    fn: RegisteredFunction,
    args: dict[str, Any],
    identity: Identity | None,
    *,
    reads: bool = False,
    counted: bool = False,
    shared: bool = False,
) -> dict[str, Any]:
    """The function's answer: ``{"status": "success", "value", "reads"?, "writes"?}`` or the error
    envelope ``{"status": "error", "errorMessage", "errorData"}`` (an invocation that failed as a
    whole is UPSTREAM_ERROR, as data too). ``counted``: a call the client made, which the function's
    runtime counts against the session's limit before the function runs. ``shared``: a re-run whose
    reads may come from the function's container's last second (its answer's ``asOf`` says as of
    when: :mod:`ontology.data.read_cache`)."""
    auth = identity.to_context() if identity else None
    call_: dict[str, Any] = {"args": args, "auth": auth, "reads": reads, "limit": counted}
    if shared:
        call_["shared"] = True
    payload = {"_sync": call_}
    try:
        return _invoker(fn, payload)
    except Exception as exc:
        return dict(error_envelope(exc)[1])


def query_as(path: str, args: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """A public query (``path`` as a client names it) run in its own Lambda as ``identity``, asked
    for what it read, which is recorded as the caller's own reads (a subscription to the caller is
    re-run when the query's answer may change): ``{path, result, requestId, durationMs}``, where
    ``result`` is the query's answer (its value, or its typed error as data) and ``requestId`` the id
    its log lines carry. NOT_FOUND (``path``) for a function no client may call, VALIDATION_ERROR
    (``path``) for a mutation or an action (they change data: they are run once, not kept live)."""
    from ontology.data.tracking import ReadSet, record_reads
    from ontology.errors import NotFoundError, ValidationError
    from ontology.sync.paths import resolve_public

    try:
        fn: RegisteredFunction | None = resolve_public(path)
    except NotFoundError:
        fn = None
    if fn is None or fn.spec.system:
        raise NotFoundError(f"No function {path!r} a client may call", field="path")
    if fn.spec.kind != "query":
        raise ValidationError(
            f"{fn.spec.path} is a {fn.spec.kind}: only a query stays live (run it once instead)", field="path"
        )
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    call = {"args": args, "auth": identity.to_context(), "reads": True, "requestId": request_id}
    answer = invoke_path(fn.spec.path, {"_sync": call})
    duration = round((time.perf_counter() - started) * 1000, 2)
    if isinstance(answer.get("reads"), dict):
        record_reads(ReadSet.from_json(answer["reads"]))
    return {"path": fn.spec.path, "result": outcome(answer), "requestId": request_id, "durationMs": duration}


def outcome(answer: dict[str, Any]) -> dict[str, Any]:
    """A ``_sync`` answer as its caller shows it: the value, or Convex's function error as data
    (without what the function read or wrote)."""
    return {k: answer[k] for k in ("status", "value", "errorMessage", "errorData") if k in answer}
