"""How a migration is declared: the :class:`Migration` class, the :class:`Change` its step answers,
and the writes a change is made of.

A migration's ``step`` gets a :class:`Batch` of items (attribute name → Python value, see
:mod:`ontology.data.migrations.codec`) and answers a :class:`Change` for each item it would change;
an item it answers nothing for is counted as skipped. A change names the items it was computed from
(``reads``) and its writes; the runner applies it only if every item read is still exactly as read,
so a concurrent write is never overwritten: on a conflict it reads them again and calls ``step`` on
what it found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ontology.errors import ValidationError

if TYPE_CHECKING:  # typing only
    from ontology.data.migrations.sources import Source

__all__ = [
    "LAYOUT_ATTR",
    "Batch",
    "Change",
    "Delete",
    "Item",
    "Key",
    "Migration",
    "Put",
    "Update",
    "delete",
    "key_of",
    "put",
    "replace",
    "update",
]

#: An item: its attributes by name, as Python values (``pk`` and ``sk`` are strings).
Item = dict[str, Any]
#: An item's key: ``(pk, sk)``.
Key = tuple[str, str]

#: The per-item layout stamp a migration with ``layout = N`` writes on every item it changes.
LAYOUT_ATTR = "lv"

#: A migration's id: its order (a number: ``0001``, or a date ``20250301``), a dash, a name.
ID_PATTERN = re.compile(r"^(\d{1,14})-[a-z0-9]+(?:-[a-z0-9]+)*$")
#: A transaction holds at most this many items (writes plus the checks of items only read).
MAX_CHANGE_ITEMS = 100


def key_of(item: Mapping[str, Any]) -> Key:
    return str(item["pk"]), str(item["sk"])


@dataclass(frozen=True)
class Put:
    """Write a whole item. On a key the change read, it replaces that item (still as read); on any
    other key, the key must be free (``attribute_not_exists``)."""

    attrs: Mapping[str, Any]

    @property
    def key(self) -> Key:
        return key_of(self.attrs)


@dataclass(frozen=True)
class Update:
    """Set and remove attributes of an item the change read (never ``pk`` or ``sk``)."""

    key: Key
    set: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delete:
    """Delete an item the change read."""

    key: Key


Write = Put | Update | Delete


@dataclass(frozen=True)
class Change:
    """Writes applied together (one request for one write, else one transaction), each item of
    ``reads`` conditioned on being exactly as read: its every attribute as read, or gone if read
    absent. Prefer the helpers: :func:`update`, :func:`replace`, :func:`delete`, :func:`put`."""

    reads: tuple[Item, ...]
    writes: tuple[Write, ...]

    def __post_init__(self) -> None:
        read = {key_of(item) for item in self.reads}
        written: set[Key] = set()
        for write in self.writes:
            key = write.key
            if key in written:
                raise ValidationError(f"a change writes {key} twice")
            written.add(key)
            if isinstance(write, Update | Delete) and key not in read:
                raise ValidationError(f"a change updates or deletes only items it read: {key}")
            if isinstance(write, Update) and ({"pk", "sk"} & (set(write.set) | set(write.remove))):
                raise ValidationError("an update never changes pk or sk: put the new item, delete the old")
        if not self.writes:
            raise ValidationError("a change writes something (answer no change for an item to skip it)")
        if len(written | read) > MAX_CHANGE_ITEMS:
            raise ValidationError(f"a change touches at most {MAX_CHANGE_ITEMS} items (one transaction)")


def update(item: Item, set: Mapping[str, Any] | None = None, remove: Sequence[str] = ()) -> Change:
    """Set (and remove) attributes of ``item``, if it is still as read."""
    return Change((item,), (Update(key_of(item), dict(set or {}), tuple(remove)),))


def replace(item: Item, attrs: Mapping[str, Any]) -> Change:
    """Write ``attrs`` in place of ``item``: on the same key, a put over it; on another key (the key
    moves), the new item put and the old one deleted in one transaction."""
    new = Put(dict(attrs))
    if new.key == key_of(item):
        return Change((item,), (new,))
    return Change((item,), (Delete(key_of(item)), new))


def delete(item: Item) -> Change:
    return Change((item,), (Delete(key_of(item)),))


def put(attrs: Mapping[str, Any], *, reads: Sequence[Item] = ()) -> Change:
    """A new item (its key must be free), written only if ``reads`` are still as read."""
    return Change(tuple(reads), (Put(dict(attrs)),))


class Batch(list[Item]):
    """The items of one page, for ``step``; ``read`` fetches more items (consistently) that a change
    depends on: give them in the change's ``reads``, and the change waits for them to stay put."""

    def __init__(self, items: Iterable[Item], reader: Any = None, store: Any = None) -> None:
        super().__init__(items)
        self._reader = reader
        #: the table's store (``ontology.data.dynamodb.Store``), for a step that must query an index
        #: to compute its change (eventually consistent: what it derives must be conditioned on
        #: items it reads with :meth:`read`)
        self.store = store

    def read(self, *keys: Key) -> list[Item | None]:
        """The items at ``keys`` (None where there is none), read consistently."""
        if self._reader is None:
            return [None for _ in keys]
        found: dict[Key, Item] = self._reader(list(keys))
        return [found.get(k) for k in keys]


