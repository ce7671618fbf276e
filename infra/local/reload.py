"""Saved code, reloaded in the running local stack (its dev loop: ``make dev``).

The local stack runs every function in its own process (:mod:`infra.local.runner`), from the modules
of the code root (``functions.*``) and of the layer (``ontology.*``) imported there. A reload imports
the saved code again in that process and restarts nothing: moto's state, the journal, the pollers
and the open sockets stay as they are.

- ``functions/``: the saved modules of the code root, and those of its modules that import them at
  module level, are dropped and imported afresh (``load_all``), so a new file's functions are
  registered, a removed one's are forgotten and a module that imports another sees its new code.
  Function modules hold no state (a function's state is in the table): a fresh import is the whole
  reload.
- the layer (``ontology/``): the saved module and every loaded module that imports it at module level
  (found in their sources) are reloaded in place, those it imports first, then the code root as
  above. A module that holds the running process's state (its settings, clients, registries,
  providers or context variables: a ``global`` statement, an empty container or an object made at
  module level) cannot be run again without losing that state: a change that reaches one is
  *deferred* (it takes effect when the stack next starts) and the rest of the save is reloaded.
  The generators (``infra.template``, ``infra.codegen``) are dropped too, to be imported afresh.
- A saved file's cached bytecode is removed first (Python would trust it for an edit within the
  same second that keeps the file's size).
- Nothing is kept unless all of it loads: a syntax error is found before anything is touched
  (``compile``); an error while importing (or in ``check``, given the new functions) puts every
  module, function and cron back as it was. Either way the previous code keeps answering and the
  error is what :func:`reload` raises.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["PACKAGES", "ReloadError", "Reloaded", "module_name", "reload", "roots", "warm"]

#: The packages a reload imports again: the code root and the layer.
PACKAGES = ("functions", "ontology")
#: Generators of the stack's files, dropped after a layer reload (imported afresh when next used).
TOOLS = ("infra.template", "infra.codegen")
#: Module-level calls that make no state (anything else made at module level is taken for state).
_STATELESS_CALLS = frozenset(
    {"logging.getLogger", "getLogger", "re.compile", "frozenset", "tuple", "TypeVar", "NewType", "object"}
)


class ReloadError(Exception):
    """Saved code that does not load (the previous code stays); its message says where and why."""


@dataclass
class Reloaded:
    """What a reload did."""

    #: The layer's modules run again, in the order they were.
    layer: list[str] = field(default_factory=list)
    #: Saved layer modules not run again (their change takes effect at the next start), each with
    #: why: it, or a module importing it, holds the running process's state.
    deferred: dict[str, str] = field(default_factory=dict)
    #: Whether the code root was imported afresh.
    functions: bool = False
    #: What ``check`` answered.
    checked: Any = None


def roots() -> dict[str, list[Path]]:
    """The folders of :data:`PACKAGES`, by package."""
    out: dict[str, list[Path]] = {}
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            out[package] = [Path(p).resolve() for p in spec.submodule_search_locations]
    return out


def module_name(path: Path, where: dict[str, list[Path]] | None = None) -> str | None:
    """The module a source file is (``functions/clones/chat.py`` → ``functions.clones.chat``), or
    None outside :data:`PACKAGES`."""
    path = path.resolve()
    for package, folders in (where or roots()).items():
        for folder in folders:
            if path.is_relative_to(folder) and path.suffix == ".py":
                parts = list(path.relative_to(folder).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                return ".".join([package, *parts])
    return None


def _shown(file: str) -> str:
    """A file as the developer knows it: relative to the current folder when within it."""
    path = Path(file)
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else file


def _describe(exc: BaseException, folders: Iterable[Path] = (), saved: Iterable[Path] = ()) -> str:
    """One line for an error: where it was raised (in a saved file when it went through one, else in
    the project's code), and what it says."""
    what = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_shown(exc.filename)}:{exc.lineno}: {what}"
    frames = traceback.extract_tb(exc.__traceback__)
    files = {str(p.resolve()) for p in saved}
    ours = [f for f in frames if any(Path(f.filename).is_relative_to(folder) for folder in folders)]
    at = [f for f in frames if str(Path(f.filename).resolve()) in files] or ours
    return f"{_shown(at[-1].filename)}:{at[-1].lineno}: {what}" if at else what


def _forget_bytecode(paths: Iterable[Path]) -> None:
    """Remove the saved files' cached bytecode. Python trusts a ``.pyc`` whose source has the same
    size and modification second, and an edit within the second that keeps the size (``1000`` to
    ``2000``) would run the code before it."""
    for path in paths:
        with contextlib.suppress(OSError, ValueError, NotImplementedError):
            os.remove(importlib.util.cache_from_source(str(path)))


