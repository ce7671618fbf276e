"""Who the dashboard admits, and which organization each one sees (its stack test tries every endpoint
through the front door; a platform owner, whom no function makes, is tried here)."""

from __future__ import annotations

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
