"""Contexts: read-only queries, nested calls, actions running each mutation in its own transaction."""

from __future__ import annotations

import pytest

from ontology import InternalError, NotFoundError, run_query
from ontology.data.fields import EntityId
from ontology.runtime.context import invoke
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import REGISTRY, Args, load_all


class NameArgs(Args):
    name: str


class IdArgs(Args):
    id: EntityId


@query(args=IdArgs)
def rt_get(ctx, args):
    return ctx.db.get(args.id)


@query(args=IdArgs)
def rt_get_via_run_query(ctx, args):
    return ctx.run_query("test_runtime:rt_get", {"id": args.id})


@query(args=NameArgs)
def rt_query_calls_mutation(ctx, args):
    return ctx.run_mutation("test_runtime:rt_insert", {"name": args.name})


@mutation(args=NameArgs)
def rt_insert(ctx, args):
    return ctx.db.insert("entities", {"type": "video", "name": args.name, "createdAt": 1, "updatedAt": 1})


@mutation(args=NameArgs, internal=True)
def rt_insert_twice_then_fail(ctx, args):
    first = ctx.run_mutation(rt_insert, {"name": args.name})
    ctx.run_mutation(rt_insert, {"name": args.name + "2"})
    seen = ctx.run_query(rt_get, {"id": first})
    assert seen["name"] == args.name, "a nested query sees the transaction's own writes"
    raise NotFoundError("abort")


@action(args=NameArgs)
def rt_action(ctx, args):
    first = ctx.run_mutation(rt_insert, {"name": args.name})
    ctx.run_mutation(rt_insert, {"name": args.name + "2"})
    if args.name == "fail":
        raise NotFoundError("after two committed mutations")
    return [first, ctx.run_query(rt_get, {"id": first})["name"]]


def _names(member):
    return sorted(
        d["name"]
        for d in run_query(
            lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "video")).collect(),
            org=member.organizationId,
        )
    )


def _identity(member):
    from ontology.auth.identity import Identity

    return Identity(member.userId, member.organizationId, member.role, member.entityId)


def test_query_ctx_is_read_only_and_can_call_queries(alice) -> None:
    ident = _identity(alice)
    eid = invoke(rt_insert, {"name": "v"}, ident)
    assert invoke(rt_get_via_run_query, {"id": eid}, ident)["name"] == "v"
    with pytest.raises(AttributeError):
        invoke(rt_query_calls_mutation, {"name": "x"}, ident)
    assert "x" not in _names(alice)


def test_nested_mutations_share_one_transaction(alice) -> None:
    with pytest.raises(NotFoundError):
        invoke(rt_insert_twice_then_fail, {"name": "n"}, _identity(alice))
    assert _names(alice) == [], "all or nothing, nested calls included"


def test_action_runs_each_mutation_in_its_own_transaction(alice) -> None:
    ident = _identity(alice)
    _, name = invoke(rt_action, {"name": "a"}, ident)
    assert name == "a"
    with pytest.raises(NotFoundError):
        invoke(rt_action, {"name": "fail"}, ident)
    assert _names(alice) == ["a", "a2", "fail", "fail2"], "committed mutations stay when the action fails"


def test_run_kinds_are_checked(alice) -> None:
    from ontology.runtime.context import ActionCtx

    ctx = ActionCtx(_identity(alice))
    with pytest.raises(InternalError):
        ctx.run_query(rt_insert, {"name": "x"})
    with pytest.raises(InternalError):
        ctx.run_mutation(rt_action, {"name": "x"})
    with pytest.raises(NotFoundError):
        ctx.run_query("nothing:here", {})


def test_internal_functions_have_no_route_and_stay_out_of_the_catalogue() -> None:
    spec = rt_insert_twice_then_fail.spec
    assert spec.internal and spec.route is None
    from infra.template.functions import function_resource

    assert "Events" not in function_resource(spec)["Properties"]
    assert "test_runtime:rt_insert" in REGISTRY
    assert all(not p.startswith("test_runtime:") for p in load_all())


def test_internal_functions_say_only_the_platform_calls_them() -> None:
    from ontology.runtime.functions import mutation, query
    from ontology.runtime.registry import load_all

    internal = [fn.spec for fn in load_all().values() if fn.spec.internal]
    assert internal and {spec.auth for spec in internal} == {"internal"}
    assert all(fn.spec.auth != "internal" for fn in load_all().values() if not fn.spec.internal)
    with pytest.raises(ValueError, match="internal"):
        query(auth="internal")(lambda ctx, args: None)
    with pytest.raises(ValueError, match="internal"):
        mutation(internal=True, auth="public")(lambda ctx, args: None)
