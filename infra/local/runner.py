"""The in-process Lambda runner: the same handlers that deploy, invoked with real events.

moto's Lambda needs Docker; only that call is replaced (``LambdaFunction._invoke_lambda``), so
direct invokes, Step Functions tasks and DynamoDB Streams mappings run our handlers here.

Given the stack's :class:`~infra.local.credentials.FunctionRoles`, every invocation (from the front
door, the socket gateway, a poller, a cron, Step Functions or another function) signs its AWS calls
as its own function's role, and :mod:`infra.local.iam` refuses what that role may not do.

Every invocation runs on its own thread and is given its function's ``Timeout``, as Lambda gives it:
past it the caller gets Lambda's own error (``Sandbox.Timedout``, "Task timed out after 3.00
seconds") and the invocation is abandoned; it cannot be killed, but every AWS call it still makes is
refused (:class:`~infra.local.credentials.InvocationStoppedError`), as a frozen sandbox makes none.
An ``Event`` invocation (asynchronous) answers 202 at once and runs in the background, retried as
Lambda retries one (twice, a minute then two apart) when it fails, then sent to the function's
dead-letter queue when it has one.

Each invocation also keeps its own log keys (:func:`own_log_keys`): Powertools keeps a logger's
appended keys (the request id, the caller) in its formatter, one per process, as every Lambda
sandbox is its own process; here, where invocations share one, a key one invocation appends would
otherwise label the lines of every other running beside it or after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.local import memory
from infra.local.aws import MOTO_LOCK, released
from infra.local.credentials import FunctionRoles, acting_as
from infra.template.document import load_template

log = logging.getLogger("one.local")


class LambdaTimeoutError(Exception):
    """An invocation that ran past its function's timeout: what Lambda reports for it."""

    lambda_error_type = "Sandbox.Timedout"

    def __init__(self, request_id: str, timeout: float) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        super().__init__(f"{stamp}.000Z {request_id} Task timed out after {timeout:.2f} seconds")
        self.timeout = timeout


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
    #: the HTTP API's integration timeout for its routes, in seconds (``TimeoutInMillis``, 30 s)
    integration_timeout: float = 30.0
    #: the package its handler is in: the functions' code (``CodeUri: functions/``, the Globals'), or
    #: none for a function with code of its own, whose handler names its module in full
    #: (``dashboard.app.handler``)
    package: str = "functions"


def _condition(tpl: dict[str, Any], value: Any) -> Any:
    """A condition's value with the parameters' defaults (``Fn::Not``, ``Fn::Equals``, ``Ref``,
    ``Condition``: what the template's conditions use)."""
    if isinstance(value, dict):
        (op, arg), *_ = value.items()
        if op == "Ref":
            return str(tpl["Parameters"].get(arg, {}).get("Default", ""))
        if op == "Condition":
            return _condition(tpl, tpl["Conditions"][arg])
        if op == "Fn::Not":
            return not _condition(tpl, arg[0])
        if op == "Fn::Equals":
            return _condition(tpl, arg[0]) == _condition(tpl, arg[1])
    return value


def deployed(tpl: dict[str, Any], res: dict[str, Any]) -> bool:
    """Whether a resource exists in the local stack (deployed with the parameters' defaults): one
    under a condition those make false does not (the scheduled backups, ``BackupSchedule`` empty)."""
    name = res.get("Condition")
    return name is None or bool(_condition(tpl, tpl["Conditions"][name]))


