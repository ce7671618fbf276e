"""Course generation and livestreams with an AI co-host through the local stack as ``make dev``
starts it: the reference's "Course Generation" and "Livestream Session" mappings (their entities,
connections, events and tags, as tables), the model getting the outline wrong or going down, transitions
out of order, other organizations, and the co-host's reply pushed to a chat subscriber."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from tests.infra.localstack import (
    PAGE,
    Stack,
    connections_of,
    convex_query,
    events_of,
    running_stack,
    signed_in,
    tags_of,
    until,
)

#: The reference's "Course Generation": (what, kind, how it is found)
COURSE = [
    ("entity", "course", "the course"),
    ("entity", "lesson", "one per lesson"),
    ("entity", "content", "video, text and quiz for each lesson"),
    ("connection", "owns", "creator -> course"),
    ("connection", "generated_by", "agent -> course"),
    ("connection", "teaching", "ai_clone -> course"),
    ("connection", "part_of", "course -> lessons"),
    ("connection", "part_of/content", "lessons -> content"),
    ("event", "course_created", "once"),
    ("event", "clone_generated_content", "for each lesson"),
    ("tag", "skill", "what the course teaches"),
    ("tag", "industry", "its category"),
    ("tag", "audience", "the target skill level"),
    ("tag", "format", "video, text, interactive"),
]

#: The reference's "Livestream Session"
LIVESTREAM = [
    ("entity", "livestream"),
    ("entity", "recording"),
    ("entity", "message"),
    ("connection", "owns"),
    ("connection", "participated_in/clone"),
    ("connection", "hosted_on"),
    ("connection", "participated_in/viewer"),
    ("event", "livestream_status_changed"),
    ("event", "livestream_interaction"),
    ("event", "content_changed"),
    ("tag", "topic"),
    ("tag", "format"),
]

LESSONS = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "courses")


@pytest.fixture(scope="module")
def owner(stack: Stack) -> OneClient:
    return OneClient(stack.url, token=stack.token())


@pytest.fixture(scope="module")
def creator(owner: OneClient) -> dict[str, str]:
    made = owner.mutation(
        "creators:create",
        {"email": f"teach-{time.time_ns()}@example.com", "name": "Ada Baker", "niche": ["baking"]},
    )["creatorId"]
    post = owner.mutation(
        "entities:create",
        {
            "type": "blog_post",
            "name": "Feeding a sourdough starter",
            "status": "published",
            "properties": {"body": "Feed the starter twice a day with equal weights of flour and water."},
        },
    )["id"]
    owner.mutation(
        "connections:create", {"fromEntityId": made, "toEntityId": post, "relationshipType": "authored"}
    )
    clone = owner.mutation("clones:create", {"creatorId": made})["cloneId"]
    assert until(lambda: owner.query("clones:get", {"cloneId": clone})["trainingStatus"] == "active")
    return {"creator": made, "clone": clone, "post": post}


def _finished(owner: OneClient, course_id: str) -> dict[str, Any]:
    def settled() -> Any:
        course = owner.query("courses:get", {"courseId": course_id})
        return course if course["generation"]["state"] in ("complete", "failed") else None

    course = until(settled)
    assert course, "the generation did not finish"
    return dict(course)


@pytest.fixture(scope="module")
def course(owner: OneClient, creator: dict[str, str]) -> dict[str, Any]:
    started = owner.mutation(
        "courses:generate",
        {
            "creatorId": creator["creator"],
            "topic": "Sourdough for beginners",
            "lessons": LESSONS,
            "audience": "beginner",
            "format": "video",
        },
    )
    assert started["status"] == "draft" and started["created"] is True
    assert owner.query("entities:get", {"id": started["courseId"]})["status"] == "draft"  # usable at once
    done = _finished(owner, started["courseId"])
    assert done["generation"]["state"] == "complete", done["generation"]
    return done


@pytest.mark.parametrize(("what", "kind", "how"), COURSE)
def test_a_generated_course_writes_what_the_reference_lists(
    owner: OneClient, creator: dict[str, str], course: dict[str, Any], what: str, kind: str, how: str
) -> None:
    course_id = course["_id"]
    lessons = [lesson["lessonId"] for lesson in course["lessonList"]]
    if kind == "course":
        assert course["status"] == "published" and course["properties"]["generatedBy"] == "ai"
        assert course["properties"]["lessons"] == LESSONS and course["properties"]["totalDuration"] > 0
    elif kind == "lesson":
        assert len(lessons) == LESSONS and [x["lessonIndex"] for x in course["lessonList"]] == [1, 2, 3]
        assert all(owner.query("entities:get", {"id": x})["type"] == "lesson" for x in lessons)
    elif kind in ("content", "part_of/content"):
        for lesson in lessons:
            parts = connections_of(owner, lesson, "part_of")
            docs = [owner.query("entities:get", {"id": p["toEntityId"]}) for p in parts]
            assert sorted(d["properties"]["contentType"] for d in docs) == ["quiz", "text", "video"]
            assert all(d["status"] == "published" for d in docs)
            quiz = next(d for d in docs if d["properties"]["contentType"] == "quiz")
            assert quiz["properties"]["questions"] and len(quiz["properties"]["questions"][0]["options"]) == 4
    elif kind == "part_of":
        assert sorted(p["toEntityId"] for p in connections_of(owner, course_id, "part_of")) == sorted(lessons)
    elif what == "connection":
        sources = [c["fromEntityId"] for c in connections_of(owner, course_id, kind, "to")]
        expected = {"owns": creator["creator"], "teaching": creator["clone"]}.get(kind)
        assert len(sources) == 1 and (expected is None or sources == [expected])
        if kind == "generated_by":
            assert owner.query("entities:get", {"id": sources[0]})["type"].endswith("_agent")
    elif kind == "course_created":
        assert len(events_of(owner, course_id, kind)) == 1
    elif kind == "clone_generated_content":
        for lesson in lessons:
            events = events_of(owner, lesson, kind)
            assert len(events) == 1 and events[0]["actorId"] == creator["clone"]
    else:
        values = tags_of(owner, course_id).get(kind, set())
        assert values, f"no {kind} tag"
        if kind in ("audience", "format"):
            assert values == {"beginner" if kind == "audience" else "video"}


def test_a_malformed_outline_is_retried_then_fails_the_course_and_asking_again_resumes(
    stack: Stack, owner: OneClient, creator: dict[str, str]
) -> None:
    args = {
        "creatorId": creator["creator"],
        "topic": "Rye breads",
        "lessons": 2,
        "idempotencyKey": f"rye-{time.time_ns()}",
    }
    httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 2, "answer": "malformed"})
    retried = _finished(owner, owner.mutation("courses:generate", args)["courseId"])
    assert retried["generation"]["state"] == "complete", "two wrong answers, the third validates"
    args["idempotencyKey"] += "-b"
    httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 3, "answer": "malformed"})
    failed = _finished(owner, owner.mutation("courses:generate", args)["courseId"])
    gen = failed["generation"]
    assert gen["state"] == "failed" and gen["step"] == 0 and "schema" in gen["reason"]
    assert failed["status"] == "draft" and failed["lessonList"] == []
    assert events_of(owner, failed["_id"], "course_created") == [] and tags_of(owner, failed["_id"]) == {}
    again = owner.mutation("courses:generate", args)
    assert again["courseId"] == failed["_id"] and again["generation"] == "resumed"
    assert _finished(owner, failed["_id"])["generation"]["state"] == "complete"


def test_the_model_down_fails_the_course_with_upstream_error(
    stack: Stack, owner: OneClient, creator: dict[str, str]
) -> None:
    httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 30})  # beyond the SDK's retries
    try:
        started = owner.mutation(
            "courses:generate", {"creatorId": creator["creator"], "topic": "Focaccia", "lessons": 2}
        )
        failed = _finished(owner, started["courseId"])
    finally:
        httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 0})
    assert failed["generation"]["state"] == "failed" and failed["generation"]["reason"].startswith(
        "UPSTREAM_ERROR"
    )
    assert failed["status"] == "draft"


def test_courses_of_another_organization_and_bad_input(
    stack: Stack, owner: OneClient, creator: dict[str, str], course: dict[str, Any]
) -> None:
    from ontology.errors import NotFoundError, ValidationError

    other = OneClient(stack.url, token=signed_in(stack, f"other-{time.time_ns()}@example.com"))
    # a published course's page is public: another organization reads it as anyone does
    seen = other.query("courses:get", {"courseId": course["_id"]})
    assert seen == convex_query(stack, "courses:get", {"courseId": course["_id"]})
    assert seen["_id"] == course["_id"] and seen["generation"] is None
    with pytest.raises(NotFoundError):
        other.mutation("courses:generate", {"creatorId": creator["creator"], "topic": "Stolen"})
    with pytest.raises(ValidationError):
        owner.mutation(
            "courses:generate", {"creatorId": creator["creator"], "topic": "Too many", "lessons": 99}
        )


# ------------------------------------------------------------------------------------ livestreams


@pytest.fixture(scope="module")
def viewer(stack: Stack, owner: OneClient) -> OneClient:
    """A fan who joins the organization (open) as a customer."""

    org_id = stack.dev_session()["organizationId"]
    owner.action("organizations:update", {"joinPolicy": "open"})
    fan = OneClient(stack.url, token=signed_in(stack, f"fan-{time.time_ns()}@example.com"))
    fan.action("organizations:join", {"organizationId": org_id})
    fan.action("organizations:switch_active", {"organizationId": org_id})
    return fan


@pytest.fixture(scope="module")
def stream(owner: OneClient, viewer: OneClient, creator: dict[str, str]) -> dict[str, Any]:
    from ontology.errors import ConflictError

    scheduled = owner.mutation(
        "livestreams:schedule",
        {
            "creatorId": creator["creator"],
            "title": "Sourdough starters live",
            "scheduledFor": int(time.time() * 1000) + 60_000,
            "cloneId": creator["clone"],
            "topics": ["sourdough", "baking"],
        },
    )
    stream_id = scheduled["livestreamId"]
    assert scheduled["status"] == "scheduled"
    with pytest.raises(ConflictError):  # not live yet
        owner.mutation("livestreams:end", {"livestreamId": stream_id})
    assert owner.mutation("livestreams:start", {"livestreamId": stream_id})["status"] == "started"
    with pytest.raises(ConflictError):
        owner.mutation("livestreams:start", {"livestreamId": stream_id})
    assert viewer.mutation("livestreams:join", {"livestreamId": stream_id})["changed"] is True
    assert viewer.mutation("livestreams:join", {"livestreamId": stream_id})["changed"] is False  # once
    chat = {"livestreamId": stream_id, "paginationOpts": {"numItems": 50, "cursor": None}}
    with viewer.subscribe("livestreams:chat", chat) as sub:
        assert sub.get(timeout=30)["page"] == []
        sent = viewer.mutation(
            "livestreams:send_message",
            {"livestreamId": stream_id, "text": "How often do you feed the starter?"},
        )
        assert sent["cohostReplying"] is True
        pushed = sub.wait_for(lambda v: len(v["page"]) == 2, timeout=60)
    question, reply = pushed["page"]
    assert question["properties"]["text"].startswith("How often")
    assert (
        reply["properties"]["senderId"] == creator["clone"]
        and reply["properties"]["inReplyTo"] == sent["messageId"]
    )
    assert "flour" in reply["properties"]["text"].lower()  # grounded: the local model quotes the post
    statement = viewer.mutation(
        "livestreams:send_message", {"livestreamId": stream_id, "text": "Great stream"}
    )
    assert statement["cohostReplying"] is False
    assert viewer.mutation("livestreams:leave", {"livestreamId": stream_id})["changed"] is True
    assert viewer.mutation("livestreams:leave", {"livestreamId": stream_id})["changed"] is False
    ended = owner.mutation("livestreams:end", {"livestreamId": stream_id})
    assert ended["status"] == "ended" and ended["recordingId"]
    return {
        "id": stream_id,
        "recording": ended["recordingId"],
        "question": sent["messageId"],
        "viewer": viewer,
    }


def _viewer_entity(viewer: OneClient, stream: dict[str, Any]) -> str:
    page = viewer.query("livestreams:chat", {"livestreamId": stream["id"], "paginationOpts": PAGE})["page"]
    return str(page[0]["properties"]["senderId"])


@pytest.mark.parametrize(("what", "kind"), LIVESTREAM)
def test_a_livestream_writes_what_the_reference_lists(
    owner: OneClient, creator: dict[str, str], stream: dict[str, Any], what: str, kind: str
) -> None:
    sid = stream["id"]
    if kind == "livestream":
        doc = owner.query("livestreams:get", {"livestreamId": sid})
        assert doc["properties"]["streamStatus"] == "ended" and doc["properties"]["peakViewers"] == 1
    elif kind == "recording":
        rec = owner.query("entities:get", {"id": stream["recording"]})
        assert rec["type"] == "recording" and rec["properties"]["livestreamId"] == sid
        assert rec["properties"]["messageCount"] == 3
    elif kind == "message":
        page = owner.query("livestreams:chat", {"livestreamId": sid, "paginationOpts": PAGE})["page"]
        assert [m["type"] for m in page] == ["message"] * 3
        assert len(connections_of(owner, sid, "part_of", "to")) == 3
    elif kind == "owns":
        assert [c["fromEntityId"] for c in connections_of(owner, sid, "owns", "to")] == [creator["creator"]]
    elif kind == "hosted_on":
        hosts = connections_of(owner, sid, "hosted_on")
        assert (
            len(hosts) == 1
            and owner.query("entities:get", {"id": hosts[0]["toEntityId"]})["type"] == "website"
        )
    elif kind.startswith("participated_in"):
        sources = {c["fromEntityId"] for c in connections_of(owner, sid, "participated_in", "to")}
        if kind.endswith("clone"):
            assert creator["clone"] in sources
        else:
            assert _viewer_entity(owner, stream) in sources and len(sources) == 2
    elif kind == "livestream_status_changed":
        changes = sorted(
            (e["metadata"]["from"] or "", e["metadata"]["to"]) for e in events_of(owner, sid, kind)
        )
        assert changes == [("", "scheduled"), ("scheduled", "started"), ("started", "ended")]
    elif kind == "livestream_interaction":
        actions = sorted(e["metadata"]["action"] for e in events_of(owner, sid, kind))
        assert actions == ["joined", "left", "message", "message", "message"]
    elif kind == "content_changed":
        events = events_of(owner, stream["recording"], kind)
        assert len(events) == 1 and events[0]["metadata"]["livestreamId"] == sid
    else:
        tags = tags_of(owner, sid)
        assert tags[kind] == ({"sourdough", "baking"} if kind == "topic" else {"live"})


def test_livestream_transitions_and_bad_input(
    stack: Stack, owner: OneClient, creator: dict[str, str], stream: dict[str, Any]
) -> None:
    from ontology.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError

    viewer = stream["viewer"]
    for fn in ("livestreams:start", "livestreams:end"):
        with pytest.raises(ConflictError):  # an ended stream goes nowhere
            owner.mutation(fn, {"livestreamId": stream["id"]})
    with pytest.raises(ConflictError):
        viewer.mutation("livestreams:join", {"livestreamId": stream["id"]})
    with pytest.raises(ConflictError):
        viewer.mutation("livestreams:send_message", {"livestreamId": stream["id"], "text": "late?"})
    with pytest.raises(ForbiddenError):  # a customer does not schedule or start streams
        viewer.mutation(
            "livestreams:schedule",
            {
                "creatorId": creator["creator"],
                "title": "Mine",
                "scheduledFor": int(time.time() * 1000) + 60_000,
            },
        )
    past = {
        "creatorId": creator["creator"],
        "title": "Yesterday",
        "scheduledFor": int(time.time() * 1000) - 86_400_000,
    }
    with pytest.raises(ValidationError):
        owner.mutation("livestreams:schedule", past)
    with pytest.raises(NotFoundError):  # a clone must be a clone of this organization
        owner.mutation(
            "livestreams:schedule",
            {**past, "scheduledFor": int(time.time() * 1000), "cloneId": creator["post"]},
        )
    key = f"stream-{time.time_ns()}"
    args = {
        "creatorId": creator["creator"],
        "title": "Twice",
        "scheduledFor": int(time.time() * 1000),
        "idempotencyKey": key,
    }
    first = owner.mutation("livestreams:schedule", args)
    assert owner.mutation("livestreams:schedule", args) == {**first, "created": False}
    other = OneClient(stack.url, token=signed_in(stack, f"stranger-{time.time_ns()}@example.com"))
    assert other.query("livestreams:get", {"livestreamId": stream["id"]}) is None
    with pytest.raises(NotFoundError):
        other.mutation("livestreams:join", {"livestreamId": stream["id"]})
    page = other.query("livestreams:chat", {"livestreamId": stream["id"], "paginationOpts": PAGE})
    assert page["page"] == []


def test_the_model_down_writes_no_reply(stack: Stack, owner: OneClient, creator: dict[str, str]) -> None:
    live = owner.mutation(
        "livestreams:schedule",
        {
            "creatorId": creator["creator"],
            "title": "Quiet stream",
            "scheduledFor": int(time.time() * 1000),
            "cloneId": creator["clone"],
        },
    )["livestreamId"]
    owner.mutation("livestreams:start", {"livestreamId": live})
    httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 30})
    try:
        sent = owner.mutation("livestreams:send_message", {"livestreamId": live, "text": "Anyone there?"})
        assert sent["cohostReplying"] is True
        time.sleep(3)
    finally:
        httpx.post(f"{stack.url}/_local/openai/_fail", json={"times": 0})
    page = owner.query("livestreams:chat", {"livestreamId": live, "paginationOpts": PAGE})["page"]
    assert [m["_id"] for m in page] == [sent["messageId"]], "no reply, nothing half-written"


def test_a_subscribed_livestream_shows_its_message_count_move(
    owner: OneClient, creator: dict[str, str]
) -> None:
    """The count lives in the stream's counter, not its document: a subscriber of the stream still
    sees it go up with each message, and its recording counts what was sent."""
    live = owner.mutation(
        "livestreams:schedule",
        {"creatorId": creator["creator"], "title": "Counting live", "scheduledFor": int(time.time() * 1000)},
    )["livestreamId"]
    owner.mutation("livestreams:start", {"livestreamId": live})
    with owner.subscribe("livestreams:get", {"livestreamId": live}) as sub:
        assert sub.get(timeout=30)["properties"]["messageCount"] == 0
        for n in range(1, 4):
            owner.mutation("livestreams:send_message", {"livestreamId": live, "text": f"Message {n}"})
            pushed = sub.wait_for(lambda v, n=n: v["properties"]["messageCount"] == n, timeout=30)
            assert pushed["properties"]["messageCount"] == n
    ended = owner.mutation("livestreams:end", {"livestreamId": live})
    recording = owner.query("entities:get", {"id": ended["recordingId"]})
    assert recording["properties"]["messageCount"] == 3
    assert owner.query("livestreams:get", {"livestreamId": live})["properties"]["messageCount"] == 3
