"""Better Auth's endpoints and shapes under ``/api/auth/``: one Starlette app, served in one Lambda
through Mangum and, unchanged, by the local stack's front door.

Wire format as Better Auth's server speaks it (so its own client, ``createAuthClient``, works): a
success is the bare JSON body with status 200; an error is ``{"message", "code"}`` with its status;
dates are ISO strings; the session cookie is ``better-auth.session_token`` (``__Secure-`` prefixed
over HTTPS) holding ``<token>.<base64 HMAC-SHA256 of the token>``; responses that start a session
also carry ``set-auth-token`` for bearer clients. Non-GET requests that carry cookies must come
from a trusted origin, and every callback or redirect URL must be a plain relative path or trusted
(Better Auth's rule). Every absolute URL the endpoints hand out starts with the platform's public URL
(``ontology.public_url``), never with the request's ``Host``.

Every endpoint is rate limited per client address and path as Better Auth limits it (its defaults,
``429`` with ``X-Retry-After``; ontology.auth.ratelimit), before anything else is done.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ontology.auth import accounts as auth
from ontology.auth import ratelimit
from ontology.auth.callers import is_trusted_origin
from ontology.auth.identity import sign_cookie, unsign_cookie
from ontology.errors import OneError, ValidationError
from ontology.json_depth import check_json_depth
from ontology.public_url import public_url

__all__ = ["app", "session_cookie_name", "sign_cookie", "unsign_cookie"]

COOKIE = "better-auth.session_token"
STATE_COOKIE = "better-auth.state"
RESET_MESSAGE = "If this email exists in our system, check your email for the reset link"

# Better Auth's codes for our errors (the rest keep the platform's code).
_CODES = {
    "UNAUTHENTICATED": "INVALID_EMAIL_OR_PASSWORD",
    "RATE_LIMITED": "TOO_MANY_REQUESTS",
}


def _base_url() -> str:
    """The public base URL (``ontology.public_url``): links, redirect URIs and trust start here."""
    return public_url()


def _secure() -> bool:
    return _base_url().startswith("https://")


def session_cookie_name() -> str:
    return f"__Secure-{COOKIE}" if _secure() else COOKIE


def _iso(ms: Any) -> str | None:
    if not isinstance(ms, int | float):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def _user(user: dict[str, Any]) -> dict[str, Any]:
    out = auth.public_user(user) if "_id" in user else dict(user)
    out["createdAt"], out["updatedAt"] = _iso(out["createdAt"]), _iso(out["updatedAt"])
    return out


def _session(info: auth.SessionInfo) -> dict[str, Any]:
    s = info.session
    return {
        "session": {
            "id": s["_id"],
            "token": info.token,
            "userId": s["userId"],
            "expiresAt": _iso(s["expiresAt"]),
            "createdAt": _iso(s["createdAt"]),
            "updatedAt": _iso(s["updatedAt"]),
            "ipAddress": s.get("ipAddress"),
            "userAgent": s.get("userAgent"),
            "activeOrganizationId": s.get("activeOrganizationId"),
        },
        "user": _user(info.user),
    }


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "code": code}, status_code=status)


def _from_exception(exc: Exception) -> JSONResponse:
    if isinstance(exc, OneError):
        code = exc.data.get("reason") or _CODES.get(exc.code, exc.code)
        response = _error(exc.status, str(code), exc.message)
        if exc.code == "RATE_LIMITED":
            response.headers["X-Retry-After"] = str(exc.data.get("retryAfter", 3600))
        return response
    import logging

    logging.getLogger(__name__).exception("auth endpoint failed")
    return _error(500, "INTERNAL", "Internal error")


def _set_session_cookie(response: Response, token: str, remember: bool = True) -> None:
    response.set_cookie(
        session_cookie_name(),
        sign_cookie(token),
        max_age=auth.SESSION_TTL_MS // 1000 if remember else None,
        path="/",
        httponly=True,
        secure=_secure(),
        samesite="lax",
    )
    response.headers["set-auth-token"] = f"{token}.{unquote(sign_cookie(token)).rpartition('.')[2]}"
    response.headers["Access-Control-Expose-Headers"] = "set-auth-token"


def _clear_session_cookie(response: Response) -> None:
    response.delete_cookie(session_cookie_name(), path="/", httponly=True, secure=_secure(), samesite="lax")


def request_token(request: Request) -> str | None:
    """The session token of a request: the signed cookie, or ``Authorization: Bearer`` (signed or raw)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        value = header[7:].strip()
        return unsign_cookie(value) if "." in unquote(value) else (value or None)
    return unsign_cookie(request.cookies.get(session_cookie_name()))


#: Better Auth's relative callback: a path (no ``//``, ``/\\``, encoded slash or backslash after the
#: first ``/``) of word characters and ``-.+/@``, then an optional query. Nothing a browser could read
#: as another host: no backslash, whitespace or control character anywhere.
_RELATIVE = re.compile(r"/(?!/|\\|%2f|%5c)[\w\-.+/@]*(?:\?[\w\-.+/=&%@]*)?", re.ASCII | re.IGNORECASE)


