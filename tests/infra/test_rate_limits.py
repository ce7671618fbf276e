"""Rate limits through the front door, on the local stack as users start it: Better Auth's limits per
client address (its defaults), sign-in failures that slow the address making them and never lock the
account's owner out, the client address taken from CloudFront's entry of ``X-Forwarded-For`` only
when the request proves it came through the distribution, and the per-session limit on function calls
over every way functions are called (the HTTP API, Convex's HTTP API, the sync socket).

The stack keeps the auth limits at their defaults; it sets the two things an operator would: the
distribution's origin-verify value (so the test can speak as CloudFront, from many viewer addresses)
and a small function-call limit with a day's window (so a window all but never ends mid-test).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from ontology.errors import RateLimitedError
from tests.infra.localstack import Stack, running_stack, signed_in

ORIGIN_VERIFY = "local-cloudfront-origin-verify-0123456789abcdefghij"
CALLS = 8
PASSWORD = "correct horse battery staple"
PAGE = {"paginationOpts": {"numItems": 5, "cursor": None}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"ONE_ORIGIN_VERIFY": ORIGIN_VERIFY, "ONE_FUNCTION_CALL_LIMIT": f"{CALLS}/86400"}
    yield from running_stack(tmp_path_factory, "rate-limits", env=env)


def via_cloudfront(viewer: str) -> dict[str, str]:
    """A request as the distribution forwards it: whatever the viewer sent in ``X-Forwarded-For``
    (here a forged entry), then the viewer's own address that CloudFront appends, and the
    origin-verify header CloudFront adds."""
    return {"x-forwarded-for": f"10.1.2.3, {viewer}", "x-one-origin-verify": ORIGIN_VERIFY}


def sign_in(stack: Stack, email: str, password: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/api/auth/sign-in/email",
        json={"email": email, "password": password},
        headers=headers or {},
        timeout=60,
    )


def refused(response: httpx.Response) -> bool:
    """A 429 as Better Auth answers it: ``X-Retry-After`` in whole seconds."""
    return response.status_code == 429 and int(response.headers["x-retry-after"]) >= 1


def held_back(response: httpx.Response) -> bool:
    """Refused for the address's failed sign-ins: a wait past the 10-s request window."""
    return refused(response) and int(response.headers["x-retry-after"]) > 10


def test_failures_from_one_address_do_not_lock_the_owner_out(stack: Stack) -> None:
    email = f"owner-{time.time_ns()}@example.com"
    signed_in(stack, email)
    attacker = via_cloudfront("203.0.113.66")
    answers: list[httpx.Response] = []
    # Guess until the address is held back for its failures (a wait past the 10-s request window,
    # which the guesser sits out): the five free failures take two windows, then the first wait is a
    # minute, which the rest of the test fits in however slow the machine is.
    while not (answers and held_back(answers[-1])):
        assert len(answers) < 20, [r.status_code for r in answers]
        if answers and refused(answers[-1]):
            time.sleep(int(answers[-1].headers["x-retry-after"]))
        answers.append(sign_in(stack, email, f"guess number {len(answers)}!", attacker))
    # and then many more, refused at once
    answers += [sign_in(stack, email, f"guess number {len(answers) + i}!", attacker) for i in range(50)]
    statuses = [r.status_code for r in answers]
    assert statuses.count(401) == 5 and all(refused(r) for r in answers if r.status_code != 401), statuses
    owner = sign_in(stack, email, PASSWORD, via_cloudfront("198.51.100.23"))
    assert owner.status_code == 200, owner.text
    assert owner.json()["user"]["email"] == email
    # the attacker's address is what is refused, even with the right password
    assert refused(sign_in(stack, email, PASSWORD, attacker))


def test_wrong_passwords_from_one_address_are_refused_after_a_few(stack: Stack) -> None:
    email = f"slowed-{time.time_ns()}@example.com"
    signed_in(stack, email)
    viewer = via_cloudfront("203.0.113.12")
    answers = [sign_in(stack, email, "not the password!!", viewer) for _ in range(12)]
    statuses = [r.status_code for r in answers]
    # Better Auth's rule for /sign-in: 3 per 10 s per address; the address's failures on this
    # account then wait (5 free, then a minute, doubling): never more than 5 guesses get through.
    assert statuses[:3] == [401, 401, 401] and statuses.count(401) <= 5, statuses
    held_back = [r for r in answers if r.status_code != 401]
    assert all(refused(r) and r.json()["code"] == "TOO_MANY_REQUESTS" for r in held_back), statuses


