"""The local HTTP front door: API Gateway (HTTP API, payload 2.0) in front of the in-process runner.

It serves exactly the routes of ``template.yaml``, turns each request into the event API Gateway
would send, runs the template's Lambda authorizer first (its result cached per token for the
template's ``ReauthorizeEvery``, as API Gateway does), and answers with what the function returns.
Dev-only routes live under ``/_local/`` and never appear in the template.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from infra.local.runner import LambdaRunner

log = logging.getLogger("one.local")

MAX_API_PAYLOAD = 10 * 1024 * 1024  # API Gateway HTTP API's own limit
INTEGRATION_TIMEOUT = 30.0  # seconds an HTTP API waits for a Lambda integration (its maximum)


class AuthorizerCache:
    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)


#: API Gateway's account-level throttle (per Region, shared by every API): 10,000 requests a second
#: in steady state, bursts of 5,000. A stage's ``DefaultRouteSettings`` may set a lower one.
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000


class TokenBucket:
    """API Gateway's throttling: ``burst`` requests at once, refilled at ``rate`` a second; a request
    finding the bucket empty is answered 429 without reaching anything behind it."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = float(rate), int(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def throttles(api: dict[str, Any]) -> list[TokenBucket]:
    """The buckets a request to the HTTP API takes from: the account's, and the stage's when its
    ``DefaultRouteSettings`` set limits (a limit of 0 refuses every request, as in AWS)."""
    buckets = [TokenBucket(ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT)]
    settings = api.get("DefaultRouteSettings") or {}
    if "ThrottlingRateLimit" in settings or "ThrottlingBurstLimit" in settings:
        buckets.append(
            TokenBucket(
                float(settings.get("ThrottlingRateLimit", ACCOUNT_RATE_LIMIT)),
                int(settings.get("ThrottlingBurstLimit", ACCOUNT_BURST_LIMIT)),
            )
        )
    return buckets


def _route_pattern(path: str) -> re.Pattern[str]:
    """API Gateway's path templates: ``{name}`` is one segment, ``{name+}`` (greedy) the rest."""
    escaped = re.escape(path).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+", "+")
    regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", escaped)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    return re.compile(f"^{regex}$")


#: A route: its method, its path's pattern, the function it invokes and whether it is public.
_Route = tuple[str, re.Pattern[str], str, bool]


class RouteTable:
    """The HTTP API's routes: those of the runner's functions, read again whenever they change (the
    dev loop reloads the functions of the running stack: a new one is routed, a removed one is not)."""

    def __init__(self, runner: LambdaRunner) -> None:
        self.runner = runner
        #: (the runner's generation they were read at, the routes, the ``$default`` route)
        self._read: tuple[int, list[_Route], tuple[str, bool] | None] = (-1, [], None)

    def _current(self) -> tuple[list[_Route], tuple[str, bool] | None]:
        generation, routes, default = self._read
        current = getattr(self.runner, "generation", 0)  # a runner without it never changes
        if generation != current:
            generation, defs = current, list(self.runner.defs.values())
            routes, default = [], None
            for d in defs:
                for method, path, public in d.routes:
                    if path == "$default":
                        default = (d.logical_id, public)
                    else:
                        routes.append((method, _route_pattern(path), d.logical_id, public))
            self._read = (generation, routes, default)
        return routes, default

    def match(self, method: str, path: str) -> tuple[str, bool, str] | None:
        """(logical id, public, route key) of the route a request takes; None: no route."""
        routes, default = self._current()
        # API Gateway routes a path with a trailing slash as the same path without it (a route's own
        # path may not end with one): ``/dashboard/`` takes ``GET /dashboard``
        candidates = (path, path.rstrip("/")) if len(path) > 1 and path.endswith("/") else (path,)
        for candidate in candidates:
            for m, pattern, logical_id, public in routes:
                if pattern.match(candidate) and m in (method, "ANY"):
                    return logical_id, public, f"{m} {pattern.pattern[1:-1]}"
        if default:
            return default[0], default[1], "$default"
        return None


