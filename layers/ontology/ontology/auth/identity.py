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
    """Who calls: a member of an organization with a role (from the session, or ``_auth``)."""

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

    session_id = session_id_of(token)
    if session_id is None:
        return None
    return _identity_of(DatabaseReader(None, platform=True), _session(session_id), now_ms)


def session_identity(session_id: str, *, now_ms: float | None = None) -> Identity | None:
    """The identity a session (by id) stands for now, or None when it ended: one consistent read of
    the session, which keeps its active organization, role and entity (see ``SessionDoc``). Every
    call made with a session reads it afresh, so a sign-out, a reset, a removal or a switch of
    organization applies to the very next call."""
    from ontology.data.db import DatabaseReader

    return _identity_of(DatabaseReader(None, platform=True), _session(session_id), now_ms)


def _session(session_id: str) -> Mapping[str, Any] | None:
    from ontology.data.db import DatabaseReader
    from ontology.errors import ValidationError

    try:
        return DatabaseReader(None, platform=True).get(session_id, "sessions")
    except ValidationError:  # not a session id at all; a failed read is raised (and retried)
        return None


#: Token hash → session id. A session keeps its token for life (switching organizations included),
#: so the mapping never changes; what a session stands for is read afresh on every call.
_session_ids: dict[str, str] = {}
_SESSION_IDS_MAX = 10_000


def session_id_of(token: str | None) -> str | None:
    """The id of the session a token opens (a consistent read of the token's unique guard), or None."""
    from ontology.data.db import DatabaseReader

    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    key = hash_token(token)
    found = _session_ids.get(key)
    if found is not None:
        return found
    session = DatabaseReader(None, platform=True).lookup_unique("sessions", "token", {"tokenHash": key})
    if session is None:
        return None
    if len(_session_ids) >= _SESSION_IDS_MAX:
        _session_ids.clear()
    _session_ids[key] = str(session["_id"])
    return str(session["_id"])


def _identity_of(db: Any, session: Mapping[str, Any] | None, now_ms: float | None) -> Identity | None:
    now = time.time() * 1000 if now_ms is None else now_ms
    if session is None or session["expiresAt"] <= now or not session.get("activeOrganizationId"):
        return None
    org_id = session["activeOrganizationId"]
    if session.get("role"):
        role, entity_id, email = session["role"], session.get("entityId"), session.get("email")
    else:  # a session written before it kept its membership: read the membership and the user
        membership = db.lookup_unique(
            "memberships", "member", {"organizationId": org_id, "userId": session["userId"]}
        )
        if membership is None:
            return None
        user = db.get(session["userId"], "users")
        role, entity_id = membership["role"], membership.get("entityId")
        email = user["email"] if user else None
    return Identity(
        userId=session["userId"],
        organizationId=org_id,
        role=role,
        entityId=entity_id,
        sessionId=session["_id"],
        email=email,
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
    """The session token of ``Authorization: Bearer <token>`` (raw, or signed as the
    ``set-auth-token`` header gives it); None without one. The cookie is never read here: see
    :func:`cookie_token`."""
    if not headers:
        return None
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "") or ""
    if auth[:7].lower() != "bearer ":
        return None
    from urllib.parse import unquote

    value = auth[7:].strip()
    return unsign_cookie(value) if "." in unquote(value) else (value or None)


SESSION_COOKIES = ("better-auth.session_token", "__Secure-better-auth.session_token")


def cookie_token(cookies: Any) -> str | None:
    """The session token of Better Auth's signed session cookie, from API Gateway's ``cookies`` (payload
    2.0: a list of ``name=value``) or a ``Cookie`` header's value; None when absent or not signed by us."""
    parts = cookies if isinstance(cookies, list | tuple) else str(cookies or "").split(";")
    for part in parts:
        name, _, value = str(part).strip().partition("=")
        if name in SESSION_COOKIES:
            return unsign_cookie(value)
    return None


def authorize(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The API Gateway (HTTP API, simple responses) Lambda authorizer.

    API Gateway caches its answer for the identity source, the ``Authorization`` header, so it reads
    nothing else (never the cookie: a cached answer would then serve whoever sends the same header),
    and it answers only what a token means for life: the session it opens. What the session stands
    for (organization, role) is read by the function on every call, so a revocation or a switch of
    organization is never hidden by the cache. Any other request is authorized *anonymously*: the
    function decides (public functions run, the others answer 401 UNAUTHENTICATED in the platform's
    error envelope, which API Gateway's own 403 would not be).
    """
    token = bearer_token(event.get("headers") or {})
    identity = resolve_session(token) if token else None
    if identity is None or identity.sessionId is None:
        return {"isAuthorized": True, "context": {"anonymous": "true"}}
    return {"isAuthorized": True, "context": {"sessionId": identity.sessionId, "userId": identity.userId}}


__all__ += ["authorize", "bearer_token", "cookie_token", "session_id_of", "sign_cookie", "unsign_cookie"]
