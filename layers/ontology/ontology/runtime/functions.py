"""``@query``, ``@mutation``, ``@action``: each decorated function is one Lambda.

The decorators only *record* a frozen :class:`~ontology.runtime.registry.FunctionSpec` (Chalice's
habit); the object they return is the Lambda handler itself (``Handler: creators.get``) and can still
be called by other functions through ``ctx.run_query``. A function's namespace is its module's
(``functions/creators.py``: ``creators:get``), or the one its package declares (``NAMESPACE =
"clones"`` in ``functions/clones/__init__.py``: ``clones:create`` from ``functions/clones/training.py``)::

    class GetArgs(Args):
        id: EntityId

    @query(args=GetArgs, returns=CreatorOut)
    def get(ctx: QueryCtx, args: GetArgs) -> dict | None: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel

from ontology.runtime.handler import handle
from ontology.runtime.registry import (
    SYSTEM_NAMESPACE,
    Auth,
    FunctionSpec,
    Kind,
    NoArgs,
    RegisteredFunction,
    namespace_of,
    register,
    source_of,
)

__all__ = ["LambdaFunction", "action", "mutation", "query"]


class LambdaFunction(RegisteredFunction):
    """A registered function that is also its Lambda's handler: ``handler(event, context)``."""

    def __call__(self, event: Any, context: Any = None) -> Any:
        return handle(self, event, context)


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
    request: bool = False,
    name: str | None = None,
    platform: bool = False,
    aliases: Iterable[str] = (),
    system: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    if platform and not internal:
        raise ValueError("platform=True is only for internal functions")
    if system and (internal or route is not None or request or raw):
        raise ValueError("a system function is called by its Convex path, never by a route of its own")
    if (auth == "internal") != internal and auth is not None:
        raise ValueError("auth='internal' is for internal functions, and only that")

    def decorate(fn: Callable[..., Any]) -> RegisteredFunction:
        spec = FunctionSpec(
            module=namespace_of(fn.__module__),
            name=name or fn.__name__,
            attr=fn.__name__,
            source=source_of(fn.__module__),
            kind=kind,
            args=args or NoArgs,
            returns=returns,
            internal=internal,
            auth=auth or ("internal" if internal else "member"),
            uses=frozenset(uses),
            description=" ".join((fn.__doc__ or "").strip().split("\n\n")[0].split()),
            method=method,
            route_path=route,
            raw=raw,
            request=request,
            platform=platform,
            aliases=tuple(aliases),
            system=system,
        )
        if system and not spec.module.startswith(SYSTEM_NAMESPACE):
            raise ValueError(f"{spec.path}: a system function's namespace starts {SYSTEM_NAMESPACE!r}")
        return register(LambdaFunction(spec, fn))

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
    aliases: Iterable[str] = (),
    system: bool = False,
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    """Register a read-only function (``ctx.db`` cannot write); ``system=True``: a system query
    (:attr:`ontology.runtime.registry.FunctionSpec.system`)."""
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
        aliases=aliases,
        system=system,
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
    aliases: Iterable[str] = (),
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
        aliases=aliases,
    )


def action(
    *,
    args: type[BaseModel] | None = None,
    returns: Any = None,
    internal: bool = False,
    auth: Auth | None = None,
    uses: Iterable[str] = (),
    route: str | None = None,
    request: bool = False,
    name: str | None = None,
    platform: bool = False,
    aliases: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], RegisteredFunction]:
    """Register a function that may call the outside world; it reaches the database only through
    ``ctx.run_query`` / ``ctx.run_mutation`` (each mutation its own transaction). ``request=True``
    (with its own ``route``): it takes the HTTP request itself (a webhook; ``args=HttpRequest``)."""
    return _register(
        "action",
        args=args,
        returns=returns,
        internal=internal,
        auth=auth,
        uses=uses,
        route=route,
        request=request,
        name=name,
        platform=platform,
        aliases=aliases,
    )
