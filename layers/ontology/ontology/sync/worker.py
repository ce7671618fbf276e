"""The sync worker: each connection's messages and invalidations, one at a time, in order.

Everything a connection is sent is decided here, so its versions chain: a client's messages (from the
``$default`` route) and the invalidations of its subscriptions (from the table's stream) arrive on one
FIFO queue grouped by connection id, which hands a group's messages over one batch at a time. For
each, the worker loads the connection (:mod:`ontology.sync.state`), answers, saves the connection
conditioned on the version it loaded, and only then posts the answer (``post_to_connection``).

Protocol (Convex's own, as its clients speak it): Connect, ModifyQuerySet (Add/Remove) → Transition;
Mutation → MutationResponse then a Transition reaching its ``ts`` (the writer's own subscriptions that
the write touched re-run first, so the client reads its writes; a failed one is followed by a
Transition too, which Convex's Rust client waits for); Action → ActionResponse;
Authenticate → a Transition with the identity version advanced (or AuthError); Event is ignored.
Anything malformed is a FatalError for that connection alone. A subscription past what a connection or
a session may cost (:mod:`ontology.sync.limits`) is refused alone: a ``QueryFailed`` with a typed error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ontology.auth.identity import Identity, bearer_token, resolve_session
from ontology.data.tracking import ReadSet, WriteSet, recording
from ontology.errors import (
    ConflictError,
    LimitExceededError,
    OneError,
    PayloadTooLargeError,
    RateLimitedError,
    ValidationError,
    error_envelope,
)
from ontology.json_depth import check_json_depth
from ontology.runtime.registry import RegisteredFunction
from ontology.sync import limits, pending, push
from ontology.sync.calls import call
from ontology.sync.paths import resolve_public
from ontology.sync.queue import ITEM_SECONDS, MAX_RECEIVES, enqueue, retry_later, retry_seconds
from ontology.sync.state import AUTH_QUERY, Connection, SyncState
from ontology.sync.values import decode_args, decode_ts, encode_ts, encode_value, next_ts

__all__ = ["FatalMessageError", "handle_records", "process"]

log = logging.getLogger(__name__)

MAX_HELD = 16
#: How far ahead of this server's clock a client's ``maxObservedTimestamp`` may be (clock skew).
MAX_CLOCK_SKEW_NS = 60 * 10**9
#: What one Transition may carry before it is split (API Gateway's message limit, with room).
TRANSITION_BUDGET = push.MAX_MESSAGE_BYTES - 4096


class FatalMessageError(Exception):
    """The connection broke the protocol: FatalError, then it is closed."""


class RetryLaterError(Exception):
    """A function could not be invoked (throttled, timed out): nothing is saved, the item is
    delivered again."""


def _version(conn: Connection) -> dict[str, Any]:
    return {"querySet": conn.query_set, "identity": conn.identity_version, "ts": encode_ts(conn.ts)}


def _digest(mod: Mapping[str, Any]) -> str:
    body = {k: v for k, v in mod.items() if k != "queryId"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _a(kind: str) -> str:
    return f"an {kind}" if kind == "action" else f"a {kind}"


def _int(message: Mapping[str, Any], name: str) -> int:
    value = message.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FatalMessageError(f"{message.get('type')}: {name} must be a non-negative integer")
    return value


def _failure(answer: Mapping[str, Any]) -> tuple[str, Any]:
    message = str(answer.get("errorMessage") or "Function failed")
    return message, encode_value(answer.get("errorData") or {"code": "INTERNAL"})


def _failed(qid: int, answer: Mapping[str, Any] | OneError) -> dict[str, Any]:
    """A query's ``QueryFailed``: a function's error answer, or a typed error of the protocol's own."""
    message, data = _failure(error_envelope(answer)[1] if isinstance(answer, OneError) else answer)
    return {
        "type": "QueryFailed",
        "queryId": qid,
        "errorMessage": message,
        "errorData": data,
        "logLines": [],
        "journal": None,
    }


def _add_size(query_id: str, path: str, args: Any) -> int:
    """The bytes of a query's ``Add`` as a client sends it again when it reconnects: with its
    ``journal`` (null), and the ``.js`` module suffix the Rust client puts on the path."""
    add = {"type": "Add", "queryId": int(query_id), "udfPath": path, "args": args, "journal": None}
    return len(push.encode(add)) + len(".js")


