"""The local stack driven as its users drive it, through the front door: auth endpoints under
concurrent requests, switching organizations under the authorizer's cache, a fan joining a
creator's open organization and buying tokens as the reference's frontend calls it, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ontology.client import OneClient
from ontology.errors import ForbiddenError, PriceChangedError
from tests.conftest import ROOT
from tests.infra.localstack import MANY_SIGN_INS, Stack, mail_to, settled, signed_in

#: The reference's .env, as a developer arriving with it would have it.
REFERENCE_ENV = {
    "BETTER_AUTH_SECRET": "a-reference-auth-secret-0123456789abcdefghij",
    "BETTER_AUTH_URL": "http://localhost:4321",
    "RESEND_FROM_EMAIL": "hello@creator.example",
    "STRIPE_SECRET_KEY": "sk_test_from_the_reference_env",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_from_the_reference_env",
    "OPENAI_API_KEY": "sk-reference",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = Path(tmp_path_factory.mktemp("front-door"))
    env_file = folder / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in REFERENCE_ENV.items()))
    # This module hammers the auth endpoints from one address (200 requests, 8 at once) to check
    # they never fail.
    s = Stack(folder / "state", env_file=env_file, env=MANY_SIGN_INS, demo=False)
    s.start()
    try:
        yield s
    finally:
        s.kill()


def test_the_reference_env_file_is_read_and_applied(stack: Stack) -> None:
    import base64
    import hashlib
    import hmac
    import re
    from urllib.parse import unquote

    banner = "\n".join(stack.lines)
    assert all(name in banner for name in REFERENCE_ENV), banner
    password = "correct horse battery staple"
    up = {"email": "env@example.com", "password": password, "name": "Env"}
    assert httpx.post(f"{stack.url}/api/auth/sign-up/email", json=up).status_code == 200
    mail = mail_to(stack, "env@example.com", "Verify your email address")
    assert mail["from"] == REFERENCE_ENV["RESEND_FROM_EMAIL"]  # RESEND_FROM_EMAIL
    link = re.search(r"http\S+verify-email\?token=\S+", mail["text"]).group(0)
    assert link.startswith(REFERENCE_ENV["BETTER_AUTH_URL"] + "/")  # BETTER_AUTH_URL
    httpx.get(stack.url + link.removeprefix(REFERENCE_ENV["BETTER_AUTH_URL"]))
    signed = httpx.post(
        f"{stack.url}/api/auth/sign-in/email", json={"email": "env@example.com", "password": password}
    )
    cookie = unquote(signed.cookies["better-auth.session_token"])
    token, _, signature = cookie.rpartition(".")
    key = REFERENCE_ENV["BETTER_AUTH_SECRET"].encode()  # BETTER_AUTH_SECRET signs the session cookie
    assert signature == base64.b64encode(hmac.new(key, token.encode(), hashlib.sha256).digest()).decode()


def test_auth_endpoints_answer_concurrent_requests_without_a_server_error(stack: Stack) -> None:
    token = signed_in(stack, "load@example.com")
    password = "correct horse battery staple"

    def call(i: int) -> int:
        with httpx.Client(base_url=stack.url, timeout=60) as http:
            kind = i % 4
            if kind == 0:
                r = http.post(
                    "/api/auth/sign-up/email", json={"email": f"u{i}@example.com", "password": password}
                )
            elif kind == 1:
                r = http.post(
                    "/api/auth/sign-in/email", json={"email": "load@example.com", "password": password}
                )
            elif kind == 2:
                r = http.get("/api/auth/get-session", headers={"Authorization": f"Bearer {token}"})
            else:
                r = http.post(
                    "/api/auth/sign-out", headers={"Authorization": "Bearer not-a-session-0123456789"}
                )
            return r.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(call, range(200)))
    assert sum(n for status, n in statuses.items() if status >= 500) == 0, statuses
    assert statuses[200] >= 150, statuses  # sign-up, sign-in and get-session succeed (sign-out: 401)


def test_after_a_switch_the_next_call_acts_in_the_new_organization(stack: Stack) -> None:
    owner = signed_in(stack, "owner@example.com")
    with OneClient(stack.url, token=owner) as as_owner:
        club = as_owner.mutation("organizations:create", {"name": "Club", "joinPolicy": "open"})[
            "organizationId"
        ]
        home = as_owner.query("entities:list", {"paginationOpts": {"numItems": 5, "cursor": None}})
        home_ids = {e["_id"] for e in home["page"]}  # (this call also warms the authorizer's cache)
        token = as_owner.token
        as_owner.mutation("organizations:switch_active", {"organizationId": club})
        assert as_owner.token == token  # the session keeps its token
        # The very next call acts in the new organization, cache or not.
        made = as_owner.mutation("entities:create", {"type": "blog_post", "name": "In the club"})["id"]
        assert as_owner.query("entities:get", {"id": made})["name"] == "In the club"
        listed = as_owner.query("entities:list", {"paginationOpts": {"numItems": 50, "cursor": None}})
        club_ids = {e["_id"] for e in listed["page"]}
        assert made in club_ids and not club_ids & home_ids
        members = as_owner.query("organizations:list_members", {})
        assert [m["role"] for m in members] == ["org_owner"]
    # Another holder of the same token (a second tab, a server-rendered page) follows at once.
    with OneClient(stack.url, token=token) as other_tab:
        listed = other_tab.query("entities:list", {"paginationOpts": {"numItems": 5, "cursor": None}})
        assert made in {e["_id"] for e in listed["page"]}


def test_a_fan_joins_an_open_organization_and_buys_as_the_reference_does(stack: Stack) -> None:
    creator_owner = signed_in(stack, "creator@example.com")
    fan = signed_in(stack, "fan@example.com")
    with OneClient(stack.url, token=creator_owner) as owner, OneClient(stack.url, token=fan) as as_fan:
        org = owner.query("organizations:list_members", {})  # the owner's personal organization
        assert org[0]["role"] == "org_owner"
        creator = owner.mutation(
            "creators:create", {"email": "maker@example.com", "name": "Maker", "niche": ["art"]}
        )["creatorId"]
        token = owner.action(
            "tokens:create",
            {
                "creatorId": creator,
                "name": "Maker Coin",
                "symbol": "MKR",
                "priceUsd": 0.1,
                "totalSupply": 1000,
            },
        )["tokenId"]
        org_id = _active_org(stack, creator_owner)
        # Closed by default: the fan is refused and nothing is written.
        with pytest.raises(ForbiddenError):
            as_fan.action("organizations:join", {"organizationId": org_id})
        owner.action("organizations:update", {"joinPolicy": "open"})
        assert as_fan.action("organizations:join", {"organizationId": org_id}) == {"organizationId": org_id}
        as_fan.action("organizations:switch_active", {"organizationId": org_id})
        # The reference's TokenPurchase: tokens.purchase({tokenId, amount, usdAmount: amount * priceUsd}).
        with pytest.raises(PriceChangedError) as changed:
            as_fan.action(
                "tokens:purchase",
                {"tokenId": token, "amount": 7, "usdAmount": 0.5, "paymentMethodId": "pm_card_visa"},
            )
        assert changed.value.data["priceUsd"] == 0.1
        started = as_fan.action(
            "tokens:purchase",
            {"tokenId": token, "amount": 7, "usdAmount": 7 * 0.1, "paymentMethodId": "pm_card_visa"},
        )
        assert started["status"] == "pending"
        view = settled(as_fan, started["purchaseId"])
        assert view["status"] == "completed" and view["usdCents"] == 70
        assert as_fan.query("tokens:get_balance", {"tokenId": token})["amount"] == 7
        # A declining test card: failed, nothing minted.
        declined = as_fan.action(
            "tokens:purchase",
            {"tokenId": token, "amount": 5, "paymentMethodId": "pm_card_visa_chargeDeclined"},
        )
        view = settled(as_fan, declined["purchaseId"])
        assert view["status"] == "failed" and view["failureCode"] == "PAYMENT_FAILED"
        assert as_fan.query("tokens:get_balance", {"tokenId": token})["amount"] == 7


def _active_org(stack: Stack, token: str) -> str:
    session = httpx.get(f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {token}"})
    return str(session.json()["session"]["activeOrganizationId"])


def test_the_cli_piped_into_head_exits_quietly(stack: Stack) -> None:
    # More output than a pipe holds (64 KB), so the CLI is still writing when `head` goes away.
    with OneClient(stack.url, token=stack.token()) as client:
        for i in range(4):
            notes = {"text": "x" * 30_000}
            client.mutation(
                "entities:create", {"type": "blog_post", "name": f"Long {i}", "properties": notes}
            )
    listing = '{"paginationOpts": {"numItems": 10, "cursor": null}}'
    cli = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "run", "entities:list", listing, "--url", stack.url],
        cwd=ROOT,
        env={**_env(stack)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.run(["head", "-n", "1"], stdin=cli.stdout, capture_output=True, check=True)
    assert cli.stdout is not None
    cli.stdout.close()
    _, err = cli.communicate(timeout=60)
    assert head.stdout.strip() == b"{"
    assert cli.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err, err


def _env(stack: Stack) -> dict[str, str]:
    import os

    return {**os.environ, "ONE_STATE_DIR": str(stack.state_dir)}
