"""Queries that read only their key range, as DynamoDB does (moto reads the whole table).

moto answers a Query by walking every item of the table, then sorting and filtering what matches, so
the local stack's reads slowed down as its table grew. This keeps, next to moto's items, an ordered
index per GSI partition (a ``SortedList`` of ``(sort key, table hash key, table range key)``),
maintained from every item change (each goes through the table's stream shard, as moto records
stream records for them), and hands moto's own query only the candidates a DynamoDB Query would
read: the items of the key range from the exclusive start key on, as many as the limit, plus the
next item of the partition (from which moto decides whether there is a next page). moto's own code
then sorts, pages, filters and projects them exactly as before, so results are identical; a base
table Query gets its partition's items only. Anything else (no stream, multi-attribute keys,
legacy filters) keeps moto's full walk. Under AWS-strict ``gsi-lag`` a GSI query reads what
:mod:`infra.local.gsi_lag` says the index shows yet.
"""

from __future__ import annotations

import decimal
import inspect
from typing import Any

from infra.local import gsi_lag

_installed = False
#: moto's own Table.query (the full walk), kept for comparison.
ORIGINAL_QUERY: Any = None
#: Where each table keeps its indexes (an attribute moto's deep copies carry along).
_ATTR = "_one_sorted_indexes"
_KEYS_ATTR = "_one_index_keys"


def _plain(value: Any) -> Any:
    """A DynamoType key value as a Python value that sorts the same way (S, N, B keys)."""
    if value is None:
        return None
    if value.type == "N":
        return decimal.Decimal(value.value)
    if value.type == "B":
        return value.value if isinstance(value.value, bytes) else str(value.value).encode()
    return value.value


def _successor(v: Any) -> Any:
    """The smallest key above ``v`` (strings and bytes), or None when there is none to compute."""
    if isinstance(v, str):
        return v + "\x00"
    if isinstance(v, bytes):
        return v + b"\x00"
    return None


class _Keys:
    """An item's primary key as moto holds it (for the lookup), inert in comparisons."""

    __slots__ = ("hash", "range")

    def __init__(self, item: Any) -> None:
        self.hash, self.range = item.hash_key, item.range_key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Keys)  # reached only between entries of one item

    def __lt__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def _index_keys(table: Any) -> dict[str, tuple[str, str]]:
    """GSI name → (hash attribute, range attribute), for GSIs with one of each. Worked out once per
    table, since every item change asks (the stack's table gets its GSIs at creation, never later)."""
    cached: dict[str, tuple[str, str]] | None = getattr(table, _KEYS_ATTR, None)
    if cached is not None:
        return cached
    out: dict[str, tuple[str, str]] = {}
    for index in table.global_indexes:
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if len(hashes) == 1 and len(ranges) == 1:
            out[index.name] = (hashes[0], ranges[0])
    setattr(table, _KEYS_ATTR, out)
    return out


def _indexes(table: Any) -> dict[str, dict[Any, Any]] | None:
    """The table's sorted indexes, built on first use from its items (None: not kept here)."""
    if table.stream_shard is None or table.range_key_attr is None:
        return None
    built: dict[str, dict[Any, Any]] | None = getattr(table, _ATTR, None)
    if built is None:
        built = {name: {} for name in _index_keys(table)}
        setattr(table, _ATTR, built)
        for item in table.all_items():
            _add(table, built, item)
    return built


def _entry(table: Any, item: Any, hash_attr: str, range_attr: str) -> tuple[Any, Any] | None:
    h, r = item.attrs.get(hash_attr), item.attrs.get(range_attr)
    if h is None or r is None:
        return None  # not in this (sparse) index
    # the item's own keys ride along last; never compared, since primary keys are unique
    return _plain(h), (_plain(r), _plain(item.hash_key), _plain(item.range_key), _Keys(item))


def _add(table: Any, built: dict[str, dict[Any, Any]], item: Any) -> None:
    from sortedcontainers import SortedList

    for name, (hash_attr, range_attr) in _index_keys(table).items():
        found = _entry(table, item, hash_attr, range_attr)
        if found is not None:
            partition, key = found
            built[name].setdefault(partition, SortedList()).add(key)


def _remove(table: Any, built: dict[str, dict[Any, Any]], item: Any) -> None:
    for name, (hash_attr, range_attr) in _index_keys(table).items():
        found = _entry(table, item, hash_attr, range_attr)
        if found is not None:
            partition, key = found
            entries = built[name].get(partition)
            if entries is not None:
                entries.discard(key)
                if not entries:
                    del built[name][partition]


def changed(table: Any, old: Any, new: Any) -> None:
    """An item changed (``old``/``new`` None for an insert/delete): keep the indexes in step."""
    built = getattr(table, _ATTR, None)
    if built is None:
        return  # built from the items on first use
    if old is not None:
        _remove(table, built, old)
    if new is not None:
        _add(table, built, new)


def forget(table: Any) -> None:
    """Items were changed behind the shard's back (a restore): rebuild on next use."""
    if hasattr(table, _ATTR):
        delattr(table, _ATTR)


_OPS = ("EQ", "=", "LT", "<", "LE", "<=", "GT", ">", "GE", ">=", "BETWEEN", "BEGINS_WITH")