class Worker:
    """One message of one connection (``conn`` is loaded; ``out`` collects what to post)."""

    def __init__(self, state: SyncState, conn: Connection) -> None:
        self.state = state
        self.conn = conn
        self.out: list[dict[str, Any]] = []
        #: the version the client holds (a message may move the connection's before it answers)
        self.sent = _version(conn)
        #: the connection is to be closed after this item's answer (the client resynchronises)
        self.resync = False
        #: watch keys whose marker this item wrote (several subscriptions reading one key: one marker)
        self.marked: set[str] = set()
        #: the new subscriptions this item ran and the watch items it wrote for them (the session's
        #: budget is charged with them); the session's spending before, once loaded
        self.adds = 0
        self.items = 0
        self.spent: tuple[int, int] | None = None
        self.window = int(time.time()) // limits.SESSION_WINDOW_SECONDS
        #: query runs for new subscriptions in this item, and the new subscriptions left for the
        #: items queued behind it
        self.runs = 0
        self.deferred: list[str] = []
        #: functions a new subscription of was refused for want of the connection's room
        self.full: set[str] = set()
        #: re-runs of pending subscriptions may share their function container's recent reads, and
        #: then reflect the table as of ``as_of`` (:mod:`ontology.data.read_cache`)
        self.shared = False
        self.as_of = time.time()

    @property
    def identity(self) -> Identity | None:
        return Identity.from_context(self.conn.identity)

    # ------------------------------------------------------------------------------ transitions

    def transition(self, mods: list[dict[str, Any]], *, at_least: int = 0) -> None:
        start = self.sent
        self.conn.ts = next_ts(max(self.conn.ts, self.conn.max_observed_ts, at_least))
        end = self.sent = _version(self.conn)
        chunks: list[list[dict[str, Any]]] = [[]]
        size = 0
        for mod in mods:
            n = len(push.encode(mod))
            if chunks[-1] and size + n > TRANSITION_BUDGET:
                chunks.append([])
                size = 0
            chunks[-1].append(mod)
            size += n
        for i, chunk in enumerate(chunks):
            # a result too large for one message goes in several Transitions; the later ones
            # start where the first ended (the client applies each; versions still chain)
            self.out.append(
                {
                    "type": "Transition",
                    "startVersion": start if i == 0 else end,
                    "endVersion": end,
                    "modifications": chunk,
                }
            )

    # ----------------------------------------------------------------------------------- queries

    def run_query(self, query_id: str) -> tuple[dict[str, Any], ReadSet | None]:
        q = self.conn.queries[query_id]
        qid = int(query_id)
        try:
            fn = resolve_public(q["path"])
            if fn.spec.kind != "query":
                raise ValidationError(
                    f"{q['path']} is {_a(fn.spec.kind)}, not a query", path=q["path"], kind=fn.spec.kind
                )
            args = decode_args(q["args"])
        except OneError as exc:
            return _failed(qid, exc), None
        answer = call(fn, args, self.identity, reads=True, shared=self.shared)
        if isinstance(answer.get("asOf"), int | float):
            self.as_of = min(self.as_of, float(answer["asOf"]))
        if not isinstance(answer.get("reads"), dict):
            # the function never ran (throttled, timed out): its watches stay as they are
            raise RetryLaterError(str(answer.get("errorMessage") or "the query could not be run"))
        reads = ReadSet.from_json(answer["reads"])
        if answer.get("status") != "success":
            return _failed(qid, answer), reads
        try:
            value = encode_value(answer.get("value"))
        except (TypeError, ValidationError) as exc:
            return _failed(qid, ValidationError(f"the result is not a Convex value: {exc}")), reads
        mod = {"type": "QueryUpdated", "queryId": qid, "value": value, "logLines": [], "journal": None}
        if len(push.encode(mod)) > TRANSITION_BUDGET:
            too_large = PayloadTooLargeError(
                f"the result of {q['path']} is larger than a WebSocket message ({push.MAX_MESSAGE_BYTES} "
                "bytes); paginate it",
                limit=push.MAX_MESSAGE_BYTES,
            )
            return _failed(qid, too_large), reads
        return mod, reads

    def _bounded(self, query_id: str) -> tuple[dict[str, Any], ReadSet, bool]:
        """Run a subscription's query; with the read set to watch, and whether it reads more keys than
        the subscription (or the room its connection has left) may watch: it fails then, watching
        nothing."""
        mod, reads = self.run_query(query_id)
        self.runs += 1
        keys = len(reads.watch_keys()) if reads is not None else 0
        if keys > limits.MAX_WATCH_KEYS:
            over: OneError = LimitExceededError(
                f"this query reads {keys} keys (documents by id, index stretches); a subscription "
                f"watches at most {limits.MAX_WATCH_KEYS}: ask for fewer (a smaller page or limit)",
                limit=limits.MAX_WATCH_KEYS,
                keys=keys,
            )
            return _failed(int(query_id), over), ReadSet(), True
        room = limits.MAX_CONNECTION_KEYS - self._watched(but=query_id)
        if keys > room:
            over = LimitExceededError(
                f"this query reads {keys} keys, and the connection's subscriptions watch "
                f"{limits.MAX_CONNECTION_KEYS - room} of the {limits.MAX_CONNECTION_KEYS} keys a "
                "connection may watch",
                limit=limits.MAX_CONNECTION_KEYS,
                keys=keys,
            )
            return _failed(int(query_id), over), ReadSet(), True
        return mod, reads or ReadSet(), False

    def _watched(self, *, but: str = "") -> int:
        """The keys the connection's subscriptions watch (but one)."""
        return sum(int(q.get("k") or 0) for query_id, q in self.conn.queries.items() if query_id != but)

    def refresh(self, query_ids: list[str], *, added: bool = False) -> list[dict[str, Any]]:
        """Re-run queries; the modifications whose result changed (every one, when just added: a new
        subscription past the session's budget or the connection's keys is refused instead)."""
        mods = []
        for query_id in query_ids:
            q = self.conn.queries.get(query_id)
            if q is None or (q.get("pending") and not added):
                continue
            if added:
                if self.runs + 2 > limits.ITEM_RUNS:
                    q["pending"] = True  # run by an item queued behind this one
                    self.deferred.append(query_id)
                    continue
                q.pop("pending", None)
                refusal = self._refusal(q["path"])
                if refusal is not None:
                    mods.append(self._refuse(query_id, refusal))
                    continue
                self.adds += 1
            mod, reads, over = self._bounded(query_id)
            if over and added:
                self.full.add(q["path"])
                mods.append(self._refuse(query_id, mod))
                continue
            if self._watch(query_id, reads, added=added) or added:
                # The run happened before its (new) watches existed: a write in between would be
                # missed. Run once more now that they do (a read set changed again is watched again).
                mod, reads, _ = self._bounded(query_id)
                self._watch(query_id, reads, added=added)
            digest = _digest(mod)
            if added or digest != self.conn.queries[query_id].get("hash"):
                self.conn.queries[query_id]["hash"] = digest
                self.conn.queries[query_id]["at"] = int(time.time() * 1000)  # when last pushed
                mods.append(mod)
        return mods

    def _watch(self, query_id: str, reads: ReadSet, *, added: bool = False) -> bool:
        """Keep a subscription's watches: written again only when its read set changed; True when a
        watch item was written (a key newly watched, a stretch widened), so a write between the
        run's reads and that watch could have been missed."""
        digest = hashlib.sha256(json.dumps(reads.to_json(), separators=(",", ":")).encode()).hexdigest()
        q = self.conn.queries[query_id]
        if q.get("reads") == digest:
            return False
        written = self.state.watch(self.conn, query_id, reads, self.marked)
        if added:
            self.items += written
        q["reads"], q["k"] = digest, len(reads.watch_keys())
        if reads.ranges:
            q["r"] = True  # read an index range: rechecked after the writes to it
        else:
            q.pop("r", None)
        return written > 1  # (the subscription's own item is always one of them)

    def _refuse(self, query_id: str, refusal: dict[str, Any] | OneError) -> dict[str, Any]:
        """A new subscription refused: out of the query set (it never watched anything), and its
        ``QueryFailed``."""
        self.conn.queries.pop(query_id, None)
        return refusal if isinstance(refusal, dict) else _failed(int(query_id), refusal)

    # ------------------------------------------------------------------------------------ limits

    def _session(self) -> str:
        """Whose budget a new subscription is charged to: the session's, or an anonymous
        connection's own."""
        identity = self.identity
        if identity is not None and identity.sessionId:
            return f"session#{identity.sessionId}"
        return f"connection#{self.conn.id}"

    def _refusal(self, path: str) -> OneError | None:
        """Why a new subscription (of the function ``path``) may not run now, or None: the session's
        budget for the minute is spent, or the connection watches all the keys it may (or too many
        for another query of a function whose query did not fit, in this item)."""
        if self.spent is None:
            self.spent = self.state.spent(self._session(), self.window)
        adds, items = self.spent[0] + self.adds, self.spent[1] + self.items
        if adds >= limits.SESSION_ADDS or items >= limits.SESSION_ITEMS:
            retry = limits.SESSION_WINDOW_SECONDS - int(time.time()) % limits.SESSION_WINDOW_SECONDS
            return RateLimitedError(
                f"this session subscribed to too much in the last minute ({limits.SESSION_ADDS} "
                f"subscriptions or {limits.SESSION_ITEMS} watch items at most); try again in {retry} s",
                retryAfter=retry,
            )
        if self._watched() >= limits.MAX_CONNECTION_KEYS or path in self.full:
            return LimitExceededError(
                f"the connection's subscriptions watch {self._watched()} of the "
                f"{limits.MAX_CONNECTION_KEYS} keys a connection may watch",
                limit=limits.MAX_CONNECTION_KEYS,
            )
        return None

    def _admit(self, size: int) -> OneError | None:
        """Why an ``Add`` may not join the query set, or None: too many subscriptions, or a query set
        its client could not send again in one frame when it reconnects."""
        if len(self.conn.queries) >= limits.MAX_QUERIES:
            return LimitExceededError(
                f"a connection holds at most {limits.MAX_QUERIES} subscriptions", limit=limits.MAX_QUERIES
            )
        total = size + sum(
            int(q["n"]) if isinstance(q.get("n"), int) else _add_size(query_id, q["path"], q["args"])
            for query_id, q in self.conn.queries.items()
        )
        if total > limits.MAX_QUERY_SET_BYTES:
            return PayloadTooLargeError(
                f"a connection's subscriptions take at most {limits.MAX_QUERY_SET_BYTES} bytes of "
                "udfPath and args together (its client sends them all in one WebSocket message of at "
                f"most {limits.FRAME_BYTES} bytes when it reconnects); this one would make {total}",
                limit=limits.MAX_QUERY_SET_BYTES,
            )
        return None

    def charge(self) -> None:
        """Charge the session's budget with the new subscriptions this item ran (one UpdateItem)."""
        if self.adds or self.items:
            self.state.spend(self._session(), self.window, self.adds, self.items)

    def touched(self, writes: WriteSet) -> list[str]:
        """This connection's subscriptions that a write (its own) touched."""
        if not writes or not self.conn.queries:
            return []
        sets = self.state.read_sets(self.conn, list(self.conn.queries))
        return [q for q, reads in sets.items() if reads.touches(writes)]

    # ---------------------------------------------------------------------------------- messages

    def _ahead(self, message: Mapping[str, Any]) -> bool:
        """A versioned message that came before its predecessor (API Gateway may run ``$default``
        for one connection's messages at once): it waits for it."""
        kind, base = message.get("type"), message.get("baseVersion")
        if not isinstance(base, int) or isinstance(base, bool):
            return False
        # only the very next one waits: a message further ahead is simply wrong (FatalError)
        if kind == "ModifyQuerySet":
            return base == self.conn.query_set + 1
        if kind == "Authenticate":
            return base == self.conn.identity_version + 1
        return False

    def release_held(self) -> None:
        """Handle the held messages whose predecessor has now been handled, in order."""
        progress = True
        while progress and self.conn.held:
            progress = False
            for i, text in enumerate(self.conn.held):
                message = json.loads(text)
                if not self._ahead(message):
                    del self.conn.held[i]
                    self.handle(message)
                    progress = True
                    break

    def handle(self, message: Any) -> None:
        if not isinstance(message, Mapping):
            raise FatalMessageError("A message must be a JSON object")
        if self._ahead(message):
            if len(self.conn.held) >= MAX_HELD:
                raise FatalMessageError("Too many messages ahead of their predecessors")
            self.conn.held.append(json.dumps(message, separators=(",", ":")))
            return
        kind = message.get("type")
        handler = {
            "Connect": self.on_connect,
            "ModifyQuerySet": self.on_modify,
            "Mutation": self.on_request,
            "Action": self.on_request,
            "Authenticate": self.on_authenticate,
            "Event": self.on_event,
        }.get(kind if isinstance(kind, str) else "")
        if handler is None:
            raise FatalMessageError(f"Unknown message type {str(kind)[:64]!r}")
        handler(message)

    def on_event(self, message: Mapping[str, Any]) -> None:
        """Client telemetry (``ClientConnect``, …): nothing to answer."""

    def on_connect(self, message: Mapping[str, Any]) -> None:
        observed = message.get("maxObservedTimestamp")
        if observed is not None:
            try:
                seen = decode_ts(observed)
            except ValidationError as exc:
                raise FatalMessageError(f"Connect: maxObservedTimestamp: {exc.message}") from None
            if seen > time.time_ns() + MAX_CLOCK_SKEW_NS:
                raise FatalMessageError("Connect: maxObservedTimestamp is ahead of this server's clock")
            self.conn.max_observed_ts = max(self.conn.max_observed_ts, seen)
        session = message.get("sessionId")
        if isinstance(session, str):
            self.conn.session_id = session[:64]

    def on_modify(self, message: Mapping[str, Any]) -> None:
        base, new = _int(message, "baseVersion"), _int(message, "newVersion")
        if base != self.conn.query_set:
            raise FatalMessageError(
                f"BaseVersionMismatch: the query set is at {self.conn.query_set}, not {base}"
            )
        if new <= base:
            raise FatalMessageError("ModifyQuerySet: newVersion must be greater than baseVersion")
        mods_in = message.get("modifications")
        if not isinstance(mods_in, list):
            raise FatalMessageError("ModifyQuerySet: modifications must be a list")
        added: list[str] = []
        refused: dict[str, dict[str, Any]] = {}
        removed: list[dict[str, Any]] = []
        for mod in mods_in:
            if not isinstance(mod, Mapping) or mod.get("type") not in ("Add", "Remove"):
                raise FatalMessageError("ModifyQuerySet: each modification is an Add or a Remove")
            query_id = str(_int(mod, "queryId"))
            if mod["type"] == "Add":
                if query_id in self.conn.queries or query_id in refused:
                    raise FatalMessageError(f"ModifyQuerySet: query {query_id} is already in the set")
                path, args = mod.get("udfPath"), mod.get("args", [])
                if not isinstance(path, str):
                    raise FatalMessageError("ModifyQuerySet: Add needs a udfPath")
                size = _add_size(query_id, path, args)
                refusal = self._admit(size)
                if refusal is not None:
                    refused[query_id] = _failed(int(query_id), refusal)
                    continue
                self.conn.queries[query_id] = {"path": path[:256], "args": args, "hash": "", "n": size}
                added.append(query_id)
            else:
                refused.pop(query_id, None)
                if query_id in added:
                    added.remove(query_id)
                    self.conn.queries.pop(query_id, None)
                elif self.conn.queries.pop(query_id, None) is not None:
                    self.state.unwatch(self.conn, query_id)
                removed.append({"type": "QueryRemoved", "queryId": int(query_id)})
        self.conn.query_set = new
        self.transition(list(refused.values()) + self.refresh(added, added=True) + removed)

    def on_request(self, message: Mapping[str, Any]) -> None:
        kind = message["type"]
        request_id = _int(message, "requestId")
        response_type = "MutationResponse" if kind == "Mutation" else "ActionResponse"
        path = message.get("udfPath")
        expected = "mutation" if kind == "Mutation" else "action"
        try:
            fn = resolve_public(path)
            if fn.spec.kind != expected:
                raise ValidationError(
                    f"{path} is {_a(fn.spec.kind)}, not {_a(expected)}",
                    path=path,
                    kind=fn.spec.kind,
                )
            args = decode_args(message.get("args", []))
        except OneError as exc:
            self._respond_error(response_type, request_id, error_envelope(exc)[1], [])
            return
        answer = self._call(fn, args)
        if answer.get("status") != "success":
            writes = WriteSet.from_json(answer["writes"]) if answer.get("writes") else WriteSet()
            mods: list[dict[str, Any]] = []
            if writes:
                try:
                    mods = self.refresh(self.touched(writes))
                except RetryLaterError:
                    self.resync = True
            self._respond_error(response_type, request_id, answer, mods)
            return
        writes = WriteSet.from_json(answer["writes"]) if answer.get("writes") else WriteSet()
        ts = next_ts(max(self.conn.ts, self.conn.max_observed_ts))
        response: dict[str, Any] = {
            "type": response_type,
            "requestId": request_id,
            "success": True,
            "result": encode_value(answer.get("value")),
            "logLines": [],
        }
        if kind == "Mutation":
            response["ts"] = encode_ts(ts)
        if len(push.encode(response)) > TRANSITION_BUDGET:
            too_large = PayloadTooLargeError(
                f"the result of {path} is larger than a WebSocket message ({push.MAX_MESSAGE_BYTES} bytes)",
                limit=push.MAX_MESSAGE_BYTES,
            )
            message_, data = _failure(error_envelope(too_large)[1])
            response = {**response, "success": False, "result": message_, "errorData": data}
            if kind == "Mutation":
                response["ts"] = None  # it committed: its Transition still follows
        self.out.append(response)
        # the writer's own subscriptions that its write touched, before the Transition that
        # completes the mutation (read-your-writes); others hear of it through the stream
        try:
            mods = self.refresh(self.touched(writes))
        except RetryLaterError:
            # the write is done and must not run again: answer it, then let the client resync
            mods, self.resync = [], True
        if kind == "Mutation" or mods:
            self.transition(mods, at_least=ts)

    def _call(self, fn: RegisteredFunction, args: dict[str, Any]) -> dict[str, Any]:
        return call(fn, args, self.identity, counted=True)

    def _respond_error(
        self, response_type: str, request_id: int, answer: Mapping[str, Any], mods: list[dict[str, Any]]
    ) -> None:
        """A failed mutation's or action's response, then a Transition (with ``mods``, what its
        writes changed): after every mutation's, as Convex's backend does. Its Rust client (PyPI
        ``convex``) completes a mutation that failed with a ConvexError only at the next Transition,
        as it does a successful one; the JS client at once, and ignores the Transition."""
        message, data = _failure(answer)
        response: dict[str, Any] = {
            "type": response_type,
            "requestId": request_id,
            "success": False,
            "result": message,
            "errorData": data,
            "logLines": [],
        }
        if response_type == "MutationResponse":
            response["ts"] = None
        self.out.append(response)
        if response_type == "MutationResponse" or mods:
            self.transition(mods)

    def on_authenticate(self, message: Mapping[str, Any]) -> None:
        base = _int(message, "baseVersion")
        if base != self.conn.identity_version:
            raise FatalMessageError(
                f"Authenticate: the identity is at version {self.conn.identity_version}, not {base}"
            )
        token_type = message.get("tokenType")
        if token_type == "None":  # noqa: S105 - a token type, not a secret
            self.conn.identity = None
            self.state.unwatch(self.conn, AUTH_QUERY)
        elif token_type == "User":  # noqa: S105
            value = message.get("value")
            token = bearer_token({"authorization": f"Bearer {value}"}) if isinstance(value, str) else None
            with recording() as reads:
                identity = resolve_session(token) if token else None
            if identity is None:
                self.out.append(
                    {
                        "type": "AuthError",
                        "error": "The session token is not valid (signed out, expired or unknown)",
                        "baseVersion": base,
                        "authUpdateAttempted": True,
                    }
                )
                return
            self.conn.identity = identity.to_context()
            self.state.watch(self.conn, AUTH_QUERY, reads)
            self.state.index_organization(self.conn)
        else:
            self.out.append(
                {
                    "type": "AuthError",
                    "error": f"tokenType {str(token_type)[:32]!r} is not supported; use a session token",
                    "baseVersion": base,
                    "authUpdateAttempted": True,
                }
            )
            return
        self.conn.identity_version = base + 1
        self.transition(self.refresh(list(self.conn.queries)))

    def add_pending(self) -> None:
        """Run the new subscriptions earlier items left (as many as one item may)."""
        pending = [q for q, spec in self.conn.queries.items() if spec.get("pending")]
        mods = self.refresh(pending, added=True)
        if mods:
            self.transition(mods)

    # ----------------------------------------------------------------------------- invalidation

    def invalidate(self, query_ids: list[str]) -> None:
        if pending.RANGED in query_ids:  # a recheck: every subscription that read an index range
            ranged = [q for q, sub in self.conn.queries.items() if sub.get("r")]
            query_ids = [q for q in query_ids if q != pending.RANGED]
            query_ids += [q for q in ranged if q not in query_ids]
        if AUTH_QUERY in query_ids and self.conn.identity is not None and not self._still_signed_in():
            return
        mods = self.refresh([q for q in query_ids if q != AUTH_QUERY])
        if mods:
            self.transition(mods)

    def _still_signed_in(self) -> bool:
        """The session the connection authenticated with changed: check it is still live (and the
        role it gives); when not, AuthError and its subscriptions stop."""
        from ontology.auth.identity import session_identity

        current = self.identity
        assert current is not None
        with recording() as reads:
            identity = session_identity(current.sessionId) if current.sessionId else None
        if identity is None:
            self.conn.identity = None
            for query_id in [*self.conn.queries, AUTH_QUERY]:
                self.state.unwatch(self.conn, query_id)
            for q in self.conn.queries.values():
                q.pop("reads", None)  # watched again from scratch if the client authenticates anew
            self.out.append(
                {
                    "type": "AuthError",
                    "error": "The session ended (signed out, expired or removed from the organization)",
                    "baseVersion": max(self.conn.identity_version - 1, 0),
                    "authUpdateAttempted": False,
                }
            )
            return False
        self.state.watch(self.conn, AUTH_QUERY, reads)
        if identity.to_context() != self.conn.identity:
            self.conn.identity = identity.to_context()
            self.state.index_organization(self.conn)
            mods = self.refresh(list(self.conn.queries))
            if mods:
                self.transition(mods)
            return False
        return True


