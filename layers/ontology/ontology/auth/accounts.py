"""Authentication: passwords, sessions, verification and reset tokens, rate limits.

- Passwords: argon2id (19 MiB, t=2, p=1), 8 to 128 characters counted as code points and never
  truncated, common passwords refused. Unknown emails are checked against a dummy hash, so a wrong
  password costs the same whether or not the account exists.
- Sessions: 256-bit random tokens, stored only as SHA-256; seven days, refreshed (rolling) once a day
  of use; revoked by sign-out and by a password reset.
- Verification and reset tokens: 256-bit, stored only as SHA-256, valid one hour, single use (the
  token's document is deleted in the transaction that uses it, so of racing redemptions one wins).
- No account enumeration: sign-up, sign-in and reset requests answer alike whether or not the
  email has an account (sign-up of a taken email emails its owner instead).
- Rate limits: failed sign-ins slow down the client address that makes them, for that account (5
  free, then a wait of a minute that doubles with each failure, at most an hour; a success from the
  address clears it), so a stranger's guesses never lock the owner out (ontology.auth.ratelimit; the
  endpoints' limits per address are Better Auth's, in ontology.auth.app). Emails: 5 per address per
  hour (fixed windows, counted in the transaction that schedules them).
- Emails are sent by the internal action ``auth:send_email``, scheduled from the mutation that
  decides to send them (the reference's best practice 2).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ontology.auth.identity import hash_token, new_token
from ontology.auth.people import active_membership, membership
from ontology.auth.ratelimit import NO_TRUSTED_IP, Backoff, backoff_check, backoff_clear, backoff_failed
from ontology.data import outbox
from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.data.fields import normalize_email
from ontology.data.keys import new_id, now_ms
from ontology.data.transaction import run_mutation
from ontology.errors import (
    EmailNotVerifiedError,
    RateLimitedError,
    UnauthenticatedError,
    ValidationError,
)

__all__ = [
    "EMAILS_PER_HOUR",
    "SESSION_TTL_MS",
    "SIGN_IN_BACKOFF",
    "SessionInfo",
    "check_password_policy",
    "claim_unverified",
    "compose_email",
    "get_session",
    "hash_password",
    "one_line",
    "request_password_reset",
    "reset_password",
    "send_email",
    "send_verification_email",
    "sign_in",
    "sign_out",
    "sign_up",
    "verify_email",
    "verify_password",
]

SESSION_TTL_MS = 7 * 24 * 3600 * 1000
SESSION_UPDATE_AGE_MS = 24 * 3600 * 1000
TOKEN_TTL_MS = 3600 * 1000
#: Failed sign-ins per (client address, account): 5 free, then 1 min, 2, 4, … at most an hour.
SIGN_IN_BACKOFF = Backoff(free=5, base=60, cap=3600, memory=24 * 3600)
EMAILS_PER_HOUR = 5
HOUR_MS = 3600 * 1000
MIN_PASSWORD, MAX_PASSWORD = 8, 128

_COMMON = Path(__file__).with_name("common_passwords.txt")
_common: frozenset[str] | None = None
_hasher: Any = None
_dummy_hash: str | None = None


def _argon2() -> Any:
    global _hasher  # noqa: PLW0603
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
    return _hasher


def check_password_policy(password: Any, field: str = "password") -> str:
    """8 to 128 characters (never truncated), not a common password. VALIDATION_ERROR with ``reason``."""
    global _common  # noqa: PLW0603
    if not isinstance(password, str):
        raise ValidationError("The password must be a string", field=field, reason="INVALID_PASSWORD")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            f"The password needs at least {MIN_PASSWORD} characters", field=field, reason="PASSWORD_TOO_SHORT"
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationError(
            f"The password may have at most {MAX_PASSWORD} characters",
            field=field,
            reason="PASSWORD_TOO_LONG",
        )
    if _common is None:
        lines = _COMMON.read_text(encoding="utf-8").splitlines()
        _common = frozenset(s.strip() for s in lines if s.strip() and not s.startswith("#"))
    if password.casefold() in _common or len(set(password)) <= 2:
        raise ValidationError(
            "This password is too common; choose another", field=field, reason="PASSWORD_TOO_COMMON"
        )
    return password


def hash_password(password: str) -> str:
    return str(_argon2().hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash to check (a dummy one stands in)."""
    global _dummy_hash  # noqa: PLW0603
    from argon2.exceptions import InvalidHashError, VerificationError

    if _dummy_hash is None:
        _dummy_hash = hash_password(os.urandom(16).hex())
    try:
        return bool(_argon2().verify(password_hash or _dummy_hash, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# ----------------------------------------------------------------------------------- rate limits


def _window(now: int) -> str:
    return str(now // HOUR_MS)


def rate_count(db: DatabaseReader, key: str, now: int | None = None) -> int:
    doc = db.lookup_unique("rateLimits", "bucket", {"key": key, "window": _window(now or now_ms())})
    return int(doc["count"]) if doc else 0


def rate_hit(db: DatabaseWriter, key: str, now: int | None = None) -> int:
    """Count one more event in this hour's window; returns the new count."""
    now = now or now_ms()
    window = _window(now)
    doc = db.lookup_unique("rateLimits", "bucket", {"key": key, "window": window})
    if doc is None:
        db.insert(
            "rateLimits",
            {"key": key, "window": window, "count": 1, "expiresAt": (now // HOUR_MS + 2) * HOUR_MS},
        )
        return 1
    db.patch(doc["_id"], {"count": doc["count"] + 1}, "rateLimits")
    return int(doc["count"]) + 1


def _digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------- emails


def _send(db: DatabaseWriter, to: str, subject: str, text: str, html: str) -> bool:
    """Schedule an email in this transaction, unless the address had its 5 this hour."""
    if rate_hit(db, f"email:{_digest(to)}") > EMAILS_PER_HOUR:
        return False
    # The job is written into this transaction; it runs functions/auth.py's send_email action.
    args = {"to": to, "subject": one_line(subject)[:200], "text": text, "html": html}
    outbox.enqueue(db.view(platform=True), "auth:send_email", "action", args)
    return True


def send_email(db: DatabaseWriter, to: str, subject: str, text: str, html: str) -> bool:
    """Every email the platform sends goes through here, within this transaction: the same limit per
    address (5 an hour; False past it, and nothing is sent). Build ``text``/``html`` with
    :func:`compose_email`, which escapes what users wrote."""
    return _send(db, to, subject, text, html)


def one_line(text: str, limit: int = 200) -> str:
    """Text a user wrote, fit for a subject or a quoted name: control characters and runs of white space
    become one space, at most ``limit`` characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


def compose_email(*paragraphs: str, link: str | None = None, footer: str | None = None) -> tuple[str, str]:
    """An email's text and HTML from plain paragraphs (which may hold what users wrote: in the HTML every
    paragraph and the link are escaped, so nobody's words become markup or another link)."""
    from html import escape

    parts = [*paragraphs, *([link] if link else []), *([footer] if footer else [])]
    text = "\n\n".join(parts)
    html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    if link:
        html += f'<p><a href="{escape(link, quote=True)}">{escape(link)}</a></p>'
    if footer:
        html += f"<p>{escape(footer)}</p>"
    return text, html


def _link(text: str, url: str) -> tuple[str, str]:
    return compose_email(text, link=url, footer="The link expires in 1 hour.")


def _issue_token(
    db: DatabaseWriter, email: str, kind: str, data: dict[str, Any] | None = None, ttl_ms: int = TOKEN_TTL_MS
) -> str:
    token = new_token()
    doc: dict[str, Any] = {
        "identifier": email,
        "token": hash_token(token),
        "expires": now_ms() + ttl_ms,
        "type": kind,
    }
    if data:
        doc["data"] = data
    db.insert("verificationTokens", doc)
    return token


def _consume_token(db: DatabaseWriter, token: Any, kind: str) -> Doc:
    """The token's document, deleted in this transaction (single use); INVALID_TOKEN otherwise."""
    invalid = ValidationError("Invalid or expired token", field="token", reason="INVALID_TOKEN")
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise invalid
    doc = db.lookup_unique("verificationTokens", "token", {"token": hash_token(token)})
    if doc is None or doc["type"] != kind or doc["expires"] <= now_ms():
        raise invalid
    db.delete(doc["_id"], "verificationTokens")
    return doc


def verification_url(base_url: str, token: str, callback_url: str | None) -> str:
    url = f"{base_url}/api/auth/verify-email?token={quote(token)}"
    return url + (f"&callbackURL={quote(callback_url, safe='')}" if callback_url else "")


# ------------------------------------------------------------------------------------- the flows


@dataclass(frozen=True)
class SessionInfo:
    token: str
    session: Doc
    user: Doc


def public_user(user: Doc) -> dict[str, Any]:
    return {
        "id": user["_id"],
        "email": user["email"],
        "name": user.get("name") or "",
        "image": user.get("image"),
        "emailVerified": bool(user.get("emailVerified")),
        "createdAt": user["createdAt"],
        "updatedAt": user["updatedAt"],
    }


def sign_up(
    *,
    email: str,
    password: Any,
    name: str | None,
    base_url: str,
    callback_url: str | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    """A new unverified user with a personal organization, and a verification email. A taken email
    answers the same (its owner is told by email instead)."""
    from ontology.auth.people import create_user_with_organization, new_organization_id

    check_password_policy(password)
    email = email.strip()
    password_hash = hash_password(password)  # before the transaction, and for taken emails too
    org_id = new_organization_id()
    now = now_ms()
    ghost = {
        "id": new_id("users"),
        "email": email,
        "name": name or "",
        "image": image,
        "emailVerified": False,
        "createdAt": now,
        "updatedAt": now,
    }

    def body(db: DatabaseWriter) -> dict[str, Any]:
        existing = db.lookup_unique("users", "email", {"email": email})
        if existing is not None:
            text, html = _link(
                "Someone tried to create an account with this email. If it was you, sign in or reset "
                "your password.",
                f"{base_url}/",
            )
            _send(db, existing["email"], "You already have an account", text, html)
            return ghost
        made = create_user_with_organization(
            db,
            org_id=org_id,
            email=email,
            name=name,
            email_verified=False,
            organization_name=f"{name or email.split('@')[0]}'s organization",
        )
        db.insert(
            "accounts",
            {
                "userId": made["userId"],
                "providerId": "credential",
                "accountId": made["userId"],
                "passwordHash": password_hash,
                "createdAt": now,
                "updatedAt": now,
            },
        )
        token = _issue_token(db, normalize_email(email), "email_verification")
        text, html = _link(
            "Confirm your email address to finish signing up:",
            verification_url(base_url, token, callback_url),
        )
        _send(db, email, "Verify your email address", text, html)
        user = db.get(made["userId"], "users")
        assert user is not None
        return public_user(user)

    return run_mutation(body, org=org_id, platform=True)


def first_organization(db: DatabaseReader, user_id: str) -> str | None:
    """Where a new session of the user opens: their own organization while they are a member of it
    (consistent reads of the user and the membership's guard), else the first they joined. The
    memberships index alone may not show a membership made a moment ago (right after signing up)."""
    user = db.get(user_id, "users")
    home = user.get("homeOrganizationId") if user else None
    if home and membership(db, home, user_id) is not None:
        return str(home)
    memberships = db.query("memberships").with_index("by_user", lambda q: q.eq("userId", user_id)).take(50)
    return memberships[0]["organizationId"] if memberships else None


def create_session(
    db: DatabaseWriter,
    user_id: str,
    org_id: str | None,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, Doc]:
    now = now_ms()
    token = new_token()
    doc: dict[str, Any] = {
        "userId": user_id,
        "tokenHash": hash_token(token),
        "expiresAt": now + SESSION_TTL_MS,
        "createdAt": now,
        "updatedAt": now,
    }
    doc.update(active_membership(db, org_id, user_id))
    if ip:
        doc["ipAddress"] = ip[:100]
    if user_agent:
        doc["userAgent"] = user_agent[:500]
    session_id = db.insert("sessions", doc)
    session = db.get(session_id, "sessions")
    assert session is not None
    return token, session


def sign_in(
    *, email: str, password: str, ip: str | None = None, user_agent: str | None = None
) -> SessionInfo:
    """A session for the right password of a verified account; the same INVALID_EMAIL_OR_PASSWORD for a
    wrong password and an unknown email (after the same work). ``ip``, the client's address: its
    failures on this account make *it* wait (RATE_LIMITED, before any password is checked); other
    addresses, the owner's among them, are not held back."""
    email = (email or "").strip()
    # per (address, account); unknown and known emails alike, so the answer tells nothing
    key = f"{ip or NO_TRUSTED_IP}|{_digest(normalize_email(email))}"
    failures = backoff_check("signin", key, "Too many failed sign-ins from this address; try again later")
    reader = DatabaseReader(None, platform=True)
    user = reader.lookup_unique("users", "email", {"email": email}) if email else None
    account = (
        reader.lookup_unique(
            "accounts", "provider_account", {"providerId": "credential", "accountId": user["_id"]}
        )
        if user
        else None
    )
    if not verify_password(account.get("passwordHash") if account else None, password or ""):
        backoff_failed("signin", key, failures, SIGN_IN_BACKOFF)
        raise UnauthenticatedError("Invalid email or password", reason="INVALID_EMAIL_OR_PASSWORD")
    assert user is not None
    backoff_clear("signin", key, failures)
    if not user.get("emailVerified"):
        raise EmailNotVerifiedError("Verify your email address first")

    def body(db: DatabaseWriter) -> SessionInfo:
        token, session = create_session(
            db, user["_id"], first_organization(db, user["_id"]), ip=ip, user_agent=user_agent
        )
        return SessionInfo(token, session, user)

    return run_mutation(body, org=None, platform=True)


def get_session(token: str | None) -> SessionInfo | None:
    """The live session of a token, refreshed (rolling) when a day has passed since its last refresh."""
    if not token or not 20 <= len(token) <= 200:
        return None
    reader = DatabaseReader(None, platform=True)
    session = reader.lookup_unique("sessions", "token", {"tokenHash": hash_token(token)})
    now = now_ms()
    if session is None or session["expiresAt"] <= now:
        return None
    user = reader.get(session["userId"], "users")
    if user is None:
        return None
    if session["expiresAt"] - SESSION_TTL_MS + SESSION_UPDATE_AGE_MS <= now:
        session_id = session["_id"]

        def refresh(db: DatabaseWriter) -> Doc:
            return db.patch(session_id, {"expiresAt": now + SESSION_TTL_MS, "updatedAt": now}, "sessions")

        session = run_mutation(refresh, org=None, platform=True)
    return SessionInfo(token, session, user)


def sign_out(token: str | None) -> bool:
    if not token or not 20 <= len(token) <= 200:
        return False

    def body(db: DatabaseWriter) -> bool:
        session = db.lookup_unique("sessions", "token", {"tokenHash": hash_token(token)})
        if session is None:
            return False
        db.delete(session["_id"], "sessions")
        return True

    return run_mutation(body, org=None, platform=True)


def verify_email(token: Any) -> Doc:
    """Consume a verification token and mark the user verified; returns the user."""

    def body(db: DatabaseWriter) -> Doc:
        doc = _consume_token(db, token, "email_verification")
        user = db.lookup_unique("users", "email", {"email": doc["identifier"]})
        if user is None:
            raise ValidationError("Invalid or expired token", field="token", reason="INVALID_TOKEN")
        return db.patch(user["_id"], {"emailVerified": True, "updatedAt": now_ms()}, "users")

    return run_mutation(body, org=None, platform=True)


def send_verification_email(*, email: str, base_url: str, callback_url: str | None = None) -> None:
    """A fresh verification link for an unverified account; silently nothing otherwise."""

    def body(db: DatabaseWriter) -> None:
        user = db.lookup_unique("users", "email", {"email": email.strip()})
        if user is None or user.get("emailVerified"):
            rate_hit(db, f"email:{_digest(email.strip())}")  # the same count whether or not it exists
            return
        token = _issue_token(db, normalize_email(user["email"]), "email_verification")
        text, html = _link("Confirm your email address:", verification_url(base_url, token, callback_url))
        _send(db, user["email"], "Verify your email address", text, html)

    _limited(body, email)


def _limited(body: Any, email: str) -> None:
    if rate_count(DatabaseReader(None, platform=True), f"email:{_digest(email.strip())}") >= EMAILS_PER_HOUR:
        raise RateLimitedError("Too many emails to this address; try again later", retryAfter=HOUR_MS // 1000)
    run_mutation(body, org=None, platform=True)


def request_password_reset(*, email: str, base_url: str, redirect_to: str | None = None) -> None:
    """A reset link by email when the address has an account; the same answer when it has not."""

    def body(db: DatabaseWriter) -> None:
        user = db.lookup_unique("users", "email", {"email": email.strip()})
        if user is None:
            rate_hit(db, f"email:{_digest(email.strip())}")
            return
        token = _issue_token(db, normalize_email(user["email"]), "password_reset")
        url = f"{base_url}/api/auth/reset-password/{quote(token)}"
        if redirect_to:
            url += f"?callbackURL={quote(redirect_to, safe='')}"
        text, html = _link("Someone asked to reset the password of your account. To choose a new one:", url)
        _send(db, user["email"], "Reset your password", text, html)

    _limited(body, email)


#: Sessions deleted per transaction when a password reset revokes them all.
REVOKE_BATCH = 40


def reset_password(*, token: Any, new_password: Any) -> None:
    """Consume a reset token, set the new password, and revoke every session of the account."""
    check_password_policy(new_password, field="newPassword")
    new_hash = hash_password(new_password)

    def body(db: DatabaseWriter) -> str:
        doc = _consume_token(db, token, "password_reset")
        user = db.lookup_unique("users", "email", {"email": doc["identifier"]})
        if user is None:
            raise ValidationError("Invalid or expired token", field="token", reason="INVALID_TOKEN")
        now = now_ms()
        account = db.lookup_unique(
            "accounts", "provider_account", {"providerId": "credential", "accountId": user["_id"]}
        )
        if account is None:
            db.insert(
                "accounts",
                {
                    "userId": user["_id"],
                    "providerId": "credential",
                    "accountId": user["_id"],
                    "passwordHash": new_hash,
                    "createdAt": now,
                    "updatedAt": now,
                },
            )
        else:
            db.patch(account["_id"], {"passwordHash": new_hash, "updatedAt": now}, "accounts")
        db.patch(
            user["_id"], {"emailVerified": True, "updatedAt": now}, "users"
        )  # the link proved the address
        for session in (
            db.query("sessions")
            .with_index("by_user", lambda q: q.eq("userId", user["_id"]))
            .take(REVOKE_BATCH)
        ):
            db.delete(session["_id"], "sessions")
        return str(user["_id"])

    user_id = run_mutation(body, org=None, platform=True)
    revoke_sessions(user_id)


def revoke_sessions(user_id: str) -> int:
    """Delete every session of a user (in batches of transactions); returns how many."""
    total = 0
    while True:

        def body(db: DatabaseWriter) -> int:
            batch = (
                db.query("sessions")
                .with_index("by_user", lambda q: q.eq("userId", user_id))
                .take(REVOKE_BATCH)
            )
            for session in batch:
                db.delete(session["_id"], "sessions")
            return len(batch)

        n = run_mutation(body, org=None, platform=True)
        total += n
        if n < REVOKE_BATCH:
            return total


def reset_token_is_valid(token: Any) -> bool:
    """Whether a reset link is still good (without using it up): the link's landing check."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return False
    doc = DatabaseReader(None, platform=True).lookup_unique(
        "verificationTokens", "token", {"token": hash_token(token)}
    )
    return doc is not None and doc["type"] == "password_reset" and doc["expires"] > now_ms()


# ------------------------------------------------------------------- a verified email claims a user

#: Sessions and verification links deleted when a user is claimed, in its one transaction: an
#: unverified user never had a session, and the email limit keeps its live links (the newest) fewer.
CLAIM_BATCH = 10


def claim_unverified(
    db: DatabaseWriter, user: Doc, *, provider: str, name: str | None, image: str | None
) -> Doc:
    """``user`` signed up with an email it never verified; a provider has now shown that the person
    signing in owns that email. Nothing the sign-up chose is kept, since anyone could have made it:
    its password (the credential account) goes, and so do any session and pending verification link;
    the name, the image and the personal organization's name become the provider's. The owner is told
    by email when a password went. In the caller's transaction; returns the verified user."""
    from ontology.auth.people import slugify

    now = now_ms()
    user_id = user["_id"]
    credential = db.lookup_unique(
        "accounts", "provider_account", {"providerId": "credential", "accountId": user_id}
    )
    if credential is not None:
        db.delete(credential["_id"], "accounts")
    for session in (
        db.query("sessions").with_index("by_user", lambda q: q.eq("userId", user_id)).take(CLAIM_BATCH)
    ):
        db.delete(session["_id"], "sessions")
    identifier = normalize_email(user["email"])
    pending = (
        db.query("verificationTokens")
        .with_index(
            "by_identifier", lambda q: q.eq("identifier", identifier).eq("type", "email_verification")
        )
        .order("desc")
        .take(CLAIM_BATCH)
    )
    for token in pending:
        db.delete(token["_id"], "verificationTokens")
    display = name or user["email"]
    memberships = db.query("memberships").with_index("by_user", lambda q: q.eq("userId", user_id)).take(2)
    if len(memberships) == 1 and memberships[0]["role"] == "org_owner":
        org_id = memberships[0]["organizationId"]
        org = db.get(org_id, "organizations")
        if org is not None and org.get("personal"):
            org_name = f"{display}'s organization"
            db.patch(
                org_id,
                {"name": org_name, "slug": slugify(org_name, org_id[-6:].lower()), "updatedAt": now},
                "organizations",
            )
            if memberships[0].get("entityId"):
                db.view(org=org_id).patch(
                    memberships[0]["entityId"], {"name": display, "updatedAt": now}, "entities"
                )
    if credential is not None:
        text, html = compose_email(
            f"You signed in with {provider}, which confirmed this email address. A password had been set "
            "when this account was created, but the address was never confirmed, so that password no "
            'longer signs in. To use a password, choose one with "Forgot password".'
        )
        send_email(db, user["email"], f"Your account now signs in with {provider}", text, html)
    return db.patch(user_id, {"emailVerified": True, "name": name, "image": image, "updatedAt": now}, "users")
