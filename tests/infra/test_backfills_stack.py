"""Backfills and backups against the local stack (`make dev`), as an operator runs them.

- Documents written before an index existed: an entity written straight into the table (its
  document and index keys, no search posting) and a knowledge chunk whose vector is not in S3 Vectors
  are found by neither search; ``one migrate run`` of the search and vector backfills (on a table
  that predates them: their progress items removed) indexes them, and both searches find them.
- The scheduled backup: the Lambda a schedule starts fans out one job per organization, each job's
  Lambda writes ``backups/<org>/<timestamp>.zip`` to the stack's bucket, and ``one import`` reads it.

One stack start for every check (docs/migrations.md, docs/deploying.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack, one_cli, running_stack, until

pytestmark = pytest.mark.stack

SEARCH = "0012-search-postings-by-value"
VECTORS = "0017-knowledge-vectors"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "backfills")


one = one_cli


def aws(stack: Stack, service: str) -> tuple[Any, dict[str, Any]]:
    """A client of the stack's moto (as an operator's tool reaches it) and the stack's health."""
    import boto3

    health = httpx.get(f"{stack.url}/_local/health").json()
    client = boto3.client(
        service,
        endpoint_url=health["aws"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return client, health


def predates(stack: Stack, migration_id: str) -> None:
    """The table as one created before ``migration_id`` was declared: no record of it having run (a
    new local stack's table is recorded migrated, being born in today's layout)."""
    from ontology.data.migrations.progress import PARTITION

    ddb, health = aws(stack, "dynamodb")
    ddb.delete_item(TableName=health["table"], Key={"pk": {"S": PARTITION}, "sk": {"S": migration_id}})


def status(stack: Stack) -> dict[str, dict[str, Any]]:
    listed = one(stack, "migrate", "status", "--json")
    assert listed.returncode == 0, listed.stderr
    return {m["id"]: m for m in json.loads(listed.stdout)["migrations"]}


def test_documents_written_before_the_search_index_are_found_after_its_backfill(stack: Stack) -> None:
    from ontology.data.dynamodb import Store
    from ontology.data.keys import new_id, now_ms
    from ontology.data.schema import table
    from ontology.data.transaction import _doc_attrs

    ddb, health = aws(stack, "dynamodb")
    org = stack.dev_session()["organizationId"]
    client = OneClient(stack.url, token=stack.token())
    written = []
    for word in ("quokka", "axolotl"):
        doc_id, now = new_id("entities"), now_ms()
        doc = {"type": "blog_post", "name": f"Notes on the {word}", "status": "published"}
        full = {**doc, "createdAt": now, "updatedAt": now, "properties": {}, "_id": doc_id}
        full["_creationTime"] = float(now)
        # the document and its index keys, as a write before the search index existed left them
        Store(ddb, table=health["table"]).put(_doc_attrs(org, doc_id, full, 1, (table("entities"), org)))
        written.append(doc_id)
        assert client.query("entities:get", {"id": doc_id})["name"] == f"Notes on the {word}"
        assert client.query("entities:search", {"query": word}) == []

    predates(stack, SEARCH)
    assert status(stack)[SEARCH]["status"] == "pending"
    ran = one(stack, "migrate", "run", SEARCH)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert status(stack)[SEARCH]["status"] == "done"
    for word, doc_id in zip(("quokka", "axolotl"), written, strict=True):
        found = client.query("entities:search", {"query": word})
        assert [d["_id"] for d in found] == [doc_id]
    # run again on what it indexed: nothing left to write
    predates(stack, SEARCH)
    again = one(stack, "migrate", "run", SEARCH)
    assert again.returncode == 0 and ", 0 changed," in again.stdout, again.stdout


def _vector_search(client: OneClient, creator: str, chunk: str) -> bool:
    hits = client.action("knowledge:search", {"query": "tidal pools and anemones", "sourceId": creator})
    return chunk in {h["_id"] for h in hits}


def test_chunks_whose_vectors_are_missing_are_found_after_the_vector_backfill(stack: Stack) -> None:
    client = OneClient(stack.url, token=stack.token())
    creator = client.mutation(
        "creators:create", {"email": f"tide-{time.time_ns()}@example.com", "name": "Tide", "niche": ["sea"]}
    )["creatorId"]
    text = "Tidal pools hold anemones, crabs and small fish between the rocks at low tide."
    (chunk,) = client.action("knowledge:add", {"sourceId": creator, "text": text})["ids"]
    assert until(lambda: _vector_search(client, creator, chunk), 30)

    # the vector gone from S3 Vectors: as for a chunk written before the index existed
    vectors, _ = aws(stack, "s3vectors")
    (bucket,) = vectors.list_vector_buckets()["vectorBuckets"]
    names = [
        i["indexName"] for i in vectors.list_indexes(vectorBucketName=bucket["vectorBucketName"])["indexes"]
    ]
    (index,) = [n for n in names if "knowledge" in n]
    vectors.delete_vectors(vectorBucketName=bucket["vectorBucketName"], indexName=index, keys=[chunk])
    assert not _vector_search(client, creator, chunk)

    predates(stack, VECTORS)
    assert status(stack)[VECTORS]["status"] == "pending"
    ran = one(stack, "migrate", "run", VECTORS)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert status(stack)[VECTORS]["status"] == "done"
    assert until(lambda: _vector_search(client, creator, chunk), 30)  # the stream puts it again


def _lambda(stack: Stack, handler: str, event: dict[str, Any], queue_url: str = "") -> dict[str, Any]:
    """``functions/backups.py``'s handler invoked as Lambda invokes it, in a process of its own with
    the stack's table, bucket and AWS endpoint (the local stack deploys no backup resource while
    ``BackupSchedule`` is empty, its default)."""
    _, health = aws(stack, "dynamodb")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT / 'layers' / 'ontology'}",
        "ONE_TABLE_NAME": health["table"],
        "ONE_FILES_BUCKET": health["bucket"],
        "ONE_DYNAMODB_ENDPOINT": health["aws"],
        "ONE_S3_ENDPOINT": health["aws"],
        "ONE_AWS_ENDPOINT": health["aws"],
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ONE_BACKUP_QUEUE_URL": queue_url,
    }
    code = f"import json, sys, backups; print(json.dumps(backups.{handler}(json.load(sys.stdin), None)))"
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "functions",
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    return dict(json.loads(ran.stdout.strip().splitlines()[-1]))


