"""People and organizations: users, their organizations and memberships, and sessions."""

from __future__ import annotations

import re
from typing import Any

from ontology.auth.identity import hash_token, new_token
from ontology.data.db import DatabaseWriter
from ontology.data.keys import new_id, now_ms

__all__ = ["SESSION_TTL_MS", "create_session", "create_user_with_organization", "slugify"]

SESSION_TTL_MS = 7 * 24 * 3600 * 1000


def slugify(text: str, suffix: str = "") -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40] or "org"
    return f"{base}-{suffix}".strip("-") if suffix else base


def create_user_with_organization(
    db: DatabaseWriter,
    *,
    org_id: str,
    email: str,
    name: str | None,
    email_verified: bool,
    organization_name: str,
    personal: bool = True,
) -> dict[str, str]:
    """A user, their organization (they are its org_owner) and their own entity in it, in the
    caller's transaction. ``db`` must be scoped to ``org_id`` with platform access."""
    now = now_ms()
    user = {
        "email": email,
        "emailVerified": email_verified,
        "homeOrganizationId": org_id,
        "createdAt": now,
        "updatedAt": now,
    }
    user_id = db.insert("users", {**user, "name": name} if name else user)
    db.insert(
        "organizations",
        {
            "name": organization_name,
            "slug": slugify(organization_name, org_id[-6:].lower()),
            "personal": personal,
            "createdAt": now,
            "updatedAt": now,
        },
        doc_id=org_id,
    )
    entity_id = add_member(db, org_id=org_id, user_id=user_id, role="org_owner", display_name=name or email)
    return {"userId": user_id, "organizationId": org_id, "entityId": entity_id}


def add_member(db: DatabaseWriter, *, org_id: str, user_id: str, role: str, display_name: str) -> str:
    """A membership with the member's own ``audience_member`` entity (their actor in events)."""
    now = now_ms()
    entity_id = db.insert(
        "entities",
        {
            "type": "audience_member",
            "name": display_name,
            "properties": {},
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "memberships",
        {
            "organizationId": org_id,
            "userId": user_id,
            "role": role,
            "entityId": entity_id,
            "createdAt": now,
            "updatedAt": now,
        },
    )
    db.insert(
        "events", {"type": "user_joined", "actorId": entity_id, "timestamp": now, "metadata": {"role": role}}
    )
    return entity_id


def active_membership(db: Any, org_id: str | None, user_id: str) -> dict[str, Any]:
    """What a session keeps of its active organization: the organization, the member's role and
    entity, the user's email (consistent reads of the membership's guard and of the user). Without a
    membership there, the session has no active organization (no call is authorized with it)."""
    member = membership(db, org_id, user_id) if org_id else None
    if member is None:
        return {}
    user = db.get(user_id, "users")
    fields = {"activeOrganizationId": org_id, "role": member["role"]}
    if member.get("entityId"):
        fields["entityId"] = member["entityId"]
    if user is not None:
        fields["email"] = user["email"]
    return fields


def create_session(
    db: DatabaseWriter, *, user_id: str, org_id: str, ttl_ms: int = SESSION_TTL_MS, **extra: Any
) -> tuple[str, str]:
    """A new session: returns ``(token, session id)``; only the token's hash is stored."""
    now = now_ms()
    token = new_token()
    session_id = db.insert(
        "sessions",
        {
            "userId": user_id,
            "tokenHash": hash_token(token),
            "expiresAt": now + ttl_ms,
            "createdAt": now,
            "updatedAt": now,
            **active_membership(db, org_id, user_id),
            **extra,
        },
    )
    return token, session_id


def new_organization_id() -> str:
    return new_id("organizations")


__all__ += ["add_member", "new_organization_id"]


INVITATION_TTL_MS = 7 * 24 * 3600 * 1000


def memberships_of(db: Any, org_id: str) -> list[dict[str, Any]]:
    return list(
        db.query("memberships")
        .with_index("by_organization", lambda q: q.eq("organizationId", org_id))
        .take(1000)
    )


def membership(db: Any, org_id: str, user_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = db.lookup_unique(
        "memberships", "member", {"organizationId": org_id, "userId": user_id}
    )
    return found


__all__ += ["INVITATION_TTL_MS", "active_membership", "membership", "memberships_of"]
