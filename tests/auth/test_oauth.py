"""Social sign-in against a local fake provider: state, PKCE S256, server-side code exchange, and
linking only through a verified provider email."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.servers import serve

ORIGIN = "http://testserver"


class FakeProvider:
    """Just enough of GitHub's and Google's OAuth endpoints: codes issued by the test, checked with PKCE."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}

    def approve(self, authorize_url: str, profile: dict[str, Any]) -> str:
        q = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        assert q["code_challenge_method"] == "S256" and q["response_type"] == "code"
        code = f"code-{len(self.codes)}"
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
            "profile": profile,
        }
        return code

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if (
                grant is None
                or grant["challenge"] != challenge
                or grant["redirect_uri"] != form.get("redirect_uri")
            ):
                return JSONResponse({"error": "bad_verification_code"})
            access = f"gho_{len(self.tokens)}"
            self.tokens[access] = grant["profile"]
            return JSONResponse({"access_token": access, "token_type": "bearer"})

        def who(request: Request) -> dict[str, Any]:
            return self.tokens[request.headers["authorization"].removeprefix("Bearer ")]

        async def user(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse(
                {"id": p["id"], "login": p["login"], "name": p.get("name"), "avatar_url": None}
            )

        async def emails(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse([{"email": p["email"], "primary": True, "verified": p["verified"]}])

        async def google_userinfo(request: Request) -> JSONResponse:
            p = who(request)
            return JSONResponse(
                {
                    "sub": str(p["id"]),
                    "email": p["email"],
                    "email_verified": p["verified"],
                    "name": p.get("name"),
                    "picture": None,
                }
            )

        return Starlette(
            routes=[
                Route("/login/oauth/access_token", token, methods=["POST"]),
                Route("/user", user),
                Route("/user/emails", emails),
                Route("/google/token", token, methods=["POST"]),
                Route("/google/userinfo", google_userinfo),
            ]
        )


@pytest.fixture
def provider(outbox: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with serve(fake.app()) as base:
        for name, path in (
            ("AUTHORIZE", "/login/oauth/authorize"),
            ("TOKEN", "/login/oauth/access_token"),
            ("USERINFO", "/user"),
            ("EMAILS", "/user/emails"),
        ):
            monkeypatch.setenv(f"ONE_GITHUB_{name}_URL", base + path)
        monkeypatch.setenv("ONE_GITHUB_CLIENT_ID", "local-client")
        monkeypatch.setenv("ONE_GOOGLE_AUTHORIZE_URL", base + "/google/authorize")
        monkeypatch.setenv("ONE_GOOGLE_TOKEN_URL", base + "/google/token")
        monkeypatch.setenv("ONE_GOOGLE_USERINFO_URL", base + "/google/userinfo")
        monkeypatch.setenv("ONE_GOOGLE_CLIENT_ID", "local-google-client")
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


def test_verified_provider_email_links_an_existing_account(
    client: TestClient, provider: FakeProvider
) -> None:
    from ontology import run_query
    from ontology.auth import accounts as auth

    user = auth.sign_up(
        email="grace@example.com", password="correct horse battery staple", name="Grace", base_url=ORIGIN
    )
    url = _start(client)
    code = provider.approve(url, {"id": 10, "login": "grace", "email": "grace@example.com", "verified": True})
    assert _callback(client, code, url).headers["location"] == "/home"
    me = client.get("/api/auth/get-session").json()["user"]
    assert me["id"] == user["id"] and me["emailVerified"] is True
    accounts = run_query(
        lambda db: db.query("accounts").with_index("by_user", lambda q: q.eq("userId", user["id"])).collect(),
        org=None,
        platform=True,
    )
    assert {a["providerId"] for a in accounts} == {"credential", "github"}


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