def build_app(
    runner: LambdaRunner,
    template: dict[str, Any],
    *,
    dev_routes: dict[str, Callable[[Request], Any]] | None = None,
) -> Starlette:
    api = template["Resources"]["HttpApi"]["Properties"]
    auth_conf = api.get("Auth", {})
    authorizer_name = auth_conf.get("DefaultAuthorizer")
    authorizer_id = None
    identity_headers: list[str] = []
    ttl = 0
    if authorizer_name:
        conf = auth_conf["Authorizers"][authorizer_name]
        authorizer_id = conf["FunctionArn"]["Fn::GetAtt"][0]
        identity_headers = [h.lower() for h in conf.get("Identity", {}).get("Headers", [])]
        ttl = int(conf.get("Identity", {}).get("ReauthorizeEvery", 0))
    cache = AuthorizerCache(ttl)
    cors = Cors.from_template(api.get("CorsConfiguration"))
    buckets = throttles(api)

    table = RouteTable(runner)
    match = table.match

    async def api_gateway(request: Request) -> Response:
        started = time.perf_counter()
        if not all(bucket.take() for bucket in buckets):
            return JSONResponse({"message": "Too Many Requests"}, status_code=429)
        body = await request.body()
        if len(body) > MAX_API_PAYLOAD:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413)
        if _request_head_bytes(request) > MAX_REQUEST_HEAD:
            return JSONResponse({"message": "Request Header Fields Too Large"}, status_code=431)
        origin = request.headers.get("origin")
        if (
            cors is not None
            and origin
            and request.method == "OPTIONS"
            and ("access-control-request-method" in request.headers)
        ):
            return cors.preflight(origin)  # answered by API Gateway itself: no route, no authorizer
        found = match(request.method, request.url.path)
        if found is None:
            return _with_cors(cors, origin, JSONResponse({"message": "Not Found"}, status_code=404))
        logical_id, public, route_key = found
        headers = _event_headers(request)
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        # what API Gateway adds (over HTTP here)
        headers.setdefault("x-forwarded-proto", request.url.scheme)
        headers.setdefault("x-forwarded-port", str(request.url.port or 80))
        headers.setdefault("x-forwarded-for", request.client.host if request.client else "127.0.0.1")
        try:
            text = body.decode("utf-8")
            is_b64 = False
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
        now = time.time()
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.url.path,
            "rawQueryString": request.url.query,
            "headers": headers,
            "queryStringParameters": dict(request.query_params) or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": request.url.hostname,
                "http": {
                    "method": request.method,
                    "path": request.url.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.client.host if request.client else "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": text if body else None,
            "isBase64Encoded": is_b64,
        }
        if cookies:
            event["cookies"] = cookies
        if not public and authorizer_id:
            identity = [headers.get(h) for h in identity_headers]
            if any(not v for v in identity):  # missing or empty: refused before the authorizer
                return _with_cors(cors, origin, JSONResponse({"message": "Unauthorized"}, status_code=401))
            key = "|".join(v or "" for v in identity)
            decision = cache.get(key) if ttl else None
            if decision is None:
                auth_event = {
                    "version": "2.0",
                    "type": "REQUEST",
                    "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:local/$default/{route_key}",
                    "identitySource": identity,
                    "routeKey": route_key,
                    "headers": headers,
                    "requestContext": event["requestContext"],
                }
                try:
                    answer = await run_in_threadpool(runner.invoke, authorizer_id, auth_event)
                except Exception:  # a failed authorizer: API Gateway's own 500, and nothing cached
                    log.exception("%s %s: the authorizer failed", request.method, request.url.path)
                    return _with_cors(
                        cors, origin, JSONResponse({"message": "Internal Server Error"}, status_code=500)
                    )
                if not isinstance(answer, dict):  # not a response API Gateway can read: its 500 too
                    log.error("%s %s: the authorizer answered %r", request.method, request.url.path, answer)
                    return _with_cors(
                        cors, origin, JSONResponse({"message": "Internal Server Error"}, status_code=500)
                    )
                decision = answer
                if ttl:
                    cache.put(key, decision)
            if not decision.get("isAuthorized"):
                return _with_cors(cors, origin, JSONResponse({"message": "Forbidden"}, status_code=403))
            event["requestContext"]["authorizer"] = {"lambda": decision.get("context") or {}}
        # The HTTP API waits for its integration at most its timeout (30 s, or the route's
        # TimeoutInMillis), then answers 503 itself; the function runs on to its own timeout.
        d = runner.defs.get(logical_id)
        waits = float(getattr(d, "integration_timeout", INTEGRATION_TIMEOUT))
        try:
            result = await asyncio.wait_for(run_in_threadpool(runner.invoke, logical_id, event), waits)
            response = _to_response(result)
        except TimeoutError:
            log.warning("%s %s: no answer within %.0f s", request.method, request.url.path, waits)
            response = JSONResponse({"message": "Service Unavailable"}, status_code=503)
        except Exception:  # a crashed integration: API Gateway's own answer, nothing of the crash
            log.exception("%s %s: the function failed", request.method, request.url.path)
            response = JSONResponse({"message": "Internal Server Error"}, status_code=500)
        response = _with_cors(cors, origin, response)
        log.info(
            "%s %s %s %.0fms",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    app_routes: list[BaseRoute] = [
        Route(path, endpoint, methods=["GET", "POST"]) for path, endpoint in (dev_routes or {}).items()
    ]
    ws_routes = websocket_routes(template)
    if ws_routes:
        sockets = SocketGateway(runner, ws_routes)
        app_routes += [
            WebSocketRoute("/api/sync", sockets.serve),
            WebSocketRoute("/api/{version}/sync", sockets.serve),
            Route("/@connections/{connection_id:path}", sockets.manage, methods=["GET", "POST", "DELETE"]),
        ]
    app_routes.append(
        Route(
            "/{path:path}", api_gateway, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        )
    )
    return Starlette(routes=app_routes)


#: API Gateway (HTTP API) refuses a request whose request line and header values together exceed this
#: many bytes (a quota that cannot be raised). Its documentation names no status for the refusal: the
#: front door answers HTTP's own, 431.
MAX_REQUEST_HEAD = 10_240


def _request_head_bytes(request: Request) -> int:
    target = len(request.url.path) + (len(request.url.query) + 1 if request.url.query else 0)
    line = len(request.method) + 1 + target + len(" HTTP/1.1")
    return line + sum(len(v) for _, v in request.headers.raw)


def _event_headers(request: Request) -> dict[str, str]:
    """Headers as payload 2.0 carries them: lowercased, a repeated header's values joined by commas."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie" and name in headers:
            headers[name] = f"{headers[name]}; {value}"
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


class Cors:
    """The HTTP API's ``CorsConfiguration`` as API Gateway applies it: it answers a preflight itself
    (204, with the allowed origin, methods, headers and max-age), adds the CORS headers to every answer
    to an allowed origin, gives a disallowed origin none, and ignores CORS headers a function sets.
    The allowed origins are the stack's ``AllowedOrigins`` (``ALLOWED_ORIGINS``), which reach the
    functions as ``ONE_ALLOWED_ORIGINS`` too."""

    def __init__(self, conf: dict[str, Any], origins: tuple[str, ...]) -> None:
        if "*" in origins:
            raise ValueError(
                "ALLOWED_ORIGINS cannot be '*': the API allows credentials (the session cookie), which "
                "API Gateway refuses for any origin; list each origin"
            )
        self.origins = {o.lower().rstrip("/") for o in origins}
        self.methods = ",".join(conf.get("AllowMethods") or [])
        self.headers = ",".join(h.lower() for h in conf.get("AllowHeaders") or [])
        self.expose = ",".join(h.lower() for h in conf.get("ExposeHeaders") or [])
        self.credentials = conf.get("AllowCredentials") is True
        self.max_age = conf.get("MaxAge")

    @classmethod
    def from_template(cls, conf: dict[str, Any] | None) -> Cors | None:
        from ontology.settings import get_settings

        return cls(conf, get_settings().allowed_origins) if conf else None

    def allows(self, origin: str) -> bool:
        return origin.lower().rstrip("/") in self.origins

    def preflight(self, origin: str) -> Response:
        response = Response(status_code=204)
        if self.allows(origin):
            response.headers["access-control-allow-origin"] = origin
            response.headers["access-control-allow-methods"] = self.methods
            response.headers["access-control-allow-headers"] = self.headers
            if self.max_age is not None:
                response.headers["access-control-max-age"] = str(self.max_age)
            if self.credentials:
                response.headers["access-control-allow-credentials"] = "true"
        return response

    def apply(self, origin: str | None, response: Response) -> Response:
        for name in [k for k in response.headers if k.lower().startswith("access-control-")]:
            del response.headers[name]
        if origin and self.allows(origin):
            response.headers["access-control-allow-origin"] = origin
            if self.credentials:
                response.headers["access-control-allow-credentials"] = "true"
            if self.expose:
                response.headers["access-control-expose-headers"] = self.expose
            response.headers.append("vary", "Origin")
        return response


def _with_cors(cors: Cors | None, origin: str | None, response: Response) -> Response:
    return cors.apply(origin, response) if cors is not None else response


def _to_response(result: Any) -> Response:
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(raw, status_code=int(result["statusCode"]), headers=result.get("headers") or {})
        # payload 2.0 carries cookies apart; 1.0-style multi-value headers too
        for cookie in result.get("cookies") or []:
            response.headers.append("set-cookie", cookie)
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.append(name, value)
        return response
    # A function may answer with a bare value: API Gateway's payload 2.0 wraps it as JSON.
    return Response(json.dumps(result), status_code=200, media_type="application/json")


# ------------------------------------------------------------------------------------- WebSocket


def websocket_routes(template: dict[str, Any]) -> dict[str, str]:
    """Route key ($connect, $disconnect, $default) → the function its integration invokes."""
    resources = template["Resources"]
    out: dict[str, str] = {}
    for res in resources.values():
        if res.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        target = res["Properties"]["Target"]["Fn::Sub"]
        integration = resources[target.split("${", 1)[1].rstrip("}")]
        uri = integration["Properties"]["IntegrationUri"]["Fn::Sub"]
        found = re.search(r"\$\{(\w+)\.Arn\}", uri)
        if found:
            out[res["Properties"]["RouteKey"]] = found.group(1)
    return out


#: API Gateway's WebSocket limits: a frame is at most 32 KB (a client's larger frame closes the
#: socket, 1009), a message (frames reassembled) at most 128 KB. The front door sees messages, not
#: frames: it holds each to the frame limit, as every client that matters sends a message as one
#: frame (browsers, Convex's JS and Rust clients). What it sends may be 128 KB (API Gateway
#: fragments it itself).
MAX_WS_FRAME = 32 * 1024
MAX_WS_MESSAGE = 128 * 1024


#: API Gateway closes a WebSocket connection on which no message went either way for 10 minutes, and
#: every connection once it is 2 hours old (neither can be raised); it closes with 1001, "Going away"
#: (what the ``$disconnect`` event's ``disconnectStatusCode`` says). Protocol-level pings do not count
#: as messages. ``ONE_LOCAL_WS_IDLE_SECONDS`` and ``ONE_LOCAL_WS_MAX_SECONDS`` shorten them locally.
WS_IDLE_SECONDS = 600.0
WS_MAX_SECONDS = 7200.0
GOING_AWAY = 1001


def _seconds(name: str, default: float) -> float:
    import os

    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}={raw!r}: seconds") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: above 0")
    return value


class _Connection:
    """One open socket: where to send, the lock its sends take, and when it last carried a message."""

    __slots__ = ("connected_at", "last_message", "lock", "ws")

    def __init__(self, ws: WebSocket, lock: Any, connected_at: float) -> None:
        self.ws, self.lock, self.connected_at = ws, lock, connected_at
        self.last_message = time.monotonic()


class SocketGateway:
    """API Gateway's WebSocket API: each socket gets a connection id; ``$connect``, every message
    (``$default``) and ``$disconnect`` invoke their functions with the events API Gateway sends; the
    management API (``POST /@connections/{id}``: what ``post_to_connection`` calls) sends to a socket,
    410 GoneException when it is closed. A client's message over 32 KB closes the socket with 1009,
    as API Gateway closes one whose client sends a frame over 32 KB; a connection idle for
    ``idle_seconds`` (no message either way) or open for ``max_seconds`` is closed with 1001."""

    def __init__(
        self,
        runner: LambdaRunner,
        routes: dict[str, str],
        *,
        idle_seconds: float | None = None,
        max_seconds: float | None = None,
    ) -> None:
        self.runner = runner
        self.routes = routes
        self.sockets: dict[str, _Connection] = {}
        self.idle_seconds = idle_seconds or _seconds("ONE_LOCAL_WS_IDLE_SECONDS", WS_IDLE_SECONDS)
        self.max_seconds = max_seconds or _seconds("ONE_LOCAL_WS_MAX_SECONDS", WS_MAX_SECONDS)

    def _event(
        self,
        ws: WebSocket,
        connection_id: str,
        route: str,
        body: str | None,
        connected_at: float,
        *,
        closed: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        now = time.time()
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        headers = {k.lower(): v for k, v in ws.headers.items()}
        headers["x-one-sync-path"] = ws.url.path  # what the CloudFront Function passes on in AWS
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route,
                "eventType": kind,
                "connectionId": connection_id,
                "requestId": str(uuid.uuid4()),
                "domainName": ws.url.hostname,
                "stage": "live",
                "apiId": "local",
                "connectedAt": int(connected_at * 1000),  # the connection's, on every event
                "requestTimeEpoch": int(now * 1000),
                "messageDirection": "IN",
            },
            "isBase64Encoded": False,
        }
        if kind == "CONNECT":
            event["headers"] = headers
        if closed is not None:
            event["requestContext"]["disconnectStatusCode"] = closed[0]
            event["requestContext"]["disconnectReason"] = closed[1]
        if body is not None:
            event["body"] = body
        return event

    async def _expire(self, connection_id: str, conn: _Connection, closed: list[tuple[int, str]]) -> None:
        """Close the connection with 1001 once it has been idle or open too long, as API Gateway does."""
        import asyncio

        ends = time.monotonic() + self.max_seconds
        while True:
            now = time.monotonic()
            deadline = min(conn.last_message + self.idle_seconds, ends)
            if now >= deadline:
                break
            await asyncio.sleep(deadline - now)
        why = "open too long" if time.monotonic() >= ends else "idle"
        async with conn.lock:
            if self.sockets.get(connection_id) is not conn:
                return  # closed meanwhile
            self.sockets.pop(connection_id, None)  # gone for the management API from now on
            closed.append((GOING_AWAY, "Going away"))
            log.info("ws %s closed by the gateway (%s)", connection_id, why)
            with contextlib.suppress(Exception):
                await conn.ws.close(code=GOING_AWAY, reason="Going away")

    async def serve(self, ws: WebSocket) -> None:
        import asyncio

        connection_id = base64.urlsafe_b64encode(uuid.uuid4().bytes[:10]).decode()
        connected_at = time.time()
        result = await run_in_threadpool(
            self.runner.invoke,
            self.routes["$connect"],
            self._event(ws, connection_id, "$connect", None, connected_at),
        )
        if int((result or {}).get("statusCode", 200)) != 200:
            await ws.close(code=1008)
            return
        await ws.accept()
        conn = _Connection(ws, asyncio.Lock(), connected_at)
        self.sockets[connection_id] = conn
        closed: list[tuple[int, str]] = []
        expiry = asyncio.create_task(self._expire(connection_id, conn, closed))
        log.info("ws %s connected (%s)", connection_id, ws.url.path)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    closed.append((int(message.get("code") or 1005), str(message.get("reason") or "")))
                    break
                conn.last_message = time.monotonic()
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                if text is None:
                    continue
                if len(text.encode("utf-8", "surrogatepass")) > MAX_WS_FRAME:
                    closed.append((1009, "Message too big"))
                    await ws.close(code=1009, reason="Message too big")
                    break
                await run_in_threadpool(
                    self.runner.invoke,
                    self.routes["$default"],
                    self._event(ws, connection_id, "$default", text, connected_at),
                )
        except WebSocketDisconnect as exc:
            closed.append((exc.code, str(exc.reason or "")))
        except Exception:
            log.exception("ws %s failed", connection_id)
        finally:
            expiry.cancel()
            if self.sockets.get(connection_id) is conn:
                self.sockets.pop(connection_id, None)
            await run_in_threadpool(
                self.runner.invoke,
                self.routes["$disconnect"],
                self._event(
                    ws,
                    connection_id,
                    "$disconnect",
                    None,
                    connected_at,
                    closed=closed[0] if closed else (1006, ""),
                ),
            )
            log.info("ws %s disconnected", connection_id)

    async def manage(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        conn = self.sockets.get(connection_id)
        if conn is None:
            return _gone()
        if request.method == "GET":
            return JSONResponse({"connectedAt": None, "identity": {"sourceIp": "127.0.0.1"}})
        try:
            async with conn.lock:
                if self.sockets.get(connection_id) is not conn:
                    return _gone()  # closed while this waited
                if request.method == "DELETE":
                    await conn.ws.close(code=1000)
                    self.sockets.pop(connection_id, None)
                else:
                    data = await request.body()
                    if len(data) > MAX_WS_MESSAGE:
                        return JSONResponse(
                            {"message": "Payload too large"},
                            status_code=413,
                            headers={"x-amzn-errortype": "PayloadTooLargeException"},
                        )
                    await conn.ws.send_text(data.decode("utf-8"))
                    conn.last_message = time.monotonic()  # a message either way keeps it open
        except Exception:
            self.sockets.pop(connection_id, None)
            return _gone()
        return Response(status_code=200)


def _gone() -> Response:
    return JSONResponse({"message": None}, status_code=410, headers={"x-amzn-errortype": "GoneException"})
