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
from collections.abc import Callable, Iterator
from typing import Any

from infra.template import load_template

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

    def locked(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with MOTO_LOCK:
                try:
                    return fn(*args, **kwargs)
                finally:
                    if _after_request is not None:
                        _after_request()

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
