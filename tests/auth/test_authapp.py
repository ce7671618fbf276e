"""Better Auth's endpoints as its client sees them: shapes, cookies, codes, origins, enumeration."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from tests.auth.conftest import link_token

PASSWORD = "correct horse battery staple"
ORIGIN = "http://testserver"


@pytest.fixture
def client(outbox: Any) -> TestClient:
    from ontology.auth.app import app
    from ontology.settings import configure

    configure(public_base_url=ORIGIN)
    return TestClient(app, base_url=ORIGIN)


def signed_up_and_verified(client: TestClient, deliver: Any, email: str = "ada@example.com") -> None:
    r = client.post("/api/auth/sign-up/email", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert r.status_code == 200, r.text
    mail = next(m for m in deliver() if m["to"] == email)
    assert client.get("/api/auth/verify-email", params={"token": link_token(mail)}).json()["status"] is True


def test_sign_up_shape_and_verification_required(client: TestClient, deliver: Any) -> None:
    r = client.post(
        "/api/auth/sign-up/email", json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}
    )
    body = r.json()
    assert r.status_code == 200 and body["token"] is None and "set-cookie" not in r.headers
    user = body["user"]
    assert set(user) >= {"id", "email", "name", "image", "emailVerified", "createdAt", "updatedAt"}
    assert user["emailVerified"] is False and user["createdAt"].endswith("Z")
    r = client.post("/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    mail = deliver()[0]
    assert "/api/auth/verify-email?token=" in mail["text"]
    r = client.get(
        "/api/auth/verify-email",
        params={"token": link_token(mail), "callbackURL": "/welcome"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (302, "/welcome")
    again = client.get("/api/auth/verify-email", params={"token": link_token(mail)})
    assert (again.status_code, again.json()["code"]) == (401, "INVALID_TOKEN")


def test_sign_in_cookie_session_and_sign_out(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    r = client.post("/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD})
    body = r.json()
    assert r.status_code == 200 and body["redirect"] is False and body["user"]["emailVerified"] is True
    token = body["token"]
    cookie = r.cookies.get("better-auth.session_token")
    assert (
        cookie
        and cookie.startswith(token)
        and len(cookie.split("%2E")[-1] if "%2E" in cookie else cookie.split(".")[-1]) >= 44
    )
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=lax" in r.headers["set-cookie"]
    assert r.headers["set-auth-token"].startswith(token + ".")
    session = client.get("/api/auth/get-session").json()
    assert session["user"]["email"] == "ada@example.com" and session["session"]["token"] == token
    assert session["session"]["expiresAt"].endswith("Z")
    bearer = TestClient(client.app, base_url=ORIGIN)
    assert bearer.get("/api/auth/get-session", headers={"Authorization": f"Bearer {token}"}).json()["user"][
        "id"
    ]
    signed = r.headers["set-auth-token"]
    assert (
        bearer.get("/api/auth/get-session", headers={"Authorization": f"Bearer {signed}"}).json() is not None
    )
    forged = signed[:-5] + "AAAA="
    assert bearer.get("/api/auth/get-session", headers={"Authorization": f"Bearer {forged}"}).json() is None
    out = client.post("/api/auth/sign-out", headers={"Origin": ORIGIN})
    assert out.json() == {"success": True} and 'better-auth.session_token=""' in out.headers["set-cookie"]
    assert bearer.get("/api/auth/get-session", headers={"Authorization": f"Bearer {token}"}).json() is None


def test_wrong_password_and_unknown_email_answer_alike(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    a = client.post(
        "/api/auth/sign-in/email", json={"email": "ada@example.com", "password": "not the password"}
    )
    b = client.post(
        "/api/auth/sign-in/email", json={"email": "nobody@example.com", "password": "not the password"}
    )
    assert (
        (a.status_code, a.json())
        == (b.status_code, b.json())
        == (401, {"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"})
    )


def test_sign_in_does_the_same_work_whether_the_email_exists(client: TestClient, deliver: Any) -> None:
    """A wrong password costs one argon2id verification with the same parameters whether the email
    exists or not (an unknown one is checked against a dummy hash), so timing tells nothing. Counted,
    not timed: the machine's noise says nothing about the server's."""
    from ontology.auth import accounts

    signed_up_and_verified(client, deliver)
    hasher = accounts._argon2()
    checked: list[str] = []

    class Counting:
        def hash(self, password: str) -> str:
            return str(hasher.hash(password))

        def verify(self, hashed: str, password: str) -> bool:
            checked.append(hashed.split("$")[3])  # the parameters: m=…,t=…,p=…
            return bool(hasher.verify(hashed, password))

    accounts._hasher = Counting()
    try:
        for email in ("ada@example.com", "nobody@example.com"):
            before = len(checked)
            r = client.post("/api/auth/sign-in/email", json={"email": email, "password": "not the password"})
            assert r.status_code == 401 and len(checked) - before == 1, email
    finally:
        accounts._hasher = hasher
    assert checked[0] == checked[1]


def test_password_reset_flow(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    session = client.post(
        "/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD}
    ).json()
    for email in ("ada@example.com", "ghost@example.com"):
        r = client.post(
            "/api/auth/request-password-reset",
            json={"email": email, "redirectTo": "/reset"},
            headers={"Origin": ORIGIN},
        )
        assert r.json() == {
            "status": True,
            "message": "If this email exists in our system, check your email for the reset link",
        }
    mail = next(m for m in deliver() if m["subject"] == "Reset your password")
    token = link_token(mail)
    landing = client.get(
        f"/api/auth/reset-password/{token}", params={"callbackURL": "/reset"}, follow_redirects=False
    )
    assert landing.headers["location"] == f"/reset?token={token}"
    client.cookies.clear()
    bad = client.post("/api/auth/reset-password", json={"newPassword": "short", "token": token})
    assert (bad.status_code, bad.json()["code"]) == (400, "PASSWORD_TOO_SHORT")
    assert client.post(
        "/api/auth/reset-password", json={"newPassword": "a new long passphrase", "token": token}
    ).json() == {"status": True}
    reuse = client.post(
        "/api/auth/reset-password", json={"newPassword": "another passphrase!", "token": token}
    )
    assert (reuse.status_code, reuse.json()["code"]) == (400, "INVALID_TOKEN")
    fresh = TestClient(client.app, base_url=ORIGIN)
    assert (
        fresh.get("/api/auth/get-session", headers={"Authorization": f"Bearer {session['token']}"}).json()
        is None
    )
    ok = fresh.post(
        "/api/auth/sign-in/email", json={"email": "ada@example.com", "password": "a new long passphrase"}
    )
    assert ok.status_code == 200


def test_origins_and_callback_urls_are_checked(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    client.post("/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD})
    r = client.post("/api/auth/sign-out", headers={"Origin": "https://evil.example"})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN")
    r = client.post("/api/auth/sign-out")
    assert (r.status_code, r.json()["code"]) == (403, "MISSING_OR_NULL_ORIGIN")
    fresh = TestClient(client.app, base_url=ORIGIN)
    r = fresh.post(
        "/api/auth/request-password-reset",
        json={"email": "ada@example.com", "redirectTo": "https://evil.example/x"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_REDIRECT_URL")


#: Callback and redirect URLs a browser reads as another host (``/\\x`` and ``/<tab>/x`` are ``//x``
#: to it), or as script, or that only look relative: each refused, as Better Auth refuses them.
UNTRUSTED_CALLBACKS = [
    "/\\evil.example",
    "//evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x00/evil.example",
    "/%2F%2Fevil.example",
    "/%5cevil.example",
    " /evil",
    "javascript:alert(1)",
    "JavaScript:alert(1)//",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.example/",
    "https://testserver.evil.example/",
    "http://testserver@evil.example/",
    "http://testserver\\@evil.example/",
    "http://test\tserver/",
    "https://testserver/",
    "evil.example",
]


def test_sign_in_refuses_a_callback_a_browser_reads_as_another_host(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    r = client.post(
        "/api/auth/sign-in/email",
        json={"email": "ada@example.com", "password": PASSWORD, "callbackURL": "/\\evil.example"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers


@pytest.mark.parametrize("url", UNTRUSTED_CALLBACKS)
def test_every_callback_and_redirect_url_is_checked_alike(client: TestClient, url: str) -> None:
    sign_in = client.post(
        "/api/auth/sign-in/email", json={"email": "a@example.com", "password": PASSWORD, "callbackURL": url}
    )
    assert (sign_in.status_code, sign_in.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    reset = client.post(
        "/api/auth/request-password-reset", json={"email": "a@example.com", "redirectTo": url}
    )
    assert (reset.status_code, reset.json()["code"]) == (403, "INVALID_REDIRECT_URL")
    verify = client.get(
        "/api/auth/verify-email", params={"token": "x" * 43, "callbackURL": url}, follow_redirects=False
    )
    assert (verify.status_code, verify.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    landing = client.get(
        f"/api/auth/reset-password/{'x' * 43}", params={"callbackURL": url}, follow_redirects=False
    )
    assert (landing.status_code, landing.json()["code"]) == (403, "INVALID_CALLBACK_URL")
    social = client.post("/api/auth/sign-in/social", json={"provider": "github", "errorCallbackURL": url})
    assert (social.status_code, social.json()["code"]) == (403, "INVALID_ERROR_CALLBACK_URL")


@pytest.mark.parametrize(
    "url", ["/", "/home", "/dashboard/settings?tab=billing&x=%20y", "/@ada", "http://testserver/welcome"]
)
def test_relative_paths_and_the_public_origin_are_trusted(client: TestClient, url: str) -> None:
    r = client.post(
        "/api/auth/sign-in/email", json={"email": "a@example.com", "password": PASSWORD, "callbackURL": url}
    )
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_EMAIL_OR_PASSWORD")


def test_a_cookie_post_must_come_from_the_public_origin_itself(client: TestClient, deliver: Any) -> None:
    signed_up_and_verified(client, deliver)
    client.post("/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD})
    for origin in ("/", "null", "http://testserver\\@evil.example", "javascript:alert(1)"):
        r = client.post("/api/auth/sign-out", headers={"Origin": origin})
        assert r.status_code == 403 and r.json()["code"] in {"INVALID_ORIGIN", "MISSING_OR_NULL_ORIGIN"}, (
            origin
        )
    referred = client.post("/api/auth/sign-out", headers={"Referer": "http://testserver/account?x=1"})
    assert referred.json() == {"success": True}


def test_links_never_take_their_host_from_the_request(outbox: Any, deliver: Any, monkeypatch: Any) -> None:
    """Host header poisoning: a reset link, a verification link and the OAuth redirect URI name the
    platform's configured public URL whatever the request's Host and X-Forwarded-* say (here none is
    set: the local stack's own address)."""
    from ontology.auth.app import app
    from ontology.settings import configure

    configure(public_base_url="")
    monkeypatch.setenv("ONE_GITHUB_CLIENT_ID", "client")
    public = "http://127.0.0.1:3210/api/auth/"
    forged = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "Forwarded": "host=evil.example",
    }
    evil = TestClient(app, base_url="http://evil.example", headers=forged)
    evil.post("/api/auth/sign-up/email", json={"email": "ada@example.com", "password": PASSWORD, "name": "A"})
    evil.post("/api/auth/request-password-reset", json={"email": "ada@example.com"})
    social = evil.post("/api/auth/sign-in/social", json={"provider": "github"}).json()["url"]
    mails = deliver()
    assert {m["subject"] for m in mails} == {"Verify your email address", "Reset your password"}
    for mail in mails:
        (link,) = [w for w in mail["text"].split() if "/api/auth/" in w]
        assert link.startswith(public), link
    assert parse_qs(urlparse(social).query)["redirect_uri"] == [public + "callback/github"]


