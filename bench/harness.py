"""Shared benchmark harness: moto in-process behind the lock, the table from template.yaml, and a
request counter on the store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"


def result(name: str, value: float, budget: str, ok: bool) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "budget": budget,
        "ok": ok,
    }


class Counter:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.items_read = 0

    def __call__(self, operation: str, params: dict[str, Any], response: dict[str, Any] | None) -> None:
        self.requests.append(operation)
        if response and operation == "Query":
            self.items_read += int(response.get("ScannedCount", response.get("Count", 0)))
        elif response and operation == "BatchGetItem":
            self.items_read += sum(len(v) for v in response.get("Responses", {}).values())
        elif response and operation == "GetItem" and response.get("Item"):
            self.items_read += 1

    def reset(self) -> None:
        self.requests.clear()
        self.items_read = 0


def fake_aws_env() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "ONE_LOCAL": "1",
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


@contextmanager
def local_table() -> Iterator[Counter]:
    fake_aws_env()
    import boto3
    from moto import mock_aws

    from infra.local.aws import create_table, install_moto_lock
    from infra.local.moto_patches import install_moto_patches
    from ontology.data.dynamodb import add_listener, remove_listener, reset_default_store
    from ontology.data.models import configure_models
    from ontology.settings import configure

    install_moto_lock()
    install_moto_patches()
    with mock_aws():
        configure(None)
        configure(table_name="one-bench", dynamodb_endpoint=None)
        configure_models(table_name="one-bench", host="")
        reset_default_store()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "one-bench")
        born_migrated()
        counter = Counter()
        add_listener(counter)
        try:
            yield counter
        finally:
            remove_listener(counter)
            reset_default_store()


def born_migrated() -> None:
    """Record every declared data migration done on the new table, as the local stack does for a new
    state folder: what the bench measures is the data layer once its migrations have run."""
    from ontology.data import search_legacy
    from ontology.data.dynamodb import default_store
    from ontology.data.keys import now_ms
    from ontology.data.migrations.progress import born
    from ontology.data.migrations.registry import registered

    search_legacy.reset()  # a new table: a search learns from it that the first layout is gone
    for migration in registered():
        born(default_store(), migration.id, migration.description, now=now_ms())
    from ontology.data.relation_counts import migrated

    migrated(default_store())  # a warm Lambda knows the counts' migration done (read once a process)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_session(org: str = ORG, role: str = "org_owner") -> dict[str, str]:
    """A live session of a member of ``org`` (as sign-in writes one); the authorizer's context for it
    (``{sessionId, userId}``: what the authorizer hands every function, which reads the session)."""
    import time as _time

    from ontology import run_mutation

    user = "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
    now = _time.time() * 1000
    session: str = run_mutation(
        lambda db: db.insert(
            "sessions",
            {
                "userId": user,
                "tokenHash": "bench",
                "expiresAt": now + 3_600_000,
                "activeOrganizationId": org,
                "role": role,
                "createdAt": now,
                "updatedAt": now,
            },
        ),
        org=None,
        platform=True,
    )
    return {"sessionId": session, "userId": user}


def seed_creator(
    posts: int = 0, *, post: Callable[[int], dict[str, Any]] | None = None, per_transaction: int = 10
) -> str:
    """A creator with ``posts`` authored blog posts (``post(i)``: the post's name and properties;
    ``per_transaction`` of them per transaction); its id."""
    from ontology import run_mutation

    creator: str = run_mutation(
        lambda db: db.insert(
            "entities",
            {
                "type": "creator",
                "name": "Ada",
                "createdAt": 0,
                "updatedAt": 0,
                "properties": {"email": "ada@example.com", "username": "ada", "displayName": "Ada"},
            },
        ),
        org=ORG,
    )
    for start in range(0, posts, per_transaction):

        def body(db: Any, start: int = start) -> None:
            for i in range(start, min(start + per_transaction, posts)):
                fields = post(i) if post else {"name": f"p{i}"}
                doc = {"type": "blog_post", "createdAt": 0, "updatedAt": 0, **fields}
                db.insert(
                    "connections",
                    {
                        "fromEntityId": creator,
                        "toEntityId": db.insert("entities", doc),
                        "relationshipType": "authored",
                        "createdAt": 0,
                    },
                )

        run_mutation(body, org=ORG)
    return creator


@contextmanager
def vectors_and_ai(dimensions: int = 64) -> Iterator[tuple[Any, list[str]]]:
    """Inside ``local_table()``: the template's vector bucket and index in moto, the local model in
    process as the AI port (``LocalAI``, counting its calls); yields it and the list of S3 Vectors
    operations called."""
    from infra.local.openai_stub import LocalAI
    from infra.local.vectors import local_vectors
    from ontology.aws import client as aws_client
    from ontology.providers.ai import set_ai

    with local_vectors(dimensions, "one-bench"):
        ai = LocalAI(dimensions)
        set_ai(ai)  # type: ignore[arg-type]
        vector_calls: list[str] = []
        aws_client("s3vectors").meta.events.register(
            "before-call.s3vectors", lambda model, **_: vector_calls.append(model.name)
        )
        try:
            yield ai, vector_calls
        finally:
            set_ai(None)


def index_knowledge_vectors(table_name: str = "one-bench") -> None:
    """Put the knowledge table's vectors into S3 Vectors, as its stream indexer does in AWS."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from ontology.data.vectors import index_records

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table_name)
    index_records(
        [
            {"dynamodb": {"NewImage": item.to_json()["Attributes"]}}
            for item in table.all_items()
            if item.attrs["tb"].value == "knowledge"
        ]
    )
