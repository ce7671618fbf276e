"""Function contexts and invocation: what a function receives, and how it runs.

Contexts mirror the reference: ``ctx.db`` (read-only in queries), ``ctx.auth``, ``ctx.storage``,
``ctx.run_query`` / ``ctx.run_mutation`` / ``ctx.run_action``, and ``ctx.scheduler``. :func:`invoke`
runs a function at the top level: access checked, arguments validated, a mutation in its own
transaction (re-run on conflict), its after-commit steps once it has committed, and the counted
properties of the documents it returns filled from their counters (:mod:`ontology.data.counters`).

Example::

    value = invoke(resolve("creators:get"), {"id": creator_id}, identity)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError

from ontology.auth.identity import AuthContext, Identity
from ontology.data.count_folds import listing as listing_folds
from ontology.data.counters import fill as fill_counts
from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.transaction import run_mutation
from ontology.errors import (
    ForbiddenError,
    InternalError,
    UnauthenticatedError,
    ValidationError,
    error_envelope,
)
from ontology.runtime.registry import RegisteredFunction, resolve

if TYPE_CHECKING:
    from ontology.data.storage import Storage
    from ontology.data.visibility import Sight

__all__ = [
    "ActionCtx",
    "MutationCtx",
    "QueryCtx",
    "invoke",
    "run_after_commit",
    "system_identity",
]

_log = logging.getLogger(__name__)


class _NoScheduler:
    """``ctx.scheduler`` of a query: queries cannot schedule (they must not have effects)."""

    def __getattr__(self, name: str) -> Any:
        raise InternalError("A query cannot schedule functions; use a mutation or an action")


class _BaseCtx:
    kind = "base"

    def __init__(self, identity: Identity | None) -> None:
        self.auth = AuthContext(identity)
        self._identity = identity
        self.scheduler: Any = _NoScheduler()

    @property
    def org(self) -> str | None:
        return self._identity.organizationId if self._identity else None

    @property
    def storage(self) -> Storage:
        from ontology.data.storage import Storage  # the functions that store files load it

        return Storage(self.org)

    def run_query(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "query":
            raise InternalError(f"run_query: {fn.spec.path} is a {fn.spec.kind}")
        return self._call(fn, args or {})

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        raise NotImplementedError


class QueryCtx(_BaseCtx):
    """A query: read-only database, consistent point reads. A public function's ``ctx.db`` answers
    what its caller may see (``sight``: :mod:`ontology.data.visibility`)."""

    kind = "query"

    def __init__(
        self,
        identity: Identity | None,
        db: DatabaseReader | None = None,
        *,
        platform: bool = False,
        sight: Sight | None = None,
    ) -> None:
        super().__init__(identity)
        self.db = db or DatabaseReader(self.org, platform=platform, sight=sight)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        return _execute(fn, args, self._identity, QueryCtx(self._identity, self.db))


class MutationCtx(_BaseCtx):
    """A mutation: buffered writes, committed together. Nested ``run_mutation`` joins the same
    transaction; ``after_commit`` runs side effects only once the transaction has committed."""

    kind = "mutation"

    def __init__(self, identity: Identity | None, db: DatabaseWriter) -> None:
        super().__init__(identity)
        self.db = db
        self._after: list[Callable[[], None]] = []
        from ontology.runtime.scheduler import Scheduler  # queries never load it

        # Jobs are written into this transaction (platform view of the same buffered state).
        outbox = db.view(platform=True)
        self.scheduler = Scheduler(identity, writer=outbox, after_commit=self.after_commit)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def run_mutation(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "mutation":
            raise InternalError(f"run_mutation: {fn.spec.path} is a {fn.spec.kind}")
        return _execute(fn, args or {}, self._identity, self)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        reader = self.db.reader()
        return _execute(fn, args, self._identity, QueryCtx(self._identity, reader))


class ActionCtx(_BaseCtx):
    """An action: no database handle; each ``run_mutation`` is its own transaction."""

    kind = "action"

    def __init__(
        self, identity: Identity | None, *, platform: bool = False, sight: Sight | None = None
    ) -> None:
        from ontology.runtime.scheduler import Scheduler

        super().__init__(identity)
        self.scheduler = Scheduler(identity)
        self._platform = platform
        self._sight = sight

    def for_organization(self, organization_id: str) -> ActionCtx:
        """The same action acting inside one organization, as the platform (crons iterate
        organizations this way). Only for internal functions declared ``platform=True``."""
        if not self._platform:
            raise ForbiddenError("Only platform jobs act for other organizations")
        return ActionCtx(system_identity(organization_id), platform=True)

    def _call(self, fn: RegisteredFunction, args: Mapping[str, Any]) -> Any:
        return invoke(fn, args, self._identity)

    def run_mutation(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "mutation":
            raise InternalError(f"run_mutation: {fn.spec.path} is a {fn.spec.kind}")
        return invoke(fn, args or {}, self._identity)

    def run_action(self, target: str | RegisteredFunction, args: Mapping[str, Any] | None = None) -> Any:
        fn = resolve(target)
        if fn.spec.kind != "action":
            raise InternalError(f"run_action: {fn.spec.path} is a {fn.spec.kind}")
        return invoke(fn, args or {}, self._identity)

    def vector_search(self, table: str, index: str, opts: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Convex's ``ctx.vectorSearch``: ``[{"_id", "_score"}]`` by cosine similarity, within the
        caller's organization (``opts``: ``vector``, ``limit`` 1-256, default 10, ``filter``); the
        function declares ``uses=("vectors",)`` (its permission to query the index)."""
        from ontology.data.vectors import vector_search

        identity = self.auth.require_identity()
        hits = vector_search(table, index, opts, organization_id=identity.organizationId)
        if not hits or self._sight is None or self._sight.sees_all(identity.organizationId):
            return hits
        # a public action's caller: only what they may read (one BatchGetItem for the hits, one for
        # what deciding them takes)
        reader = DatabaseReader(identity.organizationId, sight=self._sight)
        seen = {d["_id"] for d in reader.get_many([h["_id"] for h in hits], table) if d is not None}
        return [h for h in hits if h["_id"] in seen]


