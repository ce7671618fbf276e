"""An organization's owner in the dashboard (``/dashboard/`` on the platform's own origin), in Debian's
Chromium through playwright-core: signs in with the page's form (Better Auth's session cookie), opens
Functions, runs a function from the form its schema generated and sees its result, runs one that fails
and sees the typed error with its request id, then follows it to Logs, where that call's line shows;
then browses the Data page's entities, opens a document with its tags and events, edits it and is
refused an invalid edit, the field named beside it; then cancels a scheduled job on Schedules and sees
an uploaded image previewed on Files; then, with a Convex subscription open, sees it on Live, and opens
Health and cost.

``BROWSER_SCREENSHOTS=docs/dashboard`` keeps the screenshots docs/dashboard.md shows."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ontology.client import OneClient
from tests.browser.test_token_purchase_page import CHROMIUM, HERE, PASSWORD, Person
from tests.infra.localstack import Stack, one_cli, running_stack, signed_in, until

OWNER = "owner@example.com"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        shutil.which("node") is None
        or not CHROMIUM.exists()
        or not (HERE / "node_modules" / "playwright-core").exists(),
        reason="needs node, /usr/bin/chromium and tests/browser's packages: run `make test`",
    ),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "dashboard-browser")


@pytest.fixture(scope="module")
def owner(stack: Stack) -> str:
    """An account that owns its organization (a sign-up's own), with a creator in it."""
    token = signed_in(stack, OWNER)
    with OneClient(stack.url, token=token) as client:
        client.mutation("creators:create", {"email": "ada@example.com", "name": "Ada", "niche": ["math"]})
    return token


@pytest.fixture(scope="module")
def person(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Person]:
    folder = Path(tmp_path_factory.mktemp("dashboard-browser"))
    # absolute: the browser's driver runs in tests/browser
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or folder).resolve()
    shots.mkdir(parents=True, exist_ok=True)
    p = Person(folder, shots)
    try:
        yield p
    finally:
        p.close()


def test_an_owner_runs_a_function_and_finds_its_log_line(person: Person, stack: Stack, owner: str) -> None:
    person.do("goto", url=f"{stack.url}/dashboard/")
    person.sees("The dashboard is for an organization's owners and the platform's owners.")
    person.do("fill", label="Email", value=OWNER)
    person.do("fill", label="Password", value="not the password")
    person.click("Sign in")
    assert person.sees("Invalid", within='[role="alert"]')
    person.do("fill", label="Password", value=PASSWORD)
    person.screenshot("sign-in")
    person.click("Sign in")
    person.sees(f"{OWNER} · org_owner")

    # Functions: the list, a function's form from its schema, a run and its result
    person.do("fill", placeholder="Filter functions", value="creators:")
    person.do("click", selector='li[data-path="creators:list"]')
    person.sees("creators:list", within="#function-detail h2")
    person.click("Run")
    assert person.sees("success", within="#run-status", exact=True)
    assert "Ada" in str(person.do("text", selector="#run-value"))
    # a query's run stays live: a creator another client adds is pushed into the result
    person.sees("live", within="#run-live")
    with OneClient(stack.url, token=owner) as client:
        client.mutation("creators:create", {"email": "hopper@example.com", "name": "Hopper", "niche": ["x"]})
    person.sees("Hopper", within="#run-value")
    person.screenshot("functions")

    person.do("click", selector='li[data-path="creators:get"]')
    person.sees("creators:get", within="#function-detail h2")
    person.do("fill", label="id *", value="not-an-id")
    person.click("Run")
    assert person.sees("VALIDATION_ERROR", within="#run-status", exact=True)
    request_id = str(person.do("text", selector="#run-request-id"))
    assert len(request_id) >= 32
    assert request_id in str(person.do("text", selector="#run-value"))  # errorData.requestId
    person.screenshot("functions-error")

    # Logs: that call's line, found by its request id
    person.do("click", selector="#run-logs")
    row = f'tr[data-request-id="{request_id}"]'
    person.sees("VALIDATION_ERROR (400)", within=row)
    assert "creators:get" in str(person.do("text", selector=row))
    person.screenshot("logs-request")

    # Logs, unfiltered: the calls as they happen, the one just made among them
    person.do("fill", label="Request id", value="")
    person.click("Apply")
    person.sees("creators:list", within="#log-table tbody")
    person.sees("live", within="#live")
    # a call made elsewhere (a client over HTTP) shows by itself, by its error envelope's request id
    failed = httpx.post(
        f"{stack.url}/api/creators/get",
        json={"id": "elsewhere"},
        headers={"Authorization": f"Bearer {owner}"},
    )
    elsewhere = failed.json()["errorData"]["requestId"]
    person.sees("VALIDATION_ERROR (400)", within=f'tr[data-request-id="{elsewhere}"]')
    person.screenshot("logs")