def function_defs(template: dict[str, Any] | None = None) -> dict[str, FunctionDef]:
    """Every function of the template the local stack deploys, by logical id, with its routes."""
    tpl = template or load_template()
    defaults = tpl.get("Globals", {}).get("Function", {})
    out: dict[str, FunctionDef] = {}
    for logical_id, res in tpl["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function" or not deployed(tpl, res):
            continue
        props = res["Properties"]
        routes = []
        integration_timeout = 30.0
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                p = event["Properties"]
                public = (p.get("Auth") or {}).get("Authorizer") == "NONE"
                routes.append((p.get("Method", "ANY").upper(), p["Path"], public))
                if "TimeoutInMillis" in p:
                    integration_timeout = int(p["TimeoutInMillis"]) / 1000
        code = str(props.get("CodeUri", defaults.get("CodeUri", "functions/"))).strip("/")
        out[logical_id] = FunctionDef(
            package="functions" if code == "functions" else "",
            logical_id=logical_id,
            handler=props["Handler"],
            memory=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
            routes=tuple(routes),
            integration_timeout=integration_timeout,
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


#: Per invocation: each Powertools formatter's keys (by formatter), a copy of the process's made
#: at the invocation's first line (:func:`own_log_keys`).
_LOG_KEYS: contextvars.ContextVar[dict[int, dict[str, Any]] | None] = contextvars.ContextVar(
    "one_local_log_keys", default=None
)


def own_log_keys() -> None:
    """Give every Powertools formatter one set of keys per invocation (idempotent): the keys the
    process set outside any invocation (at import: the service, the order of the fields) are where
    each invocation starts from, and what an invocation appends or removes stays its own."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if isinstance(LambdaPowertoolsFormatter.__dict__.get("log_format"), property):
        return

    def shared_keys(self: Any) -> dict[str, Any]:
        # a formatter made before the patch keeps its keys in its own ``log_format``
        if "_one_log_format" not in self.__dict__:
            self.__dict__["_one_log_format"] = self.__dict__.pop("log_format", {})
        keys: dict[str, Any] = self.__dict__["_one_log_format"]
        return keys

    def get(self: Any) -> dict[str, Any]:
        shared = shared_keys(self)
        own = _LOG_KEYS.get()
        if own is None:
            return shared
        if id(self) not in own:
            own[id(self)] = dict(shared)
        return own[id(self)]

    def set_(self: Any, value: dict[str, Any]) -> None:
        own = _LOG_KEYS.get()
        if own is None:
            self.__dict__.pop("log_format", None)
            self.__dict__["_one_log_format"] = value
        else:
            own[id(self)] = value

    LambdaPowertoolsFormatter.log_format = property(get, set_)  # type: ignore[assignment]


class LambdaRunner:
    """Resolves handlers (``creators.get`` → ``functions.creators.get``) and invokes them."""

    def __init__(self, template: dict[str, Any] | None = None, roles: FunctionRoles | None = None) -> None:
        own_log_keys()
        self.defs = function_defs(template)
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.by_handler = {d.handler: d for d in self.defs.values()}
        #: Counts the changes of :attr:`defs` (the front door rebuilds its routes when it moves).
        self.generation = 0
        #: Each function's role credentials (None: invocations sign as the caller does).
        self.roles = roles
        self._in_flight = 0  # asynchronous invocations queued or running (with their retries)
        self._settled = threading.Condition()

    def async_started(self) -> None:
        with self._settled:
            self._in_flight += 1

    def async_finished(self) -> None:
        with self._settled:
            self._in_flight -= 1
            self._settled.notify_all()

    def wait_async(self, timeout: float = 60.0) -> bool:
        """Wait until no asynchronous invocation is queued or running (tests that drain the stack
        step by step); False when some still were after ``timeout`` seconds."""
        with self._settled:
            return self._settled.wait_for(lambda: self._in_flight == 0, timeout)

    def replace(self, defs: dict[str, FunctionDef] | None = None) -> None:
        """Serve ``defs`` from now on (the functions of code reloaded in the running stack: its dev
        loop), each handler resolved afresh at its next invocation; without ``defs``, the same
        functions with their handlers resolved afresh. Invocations under way finish on the code
        they started with."""
        with self._lock:
            if defs is not None:
                self.defs = dict(defs)
                self.by_handler = {d.handler: d for d in self.defs.values()}
            self._handlers = {}
            self.generation += 1

    def handler(self, logical_id: str) -> Callable[..., Any]:
        with self._lock:
            if logical_id not in self._handlers:
                d = self.defs[logical_id]
                module, attr = d.handler.rsplit(".", 1)
                full = f"{d.package}.{module}" if d.package else module
                self._handlers[logical_id] = getattr(importlib.import_module(full), attr)
            return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run the function with ``event`` as Lambda does, within its timeout (else
        :class:`LambdaTimeoutError`, and the invocation is abandoned)."""
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
        stopped = threading.Event()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            _LOG_KEYS.set({})  # this invocation's log keys, from the process's
            try:
                # the handler's module, imported on first use, sees the loop and the role too; its
                # memory is measured under AWS-strict ``memory`` (:mod:`infra.local.memory`)
                with (
                    memory.measured(logical_id, d.memory, context.aws_request_id),
                    acting_as(credentials, stopped),
                    _sandbox_event_loop(),
                ):
                    outcome["result"] = self.handler(logical_id)(event, context)
            except BaseException as exc:  # handed to the caller (or dropped once stopped)
                outcome["error"] = exc
            finally:
                done.set()

        # the caller's context goes along (a nested invocation keeps what its caller set)
        thread = threading.Thread(
            target=contextvars.copy_context().run, args=(run,), name=f"lambda-{logical_id}", daemon=True
        )
        thread.start()
        if not done.wait(d.timeout):
            stopped.set()
            log.warning("%s timed out after %d s; the invocation is abandoned", logical_id, d.timeout)
            raise LambdaTimeoutError(context.aws_request_id, d.timeout)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("result")


#: Lambda's retries of a failed asynchronous invocation (an EventBridge rule and the jobs runner
#: invoke asynchronously): two more attempts, one minute after the first and two after the second,
#: then the function's dead-letter queue. ``ONE_LOCAL_ASYNC_RETRY_SECONDS`` ("60,120") shortens them.
ASYNC_RETRY_SECONDS = (60.0, 120.0)


def async_retry_delays(env: dict[str, str] | None = None) -> tuple[float, ...]:
    """The waits before each retry of a failed asynchronous invocation (``ONE_LOCAL_ASYNC_RETRY_SECONDS``)."""
    import os

    raw = (os.environ if env is None else env).get("ONE_LOCAL_ASYNC_RETRY_SECONDS", "")
    if not raw.strip():
        return ASYNC_RETRY_SECONDS
    try:
        delays = tuple(float(x) for x in raw.split(","))
    except ValueError:
        raise ValueError(f"ONE_LOCAL_ASYNC_RETRY_SECONDS={raw!r}: seconds, comma separated") from None
    if len(delays) != len(ASYNC_RETRY_SECONDS) or any(d < 0 for d in delays):
        raise ValueError("ONE_LOCAL_ASYNC_RETRY_SECONDS: two waits (Lambda retries twice), not negative")
    return delays


def send_to_dead_letter_queue(sqs: Any, url: str, body: str, error: str) -> None:
    """An asynchronous event whose retries are spent, to a dead-letter queue as Lambda sends it: the
    event, with the request id, an error code and the first kilobyte of the error as attributes."""
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error[:1024] or "error"},
        },
    )


