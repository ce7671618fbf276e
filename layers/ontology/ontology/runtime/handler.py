"""The Lambda handler behind every function: an event in, the envelope (or the bare value) out.

One handler serves two kinds of events:

- **API Gateway HTTP API (payload 2.0)**: the body is the JSON object of arguments; the identity comes
  from the authorizer's context; the answer is the envelope of docs/architecture.md ("The HTTP
  contract") with its HTTP status.
- **a plain arguments event** (internal calls, Step Functions, the scheduler, tests): the event *is*
  the arguments object, with the caller's identity under ``"_auth"``; the result is returned as is
  and errors are raised (so a state machine can Retry/Catch them by name). A scheduled job arrives as
  ``{"_scheduledJob": id}`` and an EventBridge cron as its ``Scheduled Event``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError as PydanticValidationError

from ontology.auth.callers import caller
from ontology.auth.identity import Identity
from ontology.auth.ratelimit import check_function_call
from ontology.errors import (
    NotFoundError,
    OneError,
    PayloadTooLargeError,
    ValidationError,
    error_envelope,
)
from ontology.json_depth import check_json_depth
from ontology.runtime.context import _as_validation_error, invoke
from ontology.runtime.registry import RegisteredFunction

__all__ = [
    "MAX_BODY_BYTES",
    "handle",
    "http_response",
    "parse_body",
    "to_json",
]

MAX_BODY_BYTES = 256 * 1024

logger = Logger(service="one-platform")
metrics = Metrics(namespace="OnePlatform", service="one-platform")


def is_http_event(event: Any) -> bool:
    return isinstance(event, Mapping) and event.get("version") == "2.0" and "requestContext" in event


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json(value: Any) -> str:
    return json.dumps(
        value, default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(event: Mapping[str, Any]) -> Any:
    """The request's JSON body as arguments; VALIDATION_ERROR or PAYLOAD_TOO_LARGE otherwise."""
    body = event.get("body")
    if body is None or body == "":
        return {}
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (ValueError, TypeError):
            raise ValidationError("The body is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        text = raw.decode("utf-8")
        check_json_depth(text)
        value = json.loads(text, parse_constant=_reject_constant)
        text.encode("utf-8")  # unpaired surrogates cannot be stored
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"The body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise ValidationError("The body must be a JSON object of arguments")
    return value


def request_args(event: Mapping[str, Any]) -> dict[str, Any]:
    """The HTTP request as the arguments of a ``request=True`` function: the body exactly as sent
    (text; VALIDATION_ERROR if it is not UTF-8) and the headers, as API Gateway's payload 2.0 has them."""
    body = event.get("body") or ""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (ValueError, TypeError):
            raise ValidationError("The body is not valid base64") from None
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeError:
        raise ValidationError("The body is not UTF-8 text") from None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return {"body": text, "headers": headers}


def http_response(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": to_json(body),
        "isBase64Encoded": False,
    }


def _handle_http(fn: RegisteredFunction, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    request_id = request_context.get("requestId") or getattr(context, "aws_request_id", None)
    logger.append_keys(function=fn.spec.path, request_id=request_id)
    started = time.perf_counter()
    try:
        method = str((request_context.get("http") or {}).get("method", "POST")).upper()
        if fn.spec.method not in ("ANY", method):
            raise NotFoundError(f"{method} is not served here; use {fn.spec.method}", method=fn.spec.method)
        if fn.spec.request:
            args = request_args(event)
        else:
            args = parse_body(event) if fn.spec.method == "POST" else {}
        identity = caller(event)
        check_function_call(identity)
        value = invoke(fn, args, identity)
        status = 200
        payload = http_response(status, value if fn.spec.raw else {"status": "success", "value": value})
    except Exception as exc:  # one place maps every error to the envelope
        status, body = error_envelope(exc, request_id=request_id)
        if status >= 500:
            logger.exception("function failed", extra={"code": body["errorData"]["code"]})
        payload = http_response(status, body)
        if "retryAfter" in body["errorData"]:
            payload["headers"]["retry-after"] = str(body["errorData"]["retryAfter"])
    metrics.add_dimension(name="function", value=fn.spec.path)
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    if status >= 400:
        metrics.add_metric(
            name="ClientErrors" if status < 500 else "ServerErrors", unit=MetricUnit.Count, value=1
        )
    logger.info(
        "request",
        extra={"status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
    )
    metrics.flush_metrics()
    metrics.clear_metrics()  # flush leaves them in place when metrics are disabled (local stack)
    return payload


def _handle_sync(fn: RegisteredFunction, call: Any) -> dict[str, Any]:
    """A call from Convex's protocol (:mod:`ontology.sync`): the caller (the HTTP API's gateway or
    the sync worker, which resolved the session itself) passes the identity; the answer is data
    either way, so a function's typed error reaches the client as Convex's function error. With
    ``reads``, a query answers what it read (the subscription's read set); a mutation or an action
    always answers what its commits wrote (the writer's own subscriptions re-run from it). With
    ``limit``, a call the client made counts against its session's limit (a subscription's re-run
    does not)."""
    from ontology.data.tracking import recording, recording_writes

    want_reads = isinstance(call, Mapping) and bool(call.get("reads")) and fn.spec.kind == "query"
    with recording() as reads, recording_writes() as writes:
        try:
            if not isinstance(call, Mapping):
                raise ValidationError("_sync must be an object")
            identity = Identity.from_context(call.get("auth"))
            if call.get("limit"):
                check_function_call(identity)
            value = json.loads(to_json(invoke(fn, call.get("args") or {}, identity)))
            out: dict[str, Any] = {"status": "success", "value": value}
        except Exception as exc:
            status, body = error_envelope(exc)
            if status >= 500:
                logger.exception("function failed", extra={"function": fn.spec.path})
            out = dict(body)
    if want_reads:  # a failed query is watched too: what it read may change its answer
        out["reads"] = reads.to_json()
    if writes:
        out["writes"] = writes.to_json()
    return out


def handle(fn: RegisteredFunction, event: Any, context: Any = None) -> Any:
    """The Lambda entry point of every registered function."""
    from ontology import deadline

    with deadline.started(context):
        return _handle(fn, event, context)


def _handle(fn: RegisteredFunction, event: Any, context: Any) -> Any:
    if is_http_event(event):
        return _handle_http(fn, event, context)
    if not isinstance(event, Mapping):
        raise ValidationError("The event must be an object of arguments")
    if "_sync" in event:
        return _handle_sync(fn, event["_sync"])
    if "_scheduledJob" in event:
        from ontology.runtime.jobs import execute_job  # only a job's delivery needs it

        return {"jobId": event["_scheduledJob"], "state": execute_job(str(event["_scheduledJob"]))}
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        # a cron: the function learns which time window this run is for
        cron_args = {"time": event.get("time")} if "time" in fn.spec.args.model_fields else {}
        return json.loads(to_json(invoke(fn, cron_args, None)))
    args = dict(event)
    identity = Identity.from_context(args.pop("_auth", None))
    try:
        return json.loads(to_json(invoke(fn, args, identity)))
    except OneError:
        raise
    except PydanticValidationError as exc:
        raise _as_validation_error(exc) from None
