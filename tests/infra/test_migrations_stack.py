"""``one migrate`` as an operator uses it, against the local stack (`make dev`), with the migrations of
``tests/data/sample_migrations`` declared (``ONE_MIGRATIONS``): status, a dry run that writes nothing,
a run killed halfway (SIGKILL) and resumed with no item changed twice while a function writes the same
items, a second runner kept out by the lease, a cancel from another process, clear errors; then the
stack restarted on the same state folder applies what is pending before it serves.

One stack start for every CLI check, one more for the restart (docs/migrations.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack

SAMPLES = "tests.data.sample_migrations"
ENTITIES = 40


def _env(stack: Stack) -> dict[str, str]:
    return {**os.environ, "ONE_STATE_DIR": str(stack.state_dir), "ONE_MIGRATIONS": SAMPLES}


def one(stack: Stack, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "migrate", *args],
        cwd=ROOT,
        env=env or _env(stack),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def started(stack: Stack, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "migrate", *args],
        cwd=ROOT,
        env=_env(stack),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def entity_items(stack: Stack) -> dict[str, dict[str, Any]]:
    """The developer organization's entity items as stored (a Query of the creation-time index on the
    stack's moto: the test reads the table itself, never through a Scan)."""
    import boto3

    health = httpx.get(f"{stack.url}/_local/health").json()
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=health["aws"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        aws_session_token="local",
    )
    org = stack.dev_session()["organizationId"]
    items: dict[str, dict[str, Any]] = {}
    from ontology.data.schema import TABLES

    every = TABLES["entities"].index("by_creation_time")  # sharded: each shard's partition
    paginator = ddb.get_paginator("query")
    for shard in range(every.shards):
        for page in paginator.paginate(
            TableName=health["table"],
            IndexName=every.gsi_name,
            KeyConditionExpression=f"{every.pk_attr} = :p",
            ExpressionAttributeValues={":p": {"S": every.sharded(f"{org}#entities#by_creation_time", shard)}},
        ):
            for item in page["Items"]:
                items[item["pk"]["S"].rsplit("#", 1)[1]] = item
    return items


SAMPLE_IDS = ("0001-mark-entities", "0002-tag-entities", "0003-count-entities")


