"""The local stack never loses an acknowledged write: killed with SIGKILL right after N acknowledged
writes (N = 1, then 120: the second batch spans many of the journal's one-second syncs), restarted on
the same state folder, it has every one of them, and the upload, the scheduled job and the chain's
token that were acknowledged with them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from tests.infra.localstack import Stack


def _creators(client: OneClient) -> set[str]:
    seen: set[str] = set()
    cursor = None
    while True:
        page = client.query(
            "creators:list_paginated", {"paginationOpts": {"numItems": 1000, "cursor": cursor}}
        )
        seen |= {c["_id"] for c in page["page"]}
        if page["isDone"]:
            return seen
        cursor = page["continueCursor"]


def _job_done(stack: Stack, name: str) -> str:
    """The id of the job ``name`` once it has run (the scheduler delivers it in the background)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for job in httpx.get(f"{stack.url}/_local/scheduled").json():
            if job["name"] == name and job["state"] == "success":
                return str(job["_id"])
        time.sleep(0.2)
    raise AssertionError(f"no {name} job ran")


def _killed_and_restarted(stack: Stack) -> Stack:
    assert stack.proc is not None
    stack.proc.kill()  # SIGKILL: no shutdown, no last snapshot
    stack.proc.wait()
    again = Stack(stack.state_dir, env_file=stack.env_file, demo=False)
    again.start()
    return again


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "state", demo=False)
    stack.start()
    created: list[str] = []
    extra: dict[str, Any] = {}
    try:
        for batch, n in enumerate((1, 120)):
            with OneClient(stack.url, token=stack.token()) as client:
                if batch == 0:
                    # An upload, a scheduled job and a chain transaction, acknowledged like the rest.
                    data = os.urandom(2048)
                    up = client.mutation(
                        "files:generate_upload_url", {"contentType": "image/png", "size": len(data)}
                    )
                    assert httpx.put(up["uploadUrl"], content=data, headers=up["headers"]).status_code == 200
                    extra.update(storage=up["storageId"], data=data)
                    client.action("organizations:invite", {"email": "kept@example.com", "role": "customer"})
                    extra["job"] = _job_done(stack, "auth:send_email")
                    creator = client.mutation(
                        "creators:create", {"email": "chain@example.com", "name": "Chain", "niche": []}
                    )["creatorId"]
                    created.append(creator)
                    extra["token"] = client.action(
                        "tokens:create",
                        {
                            "creatorId": creator,
                            "name": "Kept",
                            "symbol": "KEPT",
                            "priceUsd": 1,
                            "totalSupply": 10,
                        },
                    )["tokenId"]
                for i in range(n):
                    created.append(
                        client.mutation(
                            "creators:create",
                            {"email": f"c{batch}-{i}@example.com", "name": f"C{i}", "niche": []},
                        )["creatorId"]
                    )
            stack = _killed_and_restarted(stack)
            with OneClient(stack.url, token=stack.token()) as client:
                lost = set(created) - _creators(client)
                assert not lost, f"{len(lost)} of {len(created)} acknowledged creators lost after SIGKILL"
                assert (
                    httpx.get(client.query("files:get_file_url", {"storageId": extra["storage"]})).content
                    == (extra["data"])
                )
                jobs = {j["_id"]: j["state"] for j in httpx.get(f"{stack.url}/_local/scheduled").json()}
                assert jobs[extra["job"]] == "success"
                token = client.query("tokens:get", {"id": extra["token"]})
                assert token["status"] == "active" and token["properties"]["contractAddress"].startswith("0x")
    finally:
        stack.kill()
