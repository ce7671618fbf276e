"""The dashboard's Lambda: its page at ``/dashboard/`` and its JSON API under ``/dashboard/api/``.

Who may use it: an organization's owners (``org_owner``: their organization) and the platform's owners
(``platform_owner``: any organization, chosen in the page), signed in with the platform's own session
(Better Auth's cookie, as the platform's pages use it, or a bearer token). The page's files hold no
data and are served to anyone (its sign-in form is one of them); every API endpoint refuses anyone
else with the typed envelope: UNAUTHENTICATED (401) without a session, FORBIDDEN (403) for another
role or another organization. A POST signed in by the cookie alone must come from the platform's
own origin (:func:`ontology.auth.callers.caller`).

The API:

- ``GET  /dashboard/api/me``: the caller, and the organizations they may choose;
- ``GET  /dashboard/api/functions?organization=``: every function a client may call, with its
  arguments' JSON schema (from the platform's OpenAPI document);
- ``GET  /dashboard/api/members?organization=``: the organization's members (whom to run as);
- ``POST /dashboard/api/run`` ``{organization, path, args, userId}``: run a function as that member,
  in the function's own Lambda; the result or the typed error, the request id, the time it took;
- ``GET  /dashboard/api/logs?organization=&function=&status=&text=&requestId=&since=&after=``: the
  organization's log lines from CloudWatch Logs (the functions' log group), oldest first;
- the Data page's tables, documents and changes: :mod:`dashboard.data`;
- the Schedules page's (:mod:`dashboard.schedules`) and the Files page's (:mod:`dashboard.files`).

Example::

    handler(api_gateway_event, context)   # {"statusCode": 200, "headers": {...}, "body": "..."}
"""

from __future__ import annotations

import mimetypes
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dashboard import data, files, schedules
from dashboard.catalogue import catalogue, find
from dashboard.health import api_health
from dashboard.live import api_live, api_sync_health
from ontology.auth.identity import Identity, has_role
from ontology.errors import (
    NotFoundError,
    UpstreamError,
    ValidationError,
    error_envelope,
)
from ontology.runtime.observability import logger
from ontology.runtime.resolvers.http import http_response, parse_body
from ontology.services.dashboard import authorize

__all__ = ["handler"]

STATIC = Path(__file__).with_name("static")
PREFIX = "/dashboard"
API = f"{PREFIX}/api/"
#: The page's own files may load nothing from anywhere else (but the files bucket's previews:
#: :func:`security_headers`).
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
#: The OpenAPI document is asked for again after this many seconds (a deploy changes it).
DOCUMENT_SECONDS = 60.0
#: At most this many log lines per answer.
LOG_LINES = 200
#: How far back the Logs page reads when it says nothing (an hour).
DEFAULT_SINCE_MS = 3600 * 1000


class Request:
    """An HTTP API request (payload 2.0) to the dashboard."""

    def __init__(self, event: Mapping[str, Any], context: Any) -> None:
        self.event = event
        request_context = event.get("requestContext") or {}
        self.method = str((request_context.get("http") or {}).get("method", "GET")).upper()
        self.path = str(event.get("rawPath") or (request_context.get("http") or {}).get("path") or "/")
        self.query: dict[str, str] = {
            str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()
        }
        self.request_id = str(
            request_context.get("requestId") or getattr(context, "aws_request_id", "") or ""
        )
        self._body: dict[str, Any] | None = None

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = parse_body(self.event) if self.method == "POST" else {}
        return self._body

    def param(self, name: str) -> str | None:
        value = self.body.get(name) if self.method == "POST" else self.query.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > 200:
            raise ValidationError(f"{name} is a string of at most 200 characters", field=name)
        return value


def _caller(request: Request) -> tuple[Identity, str]:
    from ontology.auth.callers import caller

    identity = caller(request.event)
    organization = authorize(identity, request.param("organization"))
    assert identity is not None
    logger.append_keys(organization=organization, user_id=identity.userId, role=identity.role)
    return identity, organization


# ---------------------------------------------------------------- the functions' Lambdas


