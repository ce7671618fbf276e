"""A Python client of the platform's API: HTTP calls (needs ``httpx``) and live subscriptions over the
sync WebSocket (needs ``websockets``, imported only by :meth:`OneClient.subscribe`).

    client = OneClient("http://127.0.0.1:3210", token=session_token)
    creator = client.query("creators:get", {"id": creator_id})
    client.mutation("creators:update", {"id": creator_id, "bio": "…"})

    with client.subscribe("creators:get", {"id": creator_id}) as sub:
        creator = sub.get()  # the first result
        creator = sub.wait_for(lambda c: c["bio"] == "…")  # blocks until a later result matches

Errors come back as the platform's typed exceptions (``NotFoundError``, ``ConflictError``, …), each
with the server's ``code``, message and ``errorData``. A session keeps its token when it switches
organizations (the next call acts in the organization switched to); a result that names a
``sessionToken`` is adopted all the same.

A subscription speaks Convex's sync protocol (``/api/sync``): its values travel as
``convex_encoded_json`` (int64 beyond 2**53 as ``$integer``, NaN/±inf/-0.0 as ``$float``, bytes as
``$bytes``), and a failing query arrives as the same typed exception an HTTP call would raise.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import math
import struct
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ontology import errors as _errors

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

__all__ = ["OneClient", "Subscription", "SubscriptionClosedError"]

#: The class a code stands for: one that declares the code itself, never a subclass that only refines
#: another's (ChainRevertedError and AbortedError answer UPSTREAM_ERROR and CONFLICT).
_BY_CODE: dict[str, type[_errors.OneError]] = {
    cls.code: cls for cls in _errors._all_error_classes() if "code" in vars(cls)
}
_BY_STATUS: dict[int, type[_errors.OneError]] = {
    401: _errors.UnauthenticatedError,
    403: _errors.ForbiddenError,
    404: _errors.NotFoundError,
    413: _errors.PayloadTooLargeError,
    429: _errors.RateLimitedError,
}


def _typed_error(message: Any, data: dict[str, Any]) -> _errors.OneError:
    """The exception ``errorData`` (``{"code": …, **fields}``) stands for, carrying its fields."""
    fields = {k: v for k, v in data.items() if k != "code"}
    cls = _BY_CODE.get(str(data.get("code")), _errors.OneError)
    exc = cls.__new__(cls)
    _errors.OneError.__init__(exc, message if isinstance(message, str) else None, **fields)
    if isinstance(exc, _errors.ValidationError):
        exc.field = fields.get("field")
    return exc


def _raise(status: int, body: Any) -> None:
    data = body.get("errorData") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        # Not the platform's envelope (e.g. API Gateway's own {"message": "Unauthorized"}).
        message = body.get("message") if isinstance(body, dict) else None
        cls = _BY_STATUS.get(status, _errors.UpstreamError)
        raise cls(message or f"HTTP {status}")
    raise _typed_error(body.get("errorMessage"), data)


# --- convex_encoded_json ---------------------------------------------------------------------------

_MAX_SAFE_INT = 2**53
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"expected a base64 string, got {type(text).__name__}")
    # The standard alphabet with padding; the JS decoder also takes the URL-safe characters.
    return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)


def _encode(value: Any) -> Any:
    """A Python value as ``convex_encoded_json`` (what the server reads as a function's arguments).

    >>> _encode({"n": 4, "big": 2**60, "x": float("nan"), "raw": b"\\x01"})
    {'n': 4, 'big': {'$integer': 'AAAAAAAAABA='}, 'x': {'$float': 'AAAAAAAA+H8='}, 'raw': {'$bytes': 'AQ=='}}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE_INT < value < _MAX_SAFE_INT:
            return value  # exact as a float64, so a plain JSON number
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} does not fit in a 64-bit integer")
        return {"$integer": _b64(value.to_bytes(8, "little", signed=True))}
    if isinstance(value, float):
        if math.isfinite(value) and not (value == 0.0 and math.copysign(1.0, value) < 0):
            return value
        return {"$float": _b64(struct.pack("<d", value))}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": _b64(bytes(value))}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__} ({key!r})")
            out[key] = _encode(item)
        return out
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    raise TypeError(f"cannot send a {type(value).__name__} to the platform")


