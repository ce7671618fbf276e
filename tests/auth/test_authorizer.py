"""The API Gateway authorizer: a live session's identity, and anonymous (so 401 from the function)
for random, expired, revoked, signed-out and malformed tokens."""

from __future__ import annotations

from typing import Any

import pytest

from ontology.auth import accounts as auth
from ontology.auth.identity import authorize, sign_cookie
from ontology.runtime.registry import resolve
from tests.auth.conftest import BASE, link_token

PASSWORD = "correct horse battery staple"


def _event(token: str | None = None, cookie: str | None = None) -> dict[str, Any]:
    headers = {}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if cookie is not None:
        headers["cookie"] = cookie
    return {
        "version": "2.0",
        "type": "REQUEST",
        "headers": headers,
        "identitySource": [headers.get("authorization")],
    }


def _call_with(decision: dict[str, Any]) -> int:
    from infra.events import api_event

    fn = resolve("entities:list")
    event = api_event(fn.spec, {"paginationOpts": {"numItems": 5, "cursor": None}})
    event["requestContext"]["authorizer"] = {"lambda": decision["context"]}
    return int(fn(event, None)["statusCode"])


@pytest.fixture
def session(deliver: Any) -> auth.SessionInfo:
    auth.sign_up(email="ada@example.com", password=PASSWORD, name="Ada", base_url=BASE)
    auth.verify_email(link_token(deliver()[0]))
    return auth.sign_in(email="ada@example.com", password=PASSWORD)


def test_live_sessions_name_their_session_and_the_function_reads_it(session: auth.SessionInfo) -> None:
    decision = authorize(_event(session.token))
    assert decision["isAuthorized"]
    # Only what the token means for life is cached by API Gateway: the session it opens.
    assert decision["context"] == {"sessionId": session.session["_id"], "userId": session.user["_id"]}
    assert _call_with(decision) == 200
    # What the session stands for is read by the function on every call: a cached decision for a
    # session that has since ended lets nothing through.
    auth.sign_out(session.token)
    assert _call_with(decision) == 401


def test_the_authorizer_never_reads_the_cookie(session: auth.SessionInfo) -> None:
    """API Gateway caches the decision for the Authorization header alone: a cookie it does not key on
    must not decide who the caller is (else the next request with the same header is that user)."""
    cookie = f"better-auth.session_token={sign_cookie(session.token)}"
    for header in (None, "Bearer", "Bearer ", "Basic abc"):
        event = _event(cookie=cookie)
        if header is not None:
            event["headers"]["authorization"] = header
        assert authorize(event)["context"] == {"anonymous": "true"}, header


def test_forged_sessions_are_anonymous_and_get_401(
    session: auth.SessionInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = auth.sign_in(email="ada@example.com", password=PASSWORD)
    auth.sign_out(other.token)
    forged = {
        "random": "x" * 43,
        "malformed": "not a token",
        "empty": "",
        "bad signature": f"{session.token}.{'A' * 43}=",
        "signed out": other.token,
        "unsigned cookie": None,
    }
    for name, token in forged.items():
        event = (
            _event(token)
            if token is not None
            else _event(cookie=f"better-auth.session_token={session.token}")
        )
        decision = authorize(event)
        assert decision["context"] == {"anonymous": "true"}, name
        assert _call_with(decision) == 401, name
    later = session.session["expiresAt"] + 1
    monkeypatch.setattr("time.time", lambda: later / 1000)
    assert authorize(_event(session.token))["context"] == {"anonymous": "true"}, "expired"


def test_a_password_reset_revokes_every_session(session: auth.SessionInfo, deliver: Any) -> None:
    auth.request_password_reset(email="ada@example.com", base_url=BASE)
    mail = next(m for m in deliver() if m["subject"] == "Reset your password")
    auth.reset_password(token=link_token(mail), new_password="a whole new passphrase")
    assert authorize(_event(session.token))["context"] == {"anonymous": "true"}