def _prefix_end(p: Any) -> Any:
    """The smallest key above every key that starts with ``p`` (None when there is none)."""
    if isinstance(p, str) and p and ord(p[-1]) < 0x10FFFF:
        return p[:-1] + chr(ord(p[-1]) + 1)
    if isinstance(p, bytes) and p and p[-1] < 255:
        return p[:-1] + bytes([p[-1] + 1])
    return None


def _after(entries: Any, v: Any) -> int:
    """Index of the first entry whose sort key is above ``v``."""
    nxt = _successor(v)
    i = int(entries.bisect_left((nxt,))) if nxt is not None else int(entries.bisect_left((v,)))
    while i < len(entries) and entries[i][0] == v:
        i += 1
    return i


def _range(entries: Any, op: str | None, objs: list[Any]) -> tuple[int, int]:
    """[lo, hi): the entries whose sort key the condition can match (hi is exact for each op)."""
    if op is None:
        return 0, len(entries)
    v = _plain(objs[0])
    if op in ("EQ", "="):
        return int(entries.bisect_left((v,))), _after(entries, v)
    if op in ("LT", "<"):
        return 0, int(entries.bisect_left((v,)))
    if op in ("LE", "<="):
        return 0, _after(entries, v)
    if op in ("GT", ">"):
        return _after(entries, v), len(entries)
    if op in (">=", "GE"):
        return int(entries.bisect_left((v,))), len(entries)
    if op == "BETWEEN":
        return int(entries.bisect_left((v,))), _after(entries, _plain(objs[1]))
    end = _prefix_end(v)  # BEGINS_WITH
    return int(entries.bisect_left((v,))), int(entries.bisect_left((end,))) if end is not None else len(
        entries
    )


def candidates(
    table: Any,
    index_name: str | None,
    *,
    hash_value: Any,
    op: str | None,
    objs: list[Any],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    forward: bool,
) -> list[Any] | None:
    """The items a DynamoDB Query reads for this page (see the module's docstring), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if index_name is None:
        partition = table.items.get(hash_value) or {}
        return list(partition.values()) if isinstance(partition, dict) else [partition]
    built = _indexes(table)
    if built is None or index_name not in built or (op is not None and op not in _OPS):
        return None
    entries = built[index_name].get(_plain(hash_value))
    if entries is None:
        return []
    lo, hi = _range(entries, op, objs)
    if exclusive_start_key:
        range_attr = _index_keys(table)[index_name][1]
        esk = tuple(
            _plain(DynamoType(exclusive_start_key[a]))
            for a in (range_attr, table.hash_key_attr, table.range_key_attr)
        )
        at = int(entries.bisect_left(esk))  # entries carry one more element: esk sorts before its own
        if forward:
            while at < len(entries) and entries[at][:3] == esk:
                at += 1  # the start key's own item is on the previous page
            lo = max(lo, at)
        else:
            hi = min(hi, at)
    # The page: up to limit + 1 entries of the range in the query's direction, and, if the range
    # ends before that, the partition's next entry past it (moto decides from it whether to page).
    want = len(entries) if limit is None else limit + 1
    if forward:
        chosen = list(entries.islice(lo, min(hi, lo + want))) if lo < hi else []
        if len(chosen) < want and hi < len(entries) and hi >= lo:
            chosen.append(entries[hi])
    else:
        chosen = list(entries.islice(max(lo, hi - want), hi)) if lo < hi else []
        if len(chosen) < want and lo > 0 and lo <= hi:
            chosen.append(entries[lo - 1])
    return [table.items[e[3].hash][e[3].range] for e in chosen]


def install() -> None:
    """Patch moto's Table.query to read through the sorted indexes. Idempotent."""
    global _installed  # noqa: PLW0603
    if _installed:
        return
    from moto.dynamodb.models.table import Table

    global ORIGINAL_QUERY  # noqa: PLW0603
    original = ORIGINAL_QUERY = Table.query

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        conditions_h = a.get("hash_key_conditions") or ()
        narrow = None
        # AWS-strict gsi-lag: some items still show an older version in the GSIs
        lagged = gsi_lag.lagging(self) if a.get("index_name") else None
        simple = (
            not a.get("filter_kwargs")
            and len(conditions_h) <= 1
            and len(a.get("range_key_conditions") or ()) <= 1
            and a["hash_key"] is not None
            and not (a.get("index_name") and a.get("consistent_read"))  # moto's own error
        )
        if simple:
            narrow = candidates(
                self,
                a.get("index_name"),
                hash_value=conditions_h[0][1] if conditions_h else a["hash_key"],
                op=a["range_comparison"],
                objs=list(a["range_objs"] or []),
                # the older versions may sort anywhere in the range: the whole range is read
                limit=a["limit"] if lagged is None else None,
                exclusive_start_key=a["exclusive_start_key"],
                forward=a["scan_index_forward"] is not False,
            )
        if lagged is not None:
            narrow = gsi_lag.view(list(self.all_items()) if narrow is None else narrow, lagged)
        if narrow is None:
            return original(self, *args, **kwargs)
        self.all_items = lambda: narrow
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]
    _installed = True