def _decode(value: Any) -> Any:
    """``convex_encoded_json`` as Python: ``$integer`` → int, ``$float`` → float, ``$bytes`` → bytes.

    Plain JSON numbers stay as ``json.loads`` reads them: ``4`` is an int, ``4.0`` and ``1e3`` floats.
    """
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, inner),) = value.items()
        if key == "$integer":
            raw = _unb64(inner)
            if len(raw) != 8:
                raise ValueError(f"$integer holds {len(raw)} bytes, not 8")
            return int.from_bytes(raw, "little", signed=True)
        if key == "$float":
            raw = _unb64(inner)
            if len(raw) != 8:
                raise ValueError(f"$float holds {len(raw)} bytes, not 8")
            number: float = struct.unpack("<d", raw)[0]
            return number
        if key == "$bytes":
            return _unb64(inner)
    return {key: _decode(item) for key, item in value.items()}


def _sync_url(base_url: str) -> str:
    scheme, sep, rest = base_url.partition("://")
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if not sep or scheme.lower() not in schemes:
        raise ValueError(f"the base URL must be http(s)://…, not {base_url!r}")
    return f"{schemes[scheme.lower()]}://{rest.rstrip('/')}/api/sync"


def _check_path(path: str) -> tuple[str, str]:
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"a function path is module:function, not {path!r}")
    return module, name


# --- subscriptions -------------------------------------------------------------------------------------

_QUERY_ID = 0
#: A subscription's ``Add`` over the socket: the server keeps a connection's within what one 32 KB
#: WebSocket frame carries (``ontology.sync.limits.MAX_QUERY_SET_BYTES``).
_SUBSCRIPTION_BYTES = 31 * 1024


class SubscriptionClosedError(RuntimeError):
    """``get()`` on a subscription its owner closed."""


