"""Social sign-in (GitHub, Google): OAuth 2.0 authorization code with ``state`` and PKCE S256.

The ``state`` is single use (its hash is stored with the PKCE verifier and the callback URLs, and
deleted when the provider calls back) and bound to the browser by a signed cookie. The code is
exchanged server-side with the verifier. An account is linked to an existing user only through an
email the provider says is verified; a user whose own sign-up never verified that email keeps nothing
that sign-up chose, its password first of all (``accounts.claim_unverified``).

Endpoints are the providers' own; ``ONE_<PROVIDER>_{AUTHORIZE,TOKEN,USERINFO,EMAILS}_URL`` replace
them (the tests' fake provider); client ids come from ``ONE_<PROVIDER>_CLIENT_ID``, secrets from the
deployment's secret (``githubClientSecret``, ``googleClientSecret``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ontology.auth.identity import hash_token, new_token
from ontology.data.db import DatabaseWriter
from ontology.data.keys import now_ms
from ontology.data.transaction import run_mutation
from ontology.errors import ValidationError

__all__ = ["Outcome", "authorization_url", "complete", "configured"]

STATE_TTL_MS = 10 * 60 * 1000

PROVIDERS: dict[str, dict[str, str]] = {
    "github": {
        "name": "GitHub",
        "authorize": "https://github.com/login/oauth/authorize",
        "token": "https://github.com/login/oauth/access_token",
        "userinfo": "https://api.github.com/user",
        "emails": "https://api.github.com/user/emails",
        "scope": "read:user user:email",
    },
    "google": {
        "name": "Google",
        "authorize": "https://accounts.google.com/o/oauth2/v2/auth",
        "token": "https://oauth2.googleapis.com/token",
        "userinfo": "https://openidconnect.googleapis.com/v1/userinfo",
        "scope": "openid email profile",
    },
}


def _endpoint(provider: str, name: str) -> str:
    return os.environ.get(f"ONE_{provider.upper()}_{name.upper()}_URL") or PROVIDERS[provider].get(name, "")


def _client_id(provider: str) -> str | None:
    return os.environ.get(f"ONE_{provider.upper()}_CLIENT_ID") or None


def configured(provider: str) -> bool:
    return provider in PROVIDERS and _client_id(provider) is not None


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_url(
    provider: str,
    *,
    base_url: str,
    callback_url: str,
    error_callback_url: str | None = None,
    new_user_callback_url: str | None = None,
) -> tuple[str, str]:
    """The provider's authorization URL for a new flow, and its ``state``."""
    state = new_token()
    verifier = secrets.token_urlsafe(96)[:128]
    data = {
        "verifier": verifier,
        "provider": provider,
        "callbackURL": callback_url,
        "errorCallbackURL": error_callback_url or callback_url,
        "newUserCallbackURL": new_user_callback_url or callback_url,
    }

    def body(db: DatabaseWriter) -> None:
        db.insert(
            "verificationTokens",
            {
                "identifier": f"oauth:{provider}",
                "token": hash_token(state),
                "expires": now_ms() + STATE_TTL_MS,
                "type": "oauth_state",
                "data": data,
            },
        )

    run_mutation(body, org=None, platform=True)
    query = urlencode(
        {
            "client_id": _client_id(provider),
            "redirect_uri": f"{base_url}/api/auth/callback/{provider}",
            "response_type": "code",
            "scope": PROVIDERS[provider]["scope"],
            "state": state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{_endpoint(provider, 'authorize')}?{query}", state


@dataclass(frozen=True)
class Outcome:
    redirect: str
    token: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ProviderUser:
    account_id: str
    email: str | None
    email_verified: bool
    name: str | None
    image: str | None


def _fetch_user(provider: str, code: str, verifier: str, base_url: str) -> ProviderUser | str:
    import httpx

    from ontology.secrets import get_secret

    with httpx.Client(
        timeout=10, headers={"Accept": "application/json", "User-Agent": "one-platform"}
    ) as http:
        try:
            tokens = http.post(
                _endpoint(provider, "token"),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "redirect_uri": f"{base_url}/api/auth/callback/{provider}",
                    "client_id": _client_id(provider),
                    "client_secret": get_secret(f"{provider}ClientSecret", required=False) or "",
                },
            ).json()
        except (httpx.HTTPError, ValueError):
            return "invalid_code"
        access = tokens.get("access_token") if isinstance(tokens, dict) else None
        if not access:
            return "invalid_code"
        auth_header = {"Authorization": f"Bearer {access}"}
        try:
            info = http.get(_endpoint(provider, "userinfo"), headers=auth_header).json()
            if provider == "github":
                emails = http.get(_endpoint(provider, "emails"), headers=auth_header).json()
                primary = next((e for e in emails if e.get("primary")), None) or (emails[0] if emails else {})
                return ProviderUser(
                    str(info["id"]),
                    primary.get("email"),
                    bool(primary.get("verified")),
                    info.get("name") or info.get("login"),
                    info.get("avatar_url"),
                )
            return ProviderUser(
                str(info["sub"]),
                info.get("email"),
                bool(info.get("email_verified")),
                info.get("name"),
                info.get("picture"),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return "unable_to_get_user_info"


def complete(
    provider: str,
    *,
    code: str | None,
    state: str | None,
    cookie_state: str | None,
    base_url: str,
    error: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Outcome:
    """Finish a flow the provider called back: a session, or a redirect carrying the error's code."""
    from ontology.auth.accounts import claim_unverified, create_session, first_organization
    from ontology.auth.people import create_user_with_organization, new_organization_id

    fallback = f"{base_url}/api/auth/error"
    if provider not in PROVIDERS or not state:
        return Outcome(fallback, error="state_not_found")

    def consume(db: DatabaseWriter) -> dict[str, Any] | None:
        doc = db.lookup_unique("verificationTokens", "token", {"token": hash_token(state)})
        if doc is None or doc["type"] != "oauth_state" or doc["expires"] <= time.time() * 1000:
            return None
        db.delete(doc["_id"], "verificationTokens")
        return dict(doc.get("data") or {})

    try:
        flow = run_mutation(consume, org=None, platform=True)
    except ValidationError:
        flow = None
    if flow is None or flow.get("provider") != provider:
        return Outcome(fallback, error="state_not_found")
    failure = flow.get("errorCallbackURL") or flow.get("callbackURL") or fallback
    if cookie_state != state:
        return Outcome(failure, error="state_mismatch")
    if error or not code:
        return Outcome(failure, error=error or "no_code")
    fetched = _fetch_user(provider, code, flow["verifier"], base_url)
    if isinstance(fetched, str):
        return Outcome(failure, error=fetched)
    if not fetched.email:
        return Outcome(failure, error="email_not_found")
    email: str = fetched.email
    org_id = new_organization_id()

    def sign_in(db: DatabaseWriter) -> tuple[str, bool] | str:
        now = now_ms()
        account = db.lookup_unique(
            "accounts", "provider_account", {"providerId": provider, "accountId": fetched.account_id}
        )
        user = db.get(account["userId"], "users") if account else None
        is_new = False
        if user is None:
            if not fetched.email_verified:
                return "email_not_verified"  # never link or create on an unverified address
            user = db.lookup_unique("users", "email", {"email": email})
            if user is None:
                made = create_user_with_organization(
                    db,
                    org_id=org_id,
                    email=email,
                    name=fetched.name,
                    email_verified=True,
                    organization_name=f"{fetched.name or email}'s organization",
                )
                user = db.get(made["userId"], "users")
                is_new = True
            elif not user.get("emailVerified"):
                # The provider proved the email; the sign-up that made this user never did, and may
                # have been anyone's: its password must not open the owner's account.
                user = claim_unverified(
                    db,
                    user,
                    provider=PROVIDERS[provider]["name"],
                    name=fetched.name,
                    image=fetched.image,
                )
                is_new = True  # the owner's first sign-in
            assert user is not None
            db.insert(
                "accounts",
                {
                    "userId": user["_id"],
                    "providerId": provider,
                    "accountId": fetched.account_id,
                    "createdAt": now,
                    "updatedAt": now,
                },
            )
        token, _ = create_session(
            db,
            user["_id"],
            first_organization(db, user["_id"]) or org_id,
            ip=ip,
            user_agent=user_agent,
        )
        return token, is_new

    result = run_mutation(sign_in, org=org_id, platform=True)
    if isinstance(result, str):
        return Outcome(failure, error=result)
    token, is_new = result
    return Outcome(flow["newUserCallbackURL"] if is_new else flow["callbackURL"], token=token)
