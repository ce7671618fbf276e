"""Course generation step by step, in process: a course of 12 lessons (more than one transaction)
with a fault after each step (the model down, the model answering the wrong shape, the step's action
dying after its commit), each step delivered twice. The course ends complete or marked failed, never a
half course that looks complete; asking again with the same key resumes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.openai_stub import LocalAI
from ontology import UpstreamError, run_mutation, run_query
from tests.data import helpers
from tests.data.helpers import ORG
from tests.functions.conftest import local_ai, run_as_owner

DIMS = 16
LESSONS = 12
#: outline, the lessons, the publishing steps (two lessons each), the course's own
STEPS = 1 + LESSONS + LESSONS // 2 + 1
#: The tests that fail or kill every step in turn, each kind of step (outline, lesson, publishing
#: pair, the course's own) on a shorter course: every step's fault repeats the steps before it.
SHORT = 4
SHORT_STEPS = 1 + SHORT + SHORT // 2 + 1


class _AI(LocalAI):
    """The local model in process; ``fail_at``: the structured call numbers (1-based) that fail, with
    ``how`` "down" or "malformed"."""

    def __init__(self) -> None:
        super().__init__(DIMS)
        self.fail_at: set[int] = set()
        self.how = "down"

    def chat_structured(self, **kwargs: Any) -> Any:
        from ontology.errors import MalformedAnswerError

        if self.structured + 1 in self.fail_at:
            self.structured += 1
            if self.how == "down":
                raise UpstreamError("OpenAI: APIConnectionError")
            raise MalformedAnswerError("OpenAI: the answer did not match the schema after 3 attempts: x")
        return super().chat_structured(**kwargs)


@pytest.fixture
def ai(table: str) -> Iterator[_AI]:
    with local_ai(_AI(), DIMS) as fake:
        yield fake


def _jobs(state: str = "pending") -> list[dict[str, Any]]:
    from ontology.data.db import DatabaseReader
    from ontology.data.outbox import TABLE

    reader = DatabaseReader(None, platform=True)
    return list(reader.query(TABLE).with_index("by_state", lambda q: q.eq("state", state)).collect())


def _run_due(*, lose_after: int | None = None, twice: bool = False) -> None:
    """Run the jobs that are due (not the watchdogs of the future) until none is; ``lose_after``: the
    step whose action dies right after its commit (the next step's job is lost with it); ``twice``:
    every step's action delivered again after it ran."""
    from ontology.runtime.jobs import run_due

    def after(job: dict[str, Any]) -> None:
        if twice and job["name"] == "courses:write_step":
            run_as_owner("courses:write_step", job["args"])
        if lose_after is not None and job["args"].get("step") == lose_after:
            for lost in _jobs():
                if lost["name"] == "courses:write_step" and lost["args"]["step"] == lose_after + 1:
                    run_mutation(lambda db, i=lost["_id"]: db.delete(i), org=None, platform=True)

    run_due(after)


def _seed() -> str:
    made = run_mutation(lambda db: db.insert("entities", helpers.creator("ada@example.com", "Ada")), org=ORG)
    run_as_owner("clones:create", {"creatorId": made})
    _run_due()
    return str(made)


def _course_docs(course_id: str) -> dict[str, int]:
    """What the course has written: lessons, content entities, connections, events, tags."""

    def body(db: Any) -> dict[str, int]:
        lessons = [
            d
            for d in db.query("entities").with_index("by_type", lambda q: q.eq("type", "lesson")).collect()
            if d["properties"].get("courseId") == course_id
        ]
        ids = {d["_id"] for d in lessons}
        contents = [
            d
            for t in ("video", "blog_post")
            for d in db.query("entities").with_index("by_type", lambda q, t=t: q.eq("type", t)).collect()
            if d["properties"].get("lessonId") in ids
        ]
        published = sum(1 for d in lessons + contents if d["status"] == "published")
        events = db.query("events").with_index("by_timestamp").collect()
        return {
            "lessons": len(lessons),
            "contents": len(contents),
            "published": published,
            "generated": sum(
                1 for e in events if e["type"] == "clone_generated_content" and e["targetId"] in ids
            ),
            "created": sum(1 for e in events if e["type"] == "course_created" and e["targetId"] == course_id),
            "tags": len(
                db.query("tags").with_index("by_entity", lambda q: q.eq("entityId", course_id)).collect()
            ),
        }

    return run_query(body, org=ORG)


def _assert_complete(course_id: str, lessons: int = LESSONS) -> None:
    course = run_as_owner("courses:get", {"courseId": course_id})
    assert course["status"] == "published" and course["generation"]["state"] == "complete"
    assert [lesson["lessonIndex"] for lesson in course["lessonList"]] == list(range(1, lessons + 1))
    docs = _course_docs(course_id)
    assert docs["lessons"] == lessons and docs["contents"] == 3 * lessons and docs["published"] == 4 * lessons
    assert docs["generated"] == lessons and docs["created"] == 1 and docs["tags"] >= 4


def _assert_failed_not_half_complete(course_id: str, step: int, lessons: int = LESSONS) -> None:
    course = run_as_owner("courses:get", {"courseId": course_id})
    assert course["status"] == "draft", "a failed course never looks complete"
    assert course["generation"]["state"] == "failed" and course["generation"]["step"] == step
    assert course["generation"]["reason"]
    docs = _course_docs(course_id)
    assert docs["created"] == 0 and docs["tags"] == 0
    assert docs["lessons"] == min(max(step - 1, 0), lessons) and docs["contents"] == 3 * docs["lessons"]
    assert docs["generated"] == docs["lessons"]  # each lesson whole: its content and its event with it


def test_a_course_of_twelve_lessons_is_written_in_steps(ai: _AI) -> None:
    creator = _seed()
    started = run_as_owner(
        "courses:generate", {"creatorId": creator, "topic": "Sourdough baking", "lessons": LESSONS}
    )
    assert started == {
        "courseId": started["courseId"],
        "status": "draft",
        "generation": "outlining",
        "created": True,
    }
    course = run_as_owner("courses:get", {"courseId": started["courseId"]})
    assert course["status"] == "draft" and course["lessonList"] == []
    _run_due()
    _assert_complete(started["courseId"])
    assert ai.structured == 1 + LESSONS
    done = run_as_owner("courses:get", {"courseId": started["courseId"]})
    assert done["properties"]["totalDuration"] > 0 and done["properties"]["generatedBy"] == "ai"


def test_each_step_delivered_twice_writes_it_once(ai: _AI) -> None:
    creator = _seed()
    course = run_as_owner(
        "courses:generate", {"creatorId": creator, "topic": "Sourdough baking", "lessons": LESSONS}
    )
    _run_due(twice=True)
    _assert_complete(course["courseId"])
    for step in range(STEPS):  # and every step once more, after the end
        again = run_as_owner("courses:write_step", {"courseId": course["courseId"], "step": step})
        assert again["done"] == "already"
    _assert_complete(course["courseId"])


@pytest.mark.parametrize("how", ["down", "malformed"])
def test_the_model_failing_at_each_step_fails_the_course_and_asking_again_resumes(ai: _AI, how: str) -> None:
    """Step k (0: the outline, i: lesson i) finds the model down, or never answering in the right
    shape: the course is failed at k, never half complete; asked again with the same key, it resumes,
    and the model fails at step k + 1; and so on to the end."""
    creator = _seed()
    args = {
        "creatorId": creator,
        "topic": "Sourdough baking",
        "lessons": SHORT,
        "idempotencyKey": f"course-{how}",
    }
    ai.how = how
    ai.fail_at = {ai.structured + 1}
    course = run_as_owner("courses:generate", args)["courseId"]
    for step in range(SHORT + 1):
        _run_due()
        _assert_failed_not_half_complete(course, step, SHORT)
        reason = run_as_owner("courses:get", {"courseId": course})["generation"]["reason"]
        assert reason.startswith("UPSTREAM_ERROR") and ("schema" in reason) == (how == "malformed")
        ai.fail_at = {ai.structured + 2}  # this step again succeeds, the next one fails
        again = run_as_owner("courses:generate", args)
        assert again == {"courseId": course, "status": "draft", "generation": "resumed", "created": False}
    _run_due()
    _assert_complete(course, SHORT)
    assert run_as_owner("courses:generate", args)["generation"] == "complete"


def test_a_step_dying_after_each_commit_is_failed_by_its_watchdog(ai: _AI) -> None:
    """The action of step k dies right after its commit (the next step is lost with it): the
    watchdog of step k + 1 fails the course (it never stays writing, never half complete); asking
    again resumes it at k + 1; and so on after every step."""
    creator = _seed()
    args = {
        "creatorId": creator,
        "topic": "Sourdough baking",
        "lessons": SHORT,
        "idempotencyKey": "course-crash",
    }
    course = run_as_owner("courses:generate", args)["courseId"]
    for step in range(SHORT_STEPS - 1):
        _run_due(lose_after=step)
        stalled = run_as_owner("courses:get", {"courseId": course})
        assert stalled["status"] == "draft" and stalled["generation"]["state"] in ("outlining", "writing")
        assert stalled["generation"]["step"] == step + 1
        assert (
            run_as_owner("courses:watchdog", {"courseId": course, "step": step})["failed"] is False
        )  # it moved on
        assert run_as_owner("courses:watchdog", {"courseId": course, "step": step + 1})["failed"] is True
        failed = run_as_owner("courses:get", {"courseId": course})
        assert failed["status"] == "draft" and failed["generation"]["reason"].startswith("TIMEOUT")
        assert _course_docs(course)["created"] == 0
        assert run_as_owner("courses:generate", args)["generation"] == "resumed"
    _run_due()
    _assert_complete(course, SHORT)


def test_bad_input(ai: _AI) -> None:
    from ontology.errors import ConflictError, NotFoundError, ValidationError

    creator = _seed()
    for bad in (
        {"creatorId": creator, "topic": "x"},
        {"creatorId": creator, "topic": "Sourdough", "lessons": 0},
        {"creatorId": creator, "topic": "Sourdough", "lessons": 25},
        {"creatorId": creator, "topic": "Sourdough", "audience": "experts"},
        {"creatorId": creator, "topic": "Sourdough", "format": "podcast"},
        {"creatorId": creator, "topic": "Sourdough", "idempotencyKey": "no spaces allowed"},
    ):
        with pytest.raises(ValidationError):
            run_as_owner("courses:generate", bad)
    lone = run_mutation(lambda db: db.insert("entities", helpers.creator("bo@example.com", "Bo")), org=ORG)
    with pytest.raises(ConflictError):  # no clone to teach it
        run_as_owner("courses:generate", {"creatorId": lone, "topic": "Sourdough"})
    with pytest.raises(NotFoundError):
        run_as_owner("courses:generate", {"creatorId": "ent_" + "0" * 26, "topic": "Sourdough"})
