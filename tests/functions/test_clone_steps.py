"""The clone's training steps, each delivered twice, and the model failing at each step: the clone
ends trained once (no duplicate knowledge, connection or tag) or still training, never half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.openai_stub import LocalAI
from ontology import run_mutation, run_query
from tests.data import helpers
from tests.data.helpers import ORG, every_document
from tests.functions.conftest import local_ai, run_as_owner

DIMS = 16


@pytest.fixture
def ai(table: str) -> Iterator[LocalAI]:
    with local_ai(LocalAI(DIMS), DIMS) as fake:
        yield fake


def _seed() -> tuple[str, list[str]]:
    def body(db: Any) -> tuple[str, list[str]]:
        made = db.insert("entities", helpers.creator("ada@example.com", "Ada"))
        posts = []
        for i in range(3):
            body = {"body": f"Everything about topic {i}, in a few words."}
            posts.append(db.insert("entities", helpers.entity(name=f"Post {i}", status="published", **body)))
            db.insert("connections", helpers.connection(made, posts[-1]))
        return made, posts

    return run_mutation(body, org=ORG)


def _state() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in ("entities", "connections", "events", "tags", "knowledge"):
        docs = run_query(lambda db, t=t: every_document(db, t), org=ORG)
        out[t] = sorted(str({k: v for k, v in d.items() if k not in ("updatedAt",)}) for d in docs)
    return out


def test_each_training_step_delivered_twice_changes_nothing(ai: LocalAI) -> None:
    from ontology.runtime.jobs import run_pending

    creator, posts = _seed()
    clone = run_as_owner("clones:create", {"creatorId": creator})["cloneId"]
    run_pending()
    done = run_as_owner("clones:get", {"cloneId": clone})
    assert done["trainingStatus"] == "active" and done["knowledgeBaseSize"] == 3
    before = _state()
    # every step again, as an at-least-once delivery would run it
    assert run_as_owner("clones:train", {"cloneId": clone}) == {"cloneId": clone, "added": 0, "done": True}
    plan = run_as_owner("clones:training_plan", {"cloneId": clone})
    assert plan["items"] == []
    again = run_as_owner(
        "clones:add_knowledge_item",
        {"cloneId": clone, "contentId": posts[0], "title": "Post 0", "chunks": []},
    )
    assert again["created"] is False
    run_as_owner("clones:finish_training", {"cloneId": clone})
    after = _state()
    # the same documents (the clone's lastTrainingDate moves, nothing else is added or doubled)
    assert {t: len(v) for t, v in after.items()} == {t: len(v) for t, v in before.items()}
    assert after["knowledge"] == before["knowledge"] and after["tags"] == before["tags"]
    assert after["connections"] == before["connections"]


def test_the_model_failing_at_each_step_leaves_no_half_clone(ai: LocalAI) -> None:
    from ontology.runtime.jobs import run_pending

    creator, _ = _seed()
    ai.down = True
    clone = run_as_owner("clones:create", {"creatorId": creator})["cloneId"]
    states = run_pending()
    assert list(states.values()) == ["failed"]
    assert run_as_owner("clones:get", {"cloneId": clone})["trainingStatus"] == "training"
    items = run_query(
        lambda db: (
            db.query("entities").with_index("by_type", lambda q: q.eq("type", "knowledge_item")).collect()
        ),
        org=ORG,
    )
    assert items == [] and run_query(lambda db: every_document(db, "knowledge"), org=ORG) == []
    ai.down = False
    run_as_owner("clones:create", {"creatorId": creator})  # asking again trains it
    run_pending()
    done = run_as_owner("clones:get", {"cloneId": clone})
    assert done["trainingStatus"] == "active" and done["knowledgeBaseSize"] == 3