def _check_syntax(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.suffix != ".py" or not path.is_file():
            continue
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:  # ValueError: null bytes
            raise ReloadError(_describe(exc)) from exc


# ------------------------------------------------------------------------------ the import graph


@dataclass(frozen=True)
class _Source:
    """What a module's source says at module level: the modules it imports, and whether it holds
    state (why, when it does)."""

    imports: frozenset[str]
    state: str | None


_sources: dict[tuple[str, int], _Source] = {}


def _read(module: ModuleType) -> _Source | None:
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    path = Path(file)
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    if key not in _sources:
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (SyntaxError, ValueError, OSError):
            return None
        _sources[key] = _analyse(module.__name__, path.name == "__init__.py", tree)
    return _sources[key]


def _module_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """The statements that run when the module is imported (not those of its functions' bodies)."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(node, name, None)
            if isinstance(inner, list) and not isinstance(node, ast.ClassDef):
                yield from _module_level(inner)
        for handler in getattr(node, "handlers", []) or []:
            yield from _module_level(handler.body)


def _imported(name: str, package: bool, node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        parts = name.split(".") if package else name.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    # ``from a import b``: ``a``, and ``a.b`` when that is a module
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _state(node: ast.stmt) -> str | None:
    """Why a module-level statement makes state, or None."""
    value = node.value if isinstance(node, ast.Assign | ast.AnnAssign | ast.Expr) else None
    if isinstance(value, ast.Dict | ast.List | ast.Set) and not (
        value.keys if isinstance(value, ast.Dict) else value.elts
    ):
        return ast.unparse(node)
    if isinstance(value, ast.Call) and ast.unparse(value.func) not in _STATELESS_CALLS:
        return ast.unparse(node)
    return None


def _analyse(name: str, package: bool, tree: ast.Module) -> _Source:
    imports: set[str] = set()
    state = next((f"global {', '.join(n.names)}" for n in ast.walk(tree) if isinstance(n, ast.Global)), None)
    for node in _module_level(tree.body):
        imports |= _imported(name, package, node)
        state = state or _state(node)
    return _Source(frozenset(imports), state.splitlines()[0][:80] if state else None)


_resolved: dict[str, str] = {}


def _ours(module: ModuleType, folders: list[str]) -> bool:
    """Whether a module's file is in one of ``folders`` (resolved, each ending with a separator)."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    if file not in _resolved:
        _resolved[file] = os.path.realpath(file)
    return _resolved[file].startswith(tuple(folders))


def _affected(changed: set[str], folders: list[Path]) -> dict[str, ModuleType]:
    """The loaded modules of the project that import (at module level) one of ``changed`` or one
    that does, and those changed that are loaded: name → module."""
    within = [os.path.join(os.path.realpath(f), "") for f in folders]
    loaded = {n: m for n, m in list(sys.modules.items()) if m is not None and _ours(m, within)}
    importers: dict[str, set[str]] = {}
    for name, module in loaded.items():
        source = _read(module)
        for imported in source.imports if source else ():
            importers.setdefault(imported, set()).add(name)
    found = {n for n in changed if n in loaded}
    todo = list(found)
    while todo:
        for importer in importers.get(todo.pop(), ()):
            if importer not in found:
                found.add(importer)
                todo.append(importer)
    return {n: loaded[n] for n in found}


def _order(modules: dict[str, ModuleType]) -> list[str]:
    """The modules in an order that runs a module after those of them it imports."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        source = _read(modules[name])
        for imported in sorted(source.imports if source else ()):
            if imported in modules:
                visit(imported)
            # a module's package runs before it (``from . import x`` inside ``a.b`` imports ``a``)
        parent = name.rpartition(".")[0]
        if parent in modules:
            visit(parent)
        done.append(name)

    for name in sorted(modules):
        visit(name)
    return done


def _plan(changed: set[str], folders: list[Path]) -> tuple[list[str], dict[str, str]]:
    """The layer modules to run again, in order, and the changed ones deferred (with why)."""
    blockers: dict[str, str] = {}
    for name, module in _affected(changed, folders).items():
        if _in_code_root(name) or name.startswith(TOOLS):
            continue
        source = _read(module)
        if name.split(".", maxsplit=1)[0] != "ontology":
            blockers[name] = "is the local stack's own code"
        elif source is not None and source.state:
            blockers[name] = f"holds the running stack's state: {source.state}"
    deferred: dict[str, str] = {}
    if blockers:  # a change that reaches one is deferred whole; the others are reloaded
        for name in sorted(changed):
            stopped = sorted(b for b in blockers if b in _affected({name}, folders))
            if stopped:
                if name in blockers:
                    deferred[name] = f"it {blockers[name]}"
                else:
                    deferred[name] = f"{stopped[0]}, which imports it, {blockers[stopped[0]]}"
    rest = {n for n in changed if n not in deferred}
    layer = {n: m for n, m in _affected(rest, folders).items() if n.split(".", maxsplit=1)[0] == "ontology"}
    return _order(layer), deferred


# ------------------------------------------------------------------------------------- reloading


@dataclass
class _Saved:
    """What a reload changes, as it was: to be put back when the new code does not load."""

    modules: dict[str, ModuleType]
    code: set[str]
    namespaces: dict[str, dict[str, Any]]
    registry: dict[str, Any]
    crons: dict[str, Any]

    @classmethod
    def take(cls, layer: list[str], dropped: set[str]) -> _Saved:
        from ontology.runtime.crons import REGISTERED
        from ontology.runtime.registry import REGISTRY

        modules = {n: m for n, m in list(sys.modules.items()) if n in dropped}
        code = {n for n in list(sys.modules) if _in_code_root(n)}
        namespaces = {n: dict(vars(sys.modules[n])) for n in layer}
        return cls(modules, code, namespaces, dict(REGISTRY), dict(REGISTERED.jobs))

    def restore(self, dropped: set[str]) -> None:
        from ontology.runtime.crons import REGISTERED
        from ontology.runtime.registry import REGISTRY, rescan

        for name in [
            n for n in list(sys.modules) if n in dropped or (_in_code_root(n) and n not in self.code)
        ]:
            sys.modules.pop(name, None)  # and a new file's, imported by the attempt
        sys.modules.update(self.modules)
        for name, namespace in self.namespaces.items():
            module = sys.modules[name]
            vars(module).clear()
            vars(module).update(namespace)
        REGISTRY.clear()
        REGISTRY.update(self.registry)
        REGISTERED.jobs.clear()
        REGISTERED.jobs.update(self.crons)
        rescan()


def reload(paths: Iterable[Path], *, check: Callable[[], Any] | None = None) -> Reloaded:
    """Reload the saved files ``paths`` (of ``functions/`` or the layer; added, changed or removed) in
    this process, then run ``check`` on the new code (the local stack builds its template from it: a
    function it cannot deploy is an error too). :class:`ReloadError` when any of it fails, with
    everything as it was before."""
    where = roots()
    paths = [Path(p) for p in paths]
    _check_syntax(paths)
    _forget_bytecode(paths)
    names = {n for p in paths if (n := module_name(p, where)) is not None}
    # a removed module is dropped, not run again: what still imports it fails, as at a fresh start
    removed = {n for p in paths if not p.exists() and (n := module_name(p, where)) is not None}
    folders = [f for fs in where.values() for f in fs]
    project = [*folders, Path(__file__).resolve().parents[1]]
    layer, deferred = _plan({n for n in names if n.startswith("ontology")}, project)
    layer = [n for n in layer if n not in removed]
    dropped = _to_drop(names - set(deferred), project, tools=bool(layer)) | removed
    saved = _Saved.take(layer, dropped)
    done = Reloaded(layer=layer, deferred=deferred, functions=True)
    try:
        _import_afresh(layer, dropped)
        done.checked = check() if check is not None else None
    except Exception as exc:
        saved.restore(dropped)
        raise ReloadError(_describe(exc, folders, paths)) from exc
    _forget_superseded()
    return done


def _in_code_root(name: str) -> bool:
    return name == "functions" or name.startswith("functions.")


def _to_drop(changed: set[str], project: list[Path], *, tools: bool) -> set[str]:
    """The modules to import afresh: of the code root, those changed, those importing them or a
    changed layer module (at module level) and a dropped package's modules; after a layer change, the
    generators."""
    code = {n for n in {*_affected(changed, project), *changed} if _in_code_root(n)}
    loaded = list(sys.modules)
    out = {n for n in loaded if any(n == c or n.startswith(f"{c}.") for c in code)} | code
    return out | ({n for n in loaded if n.startswith(TOOLS)} if tools else set())


def _import_afresh(layer: list[str], dropped: set[str]) -> None:
    """Run the layer's modules again, in order, then import the dropped modules of the code root
    afresh (and any new one)."""
    from ontology.runtime.crons import REGISTERED
    from ontology.runtime.registry import load_all, rescan

    importlib.invalidate_caches()  # a file added within the same second is found too
    for name in dropped:
        if not _in_code_root(name):
            sys.modules.pop(name, None)  # a removed layer module, a generator
    for name in layer:
        importlib.reload(sys.modules[name])
    for name in dropped:
        sys.modules.pop(name, None)
    rescan()
    if "functions.crons" in dropped:
        REGISTERED.jobs.clear()  # declared again as it is imported
    load_all()


def _forget_superseded() -> None:
    """Drop the registered functions whose module was imported afresh without them (removed)."""
    from ontology.runtime.registry import REGISTRY, superseded

    for path in [p for p, fn in list(REGISTRY.items()) if superseded(fn)]:
        REGISTRY.pop(path, None)


def warm() -> None:
    """Read the loaded modules' imports now, so that the first reload is as fast as the next."""
    where = roots()
    _affected(set(), [*(f for fs in where.values() for f in fs), Path(__file__).resolve().parents[1]])