def system_identity(organization_id: str) -> Identity:
    """The platform acting inside one organization (crons, the purchase saga's steps)."""
    return Identity(userId="system", organizationId=organization_id, role="platform_owner")


def _check_access(fn: RegisteredFunction, identity: Identity | None) -> None:
    required = fn.spec.auth
    if required in ("public", "internal"):  # internal: only the platform reaches it, as itself
        return
    if identity is None:
        raise UnauthenticatedError("Sign in to call this function")
    if required != "member":
        AuthContext(identity).require_role(required)


def _validate_args(fn: RegisteredFunction, raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ValidationError("The arguments must be a JSON object")
    try:
        return fn.spec.args.model_validate(dict(raw))
    except PydanticValidationError as exc:
        raise _as_validation_error(exc) from None


def _as_validation_error(exc: PydanticValidationError) -> ValidationError:
    _, body = error_envelope(exc)
    data = {k: v for k, v in body["errorData"].items() if k not in ("code", "field")}
    return ValidationError(body["errorMessage"], field=body["errorData"].get("field"), **data)


def _execute(fn: RegisteredFunction, raw_args: Any, identity: Identity | None, ctx: _BaseCtx) -> Any:
    _check_access(fn, identity)
    args = _validate_args(fn, raw_args)
    return fn.fn(ctx, args)


def invoke(fn: RegisteredFunction, raw_args: Any, identity: Identity | None) -> Any:
    """Run a function at the top level: a query on a fresh reader, a mutation in its own
    transaction (re-run on conflict), an action with an action context. A query's or mutation's
    result has its documents' counted properties filled from their counters."""
    _check_access(fn, identity)
    args = _validate_args(fn, raw_args)
    kind = fn.spec.kind
    org = identity.organizationId if identity else None
    platform = fn.spec.platform
    # A public function reads what its caller may see; internal functions and mutations read all.
    sight = None if fn.spec.internal or kind == "mutation" else _sight_of(identity)
    if kind == "query":
        ctx = QueryCtx(identity, platform=platform, sight=sight)
        with listing_folds() as folds:
            result = fn.fn(ctx, args)
        return fill_counts(result, org=org, homes=sight.homes if sight is not None else None, folds=folds)
    if kind == "action":  # what it returns of the database came from queries and mutations: filled
        return fn.fn(ActionCtx(identity, platform=platform, sight=sight), args)
    holder: dict[str, MutationCtx] = {}

    def body(db: DatabaseWriter) -> Any:
        ctx = MutationCtx(identity, db)
        holder["ctx"] = ctx
        return fn.fn(ctx, args)

    result = run_mutation(body, org=org, platform=platform)
    run_after_commit(holder["ctx"], fn.spec.path)
    return fill_counts(result, org=org)


def _sight_of(identity: Identity | None) -> Sight:
    from ontology.data.visibility import Sight, Viewer

    return Sight(Viewer.of(identity))


def run_after_commit(ctx: MutationCtx, path: str) -> None:
    """Run a committed mutation's ``after_commit`` steps. The transaction stands whatever they do: a
    failed step is logged, not raised, and the others still run."""
    for after in ctx._after:
        try:
            after()
        except Exception:
            _log.exception("after-commit step failed", extra={"function": path})