# ------------------------------------------------------------------------------------ delivery


def process(state: SyncState, body: Mapping[str, Any], message_id: str = "") -> None:
    """One queued item of one connection: ``{"c": id, "m": text}`` (a client's message),
    ``{"c": id, "pend": 1}`` (re-run the subscriptions writes touched: :mod:`ontology.sync.pending`),
    ``{"c": id, "inv": [queryId, …]}`` (re-run these) or ``{"c": id, "add": true}`` (new
    subscriptions an earlier item left: :data:`limits.ITEM_RUNS`).

    The queue delivers at least once. The connection records the last item it applied (in the same
    conditional save as its new version), so an item delivered again is never applied twice (a
    mutation never runs twice): whether its answer reached the client is unknown then, so the
    connection is closed and the client resynchronises (Convex's clients reconnect, resubscribe and
    send unconfirmed mutations again). A post that fails for another reason than a closed connection
    closes it the same way, never leaving the client a version behind.
    """
    connection_id = str(body["c"])
    if "pend" in body:
        conn, rerun = pending.load(state, connection_id)
    else:
        conn, rerun = state.load(connection_id), pending.Pending()
    if conn is None or conn.closed:
        return  # gone (or told to go): nothing to answer
    if message_id and message_id == conn.applied:
        log.warning("sync item delivered again; closing the connection", extra={"connection": connection_id})
        push.close(connection_id)
        return
    worker = Worker(state, conn)
    fatal: str | None = None
    started = time.time()
    try:
        _apply(worker, body, rerun)
    except FatalMessageError as exc:
        fatal = str(exc)
    except RecursionError:
        fatal = "The message is nested too deeply"
    worker.charge()
    _log_item(worker, body, rerun)
    if fatal is not None:
        conn.closed = True
        worker.out = [{"type": "FatalError", "error": fatal}]
    conn.applied = message_id
    state.save(conn)  # before posting: the versions posted are the versions kept
    if rerun.queries and not pending.clear(state, connection_id, rerun, started, worker.as_of):
        pending.wake([(connection_id, pending.RERUN_SECONDS)], f"{message_id}|{rerun.generation}")
    try:
        for message in worker.out:
            push.post(connection_id, message)
    except push.ConnectionGoneError:
        state.drop(connection_id)
        return
    except Exception:
        log.exception("could not post to the connection; closing it", extra={"connection": connection_id})
        fatal = fatal or "post failed"
    if fatal is not None or worker.resync:
        push.close(connection_id)
    elif worker.deferred:
        _continue(connection_id, message_id)


