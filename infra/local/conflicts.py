"""AWS-strict ``conflicts``: transactions that overlap in time on an item conflict, as in DynamoDB.

The local stack serializes every moto request under one lock, so two transactions never overlap and
DynamoDB's ``TransactionConflict`` never happens locally. In DynamoDB a transaction holds its items
while it commits; another transaction that touches one of them meanwhile is cancelled with reason
``TransactionConflict`` ("Transaction is ongoing for the item"), and a PutItem, UpdateItem or
DeleteItem on one of them fails with ``TransactionConflictException``.

With the facet on, an accepted transaction holds its items for ``ONE_LOCAL_TRANSACTION_MS`` (its
commit's duration) and its response leaves only then, outside moto's lock: requests on other items
go on meanwhile, and a request on a held item meets the conflict. :func:`transaction_in_flight`
holds an item as a transaction would, for as long as a test needs.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "CONFLICT_MESSAGE",
    "enter",
    "held",
    "item_ident",
    "leave",
    "raised",
    "single_item_write",
    "transaction_in_flight",
]

CONFLICT_MESSAGE = "Transaction is ongoing for the item"

Ident = tuple[str, str]

_lock = threading.Lock()
_held: dict[Ident, int] = {}
_local = threading.local()
#: How many requests met a conflict (transactions cancelled, single writes refused).
_raised = [0]


def on() -> bool:
    from infra.local import strict

    return strict.current().on("conflicts")


def item_ident(table: Any, key: dict[str, Any]) -> Ident:
    """An item's identity from its key (API shapes: ``{"pk": {"S": "…"}, …}``)."""
    parts = [key[table.hash_key_attr]]
    if table.range_key_attr is not None:
        parts.append(key[table.range_key_attr])
    return str(table.name), json.dumps(parts, sort_keys=True)


def held(idents: Iterable[Ident]) -> list[bool]:
    """Whether each item is held by a transaction in flight."""
    with _lock:
        return [_held.get(i, 0) > 0 for i in idents]


def _hold(idents: Iterable[Ident]) -> None:
    with _lock:
        for i in idents:
            _held[i] = _held.get(i, 0) + 1


def _release(idents: Iterable[Ident]) -> None:
    with _lock:
        for i in idents:
            left = _held.get(i, 0) - 1
            if left > 0:
                _held[i] = left
            else:
                _held.pop(i, None)


def count_raised() -> None:
    with _lock:
        _raised[0] += 1


def raised() -> int:
    with _lock:
        return _raised[0]


def committing(idents: list[Ident]) -> None:
    """A transaction was accepted: hold its items until its request's response leaves."""
    _hold(idents)
    stack = getattr(_local, "stack", None)
    if stack:
        stack[-1].extend(idents)
    else:  # not inside a request (a direct backend call): held for the commit's duration only
        _release_later(idents)


def _release_later(idents: list[Ident]) -> None:
    from infra.local import strict

    timer = threading.Timer(strict.current().transaction_ms / 1000, _release, args=(idents,))
    timer.daemon = True
    timer.start()


def enter() -> None:
    """A moto request starts (in the thread that serves it)."""
    if not hasattr(_local, "stack"):
        _local.stack = []
    _local.stack.append([])


def leave() -> None:
    """A moto request's response is about to leave, outside moto's lock: a transaction it committed
    takes its commit's duration first, holding its items meanwhile."""
    idents = _local.stack.pop()
    if not idents:
        return
    from infra.local import strict

    try:
        time.sleep(strict.current().transaction_ms / 1000)
    finally:
        _release(idents)


def single_item_write(table: Any, key: dict[str, Any]) -> None:
    """A PutItem, UpdateItem or DeleteItem on an item a transaction holds: DynamoDB refuses it."""
    if getattr(_local, "applying", False) or not on():
        return
    if held([item_ident(table, key)])[0]:
        from moto.dynamodb.exceptions import DynamodbException

        count_raised()
        raise DynamodbException(
            "com.amazonaws.dynamodb.v20120810#TransactionConflictException", CONFLICT_MESSAGE
        )


@contextlib.contextmanager
def applying() -> Iterator[None]:
    """The transaction's own writes (and the stack's TTL sweep) are never refused."""
    before = getattr(_local, "applying", False)
    _local.applying = True
    try:
        yield
    finally:
        _local.applying = before


@contextlib.contextmanager
def transaction_in_flight(table_name: str, key: dict[str, Any]) -> Iterator[None]:
    """Hold an item as a transaction in flight would, for the block (tests make overlaps happen)."""
    import os

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
    ident = item_ident(table, key)
    _hold([ident])
    try:
        yield
    finally:
        _release([ident])
