"""Who may see an organization's dashboard: its owners, and the platform's owners any."""

from __future__ import annotations

from ontology.auth.identity import Identity, has_role
from ontology.errors import ForbiddenError, UnauthenticatedError

__all__ = ["authorize"]


def authorize(identity: Identity | None, organization: str | None) -> str:
    """The organization the caller may see: their own for an organization's owner, any for a
    platform owner; UNAUTHENTICATED without a session, FORBIDDEN otherwise."""
    if identity is None:
        raise UnauthenticatedError("Sign in as an owner to use the dashboard")
    if has_role(identity, "platform_owner"):
        return organization or identity.organizationId
    if identity.role != "org_owner":
        raise ForbiddenError("The dashboard is for an organization's owners", reason="NOT_AN_OWNER")
    if organization is not None and organization != identity.organizationId:
        raise ForbiddenError("Another organization's dashboard is its owners'", reason="OTHER_ORGANIZATION")
    return identity.organizationId