def rows(stack: Stack) -> dict[str, dict[str, Any]]:
    """The samples' rows of ``one migrate status`` (the platform's own are done from the start: a
    new state folder's table is born in today's layout)."""
    status = one(stack, "status", "--json")
    assert status.returncode == 0, status.stderr
    every = {m["id"]: m for m in json.loads(status.stdout)["migrations"]}
    assert all(m["status"] == "done" for k, m in every.items() if not k.startswith(SAMPLE_IDS)), every
    return {k: m for k, m in every.items() if k.startswith(SAMPLE_IDS)}


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 60) -> list[str]:
    """Lines ``proc`` prints until one matches ``pattern`` (plain lines: its output is no terminal)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(lines))


def test_one_migrate_against_the_local_stack(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "state", demo=False)
    stack.start()
    try:
        # a stack whose code declares no migration of the samples: nothing to apply at its start
        assert any(line.startswith("  migrations  none pending") for line in stack.lines), stack.lines
        _exercise(stack)
        code, _ = stack.stop()
        assert code == 0
    finally:
        stack.kill()

    # the same state folder, now with the samples declared: what is not done is applied before serving
    again = Stack(tmp_path / "state", env={"ONE_MIGRATIONS": SAMPLES}, demo=False)
    again.start()
    try:
        (banner,) = [line for line in again.lines if line.startswith("  migrations  ")]
        assert "applied before serving: 0002-tag-entities" in banner and "0003-count-entities" in banner
        assert any("applying them before serving" in line for line in again.lines)
        assert {m["status"] for m in rows(again).values()} == {"done"}
        with OneClient(again.url, token=again.token()) as client:  # it serves, on the migrated data
            page = client.query("entities:list", {"paginationOpts": {"numItems": 100, "cursor": None}})[
                "page"
            ]
        posts = [e for e in page if e["type"] == "blog_post"]
        assert len(posts) == ENTITIES and {e["properties"]["tag"] for e in posts} == {"sample"}
        # the six the function archived while the migration ran: both writes are there
        assert sum(1 for e in posts if e.get("status") == "archived") == 6
    finally:
        again.kill()


def _exercise(stack: Stack) -> None:
    with OneClient(stack.url, token=stack.token()) as client:
        posts = [
            client.mutation("entities:create", {"type": "blog_post", "name": f"Post {i}"})["id"]
            for i in range(ENTITIES)
        ]
    ids = posts + [i for i in entity_items(stack) if i not in posts]  # and the stack's own (its demo)
    total = len(ids)

    status = one(stack, "status")
    assert status.returncode == 0, status.stderr
    assert re.search(
        r"^table one-local-\S+\s+\(the local stack, http://127\.0\.0\.1:\d+\)", status.stdout, re.M
    )
    assert re.search(r"^0001-mark-entities\s+pending\s", status.stdout, re.M), status.stdout
    assert "3 pending" in status.stdout
    assert {m["status"] for m in rows(stack).values()} == {"pending"}

    # a dry run counts and writes nothing (not even its progress)
    before = entity_items(stack)
    dry = one(stack, "run", "0001-mark-entities", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"{total} change(s) would be written" in dry.stdout and "nothing was written" in dry.stdout
    assert entity_items(stack) == before
    assert rows(stack)["0001-mark-entities"]["status"] == "pending"

    # killed halfway (SIGKILL)
    runner = started(stack, "run", "0001-mark-entities", "--batch", "5", "--max-wcu", "8")
    read_until(runner, r"[1-9]\d* changed")
    runner.send_signal(signal.SIGKILL)
    runner.wait(30)
    half = entity_items(stack)
    marked = [i for i, item in half.items() if "mk" in item]
    assert 0 < len(marked) < total
    assert {half[i]["mk"]["N"] for i in marked} == {"1"}
    assert rows(stack)["0001-mark-entities"]["status"] == "interrupted"

    # resumed: the dead runner's lease is taken over, the rest is done, nothing twice
    resumed = one(stack, "run", "0001-mark-entities")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert re.search(rf"0001-mark-entities: done: .*; {total} verified", resumed.stdout), resumed.stdout
    items = entity_items(stack)
    assert {items[i]["mk"]["N"] for i in ids} == {"1"}
    row = rows(stack)["0001-mark-entities"]
    assert row["status"] == "done" and row["percent"] == 100 and row["changed"] <= total
    again = one(stack, "run", "0001-mark-entities")
    assert again.returncode == 0 and "done already" in again.stdout

    # a slow run, while a function archives posts it is migrating: no write of either is lost; a
    # second runner is kept out by the lease; a cancel from another process stops the first
    slow = started(stack, "run", "0002-tag-entities", "--batch", "1", "--max-wcu", "2")
    read_until(slow, r"0002-tag-entities\s+\d+ examined")
    with OneClient(stack.url, token=stack.token()) as client:
        for entity_id in posts[:6]:
            client.mutation("entities:archive", {"id": entity_id})
    second = one(stack, "run", "0002-tag-entities")
    assert second.returncode == 3, second.stdout + second.stderr
    assert (
        "CONFLICT" in second.stderr and "being run by" in second.stderr and "Traceback" not in second.stderr
    )
    cancel = one(stack, "cancel", "0002-tag-entities")
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "0002-tag-entities: cancelled" in cancel.stdout
    out, _ = slow.communicate(timeout=60)
    assert slow.returncode == 4 and "cancelled at a batch boundary" in out, out
    row = rows(stack)["0002-tag-entities"]
    assert row["status"] == "cancelled" and 0 < row["changed"] < len(posts)

    # clear errors, never a traceback
    for args, code, text in (
        (("run", "0042-nothing"), 2, "NOT_FOUND"),
        (("run",), 2, "name one migration, or --all"),
        (("cancel", "0003-count-entities"), 2, "has not run"),
        (("run", "0001-mark-entities", "--batch", "0"), 2, "--batch is from 1 to 1000"),
    ):
        failed = one(stack, *args)
        assert failed.returncode == code and text in failed.stderr, (args, failed.stdout, failed.stderr)
        assert "Traceback" not in failed.stderr
    nowhere = one(stack, "status", env={**_env(stack), "ONE_STATE_DIR": str(stack.state_dir / "none")})
    assert nowhere.returncode == 5 and "make dev" in nowhere.stderr and "Traceback" not in nowhere.stderr