#: The message of the worker's line for each item it applied (the dashboard's sync health sums them).
ITEM_MESSAGE = "sync item"


def _item_kind(body: Mapping[str, Any]) -> str:
    return next((k for k in ("m", "add", "pend") if k in body), "inv")


def _log_item(worker: Worker, body: Mapping[str, Any], rerun: pending.Pending) -> None:
    """One line per item: its connection and organization, what it was (a client's ``message``, an
    ``invalidation``: a pending re-run or a recheck, or new subscriptions ``add``ed), the queries it
    ran and the modifications it pushed."""
    from ontology.runtime.observability import logger

    kind = {"m": "message", "add": "add", "pend": "invalidation", "inv": "invalidation"}[_item_kind(body)]
    pushed = sum(len(m.get("modifications") or ()) for m in worker.out if m.get("type") == "Transition")
    logger.info(
        ITEM_MESSAGE,
        extra={
            "function": "sync:worker",
            "connection": worker.conn.id,
            "organization": (worker.conn.identity or {}).get("organizationId"),
            "item": kind,
            "invalidated": len(rerun.queries) if "pend" in body else len(body.get("inv") or ()),
            "runs": worker.runs,
            "pushed": pushed,
        },
    )


def _apply(worker: Worker, body: Mapping[str, Any], rerun: pending.Pending) -> None:
    """Apply one item to its connection's worker (``rerun``: the connection's pending re-run, read
    with it for a ``pend`` item)."""
    if "m" in body:
        try:
            check_json_depth(str(body["m"]))
            message = json.loads(body["m"])
        except ValidationError as exc:
            raise FatalMessageError(exc.message) from None
        except (TypeError, ValueError, RecursionError):
            raise FatalMessageError("The message is not valid JSON") from None
        worker.handle(message)
        worker.release_held()
    elif "add" in body:
        worker.add_pending()
    elif "pend" in body:
        worker.shared = True
        worker.invalidate(list(rerun.queries))
    else:
        worker.invalidate([str(q) for q in body.get("inv", [])])


