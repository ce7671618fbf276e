"""The Functions page's runs: a function run as a member of the organization, in the function's own
Lambda (with its own permissions), exactly as that member's client would call it.

- :func:`members`: the organization's members, whom a run may act as;
- :func:`member_identity`: the identity a run acts with (NOT_FOUND for anyone not a member).

A query's run stays live: the system query ``_system/dashboard:run`` runs it as the member with
:func:`ontology.sync.calls.query_as`, which records what it read as the system query's own reads.
"""

from __future__ import annotations

from typing import Any

from ontology.auth.identity import Identity
from ontology.errors import NotFoundError

__all__ = ["member_identity", "members"]


def members(organization: str) -> list[dict[str, Any]]:
    """The organization's members: user id, role, entity, name and email."""
    from ontology.auth.people import memberships_of
    from ontology.data.db import DatabaseReader

    platform = DatabaseReader(None, platform=True)
    found = memberships_of(platform, organization)
    users = platform.get_many([m["userId"] for m in found], "users")
    return [
        {
            "userId": m["userId"],
            "role": m["role"],
            "entityId": m.get("entityId"),
            "name": (u or {}).get("name"),
            "email": (u or {}).get("email"),
        }
        for m, u in zip(found, users, strict=True)
    ]


def member_identity(organization: str, user_id: str | None) -> tuple[Identity, dict[str, Any]]:
    """The identity a run acts with, and the member's row; NOT_FOUND (``userId``) for a non-member."""
    member = next((m for m in members(organization) if m["userId"] == user_id), None)
    if member is None:
        raise NotFoundError("No such member of the organization", field="userId")
    identity = Identity(
        userId=member["userId"],
        organizationId=organization,
        role=member["role"],
        entityId=member["entityId"],
        email=member["email"],
    )
    return identity, member
