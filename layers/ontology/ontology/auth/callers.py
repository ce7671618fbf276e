"""Who is calling: the identity of an API Gateway request (HTTP API, payload 2.0), read from what API
Gateway really sends.

- Behind the Lambda authorizer, its context names the session (``sessionId``) or says the caller is
  anonymous; the session is then read once, consistently (:func:`session_identity`).
- On a route without the authorizer (public functions, Convex's ``/api/query|mutation|action``) the
  function resolves ``Authorization: Bearer`` itself, or else Better Auth's session cookie, which
  payload 2.0 delivers in ``event["cookies"]`` (never in ``headers``).

A cookie is sent by the browser whichever page asks, so a request authenticated by the cookie alone
must come from a trusted origin (the platform's public URL or one of the allowed origins), as Better
Auth requires of its own endpoints: a form on another site cannot act as the visitor.

Example::

    identity = caller(event)   # None: anonymous; ForbiddenError: a cookie from an untrusted origin
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from ontology.auth.identity import Identity, bearer_token, cookie_token, session_id_of, session_identity
from ontology.errors import ForbiddenError

__all__ = ["caller", "caller_token", "is_trusted_origin", "origin_of"]

#: The session token the current HTTP request was made with (set by :func:`caller`): what a function
#: may hand back to a client that asks which token to keep using, never stored or logged.
caller_token: ContextVar[str | None] = ContextVar("caller_token", default=None)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of a URL, lowercased; None when it is not an absolute http(s) URL or
    holds what a browser might read otherwise (a backslash, whitespace, a control character)."""
    if not url or any(ch <= " " or ch in "\\\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def is_trusted_origin(origin: str | None) -> bool:
    """Whether ``origin`` is the platform's public URL or one of the allowed origins (``*`` trusts none
    for credentials: a wildcard never lets a cookie act cross-site)."""
    from ontology.public_url import public_url
    from ontology.settings import get_settings

    found = origin_of(origin)
    if found is None:
        return False
    trusted = {origin_of(public_url()), *(origin_of(o) for o in get_settings().allowed_origins)}
    return found in trusted


def caller(event: Mapping[str, Any]) -> Identity | None:
    """The identity of an HTTP API request; None when anonymous (or its session has ended)."""
    context = event.get("requestContext") or {}
    authorizer = (context.get("authorizer") or {}).get("lambda")
    headers = event.get("headers") or {}
    caller_token.set(None)
    if authorizer is not None:
        session_id = authorizer.get("sessionId")
        identity = session_identity(str(session_id)) if session_id else None
        caller_token.set(bearer_token(headers) if identity is not None else None)
        return identity
    token = bearer_token(headers)
    if token is None:
        token = cookie_token(event.get("cookies"))
        if token is None:
            return None
        method = str((context.get("http") or {}).get("method", "POST")).upper()
        if method not in _SAFE_METHODS:
            lowered = {str(k).lower(): v for k, v in headers.items()}
            origin = lowered.get("origin") or lowered.get("referer")
            if not origin or origin == "null":
                raise ForbiddenError(
                    "A request signed in with the session cookie must say where it comes from (Origin)",
                    reason="MISSING_OR_NULL_ORIGIN",
                )
            if not is_trusted_origin(origin):
                raise ForbiddenError(
                    "The session cookie is not accepted from this origin", reason="INVALID_ORIGIN"
                )
    session_id = session_id_of(token)
    identity = session_identity(session_id) if session_id else None
    caller_token.set(token if identity is not None else None)
    return identity
