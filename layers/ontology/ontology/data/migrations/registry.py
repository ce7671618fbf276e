"""Finding the migrations: every module of :mod:`ontology.data.migrations.versions` (and of the
packages named in ``ONE_MIGRATIONS``, comma-separated: migrations kept outside the platform's code,
an import's or a backfill's) that declares one :class:`~ontology.data.migrations.base.Migration`
subclass, ordered by the number their ids start with (then by id).

Nothing lists the migrations: adding a module adds one.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import threading

from ontology.data.migrations.base import Migration
from ontology.errors import NotFoundError

__all__ = ["PACKAGE", "find", "packages", "registered", "reset"]

#: The platform's own migrations.
PACKAGE = "ontology.data.migrations.versions"
#: More packages of migrations (comma-separated module names), e.g. ``tests.data.sample_migrations``.
ENV = "ONE_MIGRATIONS"

_lock = threading.Lock()
_cache: dict[tuple[str, ...], list[Migration]] = {}


def packages() -> tuple[str, ...]:
    extra = [p.strip() for p in os.environ.get(ENV, "").split(",") if p.strip()]
    return (PACKAGE, *dict.fromkeys(p for p in extra if p != PACKAGE))


def _declared_in(module_name: str) -> list[type[Migration]]:
    module = importlib.import_module(module_name)
    return [
        cls
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, Migration)
        and cls is not Migration
        and cls.__module__ == module_name
    ]


def _load(package_names: tuple[str, ...]) -> list[Migration]:
    found: dict[str, Migration] = {}
    for package_name in package_names:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.ispkg:
                continue
            module_name = f"{package_name}.{info.name}"
            classes = _declared_in(module_name)
            if len(classes) != 1:
                raise ValueError(
                    f"{module_name} declares {len(classes)} migrations; one module, one migration"
                )
            cls = classes[0]
            cls.check()
            if cls.id in found:
                raise ValueError(f"migration id {cls.id} declared twice")
            found[cls.id] = cls()
    return sorted(found.values(), key=lambda m: m.order())


def registered() -> list[Migration]:
    """Every migration the code declares, in order."""
    names = packages()
    with _lock:
        if names not in _cache:
            _cache[names] = _load(names)
        return list(_cache[names])


def find(migration_id: str) -> Migration:
    for migration in registered():
        if migration.id == migration_id:
            return migration
    known = ", ".join(m.id for m in registered()) or "none"
    raise NotFoundError(f"no migration '{migration_id}' (declared: {known})", id=migration_id)


def reset() -> None:
    """Forget what was found (a test that changes ``ONE_MIGRATIONS`` or adds a module)."""
    with _lock:
        _cache.clear()
