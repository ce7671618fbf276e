"""The in-process Lambda runner: the same handlers that deploy, invoked with real events.

moto's Lambda needs Docker; only that call is replaced (``LambdaFunction._invoke_lambda``), so
direct invokes, Step Functions tasks and DynamoDB Streams mappings run our handlers here.

Given the stack's :class:`~infra.local.credentials.FunctionRoles`, every invocation (from the front
door, the socket gateway, a poller, a cron, Step Functions or another function) signs its AWS calls
as its own function's role, and :mod:`infra.local.iam` refuses what that role may not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.local import memory
from infra.local.aws import MOTO_LOCK, released
from infra.local.credentials import FunctionRoles, acting_as
from infra.template import load_template


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: int = 10
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class FunctionDef:
    logical_id: str
    handler: str
    memory: int
    timeout: int
    routes: tuple[tuple[str, str, bool], ...]  # (method, path, public)


def function_defs(template: dict[str, Any] | None = None) -> dict[str, FunctionDef]:
    """Every function of the template, by logical id, with its routes."""
    tpl = template or load_template()
    defaults = tpl.get("Globals", {}).get("Function", {})
    out: dict[str, FunctionDef] = {}
    for logical_id, res in tpl["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        routes = []
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                p = event["Properties"]
                public = (p.get("Auth") or {}).get("Authorizer") == "NONE"
                routes.append((p.get("Method", "ANY").upper(), p["Path"], public))
        out[logical_id] = FunctionDef(
            logical_id=logical_id,
            handler=props["Handler"],
            memory=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
            routes=tuple(routes),
        )
    return out


_sandbox = threading.local()


@contextlib.contextmanager
def _sandbox_event_loop() -> Iterator[None]:
    """Give the invocation what a Lambda sandbox's thread has: a current event loop.

    The front door invokes handlers from a pool of worker threads, which have none; adapters such as
    Mangum call ``asyncio.get_event_loop()`` on every invocation and would fail there. Each invocation
    gets its own loop, closed when it returns; a nested invocation (a handler invoking another Lambda
    on the same thread) puts the outer one's back.
    """
    outer = getattr(_sandbox, "loop", None)
    loop = asyncio.new_event_loop()
    _sandbox.loop = loop
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        _sandbox.loop = outer
        asyncio.set_event_loop(outer)
        loop.close()


class LambdaRunner:
    """Resolves handlers (``creators.get`` → ``functions.creators.get``) and invokes them."""

    def __init__(self, template: dict[str, Any] | None = None, roles: FunctionRoles | None = None) -> None:
        self.defs = function_defs(template)
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.by_handler = {d.handler: d for d in self.defs.values()}
        #: Each function's role credentials (None: invocations sign as the caller does).
        self.roles = roles

    def handler(self, logical_id: str) -> Callable[..., Any]:
        with self._lock:
            if logical_id not in self._handlers:
                module, attr = self.defs[logical_id].handler.rsplit(".", 1)
                self._handlers[logical_id] = getattr(importlib.import_module(f"functions.{module}"), attr)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        d = self.defs[logical_id]
        context = LambdaContext(
            function_name=logical_id,
            memory_limit_in_mb=d.memory,
            timeout_seconds=d.timeout,
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}",
            _deadline=time.monotonic() + d.timeout,
        )
        credentials = self.roles.credentials(logical_id) if self.roles is not None else None
        # the handler's module, imported on first use, sees the loop and the role too; its memory
        # is measured under AWS-strict ``memory`` (:mod:`infra.local.memory`)
        with (
            memory.measured(logical_id, d.memory, context.aws_request_id),
            acting_as(credentials),
            _sandbox_event_loop(),
        ):
            return self.handler(logical_id)(event, context)


def install_moto_lambda(runner: LambdaRunner, physical_to_logical: dict[str, str]) -> Callable[[], None]:
    """Make moto's Lambda run our handlers in-process (instead of in Docker); returns the undo."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda

    def _invoke_lambda(self: Any, event: Any = None, *args: Any, **kwargs: Any) -> tuple[str, bool, str]:
        logical = physical_to_logical.get(self.function_name, self.function_name)
        payload = json.loads(event) if isinstance(event, str | bytes) and event else (event or {})
        try:
            # The handler makes AWS calls of its own: in server mode they are other requests, which
            # need the moto lock this request holds. A real Lambda runs outside the service, too.
            with released(MOTO_LOCK):
                result = runner.invoke(logical, payload)
            return json.dumps(result), False, ""
        except Exception as exc:  # moto reports a function error with its type, as Lambda does
            # An exception may name the error Lambda itself would report (a crashed runtime:
            # Runtime.ExitError; a timed-out one: Sandbox.Timedout).
            error_type = getattr(exc, "lambda_error_type", None) or type(exc).__name__
            body = {"errorMessage": str(exc), "errorType": error_type}
            return json.dumps(body), True, f"{error_type}: {exc}"

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]

    def undo() -> None:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]

    return undo
