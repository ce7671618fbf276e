"""Social sign-in against a local fake provider: state, PKCE S256, server-side code exchange,
linking only through a verified provider email, and never keeping a password nobody proved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from tests.auth.conftest import link_token
from tests.auth.fake_oauth import FakeProvider, provider_env
from tests.servers import serve

ORIGIN = "http://testserver"


@pytest.fixture
def provider(outbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with serve(fake.app()) as base:
        for name, value in provider_env(base).items():
            monkeypatch.setenv(name, value)
        yield fake


@pytest.fixture
def client(outbox: Any) -> TestClient:
    from ontology.auth.app import app
    from ontology.settings import configure

    configure(public_base_url=ORIGIN)
    return TestClient(app, base_url=ORIGIN)


def _start(client: TestClient, **extra: Any) -> str:
    r = client.post("/api/auth/sign-in/social", json={"provider": "github", "callbackURL": "/home", **extra})
    assert r.status_code == 200 and r.json()["redirect"] is True
    assert "better-auth.state" in r.headers["set-cookie"]
    return str(r.json()["url"])


def _callback(client: TestClient, code: str, url: str) -> Any:
    state = parse_qs(urlparse(url).query)["state"][0]
    return client.get(
        "/api/auth/callback/github", params={"code": code, "state": state}, follow_redirects=False
    )


def test_sign_in_with_github_creates_a_verified_user(client: TestClient, provider: FakeProvider) -> None:
    url = _start(client)
    assert parse_qs(urlparse(url).query)["redirect_uri"] == [f"{ORIGIN}/api/auth/callback/github"]
    code = provider.approve(
        url, {"id": 7, "login": "ada", "name": "Ada", "email": "ada@example.com", "verified": True}
    )
    r = _callback(client, code, url)
    assert (r.status_code, r.headers["location"]) == (302, "/home")
    session = client.get("/api/auth/get-session").json()
    assert session["user"]["email"] == "ada@example.com" and session["user"]["emailVerified"] is True
    replay = _callback(client, code, url)
    assert "error=state_not_found" in replay.headers["location"], "state is single use"


def test_state_must_match_the_browsers_cookie(client: TestClient, provider: FakeProvider) -> None:
    url = _start(client)
    code = provider.approve(url, {"id": 8, "login": "x", "email": "x@example.com", "verified": True})
    client.cookies.clear()
    r = _callback(client, code, url)
    assert "error=state_mismatch" in r.headers["location"]


def test_unverified_provider_email_neither_links_nor_creates(
    client: TestClient, provider: FakeProvider
) -> None:
    from ontology import run_query

    url = _start(client)
    code = provider.approve(url, {"id": 9, "login": "eve", "email": "eve@example.com", "verified": False})
    r = _callback(client, code, url)
    assert "error=email_not_verified" in r.headers["location"]
    users = run_query(
        lambda db: db.lookup_unique("users", "email", {"email": "eve@example.com"}), org=None, platform=True
    )
    assert users is None


def _accounts_of(user_id: str) -> set[str]:
    from ontology import run_query

    accounts = run_query(
        lambda db: db.query("accounts").with_index("by_user", lambda q: q.eq("userId", user_id)).collect(),
        org=None,
        platform=True,
    )
    return {a["providerId"] for a in accounts}


def test_verified_provider_email_links_a_verified_account(
    client: TestClient, provider: FakeProvider, deliver: Any
) -> None:
    from ontology.auth import accounts as auth

    user = auth.sign_up(
        email="grace@example.com", password="correct horse battery staple", name="Grace", base_url=ORIGIN
    )
    auth.verify_email(link_token(next(m for m in deliver() if m["to"] == "grace@example.com")))
    url = _start(client)
    code = provider.approve(url, {"id": 10, "login": "grace", "email": "grace@example.com", "verified": True})
    assert _callback(client, code, url).headers["location"] == "/home"
    me = client.get("/api/auth/get-session").json()["user"]
    assert me["id"] == user["id"] and me["emailVerified"] is True
    assert _accounts_of(user["id"]) == {"credential", "github"}, "a proven password stays"
    signed = client.post(
        "/api/auth/sign-in/email",
        json={"email": "grace@example.com", "password": "correct horse battery staple"},
        headers={"Origin": ORIGIN},
    )
    assert signed.status_code == 200


ATTACKER = {"email": "owner@example.com", "password": "the attacker's own passphrase"}


def test_an_unverified_sign_up_keeps_no_password_once_the_owner_signs_in_with_github(
    client: TestClient, provider: FakeProvider, deliver: Any
) -> None:
    """Someone signs up with the owner's email and a password of their own (they cannot sign in:
    EMAIL_NOT_VERIFIED) and waits for the owner's first social sign-in, whose verified email used to
    link to that user and mark it verified, opening the owner's account to the attacker's password."""
    from ontology import run_query
    from ontology.auth.app import app

    attacker = TestClient(app, base_url=ORIGIN)
    up = attacker.post("/api/auth/sign-up/email", json={**ATTACKER, "name": "Prizes at evil.example"})
    assert up.status_code == 200
    early = attacker.post("/api/auth/sign-in/email", json=ATTACKER)
    assert (early.status_code, early.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    sign_up_mail = next(m for m in deliver() if m["subject"] == "Verify your email address")

    url = _start(client, newUserCallbackURL="/welcome")
    profile = {"id": 12, "login": "owner", "name": "Owner", "email": "owner@example.com", "verified": True}
    done = _callback(client, provider.approve(url, profile), url)
    late = attacker.post("/api/auth/sign-in/email", json=ATTACKER)
    assert (late.status_code, late.json().get("code")) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert done.headers["location"] == "/welcome", "the owner's first sign-in"
    me = client.get("/api/auth/get-session").json()["user"]
    user_id = up.json()["user"]["id"]
    assert (me["id"], me["emailVerified"], me["name"]) == (user_id, True, "Owner")
    assert _accounts_of(user_id) == {"github"}
    # What else the sign-up left: its verification link is dead, its organization no longer wears
    # the name the attacker chose, and the owner is told why a password they may have set is gone.
    dead = attacker.get("/api/auth/verify-email", params={"token": link_token(sign_up_mail)})
    assert (dead.status_code, dead.json()["code"]) == (401, "INVALID_TOKEN")

    def orgs(db: Any) -> list[str]:
        memberships = (
            db.query("memberships").with_index("by_user", lambda q: q.eq("userId", user_id)).collect()
        )
        return [db.get(m["organizationId"], "organizations")["name"] for m in memberships]

    assert run_query(orgs, org=None, platform=True) == ["Owner's organization"]
    notice = [m for m in deliver() if m["to"] == "owner@example.com" and "GitHub" in m["subject"]]
    assert notice and "password" in notice[0]["text"]


def test_a_wrong_code_verifier_fails_the_exchange(client: TestClient, provider: FakeProvider) -> None:
    url = _start(client)
    code = provider.approve(url, {"id": 11, "login": "z", "email": "z@example.com", "verified": True})
    provider.codes[code]["challenge"] = "not-the-challenge"
    assert "error=invalid_code" in _callback(client, code, url).headers["location"]


def test_sign_in_with_google(client: TestClient, provider: FakeProvider) -> None:
    r = client.post(
        "/api/auth/sign-in/social",
        json={"provider": "google", "callbackURL": "/home", "newUserCallbackURL": "/welcome"},
    )
    url = r.json()["url"]
    assert "openid" in parse_qs(urlparse(url).query)["scope"][0]
    code = provider.approve(
        url, {"id": 42, "login": "-", "name": "Lin", "email": "lin@example.com", "verified": True}
    )
    state = parse_qs(urlparse(url).query)["state"][0]
    done = client.get(
        "/api/auth/callback/google", params={"code": code, "state": state}, follow_redirects=False
    )
    assert done.headers["location"] == "/welcome", "a new user goes to newUserCallbackURL"
    assert client.get("/api/auth/get-session").json()["user"]["email"] == "lin@example.com"