@pytest.mark.parametrize("verify", [None, "not-the-distribution-0123456789abcdefghij"])
def test_a_forged_forwarded_for_does_not_escape_the_limit(stack: Stack, verify: str | None) -> None:
    """Without the distribution's proof, ``X-Forwarded-For`` is the client's word: the caller is the
    connection's address, however many addresses it claims."""
    email = f"forger-{time.time_ns()}@example.com"
    signed_in(stack, email)
    answers = []
    for i in range(12):
        headers = {"x-forwarded-for": f"192.0.2.{i + 1}"}
        if verify:
            headers["x-one-origin-verify"] = verify
        answers.append(sign_in(stack, email, "not the password!!", headers))
    statuses = [r.status_code for r in answers]
    assert statuses.count(401) <= 5 and any(refused(r) for r in answers), statuses


def test_one_address_cannot_sign_up_without_pause(stack: Stack) -> None:
    viewer = via_cloudfront("203.0.113.77")
    statuses = []
    for i in range(7):
        r = httpx.post(
            f"{stack.url}/api/auth/sign-up/email",
            json={"email": f"burst-{i}-{time.time_ns()}@example.com", "password": PASSWORD, "name": "B"},
            headers=viewer,
            timeout=60,
        )
        assert r.status_code == 200 or refused(r), r.text
        statuses.append(r.status_code)
    # 3 per 10 s: seven in a row span at most two windows, so at least one is refused
    assert statuses[:3] == [200, 200, 200] and 429 in statuses, statuses
    other = httpx.post(
        f"{stack.url}/api/auth/sign-up/email",
        json={"email": f"elsewhere-{time.time_ns()}@example.com", "password": PASSWORD, "name": "E"},
        headers=via_cloudfront("198.51.100.88"),
        timeout=60,
    )
    assert other.status_code == 200, "another address is not held back"


def _socket_mutation(stack: Stack, token: str) -> dict[str, Any]:
    from websockets.sync.client import connect

    url = stack.url.replace("http", "ws", 1) + "/api/1.49.0/sync"
    with connect(url, open_timeout=20) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "Connect",
                    "sessionId": str(uuid.uuid4()),
                    "connectionCount": 0,
                    "lastCloseReason": "InitialConnect",
                    "clientTs": 0,
                }
            )
        )
        ws.send(json.dumps({"type": "Authenticate", "tokenType": "User", "value": token, "baseVersion": 0}))
        ws.send(json.dumps({"type": "Mutation", "requestId": 0, "udfPath": "entities:create", "args": [{}]}))
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "MutationResponse":
                return dict(message)


def test_a_session_s_function_calls_are_limited_over_every_transport(stack: Stack) -> None:
    token = signed_in(stack, f"calls-{time.time_ns()}@example.com")
    bearer = {"Authorization": f"Bearer {token}"}
    with OneClient(stack.url, token=token) as client:
        for _ in range(CALLS):
            client.query("entities:list", PAGE)
        with pytest.raises(RateLimitedError) as err:
            client.query("entities:list", PAGE)
    assert err.value.data["retryAfter"] >= 1
    # the HTTP API: 429 in the platform's envelope
    r = httpx.post(f"{stack.url}/api/entities/list", json=PAGE, headers=bearer, timeout=60)
    assert r.status_code == 429 and r.json()["errorData"]["code"] == "RATE_LIMITED"
    assert r.json()["errorData"]["retryAfter"] >= 1
    # Convex's HTTP API: the function's error, as Convex answers it
    r = httpx.post(
        f"{stack.url}/api/query",
        json={"path": "entities:list", "args": PAGE, "format": "json"},
        headers=bearer,
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["status"] == "error", r.text
    assert r.json()["errorData"]["code"] == "RATE_LIMITED"
    # the sync socket: the mutation's failure
    answer = _socket_mutation(stack, token)
    assert answer["success"] is False and answer["errorData"]["code"] == "RATE_LIMITED", answer
    # another session is not held back
    with OneClient(stack.url, token=stack.token()) as other:
        assert "page" in other.query("entities:list", PAGE)
