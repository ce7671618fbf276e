"""Better Auth's endpoints through the local stack standing behind a front like CloudFront: a reverse
proxy on another address that forwards every header but ``Host``, so the stack sees its own host as
API Gateway sees execute-api's. The stack knows its public URL (here BETTER_AUTH_URL names the front;
in AWS the template's parameter holds the distribution's domain): links, the OAuth redirect URI and
the origin trusted for cookie requests are that URL whatever ``Host`` says. And the attacks on the
auth endpoints, as a browser or a script makes them through that front."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.local.serving import start_server
from tests.auth.fake_oauth import FakeProvider, provider_env
from tests.infra.localstack import MANY_SIGN_INS, Stack, better_auth_client, mail_to
from tests.servers import free_port, serve

PASSWORD = "correct horse battery staple"
#: Not the stack's 127.0.0.1: the front's host, as a distribution's is not execute-api's.
PUBLIC_HOST = "localhost"
#: Hop-by-hop headers and those the proxy sets itself.
_NOT_FORWARDED = {b"host", b"content-length", b"transfer-encoding", b"connection", b"content-encoding"}


def reverse_proxy(upstream: str) -> Starlette:
    """Every request to ``upstream`` with every header but Host (CloudFront's AllViewerExceptHostHeader)."""

    async def forward(request: Request) -> Response:
        url = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _NOT_FORWARDED]
        # a client per request: no cookie jar shared between the browsers behind the front
        async with httpx.AsyncClient(timeout=60) as http:
            answer = await http.request(request.method, url, headers=headers, content=await request.body())
        response = Response(answer.content, status_code=answer.status_code)
        response.raw_headers += [(k, v) for k, v in answer.headers.raw if k.lower() not in _NOT_FORWARDED]
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


@dataclass
class Front:
    stack: Stack
    provider: FakeProvider
    #: The public URL: the front's.
    url: str

    def browser(self) -> httpx.Client:
        """A browser at the public URL (its own cookie jar)."""
        return httpx.Client(base_url=self.url, timeout=60, headers={"Origin": self.url})


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    folder = Path(tmp_path_factory.mktemp("auth-front"))
    port = free_port()
    public = f"http://{PUBLIC_HOST}:{port}"
    (folder / ".env").write_text(f"BETTER_AUTH_URL={public}\n")
    provider = FakeProvider()
    with serve(provider.app(), "the fake OAuth provider") as provider_url:
        # every browser behind the front signs in from the front's one address
        env = provider_env(provider_url) | MANY_SIGN_INS
        stack = Stack(folder / "state", env_file=folder / ".env", env=env, demo=False)
        server, _ = start_server(reverse_proxy(stack.url), "127.0.0.1", port, "the front")
        try:
            stack.start()
            yield Front(stack, provider, public)
        finally:
            stack.kill()
            server.should_exit = True


def _link(message: dict[str, Any], pattern: str) -> str:
    found = re.search(r"http\S+" + pattern + r"\S*", message["text"])
    assert found, message["text"]
    return found.group(0)