def test_an_owner_browses_the_data_and_edits_a_document(person: Person, stack: Stack, owner: str) -> None:
    with OneClient(stack.url, token=owner) as client:
        post = client.mutation("entities:create", {"type": "blog_post", "name": "Notes", "status": "draft"})[
            "id"
        ]
        client.mutation("tags:add", {"entityId": post, "key": "topic", "value": "engines"})
    person.do("goto", url=f"{stack.url}/dashboard/#data")
    signed = person.sees("Sign", within="#sign-in:not([hidden]) button[type=submit], #sign-out:not([hidden])")
    if signed == "Sign in":
        person.do("fill", label="Email", value=OWNER)
        person.do("fill", label="Password", value=PASSWORD)
        person.click("Sign in")

    # the entities table, newest first: the post, then the creator
    person.sees("blog_post · Notes · draft", within="#data-documents tbody")
    person.sees("creator · Ada", within="#data-documents tbody")
    assert "blog_post" in str(person.do("text", selector="#data-documents tbody tr"))
    person.sees("platform", within='#data-tables li[data-table="sessions"]')
    # the list is a subscription over the sync protocol: a document another client writes while the
    # page is open is pushed to it (the page reads no list on a timer)
    person.sees("live", within="#data-live", exact=True)
    with OneClient(stack.url, token=owner) as client:
        client.mutation("entities:create", {"type": "blog_post", "name": "Pushed", "status": "draft"})
    person.sees("blog_post · Pushed · draft", within="#data-documents tbody")
    person.screenshot("data")

    # a document, with its tags and events one click away
    person.do("click", selector=f'tr[data-id="{post}"]')
    person.sees("Notes", within="#data-doc-title", exact=True)
    person.sees("topic = engines", within='[data-related="tags"]')
    person.sees("content_changed", within='[data-related="events"]')
    # the open document is a subscription too: a tag another client adds is pushed to it
    with OneClient(stack.url, token=owner) as client:
        client.mutation("tags:add", {"entityId": post, "key": "mood", "value": "pushed"})
    person.sees("mood = pushed", within='[data-related="tags"]')

    # an edit, saved by entities:update and logged as an event
    person.do("fill", label="name", value="Notes, revised")
    person.click("Save")
    person.sees("entities:update: done", within="#data-change-ok")
    person.sees("Notes, revised", within="#data-doc-title", exact=True)
    person.sees("blog_post · Notes, revised · draft", within="#data-documents tbody")
    person.screenshot("data-document")

    # an invalid edit: refused by the function, its field named beside it
    person.do("fill", label="name", value="")
    person.click("Save")
    refused = person.sees("VALIDATION_ERROR", within='[data-error-for="name"]')
    assert "field: name" in refused
    person.sees("Notes, revised", within="#data-doc-title", exact=True)
    person.screenshot("data-error")


