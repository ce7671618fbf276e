"""The search index's first layout, read while the migrations that replace it have not run.

Until ``0012-search-postings-by-value`` and ``0013-search-drop-first-layout``
(:mod:`ontology.data.migrations.versions`) are done, an organization's index may still hold items of
the first layout, written before the present one (:mod:`ontology.data.search`) shipped; a search reads
them beside the present ones, so a document indexed only there is found until the migrations have
rebuilt it. For index ``I`` of table ``T`` in organization ``O`` (keys under ``O#search#T.I``):

- a *posting* per distinct term of a document: partition ``…#t#<term>`` (no first-filter value after
  the term), the present layout's sort key, ``tb`` = ``_search``, and for each combination (``mask``)
  of the index's filter fields the list's key in the GSI of that number (``g<mask>pk``/``g<mask>sk``);
- the *dictionary* ``…#dict``, one item per term with its exact document frequency ``df``;
- *statistics* in 16 shards ``…#stats`` (``n`` documents, ``len`` total terms).

Nothing writes these any more; the second migration deletes them. Once it is done (its progress item
says so, read with a search's first request until a process has seen it done), a search reads the
present layout only. A later release drops this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ontology.data.indexes import SearchIndex
from ontology.data.keys import encode_value

__all__ = [
    "DROPPED",
    "STATS_SHARDS",
    "dict_pk",
    "filter_key",
    "is_first_layout",
    "list_pk",
    "mask_of",
    "stats_keys",
]

STATS_SHARDS = 16
#: The ``tb`` of every item of the first layout.
TB = "_search"
#: The progress item of the migration that deletes the first layout (ontology.data.migrations).
DROPPED = ("platform#migrations", "0013-search-drop-first-layout")

_gone = False


def gone() -> bool:
    """Whether this process has seen the first layout deleted everywhere."""
    return _gone


def note(progress: dict[str, Any] | None) -> bool:
    """Take the dropping migration's progress item (None: it never ran) into account; answers
    :func:`gone`. Done stays done: nothing writes the first layout any more."""
    global _gone  # noqa: PLW0603
    if progress is not None and progress.get("status") == "done":
        _gone = True
    return _gone


def reset() -> None:
    """Forget what was seen (another table: the tests' fresh one)."""
    global _gone  # noqa: PLW0603
    _gone = False


def _base(scope: str, table: str, index: str) -> str:
    return f"{scope}#search#{table}.{index}"


def list_pk(scope: str, table: str, index: str, term: str) -> str:
    return f"{_base(scope, table, index)}#t#{term}"


def dict_pk(scope: str, table: str, index: str) -> str:
    return f"{_base(scope, table, index)}#dict"


def stats_keys(scope: str, table: str, index: str) -> list[tuple[str, str]]:
    pk = f"{_base(scope, table, index)}#stats"
    return [(pk, f"{s:02d}") for s in range(STATS_SHARDS)]


def mask_fields(index: SearchIndex, mask: int) -> tuple[str, ...]:
    return tuple(f for i, f in enumerate(index.filter_fields) if mask >> i & 1)


def mask_of(index: SearchIndex, filters: Iterable[str]) -> int:
    """The filter combination (a bit per filter field) of a search's ``eq`` fields."""
    given = set(filters)
    return sum(1 << i for i, f in enumerate(index.filter_fields) if f in given)


def filter_key(pk: str, mask: int, values: Iterable[Any], fields: Iterable[str]) -> str:
    """A posting list's key for one filter combination (the GSI partition ``g<mask>pk``)."""
    return f"{pk}#{mask}#" + "".join(encode_value(v, f) for v, f in zip(values, fields, strict=True))


def is_first_layout(pk: str) -> bool:
    """Whether an item with this partition key (and ``tb`` = ``_search``) is of the first layout: a
    posting list ``…#t#<term>`` (a term holds no ``#``), the dictionary ``…#dict`` or a statistics
    shard ``…#stats``."""
    if "#search#" not in pk:
        return False
    if pk.endswith(("#dict", "#stats")):
        return True
    _, sep, rest = pk.partition("#t#")
    return bool(sep) and bool(rest) and "#" not in rest
