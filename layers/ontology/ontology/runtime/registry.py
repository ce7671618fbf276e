"""The function registry: every function's frozen spec, by path, for the template, the OpenAPI
document, the local front door, the scheduler and the test client.

A function's path is ``<namespace>:<name>`` (``creators:get``), its route
``POST /api/<namespace>/<name>`` unless ``internal=True``. A namespace is a module or a package of the
code root, ``functions/`` (in Lambda its modules are top-level: ``CodeUri: functions/``):
``functions/creators.py`` is ``creators:``; a package whose ``__init__`` declares
``NAMESPACE = "clones"`` is ``clones:``, whichever of its files a function is in
(``functions/clones/training.py`` holds ``clones:create``). Nothing lists the namespaces: they are
found by walking the code root. :func:`resolve` imports only the namespace of the path it is given
(a Lambda loads its own domain, not the platform); :func:`load_all` imports them all.

The decorators that fill the registry are in :mod:`ontology.runtime.functions`; this module needs no
handler, so the scheduler and the contexts can resolve functions without importing it.

Example::

    fn = resolve("creators:get")
    fn.spec.kind, fn.spec.route  # ("query", "/api/creators/get")
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ontology.errors import NotFoundError

__all__ = [
    "REGISTRY",
    "SYSTEM_NAMESPACE",
    "SYSTEM_PREFIX",
    "Args",
    "Auth",
    "FunctionSpec",
    "HttpRequest",
    "RegisteredFunction",
    "code_module",
    "function_name",
    "load_all",
    "namespace_of",
    "register",
    "rescan",
    "resolve",
    "source_of",
    "superseded",
]

Kind = Literal["query", "mutation", "action"]

#: Who may call a function: anyone (``public``), any signed-in member, a role and those above it, or
#: (``internal``) only the platform itself (schedules, crons, the saga, other functions).
Auth = Literal["public", "member", "customer", "org_user", "org_owner", "platform_owner", "internal"]

#: The package of the function modules in the repository. In Lambda there is none: the function's
#: code is the package's contents, so its modules are top-level (``clones.training``).
CODE_PACKAGE = "functions"
#: A system function's namespace starts so (``system_dashboard``), and its Convex path so
#: (``_system/dashboard:scheduled``).
SYSTEM_NAMESPACE = "system_"
SYSTEM_PREFIX = "_system/"


class Args(BaseModel):
    """Base of every argument model: strict types (no coercion of "1" to 1), unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class NoArgs(Args):
    """For functions that take no arguments."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


class HttpRequest(Args):
    """The arguments of a function registered with ``request=True``: the HTTP request itself, its
    body exactly as sent (a webhook's signature covers these bytes) and its headers (lower-case)."""

    body: Annotated[StrictStr, Field(max_length=256 * 1024)] = ""
    headers: dict[
        Annotated[StrictStr, Field(max_length=256)], Annotated[StrictStr, Field(max_length=8192)]
    ] = Field(default_factory=dict, max_length=100)


@dataclass(frozen=True)
class FunctionSpec:
    """What a decorator records of a function: its path, kind, arguments, access and route."""

    #: Its namespace (``clones``): the first part of its path and of its route.
    module: str
    name: str
    kind: Kind
    args: type[BaseModel]
    returns: Any = None
    internal: bool = False
    auth: Auth = "member"
    #: AWS capabilities beyond the table: "storage" (the files bucket)
    uses: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    #: HTTP method and path of the route; None for internal functions.
    method: str = "POST"
    route_path: str | None = None
    #: Answer with the bare value (e.g. the OpenAPI document) instead of the envelope.
    raw: bool = False
    #: Takes the HTTP request itself (:class:`HttpRequest`: the raw body and the headers) instead of
    #: a JSON body of arguments: a webhook that verifies a signature over the exact bytes.
    request: bool = False
    #: The Python name in the module (the Lambda handler is ``<source>.<attr>``).
    attr: str = ""
    #: The Python module that defines it, named from the code root (``clones.training``).
    source: str = ""
    #: Internal functions only: ``ctx.db`` also reaches the platform tables, and an action may act
    #: for any organization (``ctx.for_organization``). For jobs and crons, never for a route.
    platform: bool = False
    #: Other names the function answers to on Convex's paths (the reference's own, when it differs
    #: from the camelCase of ours: ``creators:getCreatorWithContent``).
    aliases: tuple[str, ...] = ()
    #: A system function: the platform's own tools (the dashboard's pages) call it over the sync
    #: protocol and ``/api/query`` by its Convex path (:attr:`convex_path`, ``_system/dashboard:…``),
    #: as Convex's dashboard calls its ``_system/frontend`` functions. It has its Lambda like every
    #: function, but no route of its own and no place in the public catalogue (the OpenAPI document,
    #: the docs, the Convex codegen). Its namespace is ``system_<name>``.
    system: bool = False

    @property
    def path(self) -> str:
        return f"{self.module}:{self.name}"

    @property
    def convex_path(self) -> str:
        """The path a Convex client names it by: its own, or ``_system/<name>:<function>`` for a
        system function (a Python namespace cannot hold the ``/``)."""
        if self.system:
            return f"{SYSTEM_PREFIX}{self.module.removeprefix(SYSTEM_NAMESPACE)}:{self.name}"
        return self.path

    @property
    def route(self) -> str | None:
        if self.internal or self.system:
            return None
        return self.route_path or f"/api/{self.module}/{self.name}"

    @property
    def logical_id(self) -> str:
        """CloudFormation logical id: ``CreatorsGetWithContentFunction``."""
        words = [*self.module.split("_"), *self.name.split("_")]
        return "".join(w[:1].upper() + w[1:] for w in words) + "Function"

    @property
    def example(self) -> dict[str, Any] | None:
        """An example of its arguments: the first its argument model declares
        (``model_config = ConfigDict(json_schema_extra={"examples": [...]})``), else None."""
        extra = self.args.model_config.get("json_schema_extra")
        examples = extra.get("examples") if isinstance(extra, dict) else None
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            return dict(examples[0])
        return None

    @property
    def handler(self) -> str:
        """The Lambda handler: ``creators.get``, ``clones.training.create`` (Lambda's Python runtime
        imports everything before the last dot as a module)."""
        return f"{self.source or self.module}.{self.attr or self.name}"


REGISTRY: dict[str, RegisteredFunction] = {}


class RegisteredFunction:
    """A registered function: its spec and the Python function. The decorators of
    :mod:`ontology.runtime.functions` register a subclass that is also the Lambda handler."""

    def __init__(self, spec: FunctionSpec, fn: Callable[..., Any]) -> None:
        self.spec = spec
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<{self.spec.kind} {self.spec.path}>"


def register(registered: RegisteredFunction) -> RegisteredFunction:
    """Add a function to the registry (a module imported twice registers the same function again,
    and a module imported afresh, as the local stack's dev loop re-imports a saved file, replaces the
    functions its earlier copy registered)."""
    existing = REGISTRY.get(registered.spec.path)
    if (
        existing is not None
        and existing.fn.__qualname__ != registered.fn.__qualname__
        and not superseded(existing)
    ):
        raise ValueError(f"function {registered.spec.path} registered twice")
    REGISTRY[registered.spec.path] = registered
    return registered


def superseded(registered: RegisteredFunction) -> bool:
    """Whether the module that registered a function is no longer the one imported under its name
    (it was imported afresh since, or dropped)."""
    module = sys.modules.get(getattr(registered.fn, "__module__", ""))
    return module is None or vars(module) is not getattr(registered.fn, "__globals__", None)


def source_of(module_name: str) -> str:
    """A Python module's name from the code root: ``functions.clones.training`` (locally) and
    ``clones.training`` (in Lambda) are both ``clones.training``."""
    return module_name.removeprefix(CODE_PACKAGE + ".")


def namespace_of(module_name: str) -> str:
    """The namespace of the functions a Python module defines: the ``NAMESPACE`` it or its nearest
    package declares, else the module's own name (a one-file domain: ``creators``)."""
    name = module_name
    while name:
        declared = getattr(sys.modules.get(name), "NAMESPACE", None)
        if isinstance(declared, str):
            return declared
        name = name.rpartition(".")[0]
    return module_name.rsplit(".", 1)[-1]


def _code_root() -> tuple[str, tuple[str, ...]]:
    """Where the function modules are: (the prefix their import names take, their folders)."""
    spec = importlib.util.find_spec(CODE_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return CODE_PACKAGE + ".", tuple(spec.submodule_search_locations)
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    return "", (task_root,) if task_root else ()


def rescan() -> None:
    """Find the code root's modules again at the next lookup (a file was added or removed since)."""
    _code_modules.cache_clear()


@cache
def _code_modules() -> frozenset[str]:
    """The top-level modules and packages of the code root, found without importing them. Each
    namespace is one of them; the rest are Lambda entry points of their own (``sync``, ``crons``)."""
    return frozenset(info.name for info in pkgutil.iter_modules(_code_root()[1]))


def code_module(module: str) -> ModuleType:
    """A module or package of the code root by name, with every module of a package imported (the
    functions of a namespace are registered as its files are imported): ``code_module("clones")``,
    ``code_module("crons")`` (the crons it declares). NOT_FOUND for a name the code root lacks."""
    if module not in _code_modules():
        raise NotFoundError(f"no module {module!r} in the code root")
    prefix = _code_root()[0]
    imported = importlib.import_module(prefix + module)
    for info in pkgutil.walk_packages(getattr(imported, "__path__", ()), f"{prefix}{module}."):
        importlib.import_module(info.name)
    return imported


def resolve(target: str | RegisteredFunction) -> RegisteredFunction:
    """A function by path (``"creators:get"``) or reference, importing its module on demand."""
    if isinstance(target, RegisteredFunction):
        return target
    if not isinstance(target, str) or ":" not in target:
        raise NotFoundError(f"no function {target!r}")
    if target not in REGISTRY:
        module = target.split(":", 1)[0]
        if module in _code_modules():
            code_module(module)
    try:
        return REGISTRY[target]
    except KeyError:
        raise NotFoundError(f"no function {target!r}") from None


def function_name(path: str, prefix: str = "") -> str:
    """The deployed Lambda name of a function: the deployment's prefix, then ``<namespace>-<name>``
    with hyphens for underscores. The template names every registered function so (its prefix
    ``${AWS::StackName}-``), and the scheduler's runner and Convex's calls invoke a function by it
    (their prefix: ``ONE_FUNCTION_PREFIX``, which the template sets to the same).

    Example::

        function_name("creators:get_with_content", "one-dev-")  # "one-dev-creators-get-with-content"
    """
    module, name = path.split(":")
    return prefix + f"{module}-{name}".replace("_", "-")


def load_all() -> dict[str, RegisteredFunction]:
    """Import every module of the code root; returns its functions by path, sorted (the catalogue's
    order: template, OpenAPI, docs, the front door). A package's functions outside its namespace
    (no ``NAMESPACE``, or another name than the package's) are an error: :func:`resolve` would not
    find them."""
    modules = _code_modules()
    for module in sorted(modules):
        code_module(module)
    found = {}
    for path, fn in sorted(REGISTRY.items()):
        package = fn.spec.source.split(".", 1)[0]
        if package not in modules:  # defined elsewhere (a test's own functions)
            continue
        if fn.spec.module != package:
            raise ValueError(
                f"{path} is defined in {fn.spec.source}, so its namespace is {package!r}: a package "
                f"declares NAMESPACE = {package!r} in its __init__.py"
            )
        found[path] = fn
    return found