class Subscription:
    """One query kept live over the sync WebSocket; made by :meth:`OneClient.subscribe`.

    A background thread reads the socket; each result the server pushes is queued in order, and a
    failing query is queued as its typed exception. The connection ending (``AuthError``,
    ``FatalError``, a broken version chain, the socket closing) ends the subscription: what was queued
    before it is still handed out, then every read raises that error. Safe to use from several threads.

        with client.subscribe("creators:get", {"id": creator_id}) as sub:
            first = sub.get()
            for creator in sub:  # every later result, until closed
                ...
    """

    def __init__(self, ws: ClientConnection, path: str) -> None:
        self.path = path
        self._ws = ws
        self._cond = threading.Condition()
        self._pending: collections.deque[tuple[bool, Any]] = collections.deque()  # (is_error, item)
        self._latest: Any = None
        self._has_value = False
        self._failing = False  # the most recent result was an error
        self._ended: _errors.OneError | None = None
        self._closed = False
        self._query_set = 1  # Connect's ModifyQuerySet went 0 → 1
        self._version: dict[str, Any] = {"querySet": 0, "identity": 0, "ts": _b64(bytes(8))}
        self._thread = threading.Thread(target=self._read, name=f"one-subscribe {path}", daemon=True)

    def _start(self) -> None:
        self._thread.start()

    # reading ---------------------------------------------------------------------------------------

    @property
    def latest(self) -> Any:
        """The most recent value the server sent, consumed or not (a failure does not replace it), or
        None before the first."""
        with self._cond:
            return self._latest

    @property
    def closed(self) -> bool:
        """True once closed by its owner or ended by the connection."""
        with self._cond:
            return self._closed or self._ended is not None

    def _ready(self) -> bool:
        return bool(self._pending) or self._ended is not None or self._closed

    def _take(self) -> Any:
        # Under the lock, once _ready().
        if self._closed:
            raise SubscriptionClosedError(f"the subscription to {self.path} is closed")
        if self._pending:
            is_error, item = self._pending.popleft()
            if is_error:
                raise item
            return item
        assert self._ended is not None
        raise self._ended

    def get(self, timeout: float | None = 10.0) -> Any:
        """The next value not yet consumed, waiting up to ``timeout`` seconds (None: forever).

        Raises ``TimeoutError`` when none comes, the query's typed error when the next result is a
        failure, and the connection's error once the subscription has ended.
        """
        with self._cond:
            if not self._cond.wait_for(self._ready, timeout):
                raise TimeoutError(f"no new value of {self.path} within {timeout}s")
            return self._take()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float | None = 10.0) -> Any:
        """The first value, current or future, for which ``predicate`` is true.

        The current value is the latest one when nothing newer is queued; otherwise the queued values
        are consumed in order until one matches. Raises ``TimeoutError`` when none does in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            current = not self._pending and self._has_value and not self._failing
            latest = self._latest
        if current and predicate(latest):
            return latest
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                value = self.get(remaining)
            except TimeoutError:
                raise TimeoutError(f"no value of {self.path} matched within {timeout}s") from None
            if predicate(value):
                return value

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        with self._cond:
            self._cond.wait_for(self._ready)
            if self._closed:
                raise StopIteration
            return self._take()

    # closing ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the query from the server's set and close the socket; closing twice is harmless."""
        from websockets.exceptions import ConnectionClosed

        with self._cond:
            if self._closed:
                return
            self._closed = True
            connected = self._ended is None
            self._pending.clear()
            self._cond.notify_all()
        if connected:
            remove = {
                "type": "ModifyQuerySet",
                "baseVersion": self._query_set,
                "newVersion": self._query_set + 1,
                "modifications": [{"type": "Remove", "queryId": _QUERY_ID}],
            }
            self._query_set += 1
            with contextlib.suppress(ConnectionClosed):
                self._ws.send(json.dumps(remove))
        self._ws.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the reader thread -----------------------------------------------------------------------------

    def _push(self, is_error: bool, item: Any) -> None:
        with self._cond:
            if self._closed or self._ended is not None:
                return
            self._pending.append((is_error, item))
            self._failing = is_error
            if not is_error:
                self._latest, self._has_value = item, True
            self._cond.notify_all()

    def _end(self, error: _errors.OneError, *, code: int = 1000) -> None:
        with self._cond:
            if self._closed or self._ended is not None:
                return
            self._ended = error
            self._cond.notify_all()
        self._ws.close(code=code, reason=error.message.encode()[:120].decode("utf-8", "ignore"))

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        while True:
            try:
                frame = self._ws.recv()
            except ConnectionClosed as exc:
                why = f"code {exc.rcvd.code}" if exc.rcvd else "no close frame"
                reason = f": {exc.rcvd.reason}" if exc.rcvd and exc.rcvd.reason else ""
                self._end(_errors.UpstreamError(f"The sync connection closed unexpectedly ({why}{reason})"))
                return
            except Exception as exc:
                self._end(_errors.UpstreamError(f"The sync connection failed: {exc}"))
                return
            try:
                keep_reading = self._handle(frame)
            except (ValueError, TypeError, KeyError, struct.error) as exc:
                self._end(_errors.UpstreamError(f"Sync protocol error: {exc}"), code=1002)
                return
            if not keep_reading:
                return

    def _handle(self, frame: str | bytes) -> bool:
        message = json.loads(frame)
        if not isinstance(message, dict):
            raise ValueError(f"a server message is a JSON object, not {type(message).__name__}")
        kind = message.get("type")
        if kind == "Transition":
            self._transition(message)
        elif kind == "AuthError":
            self._end(_errors.UnauthenticatedError(str(message.get("error") or "Authentication failed")))
            return False
        elif kind == "FatalError":
            self._end(_errors.UpstreamError(f"The sync server failed: {message.get('error')}"))
            return False
        elif kind == "TransitionChunk":
            raise ValueError("chunked Transitions are not supported")
        # Ping, and answers to requests this client never makes (MutationResponse, ...), need nothing.
        return True

    def _transition(self, message: dict[str, Any]) -> None:
        start = _version_of(message.get("startVersion"), "startVersion")
        end = _version_of(message.get("endVersion"), "endVersion")
        if start != self._version:
            raise ValueError(
                f"Transition startVersion {start} does not follow the previous endVersion {self._version}"
            )
        self._version = end
        for modification in message.get("modifications") or []:
            if not isinstance(modification, dict) or modification.get("queryId") != _QUERY_ID:
                continue
            if modification.get("type") == "QueryUpdated":
                self._push(False, _decode(modification.get("value")))
            elif modification.get("type") == "QueryFailed":
                self._push(True, _query_error(modification))


def _version_of(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"Transition {name} is missing")
    query_set, identity, ts = value.get("querySet"), value.get("identity"), value.get("ts")
    # type() rather than isinstance(): a JSON true is no version number.
    if not (type(query_set) is int and type(identity) is int and isinstance(ts, str)):
        raise ValueError(f"Transition {name} is not {{querySet: int, identity: int, ts: str}}: {value}")
    return {"querySet": query_set, "identity": identity, "ts": ts}


