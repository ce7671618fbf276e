"""Who the dashboard admits, and which organization each one sees (its stack test tries every endpoint
through the front door; a platform owner, whom no function makes, is tried here)."""

from __future__ import annotations

import json

import pytest

from ontology.auth.identity import Identity
from ontology.errors import ForbiddenError, UnauthenticatedError
from ontology.services.dashboard import authorize


def _as(role: str, org: str = "org_a") -> Identity:
    return Identity(userId="usr_1", organizationId=org, role=role)


def test_owners_see_their_organization_and_platform_owners_any() -> None:
    assert authorize(_as("org_owner"), None) == "org_a"
    assert authorize(_as("org_owner"), "org_a") == "org_a"
    assert authorize(_as("platform_owner"), None) == "org_a"
    assert authorize(_as("platform_owner"), "org_b") == "org_b"


def test_anyone_else_is_refused() -> None:
    with pytest.raises(UnauthenticatedError):
        authorize(None, None)
    for role in ("customer", "org_user"):
        with pytest.raises(ForbiddenError) as refused:
            authorize(_as(role), "org_a")
        assert refused.value.data["reason"] == "NOT_AN_OWNER"
    with pytest.raises(ForbiddenError) as refused:
        authorize(_as("org_owner"), "org_b")
    assert refused.value.data["reason"] == "OTHER_ORGANIZATION"


def test_system_queries_are_deployed_but_not_catalogued() -> None:
    """``_system/dashboard:*``: their own Lambdas in the template, reachable by their Convex path
    only, and in none of the public catalogues (OpenAPI, docs/functions.md, Convex's codegen)."""
    from pathlib import Path

    from infra.template.builder import build_template
    from ontology.errors import NotFoundError
    from ontology.runtime.openapi import build_document
    from ontology.runtime.registry import load_all
    from ontology.sync.paths import resolve_public

    root = Path(__file__).resolve().parents[2]
    system = [fn.spec for fn in load_all().values() if fn.spec.system]
    public = [fn.spec for fn in load_all().values() if not fn.spec.system and not fn.spec.internal]
    assert "_system/dashboard:scheduled" in [spec.convex_path for spec in system]
    resources = build_template()["Resources"]
    document = json.dumps(build_document())
    rows = [line for line in (root / "docs/functions.md").read_text().splitlines() if line.startswith("|")]
    codegen = (root / "convex/_generated/api.d.ts").read_text()
    for spec in system:
        assert resolve_public(spec.convex_path).spec is spec
        with pytest.raises(NotFoundError):
            resolve_public(spec.path)  # its registry path is not a Convex path
        function = resources[spec.logical_id]["Properties"]
        if spec.path == "system_dashboard:run":  # a query's role, and invoking the public queries
            assert function["Role"] == {"Fn::GetAtt": ["QueryInvokeQueriesRole", "Arn"]}
            (policy,) = resources["QueryInvokeQueriesRole"]["Properties"]["Policies"]
            (invoke,) = [
                s for s in policy["PolicyDocument"]["Statement"] if "lambda:InvokeFunction" in s["Action"]
            ]
            invoked = {ref["Fn::GetAtt"][0] for ref in invoke["Resource"]}
            queries = {s.logical_id for s in public if s.kind == "query"}
            assert invoked == queries and "EntitiesCreateFunction" not in invoked
        else:
            assert function["Role"] == {"Fn::GetAtt": ["QueryRole", "Arn"]}, "reads the table, nothing more"
        assert "Events" not in function, "no route of its own"
        for text in (document, codegen, *rows):
            assert spec.module not in text and "_system" not in text
    with pytest.raises(NotFoundError):
        resolve_public("_system/creators:get")  # a public function is not a system one


def test_one_functions_names_a_system_query_as_a_client_calls_it() -> None:
    from infra.cli import catalogue

    rows = {row["path"]: row for row in catalogue()}
    assert not [path for path in rows if path.startswith("system_")]
    assert rows["_system/dashboard:scheduled"]["route"] == "sync only"
    assert rows["creators:create"]["route"] == "POST /api/creators/create"
