"""A call from Convex's protocol (:mod:`ontology.sync`): ``{"_sync": {"args", "auth", "reads", "limit",
"shared"}}``, and ``requestId`` when the caller names its request (the dashboard does: its error
envelope then carries it, and the call's log lines too; otherwise they carry the invocation's id).

The caller (the HTTP API's Convex gateway or the sync worker, which resolved the session itself) passes
the identity; the answer is data either way, so that a function's typed error reaches the client as
Convex's function error. With ``reads``, a query answers what it read (the subscription's read set); a
mutation or an action always answers what its commits wrote (the writer's own subscriptions re-run
from it). With ``limit``, a call the client made counts against its session's limit (a subscription's
re-run does not). With ``shared``, a query's reads may be answered from what this container read in the
last second (:mod:`ontology.data.read_cache`), and the answer says as of when (``asOf``): a
subscription's re-run after writes, which the worker re-runs again when that is older than the writes.

Example::

    SyncResolver().parse({"_sync": {"args": {"id": "ent_…"}, "auth": None}})   # a SyncCall
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

from ontology.auth.identity import Identity
from ontology.auth.ratelimit import check_function_call
from ontology.errors import ValidationError, error_envelope
from ontology.runtime.context import invoke
from ontology.runtime.observability import bind_caller, log_call, logger
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers.base import EventResolver, json_value

__all__ = ["SyncCall", "SyncResolver"]


class SyncCall:
    """The call the protocol sends under ``_sync`` (anything else there is answered VALIDATION_ERROR)."""

    __slots__ = ("call",)

    def __init__(self, call: Any) -> None:
        self.call = call

    @property
    def args(self) -> Any:
        return (self.call.get("args") if isinstance(self.call, Mapping) else None) or {}

    @property
    def identity(self) -> Identity | None:
        """The caller, as the protocol resolved it (``auth``: an identity's context, or null)."""
        return Identity.from_context(self.call.get("auth") if isinstance(self.call, Mapping) else None)

    @property
    def reads(self) -> bool:
        """Whether the caller wants what the function read."""
        return isinstance(self.call, Mapping) and bool(self.call.get("reads"))

    @property
    def shared(self) -> bool:
        """Whether the call's reads may be shared with the container's other re-runs."""
        return isinstance(self.call, Mapping) and bool(self.call.get("shared"))

    @property
    def counted(self) -> bool:
        """Whether the call counts against the session's function-call limit."""
        return isinstance(self.call, Mapping) and bool(self.call.get("limit"))

    @property
    def request_id(self) -> str | None:
        """The id the caller gave its request (``requestId``), if any."""
        found = self.call.get("requestId") if isinstance(self.call, Mapping) else None
        return str(found)[:128] if isinstance(found, str) and found else None


class SyncResolver(EventResolver[SyncCall]):
    """A function call from the sync protocol (an event with ``_sync``)."""

    source = "sync"

    def _parse(self, event: Mapping[str, Any]) -> SyncCall | None:
        return SyncCall(event["_sync"]) if "_sync" in event else None

    def _answer(self, fn: RegisteredFunction, event: SyncCall, context: Any) -> dict[str, Any]:
        from ontology.data.dynamodb import consumed
        from ontology.data.read_cache import shared_reads
        from ontology.data.tracking import recording, recording_writes

        want_reads = event.reads and fn.spec.kind == "query"
        sharing = shared_reads() if event.shared and fn.spec.kind == "query" else contextlib.nullcontext()
        named = event.request_id
        request_id = named or getattr(context, "aws_request_id", None)
        logger.append_keys(request_id=request_id)
        started = time.perf_counter()
        identity: Identity | None = None
        status = 200
        code: str | None = None
        with recording() as reads, recording_writes() as writes, sharing as shared, consumed() as units:
            try:
                if not isinstance(event.call, Mapping):
                    raise ValidationError("_sync must be an object")
                identity = event.identity
                bind_caller(identity)
                if event.counted:
                    check_function_call(identity)
                value = json_value(invoke(fn, event.args, identity))
                out: dict[str, Any] = {"status": "success", "value": value}
            except Exception as exc:
                status, body = error_envelope(exc, request_id=named)
                code = body["errorData"]["code"]
                if status >= 500:
                    logger.exception("function failed", extra={"function": fn.spec.path})
                out = dict(body)
        log_call(
            fn.spec.path,
            source="sync",
            request_id=request_id,
            identity=identity,
            http_status=status,
            code=code,
            started=started,
            units=units,
        )
        if want_reads:  # a failed query is watched too: what it read may change its answer
            out["reads"] = reads.to_json()
        if writes:
            out["writes"] = writes.to_json()
        if shared is not None:
            out["asOf"] = shared.as_of
        return out
