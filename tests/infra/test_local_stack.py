"""End to end: `make dev`'s stack started as a subprocess on loopback, driven over HTTP with the
Python client — create, get, list, paginate, upload a file through its presigned URL and download it
back byte for byte — then restarted on the same state folder, where the data still is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from ontology.errors import ConflictError, NotFoundError, UnauthenticatedError, ValidationError
from tests.conftest import ROOT
from tests.infra.localstack import Stack, better_auth_client, settled, signed_in


def _buy(client: OneClient, token: str, amount: int, method: str, key: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"tokenId": token, "amount": amount, "paymentMethodId": method}
    if key:
        args["idempotencyKey"] = key
    started = client.action("tokens:purchase", args)
    assert started["status"] == "pending"
    return settled(client, started["purchaseId"])


def _purchase_flow(stack: Stack) -> dict[str, Any]:
    """The token purchase saga through the local stack: a token deployed on the local chain, a
    purchase charged through localstripe and minted, a declined card, an idempotent retry."""
    with OneClient(stack.url, token=stack.token()) as client:
        creator = client.mutation(
            "creators:create", {"email": "grace@example.com", "name": "Grace", "niche": ["compilers"]}
        )["creatorId"]
        token = client.action(
            "tokens:create",
            {
                "creatorId": creator,
                "name": "Grace Coin",
                "symbol": "GRC",
                "priceUsd": 0.5,
                "totalSupply": 1000,
            },
        )["tokenId"]
        assert client.query("tokens:get", {"id": token})["properties"]["contractAddress"].startswith("0x")
        done = _buy(client, token, 20, "pm_card_visa", key="order-1")
        assert done["status"] == "completed" and done["usdCents"] == 1000
        assert done["paymentId"].startswith("pi_") and done["transactionHash"].startswith("0x")
        again = client.action(
            "tokens:purchase",
            {"tokenId": token, "amount": 20, "paymentMethodId": "pm_card_visa", "idempotencyKey": "order-1"},
        )
        assert again == {"purchaseId": done["purchaseId"], "status": "completed"}
        declined = _buy(client, token, 4, "pm_card_chargeCustomerFail")
        assert declined["status"] == "failed" and declined["failureReason"]
        assert client.query("tokens:get_balance", {"tokenId": token})["amount"] == 20
        return {"tokenId": token, "balance": 20}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path / "state")
    s.start()
    try:
        yield s
    finally:
        s.kill()


@pytest.mark.slow
def test_local_stack_end_to_end(stack: Stack) -> None:
    banner = "\n".join(stack.lines)
    assert stack.url in banner and "routes of template.yaml" in banner and "/api/openapi.json" in banner
    session = stack.dev_session()
    demo_token = session["demoTokenId"]  # deployed on the local chain at first start
    assert f"demo token  {demo_token}" in banner

    with OneClient(stack.url, token=stack.token()) as client:
        created = client.mutation(
            "creators:create", {"email": "ada@example.com", "name": "Ada", "niche": ["math"]}
        )
        cid = created["creatorId"]
        assert client.query("creators:get", {"id": cid})["name"] == "Ada"
        with pytest.raises(ConflictError):
            client.mutation("creators:create", {"email": "ada@example.com", "name": "Again", "niche": []})
        with pytest.raises(ValidationError) as err:
            client.query("creators:get", {"id": 42})
        assert err.value.field == "id"
        with pytest.raises(NotFoundError):
            client.mutation("creators:update", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "bio": "x"})

        assert client.query("tokens:get", {"id": demo_token})["properties"]["symbol"] == "LOCAL"
        for i in range(4):
            client.mutation("creators:create", {"email": f"c{i}@example.com", "name": f"C{i}", "niche": []})
        assert len(client.query("creators:list", {})) == 6  # with the demo token's creator
        seen, cursor = [], None
        while True:
            page = client.query(
                "creators:list_paginated", {"paginationOpts": {"numItems": 2, "cursor": cursor}}
            )
            seen += [c["_id"] for c in page["page"]]
            if page["isDone"]:
                break
            cursor = page["continueCursor"]
        assert len(seen) == len(set(seen)) == 6

        data = os.urandom(3000) + b"\x00\xff end"
        up = client.mutation(
            "files:generate_upload_url", {"contentType": "application/pdf", "size": len(data)}
        )
        put = httpx.put(up["uploadUrl"], content=data, headers=up["headers"])
        assert put.status_code == 200, put.text
        file_id = client.mutation(
            "files:save_file",
            {"storageId": up["storageId"], "name": "doc.pdf", "type": "application/pdf", "size": len(data)},
        )["fileId"]
        url = client.query("files:get_file_url", {"storageId": up["storageId"]})
        assert httpx.get(url).content == data
        assert client.query("entities:get", {"id": file_id})["type"] == "media_asset"

    with OneClient(stack.url) as anonymous:
        with pytest.raises(UnauthenticatedError):
            anonymous.query("entities:list", {"paginationOpts": {"numItems": 5, "cursor": None}})
        # the platform's public creators, to anyone (docs/auth.md, "What is public")
        assert cid in {c["_id"] for c in anonymous.query("creators:list", {"limit": 100})}
        assert anonymous.openapi()["paths"]["/api/creators/get"]["post"]["x-convex-path"] == "creators:get"
    unknown = httpx.post(f"{stack.url}/api/nothing/here", json={})
    assert unknown.status_code == 404 and unknown.json()["errorData"]["code"] == "NOT_FOUND"

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "run",
            "creators:get",
            json.dumps({"id": cid}),
            "--url",
            stack.url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ONE_STATE_DIR": str(stack.state_dir)},
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["name"] == "Ada"

    env = {**os.environ, "ONE_STATE_DIR": str(stack.state_dir)}
    crons = subprocess.run(
        [sys.executable, "-m", "infra.cli", "cron", "list", "--url", stack.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert {c["schedule"] for c in json.loads(crons.stdout)} == {
        "rate(60 minutes)",
        "cron(0 0 * * ? *)",
        "cron(0 9 ? * MON *)",
        "cron(0 10 1 * ? *)",
        "rate(5 minutes)",
        "rate(1 minute)",  # the sync protocol's keep-alive
    }
    fired = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "cron",
            "run",
            "weekly analytics report",
            "--wait",
            "--url",
            stack.url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert fired.returncode == 0, fired.stderr
    # the run schedules a job per organization (here one) and waits for it
    jobs = json.loads(fired.stdout)["jobs"]
    assert jobs == {"analytics:report_organization": {"success": 1, "canceled": 1}}  # and its watchdog
    unknown = subprocess.run(
        [sys.executable, "-m", "infra.cli", "cron", "run", "no such cron", "--url", stack.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert unknown.returncode == 1
    with OneClient(stack.url, token=stack.token()) as client:
        reports = client.query(
            "entities:list", {"type": "report", "paginationOpts": {"numItems": 5, "cursor": None}}
        )
        assert len(reports["page"]) == 1
        assert (
            client.query("scheduler:list", {"paginationOpts": {"numItems": 5, "cursor": None}})["page"] == []
        )

    _auth_flow(stack)
    bought = _purchase_flow(stack)

    code, out = stack.stop()
    assert code == 0 and "stopped." in out, out

    again = Stack(stack.state_dir)
    again.start()
    try:
        assert "restored:" in "\n".join(again.lines)
        assert f"demo token  {demo_token}" in "\n".join(again.lines)  # found again, not deployed twice
        with OneClient(again.url, token=again.token()) as client:
            assert client.query("creators:get", {"id": cid})["name"] == "Ada"
            url = client.query("files:get_file_url", {"storageId": up["storageId"]})
            assert httpx.get(url).content == data
            # the chain was replayed: the token's contract and its supply are back, and it sells on
            token = bought["tokenId"]
            assert client.query("tokens:get_balance", {"tokenId": token})["amount"] == bought["balance"]
            assert _buy(client, token, 5, "pm_card_visa")["status"] == "completed"
            assert client.query("tokens:get_balance", {"tokenId": token})["amount"] == bought["balance"] + 5
        code, _ = again.stop()
        assert code == 0
    finally:
        again.kill()


def _auth_flow(stack: Stack) -> None:
    better_auth_client(stack.url)
    ada, bob = signed_in(stack, "ada@example.com"), signed_in(stack, "bob@example.com")
    with OneClient(stack.url, token=ada) as as_ada, OneClient(stack.url, token=bob) as as_bob:
        post = as_ada.mutation("entities:create", {"type": "blog_post", "name": "Ada's post"})["id"]
        assert as_ada.query("entities:get", {"id": post})["name"] == "Ada's post"
        assert as_bob.query("entities:get", {"id": post}) is None, "another organization sees nothing"
        with pytest.raises(NotFoundError):
            as_bob.mutation("entities:archive", {"id": post})
    for forged in ("not-a-session-token-at-all-0123456789", ada[:-4] + "AAAA"):
        with OneClient(stack.url, token=forged) as intruder, pytest.raises(UnauthenticatedError):
            intruder.query("entities:list", {"paginationOpts": {"numItems": 5, "cursor": None}})