def _invoke(path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A function's answer to a ``_sync`` call, from its own Lambda (with its own permissions)."""
    from ontology.sync.calls import invoke_path

    return invoke_path(path, payload)


_document: tuple[float, dict[str, Any]] | None = None
_document_lock = threading.Lock()


def _openapi() -> dict[str, Any]:
    """The platform's OpenAPI document, as ``meta:openapi`` answers it (kept a minute)."""
    global _document  # noqa: PLW0603
    with _document_lock:
        if _document is not None and time.monotonic() - _document[0] < DOCUMENT_SECONDS:
            return _document[1]
    answer = _invoke("meta:openapi", {"_sync": {"args": {}, "auth": None}})
    if answer.get("status") != "success" or not isinstance(answer.get("value"), dict):
        raise UpstreamError("The OpenAPI document could not be read")
    with _document_lock:
        _document = (time.monotonic(), answer["value"])
    return dict(answer["value"])


# ---------------------------------------------------------------- the API


def _organization_row(org: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": org["_id"], "name": org.get("name"), "slug": org.get("slug")}


def api_me(request: Request) -> dict[str, Any]:
    from ontology.data.db import DatabaseReader

    identity, organization = _caller(request)
    platform = DatabaseReader(None, platform=True)
    if has_role(identity, "platform_owner"):
        orgs = platform.query("organizations").take(500)
    else:
        own = platform.get(identity.organizationId, "organizations")
        orgs = [own] if own is not None else []
    return {
        "userId": identity.userId,
        "email": identity.email,
        "role": identity.role,
        "organization": organization,
        "organizations": [_organization_row(o) for o in orgs],
    }


def api_functions(request: Request) -> dict[str, Any]:
    _caller(request)
    return catalogue(_openapi())


def api_members(request: Request) -> list[dict[str, Any]]:
    from ontology.services.dashboard import members

    _, organization = _caller(request)
    return members(organization)


def api_run(request: Request) -> dict[str, Any]:
    """Run a function as a member of the organization; the request's id goes with the call, so that
    the function's log lines and its error envelope carry it."""
    from ontology.services.dashboard import member_identity
    from ontology.sync.calls import outcome

    _, organization = _caller(request)
    path, user_id = request.param("path"), request.param("userId")
    args = request.body.get("args", {})
    if path is None or find(_openapi(), path) is None:
        raise NotFoundError(f"No function {path!r} a client may call", field="path")
    if not isinstance(args, dict):
        raise ValidationError("args is a JSON object", field="args")
    identity, member = member_identity(organization, user_id)
    started = time.perf_counter()
    answer = _invoke(
        path, {"_sync": {"args": args, "auth": identity.to_context(), "requestId": request.request_id}}
    )
    duration = round((time.perf_counter() - started) * 1000, 2)
    return {"result": outcome(answer), "requestId": request.request_id, "durationMs": duration, "as": member}


def api_logs(request: Request) -> dict[str, Any]:
    from ontology.aws import client
    from ontology.runtime.logquery import LogFilter, parse_since, read_lines

    _, organization = _caller(request)
    where = LogFilter(
        function=request.param("function"),
        status=request.param("status"),
        request_id=request.param("requestId"),
        text=request.param("text"),
        organization=organization,
    )
    since = request.param("since")
    after = request.param("after")
    if after is not None:
        if not after.isdigit():
            raise ValidationError("after is a time in milliseconds", field="after")
        start = int(after)
    else:
        start = int(time.time() * 1000) - (parse_since(since) if since else DEFAULT_SINCE_MS)
    lines, _ = read_lines(client("logs"), os.environ["ONE_LOG_GROUP"], where, start_ms=start, limit=LOG_LINES)
    return {"lines": lines}


ROUTES: dict[tuple[str, str], Callable[[Request], Any]] = {
    ("GET", "me"): api_me,
    ("GET", "functions"): api_functions,
    ("GET", "members"): api_members,
    ("POST", "run"): api_run,
    ("GET", "logs"): api_logs,
    ("GET", "scheduled"): schedules.api_scheduled,
    ("POST", "scheduled/cancel"): schedules.api_cancel,
    ("GET", "crons"): schedules.api_crons,
    ("POST", "crons/run"): schedules.api_cron_run,
    ("GET", "files"): files.api_files,
    ("GET", "files/url"): files.api_url,
    ("POST", "files/delete"): files.api_delete,
    **data.ROUTES,
    ("GET", "live"): api_live,
    ("GET", "sync-health"): api_sync_health,
    ("GET", "health"): api_health,
}


# ---------------------------------------------------------------- the page's files


def security_headers() -> dict[str, str]:
    """:data:`SECURITY_HEADERS`, with the files bucket's origin for the Files page's image and audio
    previews (``img-src``, ``media-src``): that origin only."""
    try:
        origin = files.files_origin()
    except Exception:  # no credentials to sign with: the page works, but previews no file
        logger.exception("the files bucket's origin is unknown")
        return dict(SECURITY_HEADERS)
    policy = SECURITY_HEADERS["content-security-policy"].replace(
        "img-src 'self' data:;", f"img-src 'self' data: {origin}; media-src {origin};"
    )
    return {**SECURITY_HEADERS, "content-security-policy": policy}


def _file(path: str) -> dict[str, Any]:
    name = path.removeprefix(PREFIX).strip("/") or "index.html"
    target = (STATIC / name).resolve()
    if not target.is_relative_to(STATIC.resolve()) or not target.is_file():
        raise NotFoundError("No such page")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    text = kind.startswith("text/") or kind in ("application/javascript", "application/json")
    return {
        "statusCode": 200,
        "headers": {
            "content-type": f"{kind}; charset=utf-8" if text else kind,
            "cache-control": "no-cache",
            **security_headers(),
        },
        "body": target.read_text(encoding="utf-8"),
        "isBase64Encoded": False,
    }


def _answer(request: Request) -> dict[str, Any]:
    if request.path.startswith(API):
        route = ROUTES.get((request.method, request.path.removeprefix(API)))
        if route is None:
            raise NotFoundError(f"No dashboard endpoint {request.method} {request.path}")
        return http_response(200, {"status": "success", "value": route(request)})
    if request.method != "GET":
        raise NotFoundError(f"{request.method} is not served here", method="GET")
    return _file(request.path)


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    request = Request(event, context)
    logger.append_keys(
        function="dashboard",
        request_id=request.request_id,
        source="http",
        organization=None,
        user_id=None,
        role=None,
    )
    try:
        return _answer(request)
    except Exception as exc:  # one place maps every error to the envelope
        status, body = error_envelope(exc, request_id=request.request_id)
        if status >= 500:
            logger.exception("dashboard failed", extra={"code": body["errorData"]["code"]})
        return http_response(status, body)