def _verified(front: Front, browser: httpx.Client, email: str) -> str:
    """Sign up and verify through the front; the link in the email is the public URL's."""
    r = browser.post("/api/auth/sign-up/email", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert r.status_code == 200, r.text
    link = _link(mail_to(front.stack, email, "Verify your email address"), r"/api/auth/verify-email\?token=")
    assert link.startswith(front.url + "/api/auth/verify-email?token="), link
    verified = browser.get(link)
    assert verified.json()["status"] is True
    return str(r.json()["user"]["id"])


def _github(front: Front, browser: httpx.Client, profile: dict[str, Any], **extra: Any) -> httpx.Response:
    """A social sign-in as the browser makes it: start, the provider's approval, its redirect back."""
    started = browser.post(
        "/api/auth/sign-in/social", json={"provider": "github", "callbackURL": "/home", **extra}
    )
    assert started.status_code == 200, started.text
    url = started.json()["url"]
    query = parse_qs(urlparse(url).query)
    redirect_uri = query["redirect_uri"][0]
    assert redirect_uri == f"{front.url}/api/auth/callback/github"
    code = front.provider.approve(url, profile)
    return browser.get(redirect_uri, params={"code": code, "state": query["state"][0]})


def test_behind_the_front_every_link_redirect_and_trusted_origin_is_the_public_url(front: Front) -> None:
    with front.browser() as ada:
        _verified(front, ada, "ada@example.com")
        signed = ada.post("/api/auth/sign-in/email", json={"email": "ada@example.com", "password": PASSWORD})
        assert signed.status_code == 200
        token = signed.json()["token"]
        reset = ada.post("/api/auth/request-password-reset", json={"email": "ada@example.com"})
        assert reset.status_code == 200
        reset_link = _link(mail_to(front.stack, "ada@example.com", "Reset your password"), "/reset-password/")
        assert reset_link.startswith(front.url + "/api/auth/reset-password/")
        invited = ada.post(
            "/api/organizations/invite",
            json={"email": "grace@example.com", "role": "org_user"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert invited.status_code == 200, invited.text
        invitation = mail_to(
            front.stack, "grace@example.com", "Invitation to join “Ada's organization” on the ONE platform"
        )
        assert _link(invitation, "/accept-invitation").startswith(front.url + "/accept-invitation?token=")

    with front.browser() as lin:
        profile = {"id": 501, "login": "lin", "name": "Lin", "email": "lin@example.com", "verified": True}
        done = _github(front, lin, profile)
        assert (done.status_code, done.headers["location"]) == (302, "/home"), done.text
        assert lin.get("/api/auth/get-session").json()["user"]["email"] == "lin@example.com"
        # A cookie request is trusted from the public origin, not from the host the stack sees: on a
        # function (Convex's HTTP API) as on the auth endpoints.
        members = {"path": "organizations:list_members", "args": {}, "format": "json"}
        listed = lin.post("/api/query", json=members).json()
        assert listed["status"] == "success" and listed["value"][0]["email"] == "lin@example.com", listed
        foreign = lin.post("/api/query", json=members, headers={"Origin": front.stack.url}).json()
        assert foreign["status"] == "error" and foreign["errorData"]["reason"] == "INVALID_ORIGIN", foreign
        upstream = lin.post("/api/auth/sign-out", headers={"Origin": front.stack.url})
        assert (upstream.status_code, upstream.json()["code"]) == (403, "INVALID_ORIGIN")
        out = lin.post("/api/auth/sign-out")
        assert out.json() == {"success": True}
        assert lin.get("/api/auth/get-session").json() is None


def test_better_auths_own_client_works_through_the_front(front: Front) -> None:
    better_auth_client(front.url)


def test_a_forged_host_never_reaches_a_link(front: Front) -> None:
    """Host header poisoning, sent straight to the stack: the reset link still names the public URL."""
    with front.browser() as ada:
        _verified(front, ada, "host@example.com")
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    r = httpx.post(
        f"{front.stack.url}/api/auth/request-password-reset",
        json={"email": "host@example.com"},
        headers=forged,
    )
    assert r.status_code == 200
    link = _link(mail_to(front.stack, "host@example.com", "Reset your password"), "/reset-password/")
    assert link.startswith(front.url + "/api/auth/reset-password/"), link


def test_an_unverified_sign_up_keeps_no_password_once_the_owner_signs_in_with_github(front: Front) -> None:
    """The takeover: sign up with the owner's email and a password of one's own (no sign-in:
    EMAIL_NOT_VERIFIED), then wait for the owner's first social sign-in with a verified email. The
    attacker's password must not open the owner's account afterwards."""
    attacker = {"email": "owner@example.com", "password": "the attacker's own passphrase"}
    with front.browser() as browser:
        up = browser.post("/api/auth/sign-up/email", json={**attacker, "name": "Mallory"})
        assert up.status_code == 200
        early = browser.post("/api/auth/sign-in/email", json=attacker)
        assert (early.status_code, early.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    with front.browser() as owner:
        profile = {
            "id": 502,
            "login": "owner",
            "name": "Owner",
            "email": "owner@example.com",
            "verified": True,
        }
        done = _github(front, owner, profile)
        assert done.status_code == 302 and "error" not in done.headers["location"], done.headers
        me = owner.get("/api/auth/get-session").json()["user"]
        assert (me["email"], me["emailVerified"], me["name"]) == ("owner@example.com", True, "Owner")
    with front.browser() as browser:
        late = browser.post("/api/auth/sign-in/email", json=attacker)
        assert (late.status_code, late.json().get("code")) == (401, "INVALID_EMAIL_OR_PASSWORD"), late.text
        assert browser.get("/api/auth/get-session").json() is None
    notice = mail_to(front.stack, "owner@example.com", "Your account now signs in with GitHub")
    assert "password" in notice["text"]


def test_a_callback_a_browser_reads_as_another_host_is_refused(front: Front) -> None:
    with front.browser() as ada:
        _verified(front, ada, "callback@example.com")
        r = ada.post(
            "/api/auth/sign-in/email",
            json={"email": "callback@example.com", "password": PASSWORD, "callbackURL": "/\\evil.example"},
        )
        assert (r.status_code, r.json()["code"]) == (403, "INVALID_CALLBACK_URL")
        assert "location" not in r.headers


def test_deeply_nested_json_is_a_400_not_a_server_error(front: Front) -> None:
    with front.browser() as browser:
        r = browser.post(
            "/api/auth/sign-in/email", content="[" * 100_000, headers={"content-type": "application/json"}
        )
        assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
