"""A fan on a creator's token page in a real browser: the React page (tests/browser/src, on Convex's
React client and Better Auth's client, with the reference's ``TokenPurchase`` component) is served
from another origin than the platform, which lists it in ``ALLOWED_ORIGINS``, and driven in Debian's
Chromium through playwright-core. The fan signs up, verifies by the emailed link and signs in
(the session cookie, cross-origin with credentials; Convex's socket with the session's token), joins
the creator's open organization, is told to save a card, saves one with a SetupIntent through
Stripe.js and buys: the balance arrives by itself over the socket. A card that asks for 3-D Secure
waits for the bank, the fan authenticates on Stripe's test step and the balance arrives; a failed
authentication buys nothing.

``make test`` installs what it needs (Chromium from Debian, tests/browser's npm packages)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack, mail_to, signed_in

HERE = ROOT / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
FAN = "fan@example.com"
PASSWORD = "correct horse battery staple"
BALANCE = 'p:has-text("Current Balance") + p'
PURCHASES = 'ul[aria-label="Purchases"] > li'
SAVED_CARDS = 'ul[aria-label="Saved cards"] > li'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),  # the stack's start and the page's build count towards the first test
    pytest.mark.skipif(
        shutil.which("node") is None
        or not CHROMIUM.exists()
        or not (HERE / "node_modules" / "playwright-core").exists(),
        reason="needs node, /usr/bin/chromium and tests/browser's packages: run `make test`",
    ),
]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page, built once (Vite) and served as static files from its own loopback origin."""
    out = Path(tmp_path_factory.mktemp("page"))
    # Each session builds into its own folder: another session's build at the same time is no harm.
    vite = [str(HERE / "node_modules" / ".bin" / "vite"), "build", "--bypass-lock"]
    built = subprocess.run(
        [*vite, "--outDir", str(out), "--emptyOutDir"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, site: str) -> Iterator[Stack]:
    """The local stack as `make dev` starts it, with the page's origin in its env file."""
    folder = Path(tmp_path_factory.mktemp("browser-stack"))
    env_file = folder / ".env"
    env_file.write_text(f"ALLOWED_ORIGINS={site}\n")
    s = Stack(folder / "state", env_file=env_file, demo=False)
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.fixture(scope="module")
def shop(stack: Stack) -> dict[str, Any]:
    """A creator's organization, open to fans, with the creator and their token ($0.05)."""
    owner_token = signed_in(stack, "maker@example.com")
    with OneClient(stack.url, token=owner_token) as owner:
        creator = owner.mutation(
            "creators:create", {"email": "maker-studio@example.com", "name": "Maker", "niche": ["art"]}
        )["creatorId"]
        token = owner.action(
            "tokens:create",
            {
                "creatorId": creator,
                "name": "Maker Coin",
                "symbol": "MKR",
                "priceUsd": 0.05,
                "totalSupply": 10**6,
            },
        )["tokenId"]
        owner.action("organizations:update", {"joinPolicy": "open"})
    session = httpx.get(
        f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {owner_token}"}
    )
    return {"org": session.json()["session"]["activeOrganizationId"], "token": token, "owner": owner_token}


class Person:
    """Someone at the browser: each call is one thing they do or look for (tests/browser/driver.mjs)."""

    def __init__(self, folder: Path, shots: Path) -> None:
        self.shots = shots
        self.log = (folder / "driver.log").open("w")
        config = {
            "userDataDir": str(folder / "profile"),
            "executablePath": str(CHROMIUM),
            "timeoutMs": 90_000,
        }
        self.proc = subprocess.Popen(
            ["node", "driver.mjs", json.dumps(config)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def _send(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the browser driver stopped (see {self.log.name})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def do(self, op: str, **args: Any) -> Any:
        answer = self._send({"op": op, **args})
        if not answer["ok"]:
            self._send({"op": "screenshot", "path": str(self.shots / "failure.png")})
            raise AssertionError(
                f"{op} {args}: {answer['error']}\n--- the page shows:\n{answer['page']}\n--- console:\n"
                + "\n".join(answer["console"])
            )
        return answer["value"]

    def sees(self, text: str, within: str | None = None, *, exact: bool = False) -> str:
        """Wait (generously) until the text shows, in an element matching ``within`` if given."""
        return str(self.do("waitFor", text=text, selector=within, exact=exact) or "")

    def click(self, button: str) -> None:
        self.do("click", role="button", name=button)

    def screenshot(self, name: str) -> None:
        self.do("screenshot", path=str(self.shots / f"{name}.png"))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "close"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def person(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Person]:
    folder = Path(tmp_path_factory.mktemp("browser"))
    # BROWSER_SCREENSHOTS=<folder> keeps the screenshots of the key states (docs/images shows one).
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or folder)
    shots.mkdir(parents=True, exist_ok=True)
    p = Person(folder, shots)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def page_url(site: str, stack: Stack, shop: dict[str, Any]) -> str:
    query = {
        "api": stack.url,
        "stripe": f"http://127.0.0.1:{stack.stripe_port}",
        "pk": "pk_test_local",
        "org": shop["org"],
        "token": shop["token"],
    }
    return f"{site}/?{urlencode(query)}"


def _type_card(person: Person, number: str) -> None:
    """The card's fields in Stripe.js's card element, as the fan types them."""
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
        person.do("fill", placeholder=field, value=value)
    person.do("fill", placeholder="postal_code", value="10001")


def test_a_fan_signs_up_verifies_by_email_and_signs_in(
    person: Person, stack: Stack, site: str, page_url: str
) -> None:
    person.do("goto", url=page_url)
    person.do("fill", label="Name", value="Fan")
    person.do("fill", label="Email", value=FAN)
    person.do("fill", label="Password", value=PASSWORD)
    person.click("Create account")
    person.sees(f"Check your inbox: we sent a link to {FAN}.")
    person.click("Sign in")  # before following the link
    assert person.sees("Verify your email address first", within='[role="alert"]')
    # The link in the email verifies the address and brings the fan back to the page.
    link = re.search(
        r"http\S+verify-email\?token=\S+", mail_to(stack, FAN, "Verify your email address")["text"]
    )
    assert link is not None
    person.do("goto", url=link.group(0))
    person.sees("Your email is verified: sign in.")
    assert str(person.do("url")).startswith(site + "/?")
    person.do("fill", label="Email", value=FAN)
    person.do("fill", label="Password", value=PASSWORD)
    person.click("Sign in")
    person.sees(f"Signed in as {FAN} · live")  # the session cookie, then Convex's socket authenticated


def test_the_fan_joins_the_creators_open_organization(
    person: Person, stack: Stack, shop: dict[str, Any]
) -> None:
    person.click("Join the community")
    person.sees("Purchase Maker Coin")  # the reference's TokenPurchase, reading tokens:get
    assert person.sees("0", within=BALANCE, exact=True)
    person.sees("No saved card yet")
    person.sees("None yet", within=PURCHASES)
    with OneClient(stack.url, token=shop["owner"]) as owner:
        members = owner.query("organizations:list_members", {})
    assert ("customer", FAN) in {(m["role"], m.get("email")) for m in members}, members


def test_buying_without_a_card_says_so_then_a_saved_card_buys_and_the_balance_arrives(person: Person) -> None:
    person.sees("$5.00")  # 100 tokens at $0.05
    person.click("Buy 100 Tokens")
    person.sees("Save a card first", within='[role="alert"]')
    _type_card(person, "4242424242424242")
    person.click("Save card")
    person.sees("Saved your card ending in 4242.")
    person.sees("ending in 4242 (default)", within=SAVED_CARDS)
    person.click("Buy 100 Tokens")
    # Nobody reloads: the balance arrives over the socket when the purchase completes.
    person.sees("100", within=BALANCE, exact=True)
    person.sees("100 tokens for $5.00: Completed", within=PURCHASES)
    person.screenshot("token-purchase-completed")


def test_a_3ds_card_waits_for_the_bank_then_the_balance_arrives(person: Person) -> None:
    _type_card(person, "4000002760003184")  # Stripe's card that asks for 3-D Secure every time
    person.click("Save card")
    person.sees("3D Secure")  # Stripe.js's test step, for saving it too
    person.click("Complete authentication")
    person.sees("Saved your card ending in 3184.")
    person.sees("ending in 3184 (default)", within=SAVED_CARDS)
    person.do("fill", selector='input[type="number"]', value=40)
    person.click("Buy 40 Tokens")
    person.sees("40 tokens for $2.00: Waiting for your bank", within=PURCHASES)
    person.sees("Your bank asks you to confirm this payment.")
    person.screenshot("token-purchase-3ds-waiting")
    assert person.do("text", selector=BALANCE) == "100"  # nothing credited while the bank waits
    person.click("Confirm with your bank")
    person.sees("3D Secure")
    person.click("Complete authentication")
    person.sees("140", within=BALANCE, exact=True)
    person.sees("40 tokens for $2.00: Completed", within=PURCHASES)


def test_a_failed_authentication_buys_nothing(person: Person) -> None:
    person.do("fill", selector='input[type="number"]', value=30)
    person.click("Buy 30 Tokens")
    person.sees("30 tokens for $1.50: Waiting for your bank", within=PURCHASES)
    person.click("Confirm with your bank")
    person.sees("3D Secure")
    person.click("Fail authentication")
    person.sees("30 tokens for $1.50: Failed", within=PURCHASES)
    assert person.do("text", selector=BALANCE) == "140"


def test_signing_out_ends_the_session_and_the_page_threw_nothing(person: Person, page_url: str) -> None:
    person.click("Sign out")  # a POST with the cookie, from the allowed origin
    person.sees("Join ONE")
    person.do("goto", url=page_url)  # the cookie is gone and the session with it
    person.sees("Join ONE")
    # No uncaught error in the page, and no request refused (CORS) or failed, but those cut short
    # by leaving the page.
    logged = person.do("console")
    errors = [line for line in logged if line.startswith(("pageerror:", "requestfailed:"))]
    assert [line for line in errors if "ERR_ABORTED" not in line] == [], logged
