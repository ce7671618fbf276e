"""AI clones: what one ``clones:chat`` asks of DynamoDB, the model and S3 Vectors, counted in process
on moto as its Lambda runs it (a clone trained on 10 posts, a second turn of a conversation)."""

from __future__ import annotations

from typing import Any

from bench.harness import ORG, local_table, result


def run() -> list[dict[str, Any]]:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from infra.local.openai_stub import embedding
    from infra.local.vectors import create_resources
    from infra.template import load_template
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.aws import client as aws_client
    from ontology.aws import reset_clients
    from ontology.data.vectors import index_records
    from ontology.providers.ai import ChatReply, set_ai
    from ontology.runtime.context import invoke
    from ontology.runtime.jobs import run_pending
    from ontology.runtime.registry import resolve
    from ontology.settings import configure

    class _AI:
        calls = 0

        def embed(self, text: str) -> list[float]:
            _AI.calls += 1
            return embedding(text, 64)

        def embed_many(self, texts: list[str]) -> list[list[float]]:
            _AI.calls += 1
            return [embedding(t, 64) for t in texts]

        def chat(
            self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7
        ) -> ChatReply:
            _AI.calls += 1
            return ChatReply(content=f"reply to {messages[-1]['content']}", model="bench")

    vector_calls: list[str] = []
    with local_table() as counter:
        made = create_resources(
            boto3.client("s3vectors", region_name="us-east-1"), load_template(), "one-bench", dimensions=64
        )
        configure(vector_bucket_arn=made["VectorBucket"], embedding_dimensions=64)
        reset_clients()
        set_ai(_AI())  # type: ignore[arg-type]
        try:

            def seed(db: Any) -> tuple[str, str]:
                now = 1
                creator = db.insert(
                    "entities",
                    {
                        "type": "creator",
                        "name": "Ada",
                        "status": "active",
                        "createdAt": now,
                        "updatedAt": now,
                        "properties": {"email": "ada@example.com", "username": "ada", "displayName": "Ada"},
                    },
                )
                fan = db.insert(
                    "entities",
                    {
                        "type": "audience_member",
                        "name": "Fan",
                        "status": "active",
                        "createdAt": 1,
                        "updatedAt": 1,
                        "properties": {},
                    },
                )
                return creator, fan

            creator, fan = run_mutation(seed, org=ORG)
            for i in range(10):
                run_mutation(
                    lambda db, i=i: db.insert(
                        "connections",
                        {
                            "fromEntityId": creator,
                            "toEntityId": db.insert(
                                "entities",
                                {
                                    "type": "blog_post",
                                    "name": f"Post {i} about marathon pacing",
                                    "status": "published",
                                    "createdAt": 1,
                                    "updatedAt": 1,
                                    "properties": {
                                        "body": f"Lesson {i}: run the first half slower than the second."
                                    },
                                },
                            ),
                            "relationshipType": "authored",
                            "createdAt": 1,
                        },
                    ),
                    org=ORG,
                )
            owner = Identity(userId="usr_bench", organizationId=ORG, role="org_owner", entityId=fan)
            clone = invoke(resolve("clones:create"), {"creatorId": creator}, owner)["cloneId"]
            run_pending()
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table("one-bench")
            index_records(
                [
                    {"dynamodb": {"NewImage": item.to_json()["Attributes"]}}
                    for item in table.all_items()
                    if item.attrs["tb"].value == "knowledge"
                ]
            )
            first = invoke(resolve("clones:chat"), {"cloneId": clone, "message": "How do I pace?"}, owner)
            aws_client("s3vectors").meta.events.register(
                "before-call.s3vectors", lambda model, **_: vector_calls.append(model.name)
            )
            counter.reset()
            _AI.calls = 0
            second = invoke(
                resolve("clones:chat"),
                {
                    "cloneId": clone,
                    "message": "And the second half?",
                    "conversationId": first["conversationId"],
                },
                owner,
            )
            assert second["sources"], "the chat found no knowledge"
        finally:
            set_ai(None)
            configure(vector_bucket_arn="", embedding_dimensions=1536)
            reset_clients()
    return [
        result("clones:chat (a second turn): DynamoDB requests", len(counter.requests), "report", True),
        result("clones:chat (a second turn): model calls (embedding + chat)", _AI.calls, "report", True),
        result("clones:chat (a second turn): S3 Vectors requests", len(vector_calls), "report", True),
    ]
