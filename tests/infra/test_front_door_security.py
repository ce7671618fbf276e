"""The front door as API Gateway: what it caches, what it hands a function, and what a browser on another
origin may do — each through the local stack as clients call it.

- The authorizer's cache is keyed on the Authorization header alone, so it must never decide by a cookie.
- Every call reads its session: a switch of organization, a sign-out or a removal applies to the very next
  call made with the same token.
- Payload 2.0 delivers cookies in ``event.cookies``; a cookie-authenticated call must come from a trusted
  origin (no cross-site request acts as the visitor).
- CORS as the template configures it, for every route; the dev routes answer only the developer's tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.infra.localstack import MANY_SIGN_INS, Stack, signed_in

APP = "http://app.example:5173"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = Path(tmp_path_factory.mktemp("gateway"))
    env_file = folder / ".env"
    env_file.write_text(f"ALLOWED_ORIGINS={APP},http://other.example\n")
    s = Stack(folder / "state", env_file=env_file, env=MANY_SIGN_INS, demo=False)
    s.start()
    try:
        yield s
    finally:
        s.kill()


def _cookie(client: httpx.Client) -> str:
    return f"better-auth.session_token={client.cookies['better-auth.session_token']}"


def _session(stack: Stack, email: str) -> tuple[str, str]:
    """(bearer token, cookie header) of a verified user signed in over HTTP."""
    token = signed_in(stack, email)
    with httpx.Client(base_url=stack.url) as browser:
        r = browser.post(
            "/api/auth/sign-in/email",
            json={"email": email, "password": "correct horse battery staple"},
        )
        assert r.status_code == 200
        return token, _cookie(browser)


def _members(stack: Stack, **headers: str) -> httpx.Response:
    return httpx.post(f"{stack.url}/api/organizations/list_members", json={}, headers=headers)


def test_a_cached_decision_never_carries_another_users_cookie(stack: Stack) -> None:
    _, bob_cookie = _session(stack, "bob@example.com")
    # "Bearer " + "" as a client builds it: the same header for everyone, with Bob's cookie...
    with_cookie = _members(stack, Authorization="Bearer", Cookie=bob_cookie)
    assert with_cookie.status_code == 401, with_cookie.text
    assert with_cookie.json()["errorData"]["code"] == "UNAUTHENTICATED"
    # ...and without it, within the cache's minute: anonymous too, never Bob.
    anonymous = _members(stack, Authorization="Bearer")
    assert anonymous.status_code == 401 and "bob@example.com" not in anonymous.text
    upload = httpx.post(
        f"{stack.url}/api/files/generate_upload_url",
        json={"contentType": "image/png"},
        headers={"Authorization": "Bearer"},
    )
    assert upload.status_code == 401, upload.text


def test_an_empty_authorization_header_is_refused_before_the_authorizer(stack: Stack) -> None:
    r = _members(stack, Authorization="")
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    assert _members(stack).status_code == 401


def test_sign_out_applies_to_the_very_next_call(stack: Stack) -> None:
    token, _ = _session(stack, "carol@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    assert _members(stack, **bearer).status_code == 200  # now cached by the gateway for a minute
    out = httpx.post(f"{stack.url}/api/auth/sign-out", headers=bearer)
    assert out.status_code == 200
    again = _members(stack, **bearer)
    assert again.status_code == 401 and again.json()["errorData"]["code"] == "UNAUTHENTICATED"


def test_switching_keeps_the_token_and_every_holder_follows(stack: Stack) -> None:
    token, _ = _session(stack, "dana@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    home = _members(stack, **bearer).json()["value"]
    created = httpx.post(
        f"{stack.url}/api/organizations/create", json={"name": "Dana's studio"}, headers=bearer
    ).json()["value"]
    switched = httpx.post(f"{stack.url}/api/organizations/switch_active", json=created, headers=bearer)
    assert switched.status_code == 200, switched.text
    assert switched.json()["value"]["sessionToken"] == token  # the same token, still good
    # The very next call with the same token (another tab, a server-rendered page) acts there.
    me = httpx.post(
        f"{stack.url}/api/query", json={"path": "organizations:list_members", "args": {}}, headers=bearer
    ).json()
    assert me["status"] == "success" and [m["role"] for m in me["value"]] == ["org_owner"]
    assert me["value"][0]["entityId"] != home[0]["entityId"]
    # Convex's socket and the auth endpoints hold the same token: get-session shows the new organization.
    session = httpx.get(f"{stack.url}/api/auth/get-session", headers=bearer).json()
    assert session["session"]["activeOrganizationId"] == created["organizationId"]


def test_removal_from_an_organization_applies_to_the_very_next_call(stack: Stack) -> None:
    owner, _ = _session(stack, "erin@example.com")
    member, _ = _session(stack, "finn@example.com")
    owner_h, member_h = {"Authorization": f"Bearer {owner}"}, {"Authorization": f"Bearer {member}"}
    org = httpx.post(
        f"{stack.url}/api/organizations/create", json={"name": "Open", "joinPolicy": "open"}, headers=owner_h
    ).json()["value"]
    assert httpx.post(f"{stack.url}/api/organizations/join", json=org, headers=member_h).status_code == 200
    assert httpx.post(f"{stack.url}/api/organizations/switch_active", json=org, headers=member_h).is_success
    assert _members(stack, **member_h).status_code == 200
    assert httpx.post(f"{stack.url}/api/organizations/switch_active", json=org, headers=owner_h).is_success
    users = {m["role"]: m["userId"] for m in _members(stack, **owner_h).json()["value"]}
    removed = httpx.post(
        f"{stack.url}/api/organizations/remove_member", json={"userId": users["customer"]}, headers=owner_h
    )
    assert removed.status_code == 200, removed.text
    after = _members(stack, **member_h)
    assert after.status_code == 401 and after.json()["errorData"]["code"] == "UNAUTHENTICATED"


def _convex(stack: Stack, path: str, kind: str = "query", args: str = "{}", **headers: str) -> httpx.Response:
    """A call as a form or fetch from a page sends it: text/plain (no preflight), the cookie attached."""
    return httpx.post(
        f"{stack.url}/api/{kind}",
        content=f'{{"path": "{path}", "args": {args}, "format": "json"}}',
        headers={"Content-Type": "text/plain;charset=UTF-8", **headers},
    )


def test_the_session_cookie_works_from_a_trusted_origin_only(stack: Stack) -> None:
    _, cookie = _session(stack, "gus@example.com")
    # From the listed origin, the cookie (in event.cookies, as API Gateway delivers it) signs the call in.
    mine = _convex(stack, "organizations:list_members", Cookie=cookie, Origin=APP).json()
    assert mine["status"] == "success" and mine["value"][0]["role"] == "org_owner"
    # A form on another site posting text/plain with the visitor's cookie acts as nobody.
    for origin in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {}):
        forged = _convex(
            stack, "organizations:create", kind="action", args='{"name": "Pwned"}', Cookie=cookie, **origin
        )
        body = forged.json()
        assert body["status"] == "error" and body["errorData"]["code"] == "FORBIDDEN", (origin, body)
    # The same call from the listed origin is the visitor's own.
    made = _convex(
        stack, "organizations:create", kind="action", args='{"name": "Mine"}', Cookie=cookie, Origin=APP
    )
    assert made.json()["status"] == "success"


def test_cors_as_the_template_configures_it_on_every_route(stack: Stack) -> None:
    for path in ("/api/query", "/api/mutation", "/api/auth/sign-in/email", "/api/creators/list"):
        allowed = httpx.options(
            f"{stack.url}{path}",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,convex-client",
            },
        )
        assert allowed.status_code == 204, (path, allowed.text)
        assert allowed.headers["access-control-allow-origin"] == APP
        assert allowed.headers["access-control-allow-credentials"] == "true"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert {"authorization", "content-type", "convex-client"} <= set(
            allowed.headers["access-control-allow-headers"].split(",")
        )
        assert allowed.headers["access-control-max-age"] == "600"
        refused = httpx.options(
            f"{stack.url}{path}",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 204 and "access-control-allow-origin" not in refused.headers
    answer = httpx.post(
        f"{stack.url}/api/auth/sign-in/email",
        json={"email": "nobody@example.com", "password": "not the password"},
        headers={"Origin": APP},
    )
    assert answer.headers["access-control-allow-origin"] == APP
    assert "set-auth-token" in answer.headers["access-control-expose-headers"]
    other = httpx.post(
        f"{stack.url}/api/query", json={"path": "x:y", "args": {}}, headers={"Origin": "http://evil.example"}
    )
    assert not any(k.startswith("access-control-") for k in other.headers)


def test_the_dev_routes_answer_the_developer_only(stack: Stack) -> None:
    run = {"path": "organizations:list_members", "args": {}}
    assert httpx.post(f"{stack.url}/_local/run", json=run).status_code == 200
    from_page = httpx.post(
        f"{stack.url}/_local/run",
        content='{"path": "organizations:list_members", "args": {}}',
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert from_page.status_code == 403 and from_page.json()["errorData"]["reason"] == "INVALID_ORIGIN"
    rebound = httpx.post(f"{stack.url}/_local/run", json=run, headers={"Host": "evil.example"})
    assert rebound.status_code == 403 and rebound.json()["errorData"]["reason"] == "INVALID_HOST"
    assert httpx.get(f"{stack.url}/_local/outbox", headers={"Host": "evil.example"}).status_code == 403


def test_an_invitation_escapes_the_organizations_name_and_counts_against_the_email_limit(
    stack: Stack,
) -> None:
    owner, _ = _session(stack, "hank@example.com")
    bearer = {"Authorization": f"Bearer {owner}"}
    lure = '<h1>Your account is suspended</h1><a href="http://evil.example/login">Sign in here</a>\nNow'
    assert httpx.post(f"{stack.url}/api/organizations/update", json={"name": lure}, headers=bearer).is_success
    answers = [
        httpx.post(
            f"{stack.url}/api/organizations/invite", json={"email": "target@example.com"}, headers=bearer
        )
        for _ in range(8)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    assert answers[-1].json()["errorData"]["code"] == "RATE_LIMITED"
    import time

    deadline, sent = time.monotonic() + 30, []
    while time.monotonic() < deadline and len(sent) < 5:
        sent = [m for m in httpx.get(f"{stack.url}/_local/outbox").json() if m["to"] == "target@example.com"]
        time.sleep(0.2)
    time.sleep(1)
    sent = [m for m in httpx.get(f"{stack.url}/_local/outbox").json() if m["to"] == "target@example.com"]
    assert len(sent) == 5
    for mail in sent:
        assert "<h1>" not in mail["html"] and 'href="http://evil.example' not in mail["html"]
        assert "&lt;h1&gt;Your account is suspended&lt;/h1&gt;" in mail["html"]
        assert "\n" not in mail["subject"] and mail["subject"].startswith("Invitation to join “")
        assert mail["html"].count("<a ") == 1  # the invitation's own link, and no other
