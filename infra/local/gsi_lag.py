"""AWS-strict ``gsi-lag``: a GSI shows a write only some time after it committed, as in DynamoDB.

DynamoDB propagates every write to the table's global secondary indexes asynchronously ("usually
within a fraction of a second", longer under load), so a Query on a GSI made right after a write
may not see it: a new item missing, a changed one in its old version (and at its old place), a
deleted one still there. moto updates its indexes with the write, so locally every GSI read was
read-after-write.

With the facet on, each item change is remembered with the version it replaced; for
``ONE_LOCAL_GSI_LAG_MS`` after a change, GSI queries read that older version (or nothing, for an
insert) instead of the current one. Base-table reads (GetItem, BatchGetItem, a Query without an
index) stay immediate, as consistent reads are in DynamoDB.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["changed", "lagging", "view"]

#: Where each table keeps its recent changes: item key → [(changed at, the version it replaced)].
_ATTR = "_one_gsi_pending"
#: The clock changes are timed by (a test may move it).
clock = time.monotonic


def _on() -> bool:
    from infra.local import strict

    return strict.current().on("gsi-lag")


def _lag_seconds() -> float:
    from infra.local import strict

    return strict.current().gsi_lag_ms / 1000


def _key(item: Any) -> tuple[Any, Any]:
    return (
        item.hash_key.value if item.hash_key is not None else None,
        item.range_key.value if item.range_key is not None else None,
    )


def changed(table: Any, old: Any, new: Any) -> None:
    """An item changed (``old``/``new`` None for an insert/delete): its GSIs see it only later."""
    if not _on() or (old is None and new is None):
        return
    pending: dict[tuple[Any, Any], list[tuple[float, Any]]] | None = table.__dict__.get(_ATTR)
    if pending is None:
        pending = {}
        setattr(table, _ATTR, pending)
    pending.setdefault(_key(new if new is not None else old), []).append((clock(), old))


def lagging(table: Any) -> dict[tuple[Any, Any], Any] | None:
    """The items whose GSIs still show an older version: key → that version (None: not yet there).
    None when there are none (or the facet is off)."""
    pending: dict[tuple[Any, Any], list[tuple[float, Any]]] | None = table.__dict__.get(_ATTR)
    if not pending or not _on():
        return None
    horizon = clock() - _lag_seconds()
    out: dict[tuple[Any, Any], Any] = {}
    for key in list(pending):
        entries = pending[key]
        while entries and entries[0][0] <= horizon:
            entries.pop(0)  # propagated
        if entries:
            out[key] = entries[0][1]
        else:
            del pending[key]
    return out or None


def view(candidates: list[Any], lagged: dict[tuple[Any, Any], Any]) -> list[Any]:
    """What a GSI shows of ``candidates`` (items as they are now): the lagging ones in their older
    version instead (moto's query then keeps those that belong to the index and key range)."""
    shown = [item for item in candidates if _key(item) not in lagged]
    shown += [old for old in lagged.values() if old is not None]
    return shown