def install_moto_lambda(
    runner: LambdaRunner,
    physical_to_logical: dict[str, str],
    dead_letters: Callable[[str, str, str], None] | None = None,
    retry_delays: tuple[float, ...] | None = None,
) -> Callable[[], None]:
    """Make moto's Lambda run our handlers in-process (instead of in Docker); returns the undo.

    ``RequestResponse`` invocations run while the caller waits. ``Event`` ones are queued, as Lambda
    queues them: the caller gets 202 at once, the function runs in the background, a failure is
    retried after each of ``retry_delays`` (:func:`async_retry_delays`), and the event that failed
    every attempt goes to ``dead_letters(logical id, event, error)`` (the function's dead-letter
    queue)."""
    delays = async_retry_delays() if retry_delays is None else retry_delays
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    original_invoke = LambdaFunction.invoke

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

    def run_async(logical: str, payload: Any) -> None:
        try:
            deliver(logical, payload)
        finally:
            runner.async_finished()

    def deliver(logical: str, payload: Any) -> None:
        for attempt in range(len(delays) + 1):
            try:
                runner.invoke(logical, payload)
                return
            except Exception as exc:
                error_type = getattr(exc, "lambda_error_type", None) or type(exc).__name__
                if attempt < len(delays):
                    log.warning(
                        "%s failed an asynchronous event (%s); Lambda retries it", logical, error_type
                    )
                    time.sleep(delays[attempt])
                    continue
                log.error(
                    "%s failed an asynchronous event %d times; it goes to its DLQ", logical, attempt + 1
                )
                if dead_letters is not None:
                    dead_letters(logical, json.dumps(payload), f"{error_type}: {exc}")

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
        if headers.get("x-amz-invocation-type") != "Event":
            return original_invoke(self, body, request_headers, response_headers)
        logical = physical_to_logical.get(self.function_name, self.function_name)
        payload = json.loads(body) if body else {}
        runner.async_started()
        worker = threading.Thread(target=run_async, args=(logical, payload), name=f"async-{logical}")
        worker.daemon = True
        worker.start()
        return b""

    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]

    def undo() -> None:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]

    return undo
