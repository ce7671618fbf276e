"""Identity: who is calling, in which organization, with which role.

API Gateway's Lambda authorizer (:func:`authorize`) resolves the session token of a request to an
:class:`Identity` and puts it in the request context; functions read it as ``ctx.auth``::

    identity = ctx.auth.get_user_identity()          # None when anonymous
    identity = ctx.auth.require_role("org_owner")     # UNAUTHENTICATED / FORBIDDEN otherwise

Session tokens are 256-bit random strings; only their SHA-256 is stored (``sessions.tokenHash``), and
a token is found through the unique guard of that hash: a consistent read, never an index.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ontology.errors import ForbiddenError, UnauthenticatedError

__all__ = [
    "ROLE_RANK",
    "AuthContext",
    "Identity",
    "hash_token",
    "new_token",
    "resolve_session",
    "session_identity",
]

#: Roles from most to least privileged; "at least org_user" admits org_owner and platform_owner.
ROLE_RANK: dict[str, int] = {"platform_owner": 4, "org_owner": 3, "org_user": 2, "customer": 1}


@dataclass(frozen=True)
class Identity:
    userId: str
    organizationId: str
    role: str
    entityId: str | None = None  # the member's own entity in the organization (an events' actor)
    sessionId: str | None = None
    email: str | None = None

    def to_context(self) -> dict[str, str]:
        """The authorizer context (API Gateway passes string values through)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_context(cls, ctx: Mapping[str, Any] | None) -> Identity | None:
        if not ctx or not ctx.get("userId") or not ctx.get("organizationId") or not ctx.get("role"):
            return None
        return cls(
            userId=str(ctx["userId"]),
            organizationId=str(ctx["organizationId"]),
            role=str(ctx["role"]),
            entityId=ctx.get("entityId") or None,
            sessionId=ctx.get("sessionId") or None,
            email=ctx.get("email") or None,
        )


def has_role(identity: Identity | None, role: str) -> bool:
    """Whether ``identity`` has ``role`` or a higher one (platform_owner > org_owner > org_user >
    customer)."""
    return identity is not None and ROLE_RANK.get(identity.role, 0) >= ROLE_RANK[role]


class AuthContext:
    """``ctx.auth``."""

    def __init__(self, identity: Identity | None) -> None:
        self._identity = identity

    def get_user_identity(self) -> Identity | None:
        return self._identity

    def require_identity(self) -> Identity:
        if self._identity is None:
            raise UnauthenticatedError("Sign in to call this function")
        return self._identity

    def require_role(self, role: str) -> Identity:
        identity = self.require_identity()
        if not has_role(identity, role):
            raise ForbiddenError(f"This needs the role {role} or higher", role=role)
        return identity

    @property
    def organization_id(self) -> str | None:
        return self._identity.organizationId if self._identity else None


def new_token() -> str:
    """A session (or verification) token: 256 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def resolve_session(token: str, *, now_ms: float | None = None) -> Identity | None:
    """The identity of a live session token, or None (unknown, expired, or no membership left)."""
    from ontology.data.db import DatabaseReader

    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    db = DatabaseReader(None, platform=True)
    session = db.lookup_unique("sessions", "token", {"tokenHash": hash_token(token)})
    return _identity_of(db, session, now_ms)


def session_identity(session_id: str, *, now_ms: float | None = None) -> Identity | None:
    """The identity a session (by id) stands for now, or None when it ended: the sync protocol
    re-checks a connection's session this way when the session's documents change."""
    from ontology.data.db import DatabaseReader
    from ontology.errors import ValidationError

    db = DatabaseReader(None, platform=True)
    try:
        session = db.get(session_id, "sessions")
    except ValidationError:  # not a session id at all; a failed read is raised (and retried)
        return None
    return _identity_of(db, session, now_ms)


def _identity_of(db: Any, session: Mapping[str, Any] | None, now_ms: float | None) -> Identity | None:
    now = time.time() * 1000 if now_ms is None else now_ms
    if session is None or session["expiresAt"] <= now or not session.get("activeOrganizationId"):
        return None
    membership = db.lookup_unique(
        "memberships",
        "member",
        {"organizationId": session["activeOrganizationId"], "userId": session["userId"]},
    )
    if membership is None:
        return None
    user = db.get(session["userId"], "users")
    return Identity(
        userId=session["userId"],
        organizationId=session["activeOrganizationId"],
        role=membership["role"],
        entityId=membership.get("entityId"),
        sessionId=session["_id"],
        email=user["email"] if user else None,
    )


def _cookie_key() -> bytes:
    from ontology.secrets import get_secret

    return (get_secret("authSecret") or "").encode()


def sign_cookie(token: str) -> str:
    """Better Auth's signed cookie value: ``<token>.<base64 HMAC-SHA256(secret, token)>``, URL-encoded."""
    import base64
    import hmac
    from urllib.parse import quote

    signature = base64.b64encode(hmac.new(_cookie_key(), token.encode(), hashlib.sha256).digest()).decode()
    return quote(f"{token}.{signature}", safe="")


def unsign_cookie(value: str | None) -> str | None:
    """The token of a signed value, or None when the signature is not ours."""
    import base64
    import hmac
    from urllib.parse import unquote

    if not value:
        return None
    token, sep, signature = unquote(value).rpartition(".")
    if not sep or len(signature) != 44 or not signature.endswith("="):
        return None
    expected = base64.b64encode(hmac.new(_cookie_key(), token.encode(), hashlib.sha256).digest()).decode()
    return token if hmac.compare_digest(signature, expected) else None


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The session token of a request: ``Authorization: Bearer <token>`` (raw, or signed as the
    ``set-auth-token`` header gives it), else Better Auth's signed session cookie."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        value = auth[7:].strip()
        from urllib.parse import unquote

        return unsign_cookie(value) if "." in unquote(value) else (value or None)
    for part in lowered.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name in ("better-auth.session_token", "__Secure-better-auth.session_token"):
            return unsign_cookie(value)
    return None


def authorize(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The API Gateway (HTTP API, simple responses) Lambda authorizer.

    A request with a live session is authorized with its identity as context. Any other request is
    authorized *anonymously*: the function decides (public functions run, the others answer 401
    UNAUTHENTICATED in the platform's error envelope, which API Gateway's own 403 would not be).
    """
    token = bearer_token(event.get("headers"))
    identity = resolve_session(token) if token else None
    if identity is None:
        return {"isAuthorized": True, "context": {"anonymous": "true"}}
    return {"isAuthorized": True, "context": identity.to_context()}


__all__ += ["authorize", "bearer_token", "sign_cookie", "unsign_cookie"]