def test_the_scheduled_backup_writes_one_readable_export_per_organization(
    stack: Stack, tmp_path: Any
) -> None:
    from ontology.snapshot.archive import open_snapshot
    from tests.infra.snapshot_fixture import write_snapshot

    client = OneClient(stack.url, token=stack.token())
    org = str(client.action("organizations:create", {"name": "Backed up"})["organizationId"])
    write_snapshot(tmp_path / "convex.zip")
    assert one(stack, "import", str(tmp_path / "convex.zip"), "--org", org).returncode == 1  # two refused

    sqs, _ = aws(stack, "sqs")
    queue = sqs.create_queue(QueueName="backups-test")["QueueUrl"]
    planned = _lambda(
        stack, "plan", {"time": "2026-12-07T03:00:00Z", "detail-type": "Scheduled Event"}, queue
    )
    assert planned["at"] == "20261207T030000Z"
    jobs: list[dict[str, Any]] = []
    while len(jobs) < planned["organizations"]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        jobs += got.get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in jobs]
    assert len({b["organizationId"] for b in bodies}) == len(bodies) >= 2  # one job per organization
    (mine,) = [m for m, b in zip(jobs, bodies, strict=True) if b["organizationId"] == org]

    record = {"messageId": mine["MessageId"], "body": mine["Body"]}
    assert _lambda(stack, "export", {"Records": [record]}) == {"batchItemFailures": []}
    s3, health = aws(stack, "s3")
    key = f"backups/{org}/20261207T030000Z.zip"
    (tmp_path / "backup.zip").write_bytes(s3.get_object(Bucket=health["bucket"], Key=key)["Body"].read())
    snap = open_snapshot(tmp_path / "backup.zip")
    assert sorted(snap.tables) == ["connections", "entities", "events", "knowledge", "tags"]
    assert not snap.files  # the files stay in the bucket

    # the backup restores: into another organization, every document of it
    restored = str(client.action("organizations:create", {"name": "Restored"})["organizationId"])
    back = one(stack, "import", str(tmp_path / "backup.zip"), "--org", restored, "--append")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "  entities          5 imported" in back.stdout and "  knowledge         2 imported" in back.stdout
