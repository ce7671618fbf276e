"""The function runtime: contexts, invocation, and the Lambda handler behind every function.

One handler serves two kinds of events:

- **API Gateway HTTP API (payload 2.0)**: the body is the JSON object of arguments; the identity comes
  from the authorizer's context; the answer is the envelope of DESIGN §3 with its HTTP status.
- **a plain arguments event** (internal calls, Step Functions, the scheduler, tests): the event *is*
  the arguments object, with the caller's identity under ``"_auth"``; the result is returned as is
  and errors are raised (so a state machine can Retry/Catch them by name).

Contexts mirror the reference: ``ctx.db`` (read-only in queries), ``ctx.auth``, ``ctx.storage``,
``ctx.run_query`` / ``ctx.run_mutation`` / ``ctx.run_action``, and ``ctx.scheduler``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError as PydanticValidationError

from ontology.auth.identity import AuthContext, Identity
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.storage import Storage
from ontology.data.transaction import run_mutation
from ontology.errors import (
    ForbiddenError,
    InternalError,
    NotFoundError,
    OneError,
    PayloadTooLargeError,
    UnauthenticatedError,
    ValidationError,
    error_envelope,
)
from ontology.runtime.registry import RegisteredFunction, resolve
from ontology.runtime.scheduler import Scheduler, execute_job

__all__ = [
    "MAX_BODY_BYTES",
    "ActionCtx",
    "MutationCtx",
    "QueryCtx",
    "handle",
    "invoke",
]

MAX_BODY_BYTES = 256 * 1024

logger = Logger(service="one-platform")
metrics = Metrics(namespace="OnePlatform", service="one-platform")
_log = logging.getLogger(__name__)


class _NoScheduler:
    """``ctx.scheduler`` of a query: queries cannot schedule (they must not have effects)."""

    def __getattr__(self, name: str) -> Any:
        raise InternalError("A query cannot schedule functions; use a mutation or an action")


class _BaseCtx:
    kind = "base"

    def __init__(self, identity: Identity | None) -> None:
        self.auth = AuthContext(identity)
        self._identity = identity
        self.scheduler: Any = _NoScheduler()

    @property
    def org(self) -> str | None:
        return self._identity.organizationId if self._identity else None

    @property
    def storage(self) -> Storage:
        return Storage(self.org)

    def run_query(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "query":
            raise InternalError(f"run_query: {fn.spec.path} is a {fn.spec.kind}")
        return self._call(fn, args or {})

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        raise NotImplementedError


class QueryCtx(_BaseCtx):
    """A query: read-only database, consistent point reads."""

    kind = "query"

    def __init__(
        self, identity: Identity | None, db: DatabaseReader | None = None, *, platform: bool = False
    ) -> None:
        super().__init__(identity)
        self.db = db or DatabaseReader(self.org, platform=platform)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        return _execute(fn, args, self._identity, QueryCtx(self._identity, self.db))


class MutationCtx(_BaseCtx):
    """A mutation: buffered writes, committed together. Nested ``run_mutation`` joins the same
    transaction; ``after_commit`` runs side effects only once the transaction has committed."""

    kind = "mutation"

    def __init__(self, identity: Identity | None, db: DatabaseWriter) -> None:
        super().__init__(identity)
        self.db = db
        self._after: list[Callable[[], None]] = []
        # Jobs are written into this transaction (platform view of the same buffered state).
        outbox = db.view(platform=True)
        self.scheduler = Scheduler(identity, writer=outbox, after_commit=self.after_commit)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def run_mutation(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "mutation":
            raise InternalError(f"run_mutation: {fn.spec.path} is a {fn.spec.kind}")
        return _execute(fn, args or {}, self._identity, self)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        reader = self.db.reader()
        return _execute(fn, args, self._identity, QueryCtx(self._identity, reader))


class ActionCtx(_BaseCtx):
    """An action: no database handle; each ``run_mutation`` is its own transaction."""

    kind = "action"

    def __init__(self, identity: Identity | None, *, platform: bool = False) -> None:
        super().__init__(identity)
        self.scheduler = Scheduler(identity)
        self._platform = platform

    def for_organization(self, organization_id: str) -> ActionCtx:
        """The same action acting inside one organization, as the platform (crons iterate
        organizations this way). Only for internal functions declared ``platform=True``."""
        if not self._platform:
            raise ForbiddenError("Only platform jobs act for other organizations")
        return ActionCtx(system_identity(organization_id), platform=True)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        return invoke(fn, args, self._identity)

    def run_mutation(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "mutation":
            raise InternalError(f"run_mutation: {fn.spec.path} is a {fn.spec.kind}")
        return invoke(fn, args or {}, self._identity)

    def run_action(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "action":
            raise InternalError(f"run_action: {fn.spec.path} is a {fn.spec.kind}")
        return invoke(fn, args or {}, self._identity)


def system_identity(organization_id: str) -> Identity:
    """The platform acting inside one organization (crons, the purchase saga's steps)."""
    return Identity(userId="system", organizationId=organization_id, role="platform_owner")


def _check_access(fn: RegisteredFunction, identity: Identity | None) -> None:
    required = fn.spec.auth
    if required == "public":
        return
    if identity is None:
        raise UnauthenticatedError("Sign in to call this function")
    if required != "member":
        AuthContext(identity).require_role(required)


def _validate_args(fn: RegisteredFunction, raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ValidationError("The arguments must be a JSON object")
    try:
        return fn.spec.args.model_validate(dict(raw))
    except PydanticValidationError as exc:
        raise _as_validation_error(exc) from None


def _as_validation_error(exc: PydanticValidationError) -> ValidationError:
    _, body = error_envelope(exc)
    data = {k: v for k, v in body["errorData"].items() if k not in ("code", "field")}
    return ValidationError(body["errorMessage"], field=body["errorData"].get("field"), **data)


def _execute(fn: RegisteredFunction, raw_args: Any, identity: Identity | None, ctx: _BaseCtx) -> Any:
    _check_access(fn, identity)
    args = _validate_args(fn, raw_args)
    return fn.fn(ctx, args)


def invoke(fn: RegisteredFunction, raw_args: Any, identity: Identity | None) -> Any:
    """Run a function at the top level: a query on a fresh reader, a mutation in its own
    transaction (re-run on conflict), an action with an action context."""
    _check_access(fn, identity)
    args = _validate_args(fn, raw_args)
    kind = fn.spec.kind
    org = identity.organizationId if identity else None
    platform = fn.spec.platform
    if kind == "query":
        return fn.fn(QueryCtx(identity, platform=platform), args)
    if kind == "action":
        return fn.fn(ActionCtx(identity, platform=platform), args)
    holder: dict[str, MutationCtx] = {}

    def body(db: DatabaseWriter) -> Any:
        ctx = MutationCtx(identity, db)
        holder["ctx"] = ctx
        return fn.fn(ctx, args)

    result = run_mutation(body, org=org, platform=platform)
    run_after_commit(holder["ctx"], fn.spec.path)
    return result


def run_after_commit(ctx: MutationCtx, path: str) -> None:
    """Run a committed mutation's ``after_commit`` steps. The transaction stands whatever they do: a
    failed step is logged, not raised, and the others still run."""
    for after in ctx._after:
        try:
            after()
        except Exception:
            _log.exception("after-commit step failed", extra={"function": path})


# ------------------------------------------------------------------------------------ Lambda events


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
        value = json.loads(text, parse_constant=_reject_constant)
        text.encode("utf-8")  # unpaired surrogates cannot be stored
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError) as exc:
        raise ValidationError(f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationError("The body must be a JSON object of arguments")
    return value


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
        args = parse_body(event) if fn.spec.method == "POST" else {}
        identity = Identity.from_context((request_context.get("authorizer") or {}).get("lambda"))
        value = invoke(fn, args, identity)
        status = 200
        payload = http_response(status, value if fn.spec.raw else {"status": "success", "value": value})
    except Exception as exc:  # one place maps every error to the envelope
        status, body = error_envelope(exc, request_id=request_id)
        if status >= 500:
            logger.exception("function failed", extra={"code": body["errorData"]["code"]})
        payload = http_response(status, body)
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


def handle(fn: RegisteredFunction, event: Any, context: Any = None) -> Any:
    """The Lambda entry point of every registered function."""
    if is_http_event(event):
        return _handle_http(fn, event, context)
    if not isinstance(event, Mapping):
        raise ValidationError("The event must be an object of arguments")
    if "_scheduledJob" in event:
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
