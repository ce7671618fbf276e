"""The search paths apply the same rule as every read: a vector search keeps only the chunks its
caller may read (a clone's, to a member who may read the clone; a draft's, to staff only), and a
full-text search only the entities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ontology import run_mutation
from ontology.auth.identity import Identity
from ontology.runtime.context import invoke
from ontology.runtime.registry import resolve
from tests.data.helpers import ORG, entity

FAN = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8A"


@pytest.fixture
def chunks(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from infra.local.openai_stub import LocalAI
    from ontology.providers.ai import set_ai

    def body(db: Any) -> dict[str, str]:
        clone = db.insert("entities", entity("ai_clone", "Clone", "active", systemPrompt="p"))
        draft = db.insert("entities", entity("blog_post", "Marathon draft", "draft"))
        post = db.insert("entities", entity("blog_post", "Marathon pacing", "published"))
        chunk = {"kind": "chunk", "createdAt": 1, "updatedAt": 1, "labels": {}}
        return {
            "clone": clone,
            "draft": draft,
            "post": post,
            "of_clone": db.insert(
                "knowledge", {**chunk, "text": "pace evenly", "sourceId": draft, "ownerId": clone}
            ),
            "of_draft": db.insert("knowledge", {**chunk, "text": "unreleased plan", "sourceId": draft}),
            "of_post": db.insert("knowledge", {**chunk, "text": "negative splits", "sourceId": post}),
        }

    ids = run_mutation(body, org=ORG)
    hits = [
        {"_id": ids[k], "_score": 0.9 - i / 10} for i, k in enumerate(("of_clone", "of_draft", "of_post"))
    ]
    monkeypatch.setattr("ontology.data.vectors.vector_search", lambda *a, **k: list(hits))
    set_ai(LocalAI(8))
    try:
        yield ids
    finally:
        set_ai(None)


def _search(role: str) -> list[str]:
    who = Identity("usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", ORG, role, FAN)
    return [h["_id"] for h in invoke(resolve("knowledge:search"), {"query": "marathon pace"}, who)]


def test_a_vector_search_keeps_what_its_caller_may_read(chunks: dict[str, str]) -> None:
    assert _search("org_user") == [chunks["of_clone"], chunks["of_draft"], chunks["of_post"]]
    assert _search("customer") == [chunks["of_clone"], chunks["of_post"]]


def test_a_full_text_search_keeps_what_its_caller_may_read(chunks: dict[str, str]) -> None:
    def found(role: str) -> list[str]:
        who = Identity("usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", ORG, role, FAN)
        return [d["_id"] for d in invoke(resolve("entities:search"), {"query": "marathon"}, who)]

    assert sorted(found("org_user")) == sorted([chunks["draft"], chunks["post"]])
    assert found("customer") == [chunks["post"]]
