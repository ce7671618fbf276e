"""Reading documents of two layouts while a migration moves the table from one to the other.

A migration that declares ``readers_accept_old = True`` has an ``upgrade(item)``: the stored item (its
attributes as the data layer reads them: ``pk``, ``sk``, ``tb``, ``ct``, ``v``, ``doc``, index keys…)
turned into the new layout in memory, and an item already in it unchanged. Every document the data
layer reads (``get``, ``get_many``, queries, searches, the visibility rules' reads) passes through
:func:`current` first, so code written for the new layout reads both while the migration runs.

The contract, in the order a layout change ships:

1. deploy code that writes the new layout and declares the migration with ``readers_accept_old``
   and its ``upgrade`` (reads of old items are upgraded, writes are new);
2. run the migration (``one migrate run --all``), which rewrites the old items;
3. once ``one migrate status`` says done, a later release may drop ``readers_accept_old`` (and the
   migration module, whose progress item stays as a record).

Upgrades only change what a read returns, never the item's key: a change of index keys is found by
the new queries only once the migration has rewritten the item, so it needs the old and the new
keys written side by side (another index slot) until the migration is done. No migration is asked
anything on a request: the upgraders are found once per process, from the migrations' declarations.

One change of index keys needs neither: a partition that becomes **sharded** (:data:`RESHARDED`).
Each document is in exactly one GSI partition at any time, the one its item's key attributes name
(the migration rewrites an item's keys in one write), so until
:data:`SHARDS_MIGRATION` is done a read of such a partition takes the partition as it was before as
one more shard, merged with the others (:func:`unsharded_left`): every document is found once,
written before the release or after it, moved or not yet. Once done, reads take the shards alone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "RESHARDED",
    "SHARDS_MIGRATION",
    "current",
    "reset",
    "unsharded_left",
    "upgraders",
]

Upgrader = Callable[[dict[str, Any]], dict[str, Any]]

#: The migration that moves the documents of the partitions sharded since migration 0010 into their
#: shards (versions/m0016_shard_hot_partitions.py), and the (table, index) pairs whose partitions it
#: shards (every partition of the index, or those of its ``value_shards``).
SHARDS_MIGRATION = "0016-shard-hot-partitions"
RESHARDED = frozenset({("events", "by_timestamp"), ("entities", "by_type"), ("entities", "by_type_status")})

_lock = threading.Lock()
_upgraders: list[Upgrader] | None = None


def upgraders() -> list[Upgrader]:
    """The ``upgrade`` of every declared migration whose readers must accept the old layout, in the
    migrations' order (found on first use)."""
    global _upgraders  # noqa: PLW0603
    if _upgraders is None:
        with _lock:
            if _upgraders is None:
                _upgraders = _find() if _declared() else []
    return _upgraders


def _declared() -> bool:
    """Whether any migration may be declared (a look at the folder, not an import: a cold start with
    none pays nothing for the registry)."""
    if os.environ.get("ONE_MIGRATIONS", "").strip():
        return True
    folder = Path(__file__).parent / "migrations" / "versions"
    try:
        return any(name.endswith(".py") and not name.startswith("_") for name in os.listdir(folder))
    except OSError:
        return True


def _find() -> list[Upgrader]:
    from ontology.data.migrations.registry import registered

    return [m.upgrade for m in registered() if m.readers_accept_old]


def current(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """``item`` in the layout the code reads (as stored, when no migration asks for upgrades)."""
    found = upgraders()
    if not found:
        return item
    upgraded = dict(item)
    for upgrade in found:
        upgraded = upgrade(upgraded)
    return upgraded


def reset() -> None:
    """Find the upgraders again (tests that declare migrations)."""
    global _upgraders  # noqa: PLW0603
    with _lock:
        _upgraders = None


def unsharded_left(store: Any, table: str, index: str) -> bool:
    """Whether a sharded partition of ``table``'s ``index`` may still hold documents in its unsharded
    partition (written before it was sharded): until :data:`SHARDS_MIGRATION` is done."""
    if (table, index) not in RESHARDED:
        return False
    return not migration_done(store, SHARDS_MIGRATION)


#: The partition of the data migrations' progress items (:mod:`ontology.data.migrations.progress`).
PROGRESS_PARTITION = "platform#migrations"
#: How often a process looks again whether a migration it found not done is done by now.
LEGACY_RECHECK_SECONDS = 60.0


def migration_done(store: Any, migration_id: str) -> bool:
    """Whether the data migration ``migration_id`` is done on the store's table (its progress item
    says so): read at most once a minute per process while it is not (one eventually consistent
    GetItem), and never again once it is. For code that reads the old layout until then."""
    known = store.memo.get(migration_id)
    now = time.monotonic()
    if known is not None and (known[0] or now - known[1] < LEGACY_RECHECK_SECONDS):
        return bool(known[0])
    item = store.get(PROGRESS_PARTITION, migration_id, consistent=False)
    done = item is not None and item.get("status") == "done"
    store.memo[migration_id] = (done, now)
    return done