def _trusted(url: str, *, relative: bool = True) -> bool:
    """Whether ``url`` may be a callback or redirect URL (``relative``: a plain relative path also
    may) or a request's origin: an ``http(s)`` URL on a trusted origin (``callers.is_trusted_origin``:
    the public URL's or an allowed one)."""
    if url.startswith("/"):
        return relative and _RELATIVE.fullmatch(url) is not None
    return is_trusted_origin(url)


async def _body(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    try:
        if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
            return dict(await request.form())
        raw = await request.body()
        if not raw:
            return {}
        import json

        text = raw.decode("utf-8")
        check_json_depth(text)  # the parser recurses: a deep enough body would overflow its stack
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object")
    return data


def _str(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"[body.{name}] is required", field=name)
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"[body.{name}] must be a string of at most {limit} characters", field=name)
    return value


def _check_origin(request: Request, body: dict[str, Any]) -> JSONResponse | None:
    if request.method != "GET" and request.headers.get("cookie"):
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin or origin == "null":
            return _error(403, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin")
        if not _trusted(origin, relative=False):
            return _error(403, "INVALID_ORIGIN", "Invalid origin")
    for name, code in (
        ("callbackURL", "INVALID_CALLBACK_URL"),
        ("redirectTo", "INVALID_REDIRECT_URL"),
        ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
        ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
    ):
        value = body.get(name)
        if value is not None and value != "" and (not isinstance(value, str) or not _trusted(value)):
            return _error(403, code, f"Invalid {name}")
    return None


def client_address(request: Request) -> str | None:
    """The caller's address: API Gateway's ``sourceIp`` (Starlette's ``request.client`` through
    Mangum), or CloudFront's entry of ``X-Forwarded-For`` for a request that proves it came through
    the distribution (ontology.auth.ratelimit.client_address says why no other entry is trusted)."""
    return ratelimit.client_address(request.client.host if request.client else None, request.headers)


def _rate_limit(request: Request) -> None:
    """Better Auth's limit of this path (as it names it: below /api/auth, the route's template for
    routes with parameters) for this client address."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", None) or request.url.path).removeprefix(PREFIX)
    ratelimit.check_auth_request(path, client_address(request))


def endpoint(fn: Any) -> Any:
    async def wrapper(request: Request) -> Response:
        try:
            await run_in_threadpool(_rate_limit, request)
            body = await _body(request)
            refused = _check_origin(request, body)
            if refused is not None:
                return refused
            result: Response = await fn(request, body)
            return result
        except Exception as exc:
            return _from_exception(exc)

    return wrapper


# ------------------------------------------------------------------------------------------ routes


@endpoint
async def sign_up_email(request: Request, body: dict[str, Any]) -> Response:
    from ontology.data.fields import _email

    email = _str(body, "email", limit=320)
    try:
        _email(email or "")
    except ValueError:
        return _error(400, "INVALID_EMAIL", "Invalid email")
    user = await run_in_threadpool(
        auth.sign_up,
        email=email or "",
        password=body.get("password"),
        name=_str(body, "name", limit=200),
        base_url=_base_url(),
        callback_url=_str(body, "callbackURL", required=False),
        image=_str(body, "image", required=False),
    )
    return JSONResponse({"token": None, "user": _user(user)})


@endpoint
async def sign_in_email(request: Request, body: dict[str, Any]) -> Response:
    email = _str(body, "email", limit=320)
    password = _str(body, "password", limit=1000)
    info = await run_in_threadpool(
        auth.sign_in,
        email=email or "",
        password=password or "",
        ip=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    callback = _str(body, "callbackURL", required=False)
    response = JSONResponse(
        {"redirect": bool(callback), "token": info.token, "url": callback, "user": _user(info.user)}
    )
    _set_session_cookie(response, info.token, remember=body.get("rememberMe") is not False)
    if callback:
        response.headers["Location"] = callback
    return response


@endpoint
async def sign_out(request: Request, body: dict[str, Any]) -> Response:
    token = request_token(request)
    if token:
        await run_in_threadpool(auth.sign_out, token)
    response = JSONResponse({"success": True})
    _clear_session_cookie(response)
    return response


@endpoint
async def get_session(request: Request, body: dict[str, Any]) -> Response:
    token = request_token(request)
    info = await run_in_threadpool(auth.get_session, token) if token else None
    response = JSONResponse(_session(info) if info else None)
    response.headers["cache-control"] = "no-store"
    if info is not None and info.session["updatedAt"] != info.session["createdAt"]:
        _set_session_cookie(response, info.token)  # the rolling refresh moved expiresAt
    elif info is None and token:
        _clear_session_cookie(response)
    return response


@endpoint
async def verify_email(request: Request, body: dict[str, Any]) -> Response:
    callback = _str(body, "callbackURL", required=False)
    try:
        user = await run_in_threadpool(auth.verify_email, body.get("token"))
    except ValidationError:
        if callback:
            return RedirectResponse(_with_query(callback, error="INVALID_TOKEN"), status_code=302)
        return _error(401, "INVALID_TOKEN", "Invalid token")
    if callback:
        return RedirectResponse(callback, status_code=302)
    return JSONResponse({"status": True, "user": _user(user)})


@endpoint
async def send_verification_email(request: Request, body: dict[str, Any]) -> Response:
    email = _str(body, "email", limit=320) or ""
    await run_in_threadpool(
        auth.send_verification_email,
        email=email,
        base_url=_base_url(),
        callback_url=_str(body, "callbackURL", required=False),
    )
    return JSONResponse({"status": True})


@endpoint
async def request_password_reset(request: Request, body: dict[str, Any]) -> Response:
    email = _str(body, "email", limit=320) or ""
    await run_in_threadpool(
        auth.request_password_reset,
        email=email,
        base_url=_base_url(),
        redirect_to=_str(body, "redirectTo", required=False),
    )
    return JSONResponse({"status": True, "message": RESET_MESSAGE})


@endpoint
async def reset_password_callback(request: Request, body: dict[str, Any]) -> Response:
    token = request.path_params["token"]
    callback = _str(body, "callbackURL")
    valid = await run_in_threadpool(auth.reset_token_is_valid, token)
    target = (
        _with_query(callback or "/", token=token)
        if valid
        else _with_query(callback or "/", error="INVALID_TOKEN")
    )
    return RedirectResponse(target, status_code=302)


@endpoint
async def reset_password(request: Request, body: dict[str, Any]) -> Response:
    token = body.get("token") or request.query_params.get("token")
    await run_in_threadpool(auth.reset_password, token=token, new_password=body.get("newPassword"))
    return JSONResponse({"status": True})


def _with_query(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode(params)}"


@endpoint
async def sign_in_social(request: Request, body: dict[str, Any]) -> Response:
    from ontology.auth import oauth

    provider = _str(body, "provider", limit=40) or ""
    if not oauth.configured(provider):
        return _error(404, "PROVIDER_NOT_FOUND", "Provider not found")
    url, state = await run_in_threadpool(
        oauth.authorization_url,
        provider,
        base_url=_base_url(),
        callback_url=_str(body, "callbackURL", required=False) or "/",
        error_callback_url=_str(body, "errorCallbackURL", required=False),
        new_user_callback_url=_str(body, "newUserCallbackURL", required=False),
    )
    response = JSONResponse({"url": url, "redirect": not body.get("disableRedirect")})
    response.headers["Location"] = url
    response.set_cookie(
        STATE_COOKIE,
        sign_cookie(state),
        max_age=300,
        path="/",
        httponly=True,
        secure=_secure(),
        samesite="lax",
    )
    return response


@endpoint
async def oauth_callback(request: Request, body: dict[str, Any]) -> Response:
    from ontology.auth import oauth

    provider = request.path_params["provider"]
    params = dict(request.query_params) | (
        {k: v for k, v in body.items() if isinstance(v, str)} if request.method == "POST" else {}
    )
    cookie_state = unsign_cookie(request.cookies.get(STATE_COOKIE))
    outcome = await run_in_threadpool(
        oauth.complete,
        provider,
        code=params.get("code"),
        state=params.get("state"),
        cookie_state=cookie_state,
        base_url=_base_url(),
        error=params.get("error"),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    if outcome.error:
        response = RedirectResponse(_with_query(outcome.redirect, error=outcome.error), status_code=302)
    else:
        response = RedirectResponse(outcome.redirect, status_code=302)
        assert outcome.token is not None
        _set_session_cookie(response, outcome.token)
    response.delete_cookie(STATE_COOKIE, path="/")
    return response


async def not_found(request: Request) -> Response:
    return _error(404, "NOT_FOUND", "Not found")


PREFIX = "/api/auth"
routes = [
    Route(f"{PREFIX}/sign-up/email", sign_up_email, methods=["POST"]),
    Route(f"{PREFIX}/sign-in/email", sign_in_email, methods=["POST"]),
    Route(f"{PREFIX}/sign-out", sign_out, methods=["POST"]),
    Route(f"{PREFIX}/get-session", get_session, methods=["GET"]),
    Route(f"{PREFIX}/verify-email", verify_email, methods=["GET"]),
    Route(f"{PREFIX}/send-verification-email", send_verification_email, methods=["POST"]),
    Route(f"{PREFIX}/request-password-reset", request_password_reset, methods=["POST"]),
    Route(f"{PREFIX}/forget-password", request_password_reset, methods=["POST"]),
    Route(f"{PREFIX}/reset-password/{{token}}", reset_password_callback, methods=["GET"]),
    Route(f"{PREFIX}/reset-password", reset_password, methods=["POST"]),
    Route(f"{PREFIX}/sign-in/social", sign_in_social, methods=["POST"]),
    Route(f"{PREFIX}/callback/{{provider}}", oauth_callback, methods=["GET", "POST"]),
    Route(f"{PREFIX}/{{rest:path}}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]

app = Starlette(routes=routes)