class Migration:
    """A data migration: subclass it in a module of :mod:`ontology.data.migrations.versions`.

    Class attributes:

    - ``id``: ``"<number>-<name>"``, e.g. ``"0002-search-postings-v2"``; the number orders migrations
      (``one migrate run --all`` applies them in that order, each finished before the next starts).
    - ``description``: one line, for ``one migrate status``.
    - ``source``: where its items come from, :func:`~ontology.data.migrations.sources.scan` or
      :func:`~ontology.data.migrations.sources.documents`.
    - ``batch_size`` (50): items a page examines; ``one migrate run --batch`` overrides it.
    - ``max_wcu`` (None: no limit): write capacity units a second it may use; ``--max-wcu`` overrides.
    - ``layout`` (None): a layout number. When set, every item the migration changes gets the
      attribute ``lv`` = ``layout`` in the same write, and an item already stamped ``lv >= layout`` is
      skipped without calling ``step``: no item is changed twice, even by a step that is not
      idempotent by itself. Code that writes items of the new layout must stamp them too.
    - ``readers_accept_old`` (False): True when, while the migration runs, the data layer must read
      items of the old layout; then ``upgrade`` turns an item of either layout into the new one, in
      memory, on every read of a document (:mod:`ontology.data.layout`).
    - ``bump_version`` (True): a write over an item that has a version ``v`` sets ``v`` to the read
      version + 1 (unless the change sets it), so a mutation that read the item before the migration
      wrote it runs again on the new layout instead of writing the old one back.

    Methods: ``step`` (required), ``upgrade`` (with ``readers_accept_old``), ``verify`` or
    ``verify_read`` (optional: a pass after the run, over the same source, that every item is
    migrated; ``verify_read`` may read further items).
    """

    id: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[Source]
    batch_size: ClassVar[int] = 50
    max_wcu: ClassVar[float | None] = None
    layout: ClassVar[int | None] = None
    readers_accept_old: ClassVar[bool] = False
    bump_version: ClassVar[bool] = True

    def step(self, batch: Batch) -> Iterable[Change]:
        """The changes that migrate ``batch``'s items: at most one per item, none for an item that
        needs none (already migrated, or not concerned). It must be a function of the items it is
        given (and of what it reads through ``batch.read``): the runner calls it again on fresh
        copies after a conflict, and again on a page redone after a crash."""
        raise NotImplementedError

    def upgrade(self, item: Item) -> Item:
        """The item (as the data layer reads it: scalar attributes) in the new layout; an item
        already in it unchanged. Pure and cheap: it runs on every document read."""
        return item

    def verify(self, item: Item) -> str | None:
        """None when ``item`` is as the migration leaves it, else what is wrong with it."""
        return None

    def verify_read(self, item: Item, read: Callable[..., list[Item | None]]) -> str | None:
        """:meth:`verify` for a migration whose check needs more items than the one it is given:
        ``read(*keys)`` reads them (consistently, as ``batch.read``). Declare one or the other."""
        return self.verify(item)

    # ------------------------------------------------------------------------- for the registry

    @classmethod
    def order(cls) -> tuple[int, str]:
        match = ID_PATTERN.match(cls.id)
        if match is None:  # pragma: no cover - checked by the registry first
            raise ValueError(cls.id)
        return int(match.group(1)), cls.id

    @classmethod
    def has_verify(cls) -> bool:
        return cls.verify is not Migration.verify or cls.verify_read is not Migration.verify_read

    @classmethod
    def check(cls) -> None:
        """Refuse a declaration that cannot run (the registry calls it on every migration it finds)."""
        where = f"{cls.__module__}.{cls.__name__}"
        migration_id = getattr(cls, "id", None)
        if not isinstance(migration_id, str) or not ID_PATTERN.match(migration_id):
            raise ValueError(f"{where}: id must be '<number>-<name>' in lowercase, e.g. '0002-add-x'")
        if not isinstance(getattr(cls, "description", None), str) or not cls.description.strip():
            raise ValueError(f"{where}: a description is required")
        from ontology.data.migrations.sources import Source

        if not isinstance(getattr(cls, "source", None), Source):
            raise ValueError(f"{where}: source must be scan(...) or documents(...)")
        if cls.step is Migration.step:
            raise ValueError(f"{where}: step is required")
        if cls.readers_accept_old and cls.upgrade is Migration.upgrade:
            raise ValueError(f"{where}: readers_accept_old needs upgrade(item)")
        if not 1 <= cls.batch_size <= 1000:
            raise ValueError(f"{where}: batch_size from 1 to 1000")
