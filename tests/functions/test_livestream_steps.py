"""The co-host's reply step delivered twice (one reply), after the stream ended (none), the model down
(none, nothing half-written), and what counts as a question for the co-host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ontology import UpstreamError, run_mutation, run_query
from ontology.providers.ai import ChatReply
from tests.data.helpers import ORG

DIMS = 16


class _AI:
    def __init__(self) -> None:
        self.down = False
        self.chats = 0

    def embed(self, text: str) -> list[float]:
        from infra.local.openai_stub import embedding

        return embedding(text, DIMS)

    def embed_many(self, texts: list[str]) -> list[list[float]]:
        return [self.embed(t) for t in texts]

    def chat(
        self, *, system_prompt: str, messages: list[dict[str, str]], temperature: float = 0.7
    ) -> ChatReply:
        if self.down:
            raise UpstreamError("OpenAI: APIConnectionError")
        self.chats += 1
        return ChatReply(content=f"About {messages[-1]['content']}: feed it daily.", model="test")


@pytest.fixture
def ai(table: str) -> Iterator[_AI]:
    import boto3

    from infra.local.vectors import create_resources
    from infra.template import load_template
    from ontology.aws import reset_clients
    from ontology.providers.ai import set_ai
    from ontology.settings import configure

    made = create_resources(
        boto3.client("s3vectors", region_name="us-east-1"), load_template(), "one-test", dimensions=DIMS
    )
    configure(vector_bucket_arn=made["VectorBucket"], embedding_dimensions=DIMS)
    reset_clients()
    fake = _AI()
    set_ai(fake)  # type: ignore[arg-type]
    yield fake
    set_ai(None)
    configure(vector_bucket_arn="", embedding_dimensions=1536)
    reset_clients()


def _call(path: str, args: dict[str, Any], entity: str | None = None) -> Any:
    from ontology.auth.identity import Identity
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    identity = Identity(userId="usr_test", organizationId=ORG, role="org_owner", entityId=entity)
    return invoke(resolve(path), args, identity)


def _live() -> dict[str, str]:
    """A started stream co-hosted by a clone, and a question waiting for its reply."""
    import time

    def body(db: Any) -> tuple[str, str]:
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

    creator, fan = run_mutation(body, org=ORG)
    clone = _call("clones:create", {"creatorId": creator})["cloneId"]
    _call("clones:finish_training", {"cloneId": clone})
    stream = _call(
        "livestreams:schedule",
        {
            "creatorId": creator,
            "title": "Starters",
            "scheduledFor": int(time.time() * 1000),
            "cloneId": clone,
        },
    )["livestreamId"]
    _call("livestreams:start", {"livestreamId": stream})
    _call("livestreams:join", {"livestreamId": stream}, entity=fan)
    sent = _call("livestreams:send_message", {"livestreamId": stream, "text": "How often?"}, entity=fan)
    assert sent["cohostReplying"] is True
    return {"stream": stream, "question": sent["messageId"], "clone": clone, "fan": fan}


def _chat(stream: str) -> list[dict[str, Any]]:
    page = _call(
        "livestreams:chat", {"livestreamId": stream, "paginationOpts": {"numItems": 50, "cursor": None}}
    )
    return list(page["page"])


def _interactions(stream: str) -> int:
    events = run_query(lambda db: db.query("events").collect(), org=ORG)
    return sum(1 for e in events if e["type"] == "livestream_interaction" and e["targetId"] == stream)


def test_the_reply_step_delivered_twice_replies_once(ai: _AI) -> None:
    live = _live()
    step = {"livestreamId": live["stream"], "messageId": live["question"]}
    assert _call("livestreams:cohost_reply", step)["posted"] is True
    assert _call("livestreams:cohost_reply", step) == {"posted": False}  # answered already: no model call
    assert ai.chats == 1
    again = _call("livestreams:post_reply", {**step, "text": "A second answer"})  # a racing second step
    assert again["posted"] is False
    chat = _chat(live["stream"])
    assert [m["properties"]["senderId"] for m in chat] == [live["fan"], live["clone"]]
    assert chat[1]["properties"]["inReplyTo"] == live["question"]
    assert _interactions(live["stream"]) == 3  # joined, the question, the reply
    stream = _call("livestreams:get", {"livestreamId": live["stream"]})
    assert stream["properties"]["messageCount"] == 2


def test_no_reply_once_the_stream_has_ended_or_with_the_model_down(ai: _AI) -> None:
    live = _live()
    step = {"livestreamId": live["stream"], "messageId": live["question"]}
    ai.down = True
    with pytest.raises(UpstreamError):
        _call("livestreams:cohost_reply", step)
    assert len(_chat(live["stream"])) == 1, "nothing half-written"
    ai.down = False
    _call("livestreams:end", {"livestreamId": live["stream"]})
    assert _call("livestreams:cohost_reply", step) == {"posted": False}
    assert _call("livestreams:post_reply", {**step, "text": "late"})["posted"] is False
    assert len(_chat(live["stream"])) == 1


def test_a_message_sent_again_with_its_key_is_sent_once(ai: _AI) -> None:
    live = _live()
    args = {"livestreamId": live["stream"], "text": "Hello all", "idempotencyKey": "hello-key-1"}
    first = _call("livestreams:send_message", args, entity=live["fan"])
    assert _call("livestreams:send_message", args, entity=live["fan"])["messageId"] == first["messageId"]
    assert len(_chat(live["stream"])) == 2


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("How often do you feed it?", True),
        ("how often?  ", True),
        ("@clone what flour", True),
        ("@Ada which flour", True),
        ("Ada, which flour", True),
        ("Great stream", False),
        ("Adam, hi", False),
    ],
)
def test_what_counts_as_a_question_for_the_cohost(text: str, asked: bool) -> None:
    from functions.livestreams import is_question_for

    assert is_question_for(text, "Ada (AI clone)") is asked
