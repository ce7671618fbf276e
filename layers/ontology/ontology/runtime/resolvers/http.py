"""API Gateway's HTTP API (payload format 2.0): a function's route.

The body is the JSON object of arguments (or, for a ``request=True`` function, the request itself);
the identity comes from the authorizer's context, a bearer token or the session cookie
(:func:`ontology.auth.callers.caller`); the answer is the envelope of docs/architecture.md ("The HTTP
contract") with its HTTP status, every error included. Each request counts in the ``Invocations``
metric (and ``ClientErrors`` or ``ServerErrors``), by function.

Example::

    event = HttpApiResolver().parse(api_gateway_event)   # an HttpApiEvent, or None
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from ontology.auth.callers import caller
from ontology.auth.identity import Identity
from ontology.auth.ratelimit import check_function_call
from ontology.errors import NotFoundError, PayloadTooLargeError, ValidationError, error_envelope
from ontology.json_depth import check_json_depth
from ontology.runtime.context import invoke
from ontology.runtime.observability import bind_caller, log_call, logger, metrics
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers.base import EventResolver, to_json

if TYPE_CHECKING:
    from ontology.data.dynamodb import Units

__all__ = [
    "MAX_BODY_BYTES",
    "HttpApiEvent",
    "HttpApiResolver",
    "http_response",
    "parse_body",
    "request_args",
]

MAX_BODY_BYTES = 256 * 1024


class HttpApiEvent:
    """An HTTP API request, payload format 2.0, read as Powertools' ``APIGatewayProxyEventV2`` reads it
    (whose module would bring every one of Powertools' event classes into each cold start)."""

    __slots__ = ("raw_event",)

    def __init__(self, raw_event: Mapping[str, Any]) -> None:
        self.raw_event = raw_event

    @property
    def request_context(self) -> Mapping[str, Any]:
        context = self.raw_event.get("requestContext")
        return context if isinstance(context, Mapping) else {}

    @property
    def request_id(self) -> str | None:
        """API Gateway's id of the request (its access log's ``requestId``)."""
        found = self.request_context.get("requestId")
        return str(found) if found else None

    @property
    def http_method(self) -> str:
        return str((self.request_context.get("http") or {}).get("method", "POST")).upper()


def _raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (ValueError, TypeError):
            raise ValidationError("The body is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    return raw


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(event: Mapping[str, Any]) -> Any:
    """The request's JSON body as arguments; VALIDATION_ERROR or PAYLOAD_TOO_LARGE otherwise."""
    if event.get("body") is None or event.get("body") == "":
        return {}
    raw = _raw_body(event)
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
    raw = _raw_body(event)
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


class HttpApiResolver(EventResolver[HttpApiEvent]):
    """A request of the HTTP API (``"version": "2.0"`` with its ``requestContext``)."""

    source = "http"

    def _parse(self, event: Mapping[str, Any]) -> HttpApiEvent | None:
        if event.get("version") == "2.0" and "requestContext" in event:
            return HttpApiEvent(event)
        return None

    def _answer(self, fn: RegisteredFunction, event: HttpApiEvent, context: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = _respond(event, context, fn=fn)
            return response
        finally:
            if is_metrics_disabled():  # Powertools then publishes nothing and keeps what it was given
                metrics.clear_metrics()


@metrics.log_metrics
def _respond(event: HttpApiEvent, context: Any, fn: RegisteredFunction) -> dict[str, Any]:
    from ontology.data.dynamodb import consumed

    with consumed() as units:
        return _respond_counted(event, context, fn, units)


def _respond_counted(
    event: HttpApiEvent, context: Any, fn: RegisteredFunction, units: Units
) -> dict[str, Any]:
    request_id = event.request_id or getattr(context, "aws_request_id", None)
    logger.append_keys(request_id=request_id)
    started = time.perf_counter()
    identity: Identity | None = None
    code: str | None = None
    try:
        method = event.http_method
        if fn.spec.method not in ("ANY", method):
            raise NotFoundError(f"{method} is not served here; use {fn.spec.method}", method=fn.spec.method)
        if fn.spec.request:
            args = request_args(event.raw_event)
        else:
            args = parse_body(event.raw_event) if fn.spec.method == "POST" else {}
        identity = caller(event.raw_event)
        bind_caller(identity)
        check_function_call(identity)
        value = invoke(fn, args, identity)
        status = 200
        payload = http_response(status, value if fn.spec.raw else {"status": "success", "value": value})
    except Exception as exc:  # one place maps every error to the envelope
        status, body = error_envelope(exc, request_id=request_id)
        code = body["errorData"]["code"]
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
    log_call(
        fn.spec.path,
        source="http",
        request_id=request_id,
        identity=identity,
        http_status=status,
        code=code,
        started=started,
        units=units,
    )
    return payload
