"""The function registry: every function's frozen spec, by path, for the template, the OpenAPI
document, the local front door, the scheduler and the test client.

A function's path is ``<module>:<name>`` (``creators:get``), its route ``POST /api/<module>/<name>``
unless ``internal=True``. The decorators that fill the registry are in
:mod:`ontology.runtime.functions`; this module needs no handler, so the scheduler and the contexts
can resolve functions without importing it.

Example::

    fn = resolve("creators:get")
    fn.spec.kind, fn.spec.route  # ("query", "/api/creators/get")
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ontology.errors import NotFoundError

__all__ = [
    "REGISTRY",
    "Args",
    "Auth",
    "FunctionSpec",
    "HttpRequest",
    "RegisteredFunction",
    "function_module",
    "function_name",
    "load_all",
    "register",
    "resolve",
]

Kind = Literal["query", "mutation", "action"]

#: Who may call a function: anyone, any signed-in member of the active organization, or a member
#: with at least the given role (roles ordered platform_owner > org_owner > org_user > customer).
#: Who may call a function: anyone (``public``), any signed-in member, a role and those above it, or
#: (``internal``) only the platform itself (schedules, crons, the saga, other functions).
Auth = Literal["public", "member", "customer", "org_user", "org_owner", "platform_owner", "internal"]

#: The platform's function modules (``functions/<module>.py``), in catalogue order.
MODULES: tuple[str, ...] = (
    "creators",
    "tokens",
    "purchases",
    "courses",
    "files",
    "entities",
    "connections",
    "events",
    "tags",
    "knowledge",
    "clones",
    "livestreams",
    "scheduler",
    "organizations",
    "auth",
    "content",
    "analytics",
    "billing",
    "meta",
)


class Args(BaseModel):
    """Base of every argument model: strict types (no coercion of "1" to 1), unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class NoArgs(Args):
    """For functions that take no arguments."""


class HttpRequest(Args):
    """The arguments of a function registered with ``request=True``: the HTTP request itself, its
    body exactly as sent (a webhook's signature covers these bytes) and its headers (lower-case)."""

    body: Annotated[StrictStr, Field(max_length=256 * 1024)] = ""
    headers: dict[
        Annotated[StrictStr, Field(max_length=256)], Annotated[StrictStr, Field(max_length=8192)]
    ] = Field(default_factory=dict, max_length=100)


@dataclass(frozen=True)
class FunctionSpec:
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
    #: The Python name in the module (the Lambda handler is ``<module>.<attr>``).
    attr: str = ""
    #: Internal functions only: ``ctx.db`` also reaches the platform tables, and an action may act
    #: for any organization (``ctx.for_organization``). For jobs and crons, never for a route.
    platform: bool = False
    #: Other names the function answers to on Convex's paths (the reference's own, when it differs
    #: from the camelCase of ours: ``creators:getCreatorWithContent``).
    aliases: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.module}:{self.name}"

    @property
    def route(self) -> str | None:
        if self.internal:
            return None
        return self.route_path or f"/api/{self.module}/{self.name}"

    @property
    def logical_id(self) -> str:
        """CloudFormation logical id: ``CreatorsGetWithContentFunction``."""
        words = [*self.module.split("_"), *self.name.split("_")]
        return "".join(w[:1].upper() + w[1:] for w in words) + "Function"

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.attr or self.name}"


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
    """Add a function to the registry (a module imported twice registers the same function again)."""
    existing = REGISTRY.get(registered.spec.path)
    if existing is not None and existing.fn.__qualname__ != registered.fn.__qualname__:
        raise ValueError(f"function {registered.spec.path} registered twice")
    REGISTRY[registered.spec.path] = registered
    return registered


def _import_module(module: str) -> ModuleType:
    # Locally the modules are the `functions` package; in Lambda they are top-level (CodeUri: functions/).
    if importlib.util.find_spec("functions") is not None:
        return importlib.import_module(f"functions.{module}")
    return importlib.import_module(module)


def function_module(name: str) -> ModuleType:
    """A module of ``functions/`` by name, in either layout: ``functions.<name>`` locally, ``<name>`` in
    Lambda (where ``from functions.<name> import …`` would fail). For one module using another's
    helpers: ``function_module("knowledge").embedded_chunks(texts)``."""
    return _import_module(name)


def resolve(target: str | RegisteredFunction) -> RegisteredFunction:
    """A function by path (``"creators:get"``) or reference, importing its module on demand."""
    if isinstance(target, RegisteredFunction):
        return target
    if not isinstance(target, str) or ":" not in target:
        raise NotFoundError(f"no function {target!r}")
    if target not in REGISTRY:
        module = target.split(":", 1)[0]
        if module in MODULES:
            _import_module(module)
    try:
        return REGISTRY[target]
    except KeyError:
        raise NotFoundError(f"no function {target!r}") from None


def function_name(path: str, prefix: str = "") -> str:
    """The deployed Lambda name of a function: the deployment's prefix, then ``<module>-<name>`` with
    hyphens for underscores. The template names every registered function so (its prefix
    ``${AWS::StackName}-``), and the scheduler's runner and Convex's calls invoke a function by it
    (their prefix: ``ONE_FUNCTION_PREFIX``, which the template sets to the same).

    Example::

        function_name("creators:get_with_content", "one-dev-")  # "one-dev-creators-get-with-content"
    """
    module, name = path.split(":")
    return prefix + f"{module}-{name}".replace("_", "-")


def load_all() -> dict[str, RegisteredFunction]:
    """Import every function module; returns the registry (template, OpenAPI, front door)."""
    for module in MODULES:
        _import_module(module)
    return {path: fn for path, fn in sorted(REGISTRY.items()) if fn.spec.module in MODULES}
