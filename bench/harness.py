"""Shared benchmark harness: moto in-process behind the lock, the table from template.yaml, and a
request counter on the store."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    from ontology.data.models import configure_models
    from ontology.data.store import add_listener, remove_listener, reset_default_store
    from ontology.settings import configure

    install_moto_lock()
    install_moto_patches()
    with mock_aws():
        configure(None)
        configure(table_name="one-bench", dynamodb_endpoint=None)
        configure_models(table_name="one-bench", host="")
        reset_default_store()
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "one-bench")
        counter = Counter()
        add_listener(counter)
        try:
            yield counter
        finally:
            remove_listener(counter)
            reset_default_store()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_creator(posts: int = 0) -> str:
    """A creator with ``posts`` authored blog posts (batches of ten per transaction); its id."""
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
    for start in range(0, posts, 10):

        def body(db: Any, start: int = start) -> None:
            for i in range(start, min(start + 10, posts)):
                post = db.insert(
                    "entities", {"type": "blog_post", "name": f"p{i}", "createdAt": 0, "updatedAt": 0}
                )
                db.insert(
                    "connections",
                    {
                        "fromEntityId": creator,
                        "toEntityId": post,
                        "relationshipType": "authored",
                        "createdAt": 0,
                    },
                )

        run_mutation(body, org=ORG)
    return creator


class CountingAI:
    """The AI port as the local model answers it (deterministic embeddings, schema-valid structured
    output), counting the calls a function makes."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self.calls = 0

    def embed(self, text: str) -> list[float]:
        from infra.local.openai_stub import embedding

        self.calls += 1
        return embedding(text, self.dimensions)

    def embed_many(self, texts: list[str]) -> list[list[float]]:
        from infra.local.openai_stub import embedding

        self.calls += 1
        return [embedding(t, self.dimensions) for t in texts]

    def chat(self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7) -> Any:
        from ontology.providers.ai import ChatReply

        self.calls += 1
        return ChatReply(content=f"reply to {messages[-1]['content']}", model="bench")

    def chat_structured(
        self, *, system_prompt: str, messages: list[dict[str, str]], schema: Any, **_: Any
    ) -> Any:
        from openai.lib._pydantic import to_strict_json_schema

        from infra.local.openai_stub import schema_instance

        self.calls += 1
        return schema.model_validate(schema_instance(to_strict_json_schema(schema), messages[-1]["content"]))


@contextmanager
def vectors_and_ai(dimensions: int = 64) -> Iterator[tuple[CountingAI, list[str]]]:
    """Inside ``local_table()``: the template's vector bucket and index in moto, the platform pointed at
    them, a ``CountingAI`` as the AI port; yields it and the list of S3 Vectors operations called."""
    import boto3

    from infra.local.vectors import create_resources
    from infra.template import load_template
    from ontology.aws import client as aws_client
    from ontology.aws import reset_clients
    from ontology.providers.ai import set_ai
    from ontology.settings import configure

    made = create_resources(
        boto3.client("s3vectors", region_name="us-east-1"),
        load_template(),
        "one-bench",
        dimensions=dimensions,
    )
    configure(vector_bucket_arn=made["VectorBucket"], embedding_dimensions=dimensions)
    reset_clients()
    ai = CountingAI(dimensions)
    set_ai(ai)  # type: ignore[arg-type]
    vector_calls: list[str] = []
    aws_client("s3vectors").meta.events.register(
        "before-call.s3vectors", lambda model, **_: vector_calls.append(model.name)
    )
    try:
        yield ai, vector_calls
    finally:
        set_ai(None)
        configure(vector_bucket_arn="", embedding_dimensions=1536)
        reset_clients()


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
