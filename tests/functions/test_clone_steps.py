"""The clone's training steps, each delivered twice, and the model failing at each step: the clone
ends trained once (no duplicate knowledge, connection or tag) or still training, never half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ontology import UpstreamError, run_mutation, run_query
from tests.data.helpers import ORG

DIMS = 16


class _AI:
    def __init__(self) -> None:
        self.down = False

    def embed(self, text: str) -> list[float]:
        return self.embed_many([text])[0]

    def embed_many(self, texts: list[str]) -> list[list[float]]:
        from infra.local.openai_stub import embedding

        if self.down:
            raise UpstreamError("OpenAI: APIConnectionError")
        return [embedding(t, DIMS) for t in texts]


@pytest.fixture
def ai(table: str) -> Iterator[_AI]:
    from ontology.providers.ai import set_ai
    from ontology.settings import configure

    fake = _AI()
    set_ai(fake)  # type: ignore[arg-type]
    configure(embedding_dimensions=DIMS)
    yield fake
    set_ai(None)
    configure(embedding_dimensions=1536)


def _seed() -> tuple[str, list[str]]:
    def body(db: Any) -> tuple[str, list[str]]:
        creator = db.insert(
            "entities",
            {
                "type": "creator",
                "name": "Ada",
                "status": "active",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {"email": "ada@example.com", "username": "ada", "displayName": "Ada"},
            },
        )
        posts = []
        for i in range(3):
            post = db.insert(
                "entities",
                {
                    "type": "blog_post",
                    "name": f"Post {i}",
                    "status": "published",
                    "createdAt": 1,
                    "updatedAt": 1,
                    "properties": {"body": f"Everything about topic {i}, in a few words."},
                },
            )
            db.insert(
                "connections",
                {"fromEntityId": creator, "toEntityId": post, "relationshipType": "authored", "createdAt": 1},
            )
            posts.append(post)
        return creator, posts

    return run_mutation(body, org=ORG)


def _call(path: str, args: dict[str, Any]) -> Any:
    from ontology.auth.identity import Identity
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    return invoke(resolve(path), args, Identity(userId="usr_test", organizationId=ORG, role="org_owner"))


def _state() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in ("entities", "connections", "events", "tags", "knowledge"):
        docs = run_query(lambda db, t=t: db.query(t).collect(), org=ORG)
        out[t] = sorted(str({k: v for k, v in d.items() if k not in ("updatedAt",)}) for d in docs)
    return out


def test_each_training_step_delivered_twice_changes_nothing(ai: _AI) -> None:
    from ontology.runtime.jobs import run_pending

    creator, posts = _seed()
    clone = _call("clones:create", {"creatorId": creator})["cloneId"]
    run_pending()
    done = _call("clones:get", {"cloneId": clone})
    assert done["trainingStatus"] == "active" and done["knowledgeBaseSize"] == 3
    before = _state()
    # every step again, as an at-least-once delivery would run it
    assert _call("clones:train", {"cloneId": clone}) == {"cloneId": clone, "added": 0, "done": True}
    plan = _call("clones:training_plan", {"cloneId": clone})
    assert plan["items"] == []
    again = _call(
        "clones:add_knowledge_item",
        {"cloneId": clone, "contentId": posts[0], "title": "Post 0", "chunks": []},
    )
    assert again["created"] is False
    _call("clones:finish_training", {"cloneId": clone})
    after = _state()
    # the same documents (the clone's lastTrainingDate moves, nothing else is added or doubled)
    assert {t: len(v) for t, v in after.items()} == {t: len(v) for t, v in before.items()}
    assert after["knowledge"] == before["knowledge"] and after["tags"] == before["tags"]
    assert after["connections"] == before["connections"]


def test_the_model_failing_at_each_step_leaves_no_half_clone(ai: _AI) -> None:
    from ontology.runtime.jobs import run_pending

    creator, _ = _seed()
    ai.down = True
    clone = _call("clones:create", {"creatorId": creator})["cloneId"]
    states = run_pending()
    assert list(states.values()) == ["failed"]
    assert _call("clones:get", {"cloneId": clone})["trainingStatus"] == "training"
    items = run_query(
        lambda db: (
            db.query("entities").with_index("by_type", lambda q: q.eq("type", "knowledge_item")).collect()
        ),
        org=ORG,
    )
    assert items == [] and run_query(lambda db: db.query("knowledge").collect(), org=ORG) == []
    ai.down = False
    _call("clones:create", {"creatorId": creator})  # asking again trains it
    run_pending()
    done = _call("clones:get", {"cloneId": clone})
    assert done["trainingStatus"] == "active" and done["knowledgeBaseSize"] == 3