def _png(width: int, height: int) -> bytes:
    """A PNG of a colour gradient, ``width`` by ``height`` (RGB, no dependency)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((255 * x // width, 120 + 100 * y // height, 220)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A WAV of a 440 Hz tone (8-bit mono)."""
    import math
    import struct

    samples = bytes(
        int(128 + 100 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
    )
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _stored(stack: Stack, token: str, data: bytes, content_type: str, name: str) -> str:
    """A file uploaded and recorded as the platform's clients do (files:generate_upload_url, a PUT,
    files:save_file): its record's id."""
    with OneClient(stack.url, token=token) as client:
        up = client.mutation("files:generate_upload_url", {"contentType": content_type, "size": len(data)})
        assert httpx.put(up["uploadUrl"], content=data, headers=up["headers"]).status_code == 200
        args = {"storageId": up["storageId"], "name": name, "type": content_type, "size": len(data)}
        return str(client.mutation("files:save_file", args)["fileId"])


def _signed_in(person: Person, stack: Stack, page: str) -> None:
    """The dashboard open at ``page``, signed in as the owner (by the form, unless already)."""
    person.do("goto", url=f"{stack.url}/dashboard/#{page}")
    person.sees("", within="#sign-in:not([hidden]) h1, #who:not(:empty)")
    if not person.do("text", selector="#who"):
        person.do("fill", label="Email", value=OWNER)
        person.do("fill", label="Password", value=PASSWORD)
        person.click("Sign in")
    person.sees(f"{OWNER} · org_owner")


def test_an_owner_cancels_a_scheduled_job_and_sees_a_stored_image(
    person: Person, stack: Stack, owner: str
) -> None:
    from tests.infra.test_dashboard_stack import scheduled_later

    session = httpx.get(f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {owner}"})
    org, user = session.json()["session"]["activeOrganizationId"], session.json()["session"]["userId"]
    job, later = scheduled_later(stack, org, user, count=2, seconds=3600)
    # a cron's run, as the developer fires one (`one cron run`): its last run shows with its outcome
    fired = one_cli(stack, "cron", "run", "weekly analytics report", "--wait")
    assert fired.returncode == 0, fired.stderr

    # Schedules: the job due in an hour, pending; cancelled with its row's button
    _signed_in(person, stack, "schedules")
    row = f'tr[data-job-id="{job}"]'
    person.sees("pending", within=row)
    assert "organizations:sweep_member_sessions" in str(person.do("text", selector=row))
    person.sees("success", within='tr[data-cron="weekly analytics report"] .runs .badge')
    person.sees("pending", within=f'tr[data-job-id="{later}"]')
    # the list is a subscription over the platform's sync protocol: a job scheduled while the page
    # is open is pushed to it (the page reads no job list again by itself)
    person.sees("live", within="#schedules-live", exact=True)
    (pushed,) = scheduled_later(stack, org, user, count=1, seconds=7200)
    person.sees("pending", within=f'tr[data-job-id="{pushed}"]')
    person.screenshot("schedules-pending")
    person.do("click", selector=f"{row} button")
    person.sees("canceled", within=f"{row} .badge", exact=True)
    person.sees("organizations:sweep_member_sessions is canceled", within="#scheduled-message")
    person.screenshot("schedules")

    # Files: an uploaded image previewed (loaded from the bucket: the page's policy admits it), and a
    # recording with its player; both stored while the page is open, and pushed to its subscription
    person.do("click", selector='#nav a[data-page="files"]')
    person.sees("live", within="#files-live", exact=True)
    image = _stored(stack, owner, _png(96, 64), "image/png", "banner.png")
    sound = _stored(stack, owner, _wav(), "audio/wav", "jingle.wav")
    person.sees("96 x 64 px", within=f'tr[data-file-id="{image}"]')
    assert "image/png" in str(person.do("text", selector=f'tr[data-file-id="{image}"]'))
    person.sees("audio/wav", within=f'tr[data-file-id="{sound}"]')
    person.sees("Download", within=f'tr[data-file-id="{sound}"] a[href^="http"]')
    assert not [line for line in person.do("console") if "Content Security Policy" in line]
    person.screenshot("files")


def test_an_owner_sees_a_live_subscription_and_the_functions_health(
    person: Person, stack: Stack, owner: str
) -> None:
    _signed_in(person, stack, "functions")
    with OneClient(stack.url, token=owner) as client:
        grace = client.mutation(
            "creators:create", {"email": "grace@example.com", "name": "Grace", "niche": ["cs"]}
        )
        creator = str(grace["creatorId"])
        # a Convex subscription, as a client keeps one: the Live page shows it, its arguments with it
        with client.subscribe("creators:get", {"id": creator}) as sub:
            assert sub.get(timeout=20)["_id"] == creator
            person.do("click", selector='#nav a[data-page="live"]')
            row = '#live-table tr[data-path="creators:get"]'
            person.sees(creator, within=row)
            assert "s ago" in str(person.do("text", selector=f"{row} td:nth-last-child(2)"))
            client.mutation("creators:update", {"id": creator, "bio": "pushed"})
            sub.wait_for(lambda v: v["properties"].get("bio") == "pushed", timeout=20)

            def invalidations() -> int:
                answer = httpx.get(
                    f"{stack.url}/dashboard/api/sync-health", headers={"Authorization": f"Bearer {owner}"}
                )
                return int(answer.json()["value"]["worker"]["invalidations"])

            assert until(invalidations, timeout=20)

            def shown() -> bool:  # the page's figure is the endpoint's (a recheck may add one meanwhile)
                return str(person.do("text", selector="#stat-invalidations strong")) == str(invalidations())

            assert until(shown, timeout=30)
            person.screenshot("live")

    # Health and cost: the calls just made, per function, with their units and price
    person.do("click", selector='#nav a[data-page="health"]')
    update = 'tr[data-function="creators:update"]'
    person.sees("creators:update", within=update)
    cells = str(person.do("text", selector=update))
    assert "mutation 256 MB" in cells and "$" in cells
    person.sees("creators:get", within='#health-table tr[data-function="creators:get"]')
    person.screenshot("health")