def _continue(connection_id: str, message_id: str) -> None:
    """Queue the item that runs a connection's new subscriptions this one left (behind whatever the
    connection's group holds already)."""
    dedup = f"{connection_id}|{message_id or time.time_ns()}|add"
    enqueue(
        [
            {
                "Id": "0",
                "MessageBody": json.dumps({"c": connection_id, "add": True}, separators=(",", ":")),
                "MessageGroupId": connection_id,
                "MessageDeduplicationId": hashlib.sha256(dedup.encode()).hexdigest(),
            }
        ]
    )


def handle_records(
    event: Mapping[str, Any], state: SyncState | None = None, remaining_ms: Callable[[], int] | None = None
) -> dict[str, Any]:
    """The FIFO queue's batch. A record that fails fails every later one of its connection too, and
    the worker sets when they come back (:mod:`ontology.sync.queue`, "Timing"): soon, not after the
    queue's visibility timeout, since SQS holds the connection's group back until then. On a record's
    last receive the connection is closed (its client reconnects and resynchronises) and the record goes
    on to the dead-letter queue. Once less than :data:`~ontology.sync.queue.ITEM_SECONDS` of the
    invocation is left (``remaining_ms``), the records not started go back at once."""
    st = state or SyncState()
    failures: list[dict[str, str]] = []
    waits: list[tuple[str, int]] = []
    broken: dict[str, int] = {}  # connection → seconds its failed records wait
    out_of_time = False
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            connection_id = str(body["c"])
        except (KeyError, TypeError, ValueError):
            log.error("dropping a malformed sync record", extra={"messageId": record.get("messageId")})
            continue
        receives = _receives(record)
        if connection_id not in broken and receives < MAX_RECEIVES:
            out_of_time = out_of_time or (remaining_ms is not None and remaining_ms() < ITEM_SECONDS * 1000)
            if out_of_time:
                broken[connection_id] = 0  # not started: back at once, in order
        if connection_id in broken:
            failures.append({"itemIdentifier": record["messageId"]})
            waits.append((str(record.get("receiptHandle") or ""), broken[connection_id]))
            continue
        try:
            process(st, body, str(record.get("messageId") or ""))
            continue
        except (ConflictError, RetryLaterError):
            log.warning(
                "sync item not applied; delivered again",
                extra={"connection": connection_id, "receives": receives},
            )
        except Exception:
            log.exception("sync record failed", extra={"connection": connection_id, "receives": receives})
        broken[connection_id] = retry_seconds(receives)
        if receives >= MAX_RECEIVES:
            log.error(
                "sync record failed on its last receive; closing the connection, the record goes to the "
                "dead-letter queue",
                extra={"connection": connection_id, "messageId": record.get("messageId")},
            )
            try:
                push.close(connection_id)
            except Exception:
                log.exception("could not close the connection", extra={"connection": connection_id})
        failures.append({"itemIdentifier": record["messageId"]})
        waits.append((str(record.get("receiptHandle") or ""), broken[connection_id]))
    waits = [(handle, seconds) for handle, seconds in waits if handle]
    if waits:
        try:
            retry_later(waits)
        except Exception:  # they come back after the queue's visibility timeout instead
            log.exception("could not set when failed sync records come back")
    return {"batchItemFailures": failures}


def _receives(record: Mapping[str, Any]) -> int:
    """How many times SQS has handed the record out (this time included)."""
    try:
        return max(int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1)), 1)
    except (TypeError, ValueError):
        return 1
