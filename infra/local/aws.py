"""Local AWS on moto: one lock around every moto call, and the table created from ``template.yaml``.

moto is not safe for concurrent transactions (LOCAL-AWS-FACTS: 8 threads lost 142 of 200
version-checked increments and crashed). One process-wide lock around moto's request dispatch — its
botocore stubber in-process, its WSGI app in server mode — makes every request atomic, like the
real service; a naive read-modify-write still loses updates under it, so the lock hides no bugs.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from infra.template.document import load_template

MOTO_LOCK = threading.RLock()
_installed = False
#: Runs at the end of every moto request, still under the lock, before its response leaves (the
#: local stack's journal commits there: see :mod:`infra.local.journal`).
_after_request: Callable[[], None] | None = None


def set_after_request(hook: Callable[[], None] | None) -> None:
    global _after_request  # noqa: PLW0603
    _after_request = hook


@contextlib.contextmanager
def released(lock: Any) -> Iterator[None]:
    """Release every hold this thread has on an RLock for the block, then take them back."""
    held = 0
    while True:
        try:
            lock.release()
        except RuntimeError:
            break
        held += 1
    try:
        yield
    finally:
        for _ in range(held):
            lock.acquire()


def install_moto_lock() -> None:
    """Serialize every moto request (in-process stubber and server app). Idempotent."""
    global _installed  # noqa: PLW0603
    if _installed:
        return
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from infra.local import conflicts

    def locked(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            conflicts.enter()
            try:
                with MOTO_LOCK:
                    try:
                        return fn(*args, **kwargs)
                    finally:
                        if _after_request is not None:
                            _after_request()
            finally:
                # outside the lock: a transaction's commit (AWS-strict ``conflicts``) takes its time
                # here, holding its items, while other requests go on
                conflicts.leave()

        return wrapper

    BotocoreStubber.__call__ = locked(BotocoreStubber.__call__)  # type: ignore[method-assign]
    DomainDispatcherApplication.__call__ = locked(DomainDispatcherApplication.__call__)  # type: ignore[method-assign]
    _installed = True


def table_api_args(table_name: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateTable arguments for the template's ``Table`` resource (CloudFormation → API shapes)."""
    tpl = template or load_template()
    props = dict(tpl["Resources"]["Table"]["Properties"])
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
        "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes", []),
    }
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        args["SSESpecification"] = {"Enabled": True}
    return args


def create_table(client: Any, table_name: str, template: dict[str, Any] | None = None) -> bool:
    """Create the table as the template declares it (with its TTL); False when it already exists."""
    tpl = template or load_template()
    try:
        client.create_table(**table_api_args(table_name, tpl))
    except client.exceptions.ResourceInUseException:
        return False
    ttl = tpl["Resources"]["Table"]["Properties"].get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
    return True


#: Hosts of AWS's own endpoints, which no call from the local stack may reach.
AWS_HOSTS = (".amazonaws.com", ".api.aws", ".amazonaws.com.cn")
#: Calls refused because they were on their way to AWS itself (a test reads it).
REFUSED: list[str] = []


class _DirectTransport:
    """botocore's ``before-send`` hook: a request for the local AWS endpoint goes straight to the
    endpoint's WSGI app in this thread, not over a loopback socket.

    The local stack runs every handler in the process that serves moto. Their AWS calls are still
    built, signed and parsed by botocore and served by the same app (its lock, its journal hook)
    as any outside client's, only without the socket and the server's thread per request, which
    doubled each call's cost (4.5 → 2.1 ms per GetItem, more under load). A request for AWS itself
    (a service or operation the stack does not point at moto) is refused, never sent; requests for
    anything else (and every client outside this process) go over HTTP as before.
    """

    def __init__(self, endpoint: str, app: Any) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.app = app

    def __call__(self, request: Any, **_: Any) -> Any:
        url = request.url
        if url != self.endpoint and not url.startswith((self.endpoint + "/", self.endpoint + "?")):
            host = urllib.parse.urlsplit(url).hostname or ""
            if host.endswith(AWS_HOSTS):
                # nothing in the local stack may reach AWS itself (an unemulated call would)
                REFUSED.append(url)
                raise RuntimeError(f"the local stack never calls AWS: refused {host}")
            return None
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        path, _, query = url[len(self.endpoint) :].partition("?")
        environ = EnvironBuilder(
            method=request.method,
            base_url=self.endpoint,
            path=path or "/",
            query_string=query,
            headers=headers,
            data=body or b"",
        ).get_environ()
        chunks, status, response_headers = run_wsgi_app(self.app, environ, buffered=True)
        data = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return AWSResponse(url, int(status.split(" ", 1)[0]), dict(response_headers), MockRawResponse(data))


def install_direct_transport(endpoint: str, app: Any) -> Callable[[], None]:
    """Serve this process's AWS calls to ``endpoint`` in-process (see :class:`_DirectTransport`).

    Registered with botocore's built-in handlers, so every session made from now on has it (boto3's
    and PynamoDB's alike), and on boto3's default session if one exists already. Returns the undo.
    """
    import boto3
    from botocore import handlers

    hook = _DirectTransport(endpoint, app)
    handlers.BUILTIN_HANDLERS.append(("before-send", hook))
    default = boto3.DEFAULT_SESSION
    if default is not None:
        default.events.register("before-send", hook)

    def undo() -> None:
        handlers.BUILTIN_HANDLERS.remove(("before-send", hook))
        if default is not None:
            default.events.unregister("before-send", hook)

    return undo
