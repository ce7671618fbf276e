"""The function registry: ``@query``, ``@mutation``, ``@action`` record a frozen spec.

Each decorated function is one Lambda (Chalice's habit: decorators only *record*; the template, the
OpenAPI document, the local front door and the test client all read this registry)::

    class GetArgs(Args):
        id: EntityId

    @query(args=GetArgs, returns=CreatorOut)
    def get(ctx: QueryCtx, args: GetArgs) -> dict | None: ...

The function's path is ``<module>:<name>`` (``creators:get``), its route ``POST /api/<module>/<name>``
unless ``internal=True``. The object the decorator returns is the Lambda handler itself
(``Handler: creators.get``) and can still be called by other functions through ``ctx.run_query``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ontology.errors import NotFoundError

__all__ = [
    "REGISTRY",
    "Args",
    "Auth",
    "FunctionSpec",
    "RegisteredFunction",
    "action",
    "load_all",
    "mutation",
    "query",
    "resolve",
]

Kind = Literal["query", "mutation", "action"]

#: Who may call a function: anyone, any signed-in member of the active organization, or a member
#: with at least the given role (roles ordered platform_owner > org_owner > org_user > customer).
Auth = Literal["public", "member", "customer", "org_user", "org_owner", "platform_owner"]

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
    #: The Python name in the module (the Lambda handler is ``<module>.<attr>``).
    attr: str = ""
    #: Internal functions only: ``ctx.db`` also reaches the platform tables, and an action may act
    #: for any organization (``ctx.for_organization``). For jobs and crons, never for a route.
    platform: bool = False

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
    """A registered function: the Lambda handler, plus its spec and the Python function."""

    def __init__(self, spec: FunctionSpec, fn: Callable[..., Any]) -> None:
        self.spec = spec
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __call__(self, event: Any, context: Any = None) -> Any:
        from ontology.runtime.context import handle

        return handle(self, event, context)

    def __repr__(self) -> str:
        return f"<{self.spec.kind} {self.spec.path}>"


def _module_name(fn: Callable[..., Any]) -> str:
    # "functions.creators" locally, "creators" in Lambda (CodeUri: functions/).
    return fn.__module__.rsplit(".", 1)[-1]


def _register(
    kind: Kind,
    *,
    args: type[BaseModel] | None,
    returns: Any,
    internal: bool,
    auth: Auth | None,
    uses: Iterable[str],
    method: str = "POST",
    route: str | None = None,
    raw: bool = False,
    name: str | None = None,
    platform: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    if platform and not internal:
        raise ValueError("platform=True is only for internal functions")

    def decorate(fn: Callable[..., Any]) -> RegisteredFunction:
        spec = FunctionSpec(
            module=_module_name(fn),
            name=name or fn.__name__,
            attr=fn.__name__,
            kind=kind,
            args=args or NoArgs,
            returns=returns,
            internal=internal,
            auth=auth or ("member" if not internal else "public"),
            uses=frozenset(uses),
            description=" ".join((fn.__doc__ or "").strip().split("\n\n")[0].split()),
            method=method,
            route_path=route,
            raw=raw,
            platform=platform,
        )
        existing = REGISTRY.get(spec.path)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"function {spec.path} registered twice")
        registered = RegisteredFunction(spec, fn)
        REGISTRY[spec.path] = registered
        return registered

    return decorate


def query(
    *,
    args: type[BaseModel] | None = None,
    returns: Any = None,
    internal: bool = False,
    auth: Auth | None = None,
    uses: Iterable[str] = (),
    method: str = "POST",
    route: str | None = None,
    raw: bool = False,
    name: str | None = None,
    platform: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    """Register a read-only function (``ctx.db`` cannot write)."""
    return _register(
        "query",
        args=args,
        returns=returns,
        internal=internal,
        auth=auth,
        uses=uses,
        method=method,
        route=route,
        raw=raw,
        name=name,
        platform=platform,
    )


def mutation(
    *,
    args: type[BaseModel] | None = None,
    returns: Any = None,
    internal: bool = False,
    auth: Auth | None = None,
    uses: Iterable[str] = (),
    name: str | None = None,
    platform: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    """Register a transactional function: its writes commit together or not at all."""
    return _register(
        "mutation",
        args=args,
        returns=returns,
        internal=internal,
        auth=auth,
        uses=uses,
        name=name,
        platform=platform,
    )


def action(
    *,
    args: type[BaseModel] | None = None,
    returns: Any = None,
    internal: bool = False,
    auth: Auth | None = None,
    uses: Iterable[str] = (),
    name: str | None = None,
    platform: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    """Register a function that may call the outside world; it reaches the database only through
    ``ctx.run_query`` / ``ctx.run_mutation`` (each mutation its own transaction)."""
    return _register(
        "action",
        args=args,
        returns=returns,
        internal=internal,
        auth=auth,
        uses=uses,
        name=name,
        platform=platform,
    )


def _import_module(module: str) -> None:
    # Locally the modules are the `functions` package; in Lambda they are top-level (CodeUri: functions/).
    if importlib.util.find_spec("functions") is not None:
        importlib.import_module(f"functions.{module}")
    else:
        importlib.import_module(module)


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


def load_all() -> dict[str, RegisteredFunction]:
    """Import every function module; returns the registry (template, OpenAPI, front door)."""
    for module in MODULES:
        _import_module(module)
    return {path: fn for path, fn in sorted(REGISTRY.items()) if fn.spec.module in MODULES}