def _query_error(modification: dict[str, Any]) -> _errors.OneError:
    message = modification.get("errorMessage")
    data = _decode(modification.get("errorData"))
    if isinstance(data, dict):
        return _typed_error(message, data)
    # A failure without the platform's errorData: an error the function did not raise on purpose.
    error = _errors.InternalError(message if isinstance(message, str) else None)
    if data is not None:
        error.data["data"] = data
    return error


# --- the client --------------------------------------------------------------------------------------


class OneClient:
    """Calls ``POST /api/<module>/<function>``; paths are written ``module:function``.

    :meth:`subscribe` keeps a query live over ``/api/sync`` instead of asking once.
    """

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 30.0, http: Any = None
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._http = http or httpx.Client(timeout=timeout)
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, path: str, args: dict[str, Any] | None = None) -> Any:
        module, name = _check_path(path)
        resp = self._http.post(
            f"{self.base_url}/api/{module}/{name}", json=args or {}, headers=self._headers()
        )
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:200]}
        if resp.status_code == 200 and isinstance(body, dict) and body.get("status") == "success":
            value = body.get("value")
            if self.token and isinstance(value, dict) and isinstance(value.get("sessionToken"), str):
                self.token = value["sessionToken"]
            return value
        _raise(resp.status_code, body)
        return None  # pragma: no cover

    query = call
    mutation = call
    action = call

    def subscribe(self, path: str, args: dict[str, Any] | None = None) -> Subscription:
        """Subscribe to the query ``path``: every result the server pushes, in order, as it changes.

            with client.subscribe("creators:get", {"id": creator_id}) as sub:
                creator = sub.get()

        Opens one WebSocket to ``<base_url>/api/sync`` (authenticated with the client's token, if any)
        and adds the query to it. Raises ``UpstreamError`` when the socket cannot be opened, and
        ``PayloadTooLargeError`` (sending nothing) when the arguments are too large for the socket: a
        client message is one WebSocket frame, at most 32 KB.
        """
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
        from websockets.sync.client import connect

        _check_path(path)
        add = {"type": "Add", "queryId": _QUERY_ID, "udfPath": path, "args": [_encode(args or {})]}
        size = len(json.dumps(add, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode())
        if size > _SUBSCRIPTION_BYTES:
            raise _errors.PayloadTooLargeError(
                f"the arguments of {path} take {size} bytes; over the socket a subscription's take at "
                f"most {_SUBSCRIPTION_BYTES}",
                limit=_SUBSCRIPTION_BYTES,
            )
        url = _sync_url(self.base_url)
        try:
            # legacy=True: the Subscription owns the connection and closes it, not a with block.
            # max_size=None: a Transition carries whole query results (the backend only chunks
            # past 5 MB, and only for npm clients), well beyond websockets' 1 MiB default.
            ws = connect(url, open_timeout=self.timeout, close_timeout=5.0, max_size=None, legacy=True)
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise _BY_STATUS.get(status, _errors.UpstreamError)(
                f"The sync endpoint refused the connection (HTTP {status})"
            ) from exc
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise _errors.UpstreamError(f"Could not connect to {url}: {exc}") from exc
        opening: list[dict[str, Any]] = [
            {
                "type": "Connect",
                "sessionId": str(uuid.uuid4()),
                "connectionCount": 0,
                "lastCloseReason": "InitialConnect",
                "clientTs": int(time.time() * 1000),
            }
        ]
        if self.token:
            opening.append(
                {"type": "Authenticate", "tokenType": "User", "value": self.token, "baseVersion": 0}
            )
        opening.append({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": [add]})
        try:
            for message in opening:
                ws.send(json.dumps(message, allow_nan=False))
        except ConnectionClosed as exc:
            ws.close()
            raise _errors.UpstreamError(f"The sync connection to {url} closed while subscribing") from exc
        subscription = Subscription(ws, path)
        subscription._start()
        self._subscriptions.add(subscription)
        return subscription

    def openapi(self) -> dict[str, Any]:
        document: dict[str, Any] = self._http.get(f"{self.base_url}/api/openapi.json").json()
        return document

    def close(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
        self._http.close()

    def __enter__(self) -> OneClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
