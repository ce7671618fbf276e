"""Knowledge and search through the local stack as ``make dev`` starts it: ``knowledge:add`` (chunks,
embeddings from the local OpenAI-compatible endpoint, vectors from the table's stream into S3 Vectors
on moto), ``knowledge:search`` (the local QueryVectors), ``entities:search``; tenancy, bad input
(typed 400s, nothing written), a restart (the vectors come back), and no call to AWS itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from ontology.client import OneClient
from tests.infra.localstack import Stack, running_stack, signed_in

RUNNING = (
    "Running a marathon takes a training plan: build the long run slowly, week by week, and rest "
    "before race day."
)
BAKING = "Sourdough bread needs a lively starter and a long, cold proof in the fridge overnight."
MONEY = "A balanced portfolio mixes index funds and bonds, and rebalances once a year."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "knowledge")


@pytest.fixture(scope="module")
def owner(stack: Stack) -> OneClient:
    return OneClient(stack.url, token=stack.token())


@pytest.fixture(scope="module")
def creator(owner: OneClient) -> str:
    email = f"runner-{time.time_ns()}@example.com"
    return str(
        owner.mutation("creators:create", {"email": email, "name": "Ada Runner", "niche": ["fitness"]})[
            "creatorId"
        ]
    )


def _search(client: OneClient, query: str, ids: list[str] | None = None, **args: object) -> list[dict]:
    """Search once the given chunks are indexed (the vectors follow the table's stream: milliseconds)."""
    deadline = time.monotonic() + 10
    while True:
        hits = client.action("knowledge:search", {"query": query, **args})
        ready = bool(hits) if ids is None else set(ids) <= {h["_id"] for h in hits}
        if ready or time.monotonic() > deadline:
            return list(hits)
        time.sleep(0.05)


def test_add_then_search_by_meaning(owner: OneClient, creator: str) -> None:
    added = [
        owner.action("knowledge:add", {"sourceId": creator, "text": t, "labels": {"topic": k}})
        for k, t in (("running", RUNNING), ("baking", BAKING), ("money", MONEY))
    ]
    assert all(a["added"] == 1 and a["existing"] == 0 for a in added)
    everything = [i for a in added for i in a["ids"]]
    hits = _search(owner, "marathon training plan", everything, sourceId=creator, limit=3)
    assert hits[0]["text"] == RUNNING
    assert hits[0]["labels"] == {"topic": "running"}
    assert hits[0]["_score"] > hits[1]["_score"]
    assert [h["_score"] for h in hits] == sorted((h["_score"] for h in hits), reverse=True)
    assert "embedding" not in hits[0]
    # the same text again: nothing new is stored
    again = owner.action("knowledge:add", {"sourceId": creator, "text": RUNNING})
    assert again == {"sourceId": creator, "ids": added[0]["ids"], "added": 0, "existing": 1}


def test_long_text_is_chunked(owner: OneClient, creator: str) -> None:
    topics = ["kettlebell swings", "open water swimming", "hill repeats", "yoga flow", "rowing machine",
              "jump rope", "trail cycling", "foam rolling", "box jumps", "tempo runs", "rock climbing",
              "sauna recovery"]  # fmt: skip
    text = "\n\n".join(
        f"Part {i + 1}. "
        + " ".join(f"This part covers {t}: how to start {t}, and how to progress {t}." for _ in range(4))
        for i, t in enumerate(topics)
    )
    added = owner.action("knowledge:add", {"sourceId": creator, "text": text})
    assert added["added"] == len(added["ids"]) >= 4
    hits = _search(owner, "kettlebell swings", added["ids"][:1], sourceId=creator, limit=3)
    assert "kettlebell swings" in hits[0]["text"]
    assert hits[0]["chunkIndex"] == 0


def test_another_organization_finds_nothing(stack: Stack, owner: OneClient, creator: str) -> None:
    other = OneClient(stack.url, token=signed_in(stack, f"other-{time.time_ns()}@example.com"))
    assert other.action("knowledge:search", {"query": "marathon training plan"}) == []
    with pytest.raises(Exception) as err:  # a source of another organization is not found
        other.action("knowledge:add", {"sourceId": creator, "text": "mine now"})
    assert getattr(err.value, "code", None) == "NOT_FOUND"
    assert _search(owner, "mine now", sourceId=creator, limit=3)[0]["text"] != "mine now"


@pytest.mark.parametrize(
    ("path", "args", "field"),
    [
        ("knowledge:add", {"text": ""}, "text"),
        ("knowledge:add", {"text": "?!"}, "text"),
        ("knowledge:add", {"text": "word " * 10_000}, "text"),
        ("knowledge:add", {"text": "x", "labels": {"bad key": "v"}}, None),
        ("knowledge:add", {"text": "x", "sourceId": "nope"}, "sourceId"),
        ("knowledge:search", {"query": ""}, "query"),
        ("knowledge:search", {"query": "x" * 1001}, "query"),
        ("knowledge:search", {"query": "run", "limit": 0}, "limit"),
        ("knowledge:search", {"query": "run", "limit": 257}, "limit"),
        ("entities:search", {"query": ""}, "query"),
        ("entities:search", {"query": " ".join(f"t{i}" for i in range(17))}, "search"),
        ("entities:search", {"query": "run", "limit": 500}, "limit"),
        ("entities:search", {"query": "run", "type": "no_such_type"}, "type"),
    ],
)
def test_bad_input_is_a_typed_400_and_writes_nothing(
    stack: Stack, creator: str, path: str, args: dict, field: str | None
) -> None:
    body = {"sourceId": creator, **args} if path == "knowledge:add" else args
    module, name = path.split(":")
    before = httpx.post(
        f"{stack.url}/api/knowledge/search",
        json={"query": "week", "sourceId": creator, "limit": 256},
        headers={"Authorization": f"Bearer {stack.token()}"},
    ).json()
    r = httpx.post(
        f"{stack.url}/api/{module}/{name}", json=body, headers={"Authorization": f"Bearer {stack.token()}"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["errorData"]["code"] == "VALIDATION_ERROR"
    if field:
        assert field in r.text
    after = httpx.post(
        f"{stack.url}/api/knowledge/search",
        json={"query": "week", "sourceId": creator, "limit": 256},
        headers={"Authorization": f"Bearer {stack.token()}"},
    ).json()
    assert len(after) == len(before)


def test_entities_search_finds_what_was_just_written(owner: OneClient) -> None:
    made = owner.mutation(
        "entities:create", {"type": "blog_post", "name": "Hill Sprint Workout", "status": "draft"}
    )
    found = owner.query("entities:search", {"query": "hill spr", "type": "blog_post"})
    assert [d["_id"] for d in found] == [made["id"]]
    owner.mutation("entities:archive", {"id": made["id"]})
    assert owner.query("entities:search", {"query": "sprint", "status": "draft"}) == []
    assert [d["_id"] for d in owner.query("entities:search", {"query": "sprint"})] == [made["id"]]


def test_vectors_come_back_after_a_restart(stack: Stack, creator: str) -> None:
    stack.stop()
    stack.start()
    client = OneClient(stack.url, token=stack.token())
    hits = client.action(
        "knowledge:search", {"query": "marathon training plan", "sourceId": creator, "limit": 1}
    )
    assert hits and hits[0]["text"] == RUNNING