def test_deeply_nested_json_is_a_400_not_a_crash(client: TestClient) -> None:
    for body in ("[" * 100_000, '{"email": ' + "[" * 50_000 + "]" * 50_000 + "}"):
        r = client.post("/api/auth/sign-in/email", content=body, headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")


def test_bad_input_is_a_typed_4xx(client: TestClient) -> None:
    from ontology.settings import configure

    # four sign-ups in a row from one client: Better Auth's 3 per 10 s would refuse the fourth
    configure(rate_limit='{"customRules": {"/sign-up/email": {"window": 10, "max": 10}}}')
    assert (
        client.post(
            "/api/auth/sign-up/email", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    r = client.post(
        "/api/auth/sign-up/email", json={"email": "not-an-email", "password": PASSWORD, "name": "A"}
    )
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_EMAIL")
    r = client.post("/api/auth/sign-up/email", json={"email": "a@b.co", "password": "password1", "name": "A"})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_TOO_COMMON")
    r = client.post("/api/auth/sign-up/email", json={"email": "a@b.co", "password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
    assert (
        client.post("/api/auth/sign-in/social", json={"provider": "myspace"}).json()["code"]
        == "PROVIDER_NOT_FOUND"
    )
    assert client.get("/api/auth/nothing").status_code == 404


def test_the_lambda_handler_serves_the_same_app(outbox: Any) -> None:
    from functions.auth_api import handler

    event = {
        "version": "2.0",
        "routeKey": "ANY /api/auth/{proxy+}",
        "rawPath": "/api/auth/get-session",
        "rawQueryString": "",
        "headers": {"host": "api.example.com"},
        "requestContext": {
            "http": {
                "method": "GET",
                "path": "/api/auth/get-session",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1",
                "userAgent": "t",
            },
            "requestId": "r",
            "stage": "$default",
            "routeKey": "ANY /api/auth/{proxy+}",
            "accountId": "1",
            "apiId": "a",
            "domainName": "api.example.com",
            "time": "x",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    out = handler(
        event, type("Ctx", (), {"aws_request_id": "r", "get_remaining_time_in_millis": lambda self: 1000})()
    )
    assert out["statusCode"] == 200 and json.loads(out["body"]) is None
