"""Courses: generating one with the creator's AI clone, and enrolling, free or paid in the course's
creator token.

``courses:generate`` writes the reference's "Course Generation" mapping in steps, each its own
transaction and each idempotent: at once the ``course`` entity (``draft``, ``generatedBy: "ai"``) with
creator → course ``owns``, agent → course ``generated_by`` and clone → course ``teaching``; then the
outline (the chat model's structured output, validated by ``Outline``); then one step per lesson (the
clone writes the lesson's video script, text and quiz, grounded on its knowledge: a ``lesson`` entity,
course → lesson ``part_of``, its three content entities, lesson → content ``part_of`` and
``clone_generated_content``); then the last step publishes the course with ``course_created`` and its
``skill``, ``industry``, ``audience`` and ``format`` tags. Until that step commits the course is
``draft``; a step that fails (the model down after its retries, an answer that never validates) marks
the generation ``failed`` with the reason, and a generation that stops making progress is marked failed
by its watchdog (one per generation, looking every STEP_DEADLINE_S). The same ``idempotencyKey``
again answers the same course (and resumes a failed one).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictStr

from ontology.data.fields import EntityId, IdempotencyKey
from ontology.errors import ConflictError, OneError, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut, Result
from ontology.services import grounding
from ontology.services.clones import agent_of
from ontology.services.ledger import move_tokens
from ontology.services.ontology_ops import (
    by_idempotency_key,
    log_event,
    member_entity,
    now_ms,
    require_entity,
)


class EnrollArgs(Args):
    courseId: EntityId


class Enrollment(Result):
    courseId: str
    tokensSpent: int
    balance: int | None = None


@mutation(args=EnrollArgs, returns=Enrollment)
def enroll(ctx: MutationCtx, args: EnrollArgs) -> dict[str, Any]:
    """Enroll the caller in a course. A course priced in tokens (``tokenPrice`` of ``tokenId``)
    moves that many of the caller's tokens to the course's creator in the same transaction
    (INSUFFICIENT_TOKENS when they hold fewer, and nothing is written); a course with a money price
    and no token price is not sold here. CONFLICT when already enrolled."""
    learner = member_entity(ctx.auth.require_identity(), "enroll")
    course = require_entity(ctx.db, args.courseId, field="courseId", kind="course")
    props = course["properties"]
    if course["status"] not in ("active", "published"):
        raise ValidationError("This course is not open for enrollment", field="courseId")
    enrolled = ctx.db.lookup_unique(
        "connections",
        "triple",
        {"fromEntityId": learner, "toEntityId": args.courseId, "relationshipType": "enrolled_in"},
    )
    if enrolled is not None:
        raise ConflictError("You are already enrolled in this course", field="courseId")
    token_price = int(props.get("tokenPrice") or 0)
    spent, balance = 0, None
    if token_price:
        token_id = props.get("tokenId")
        if not token_id:
            raise ValidationError("This course has a token price but no token", field="courseId")
        token = require_entity(ctx.db, token_id, field="tokenId", kind="token")
        payee = token["properties"].get("creatorId")
        if not payee:
            raise ValidationError("This course's token has no creator to pay", field="courseId")
        balance, _ = move_tokens(ctx.db, token_id, learner, payee, token_price)
        spent = token_price
    elif props.get("price"):
        raise ValidationError("This course is sold for money, not tokens", field="courseId")
    now = now_ms()
    ctx.db.insert(
        "connections",
        {
            "fromEntityId": learner,
            "toEntityId": args.courseId,
            "relationshipType": "enrolled_in",
            "metadata": {"tokensSpent": spent, "enrolledAt": now},
            "createdAt": now,
        },
    )
    ctx.db.patch(
        args.courseId,
        {"properties": {**props, "enrollments": int(props.get("enrollments", 0)) + 1}, "updatedAt": now},
        "entities",
    )
    log_event(
        ctx.db,
        "course_enrolled",
        actor_id=learner,
        target_id=args.courseId,
        timestamp=now,
        metadata={"tokensSpent": spent, **({"tokenId": props["tokenId"]} if spent else {})},
    )
    if spent:
        log_event(
            ctx.db,
            "tokens_earned",
            actor_id=learner,
            target_id=token["properties"]["creatorId"],
            timestamp=now,
            metadata={"tokenId": props["tokenId"], "amount": spent, "courseId": args.courseId},
        )
    return {"courseId": args.courseId, "tokensSpent": spent, "balance": balance}


# ------------------------------------------------------------------------------------- generation

MAX_LESSONS = 24
DEFAULT_LESSONS = 6
#: Lessons (each with its content) published per step: a status change rewrites each document's
#: search postings, so a batch stays well inside a transaction's 100 items.
PUBLISH_BATCH = 2
MAX_STEP = MAX_LESSONS + MAX_LESSONS // PUBLISH_BATCH + 1
#: A generation that has not moved on a step within this long is taken as stopped: it is failed.
STEP_DEADLINE_S = 15 * 60
#: The lesson content kinds (the reference's "video, text, quiz") and the entity type each is.
CONTENT_KINDS = (("video", "video"), ("text", "blog_post"), ("quiz", "blog_post"))

Topic = Annotated[StrictStr, Field(min_length=3, max_length=200)]
Audience = Literal["beginner", "intermediate", "advanced"]
Format = Literal["video", "text", "interactive"]


class GenerateArgs(Args):
    creatorId: EntityId
    topic: Topic
    lessons: Annotated[int, Field(ge=1, le=MAX_LESSONS)] = DEFAULT_LESSONS
    audience: Audience = "beginner"
    format: Format = "video"
    #: the same key again answers the same course (and resumes it when its generation failed)
    idempotencyKey: IdempotencyKey | None = None


class GenerateResult(Result):
    courseId: str
    status: str
    generation: str
    created: bool


class _Answer(BaseModel):
    model_config = {"extra": "forbid", "defer_build": True}


class OutlineLessonPlan(_Answer):
    title: Annotated[str, Field(min_length=3, max_length=200)]
    summary: Annotated[str, Field(min_length=3, max_length=1000)]
    minutes: Annotated[int, Field(ge=5, le=120)]


class OutlineBase(_Answer):
    title: Annotated[str, Field(min_length=3, max_length=200)]
    description: Annotated[str, Field(min_length=3, max_length=2000)]
    skills: Annotated[
        list[Annotated[str, Field(min_length=2, max_length=60)]], Field(min_length=1, max_length=5)
    ]
    industry: Annotated[str, Field(min_length=2, max_length=60)]
    # Its length is the course's: outline_model narrows it to exactly that many.
    lessons: list[OutlineLessonPlan]


@lru_cache(maxsize=MAX_LESSONS)
def outline_model(lessons: int) -> type[OutlineBase]:
    """The outline the model must answer: exactly ``lessons`` lessons (its schema says so)."""
    from pydantic import create_model

    plan = Annotated[list[OutlineLessonPlan], Field(min_length=lessons, max_length=lessons)]
    return create_model("Outline", __base__=OutlineBase, lessons=(plan, ...))


class QuizQuestion(_Answer):
    question: Annotated[str, Field(min_length=3, max_length=500)]
    options: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=4, max_length=4)
    ]
    answer: Annotated[int, Field(ge=0, le=3)]


class LessonContent(_Answer):
    videoScript: Annotated[str, Field(min_length=3, max_length=8000)]
    text: Annotated[str, Field(min_length=3, max_length=8000)]
    quiz: Annotated[list[QuizQuestion], Field(min_length=1, max_length=5)]


def _tag_value(text: str) -> str:
    return " ".join(text.lower().split())[:64]


@mutation(args=GenerateArgs, returns=GenerateResult, auth="org_user")
def generate(ctx: MutationCtx, args: GenerateArgs) -> dict[str, Any]:
    """Start generating a course on ``topic`` taught by the creator's AI clone (CONFLICT when the
    creator has none): the course is there at once as a ``draft`` and is written in steps."""
    require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    existing = by_idempotency_key(ctx.db, "course", args.creatorId, args.idempotencyKey)
    if existing is not None:
        generation = existing["properties"]["generation"]
        if generation["state"] == "failed":  # asked again: resume where it stopped, a new attempt
            step, attempt = int(generation["step"]), int(generation.get("attempt", 0)) + 1
            state = "writing" if step else "outlining"
            _advance(ctx, existing, step, {"state": state, "reason": None, "attempt": attempt})
            _watch(ctx, existing["_id"], step, attempt)
            return {"courseId": existing["_id"], "status": "draft", "generation": "resumed", "created": False}
        return {
            "courseId": existing["_id"],
            "status": existing["status"],
            "generation": generation["state"],
            "created": False,
        }
    clone = ctx.db.lookup_unique(
        "entities", "clone_of_creator", {"type": "ai_clone", "properties": {"creatorId": args.creatorId}}
    )
    if clone is None:
        raise ConflictError(
            "The creator has no AI clone to teach the course: create it first", field="creatorId"
        )
    agent_id = agent_of(ctx.db, clone["_id"])
    now = now_ms()
    course_id = ctx.db.insert(
        "entities",
        {
            "type": "course",
            "name": args.topic,
            "status": "draft",
            "properties": {
                "title": args.topic,
                "description": "",
                "modules": 1,
                "lessons": args.lessons,
                "generatedBy": "ai",
                "personalizationLevel": "basic",
                "creatorId": args.creatorId,
                "cloneId": clone["_id"],
                **({"idempotencyKey": args.idempotencyKey} if args.idempotencyKey else {}),
                "generation": {
                    "state": "outlining",
                    "step": 0,
                    "topic": args.topic,
                    "audience": args.audience,
                    "format": args.format,
                    "updatedAt": now,
                },
            },
            "createdAt": now,
            "updatedAt": now,
        },
    )
    for source, kind in ((args.creatorId, "owns"), (agent_id, "generated_by"), (clone["_id"], "teaching")):
        ctx.db.insert(
            "connections",
            {"fromEntityId": source, "toEntityId": course_id, "relationshipType": kind, "createdAt": now},
        )
    ctx.scheduler.run_after(0, write_step, {"courseId": course_id, "step": 0})
    _watch(ctx, course_id, 0, 0)
    return {"courseId": course_id, "status": "draft", "generation": "outlining", "created": True}


def _advance(
    ctx: MutationCtx, course: dict[str, Any], step: int, fields: dict[str, Any] | None = None, **props: Any
) -> None:
    """The generation at ``step`` (with ``fields``; ``props`` on the course), and that step's action
    scheduled, in this transaction."""
    _set_generation(ctx.db, course, {**(fields or {}), "step": step}, **props)
    ctx.scheduler.run_after(0, write_step, {"courseId": course["_id"], "step": step})


def _watch(ctx: MutationCtx, course_id: str, step: int, attempt: int) -> None:
    ctx.scheduler.run_after(
        STEP_DEADLINE_S, watchdog, {"courseId": course_id, "step": step, "attempt": attempt}
    )


def _set_generation(
    db: Any,
    course: dict[str, Any],
    fields: dict[str, Any],
    *,
    entity: dict[str, Any] | None = None,
    **props: Any,
) -> None:
    """One patch of the course: its generation's ``fields`` (None removes one), ``props`` among its
    properties, ``entity`` among its own fields (name, status)."""
    now = now_ms()
    generation = {**course["properties"]["generation"], **fields, "updatedAt": now}
    generation = {k: v for k, v in generation.items() if v is not None}
    properties = {**course["properties"], **props, "generation": generation}
    db.patch(course["_id"], {**(entity or {}), "properties": properties, "updatedAt": now}, "entities")


class StepArgs(Args):
    courseId: EntityId
    step: Annotated[int, Field(ge=0, le=MAX_STEP)]


@query(args=StepArgs, internal=True)
def step_plan(ctx: QueryCtx, args: StepArgs) -> dict[str, Any]:
    """What the step needs: ``todo`` false when it is done already (or the generation is not running),
    else the course's generation, the clone's prompt and temperature."""
    course = require_entity(ctx.db, args.courseId, field="courseId", kind="course")
    generation = course["properties"].get("generation")
    if (
        generation is None
        or generation["state"] not in ("outlining", "writing")
        or generation["step"] != args.step
    ):
        return {"todo": False}
    clone = require_entity(ctx.db, course["properties"]["cloneId"], field="cloneId", kind="ai_clone")
    return {
        "todo": True,
        "generation": generation,
        "cloneId": clone["_id"],
        "systemPrompt": clone["properties"]["systemPrompt"],
        "temperature": clone["properties"].get("temperature", 0.7),
        "lessons": course["properties"]["lessons"],
    }


@action(args=StepArgs, internal=True, uses=("vectors",))
def write_step(ctx: ActionCtx, args: StepArgs) -> dict[str, Any]:
    """One step of a generation: step 0 the outline, step i ≤ lessons the i-th lesson, the steps after
    publish PUBLISH_BATCH lessons each, and the last the course. A step done already (delivered again)
    does nothing; a failure marks the course failed."""
    plan = ctx.run_query(step_plan, {"courseId": args.courseId, "step": args.step})
    if not plan["todo"]:
        return {"courseId": args.courseId, "step": args.step, "done": "already"}
    try:
        if args.step == 0:
            outline = _write_outline(plan)
            ctx.run_mutation(save_outline, {"courseId": args.courseId, "outline": outline})
        elif args.step <= plan["lessons"]:
            content = _write_lesson(ctx, plan, args.step)
            ctx.run_mutation(save_lesson, {"courseId": args.courseId, "step": args.step, "content": content})
        else:
            ctx.run_mutation(publish, {"courseId": args.courseId, "step": args.step})
    except OneError as exc:
        reason = f"{exc.code}: {exc.message}"[:1000]
        ctx.run_mutation(fail_generation, {"courseId": args.courseId, "step": args.step, "reason": reason})
        return {"courseId": args.courseId, "step": args.step, "done": "failed", "reason": reason}
    return {"courseId": args.courseId, "step": args.step, "done": "yes"}


def _write_outline(plan: dict[str, Any]) -> dict[str, Any]:
    from ontology.providers.ai import get_ai

    generation = plan["generation"]
    schema = outline_model(int(plan["lessons"]))
    answer = get_ai().chat_structured(
        system_prompt=plan["systemPrompt"]
        + "\n\nYou are planning a course you will teach. Answer with its outline only.",
        messages=[
            {
                "role": "user",
                "content": f"{generation['topic']}: a course of exactly {plan['lessons']} lessons for "
                f"{generation['audience']} learners, in {generation['format']} format. Give its title, "
                "description, the skills it teaches, its industry, and each lesson's title, summary "
                "and minutes.",
            }
        ],
        schema=schema,
        temperature=float(plan["temperature"]),
    )
    return answer.model_dump()


def _write_lesson(ctx: ActionCtx, plan: dict[str, Any], step: int) -> dict[str, Any]:
    from ontology.providers.ai import get_ai

    generation = plan["generation"]
    lesson = generation["outline"][step - 1]
    sources = grounding.clone_sources(
        ctx, plan["cloneId"], f"{lesson['title']}. {lesson['summary']}", limit=3
    )
    answer = get_ai().chat_structured(
        system_prompt=grounding.grounded_prompt(plan["systemPrompt"], sources)
        + "\n\nYou are writing one lesson of your course: a video script, the lesson's text, and a quiz.",
        messages=[
            {
                "role": "user",
                "content": f"{lesson['title']} (lesson {step} of {plan['lessons']} of the course on "
                f"{generation['topic']}, for {generation['audience']} learners): {lesson['summary']}",
            }
        ],
        schema=LessonContent,
        temperature=float(plan["temperature"]),
    )
    return {**answer.model_dump(), "sourceIds": [s["knowledgeItemId"] for s in sources]}


class OutlineArgs(Args):
    courseId: EntityId
    outline: dict[str, Any]


def _running(db: Any, course_id: str, step: int) -> dict[str, Any] | None:
    """The course when its generation is running at ``step`` (else the step is done: None)."""
    course = require_entity(db, course_id, field="courseId", kind="course")
    generation = course["properties"].get("generation") or {}
    if generation.get("state") not in ("outlining", "writing") or generation.get("step") != step:
        return None
    return course


@mutation(args=OutlineArgs, internal=True)
def save_outline(ctx: MutationCtx, args: OutlineArgs) -> dict[str, Any]:
    """The outline on the course (its title, description, duration), and the first lesson's step."""
    course = _running(ctx.db, args.courseId, 0)
    if course is None:
        return {"saved": False}
    outline = outline_model(int(course["properties"]["lessons"])).model_validate(args.outline)
    lessons = [
        {"title": lesson.title, "summary": lesson.summary, "minutes": lesson.minutes}
        for lesson in outline.lessons
    ]
    _advance(
        ctx,
        course,
        1,
        {
            "state": "writing",
            "outline": lessons,
            "skills": list(dict.fromkeys(_tag_value(s) for s in outline.skills)),
            "industry": _tag_value(outline.industry),
        },
        entity={"name": outline.title},
        title=outline.title,
        description=outline.description,
        totalDuration=sum(lesson.minutes for lesson in outline.lessons),
    )
    return {"saved": True}


class LessonArgs(Args):
    courseId: EntityId
    step: Annotated[int, Field(ge=1, le=MAX_LESSONS)]
    content: dict[str, Any]


@mutation(args=LessonArgs, internal=True)
def save_lesson(ctx: MutationCtx, args: LessonArgs) -> dict[str, Any]:
    """One lesson, whole: the ``lesson``, course → lesson ``part_of``, its video, text and quiz with
    lesson → content ``part_of``, ``clone_generated_content``; then the next step."""
    course = _running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"saved": False}
    content = LessonContent.model_validate({k: v for k, v in args.content.items() if k != "sourceIds"})
    props = course["properties"]
    plan = props["generation"]["outline"][args.step - 1]
    clone_id = props["cloneId"]
    from ontology.data.keys import new_id

    now = now_ms()
    content_ids = [new_id("entities") for _ in CONTENT_KINDS]
    lesson_id = ctx.db.insert(
        "entities",
        {
            "type": "lesson",
            "name": plan["title"],
            "status": "draft",
            "properties": {
                "courseId": args.courseId,
                "lessonIndex": args.step,
                "summary": plan["summary"],
                "minutes": plan["minutes"],
                "sourceIds": list(args.content.get("sourceIds", []))[:5],
                "contentIds": content_ids,
            },
            "createdAt": now + args.step,
            "updatedAt": now,
        },
    )
    links = [(args.courseId, lesson_id)]
    bodies = {
        "video": {"script": content.videoScript, "durationMinutes": plan["minutes"]},
        "text": {"body": content.text},
        "quiz": {"questions": [q.model_dump() for q in content.quiz]},
    }
    for (kind, entity_type), content_id in zip(CONTENT_KINDS, content_ids, strict=True):
        ctx.db.insert(
            "entities",
            {
                "type": entity_type,
                "name": f"Lesson {args.step} {kind}",
                "status": "draft",
                "properties": {"contentType": kind, "lessonId": lesson_id, **bodies[kind]},
                "createdAt": now,
                "updatedAt": now,
            },
            doc_id=content_id,
        )
        links.append((lesson_id, content_id))
    for source, target in links:  # the reference's directions: course → lesson, lesson → content
        ctx.db.insert(
            "connections",
            {"fromEntityId": source, "toEntityId": target, "relationshipType": "part_of", "createdAt": now},
        )
    log_event(
        ctx.db,
        "clone_generated_content",
        actor_id=clone_id,
        target_id=lesson_id,
        timestamp=now,
        metadata={"courseId": args.courseId, "lesson": args.step, "contentIds": [t for _, t in links[1:]]},
    )
    lesson_ids = [*props["generation"].get("lessonIds", []), lesson_id]
    _advance(ctx, course, args.step + 1, {"lessonIds": lesson_ids})
    return {"saved": True, "lessonId": lesson_id}


@mutation(args=StepArgs, internal=True)
def publish(ctx: MutationCtx, args: StepArgs) -> dict[str, Any]:
    """A publishing step: PUBLISH_BATCH lessons and their content ``published``; the last step the
    course itself, with ``course_created`` and the ``skill``, ``industry``, ``audience`` and ``format``
    tags (so the course is ``draft`` until everything it holds is published)."""
    course = _running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"published": False}
    props = course["properties"]
    generation = props["generation"]
    now = now_ms()
    lessons = _lessons_of(ctx.db, args.courseId, generation.get("lessonIds"))
    if len(lessons) != props["lessons"]:
        raise ConflictError(
            f"the course has {len(lessons)} of its {props['lessons']} lessons", field="courseId"
        )
    batch = args.step - props["lessons"] - 1
    if batch * PUBLISH_BATCH < len(lessons):  # a batch of lessons, then the next step
        for lesson in lessons[batch * PUBLISH_BATCH : (batch + 1) * PUBLISH_BATCH]:
            for doc_id in (lesson["_id"], *lesson["properties"].get("contentIds", [])):
                ctx.db.patch(doc_id, {"status": "published", "updatedAt": now}, "entities")
        _advance(ctx, course, args.step + 1)
        return {"published": False, "lessons": len(lessons)}
    _set_generation(ctx.db, course, {"state": "complete"}, entity={"status": "published"})
    tags = [("skill", s) for s in generation.get("skills", [])]
    tags += [("industry", generation.get("industry") or ""), ("audience", generation["audience"])]
    tags += [("format", generation["format"])]
    for key, value in tags:
        if (
            value
            and ctx.db.lookup_unique("tags", "tag", {"entityId": args.courseId, "key": key, "value": value})
            is None
        ):
            ctx.db.insert("tags", {"entityId": args.courseId, "key": key, "value": value})
    log_event(
        ctx.db,
        "course_created",
        actor_id=props["creatorId"],
        target_id=args.courseId,
        timestamp=now,
        metadata={"generatedBy": "ai", "cloneId": props["cloneId"], "lessons": len(lessons)},
    )
    return {"published": True, "lessons": len(lessons)}


def _lessons_of(db: Any, course_id: str, lesson_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The course's lessons in order: by their ids when the generation recorded them (consistent
    reads), else through the course's ``part_of`` connections (an index, which may not show the
    last lesson written yet)."""
    if not lesson_ids:
        parts = (
            db.query("connections")
            .with_index(
                "from_type", lambda q: q.eq("fromEntityId", course_id).eq("relationshipType", "part_of")
            )
            .take(MAX_LESSONS + 1)
        )
        lesson_ids = [c["toEntityId"] for c in parts]
    docs = [d for d in db.get_many(lesson_ids, "entities") if d and d["type"] == "lesson"]
    return sorted(docs, key=lambda d: d["properties"].get("lessonIndex", 0))


class FailArgs(Args):
    courseId: EntityId
    step: Annotated[int, Field(ge=0, le=MAX_STEP)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=1000)]


@mutation(args=FailArgs, internal=True)
def fail_generation(ctx: MutationCtx, args: FailArgs) -> dict[str, Any]:
    """The generation failed at ``step``: the course stays ``draft``, its generation ``failed`` with
    the reason (unless the step was done meanwhile)."""
    course = _running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"failed": False}
    _set_generation(ctx.db, course, {"state": "failed", "reason": args.reason})
    return {"failed": True}


class WatchArgs(StepArgs):
    #: the attempt it watches (asking again after a failure starts a new one); None: the current one
    attempt: Annotated[int, Field(ge=0)] | None = None


@mutation(args=WatchArgs, internal=True)
def watchdog(ctx: MutationCtx, args: WatchArgs) -> dict[str, Any]:
    """One per running generation, every 15 minutes (STEP_DEADLINE_S): a generation still at the step
    it was at the last look (its action died where no error could be caught) is failed, so no course
    is left writing forever; one that has moved on is looked at again later."""
    course = require_entity(ctx.db, args.courseId, field="courseId", kind="course")
    generation = course["properties"].get("generation") or {}
    attempt = int(generation.get("attempt", 0))
    if generation.get("state") not in ("outlining", "writing") or args.attempt not in (None, attempt):
        return {"failed": False}
    if generation["step"] != args.step:
        _watch(ctx, args.courseId, int(generation["step"]), attempt)
        return {"failed": False}
    reason = f"TIMEOUT: step {args.step} did not finish within {STEP_DEADLINE_S // 60} minutes"
    _set_generation(ctx.db, course, {"state": "failed", "reason": reason})
    return {"failed": True}


class CourseArgs(Args):
    courseId: EntityId


class LessonOut(Result):
    lessonId: str
    title: str
    lessonIndex: int
    status: str


class CourseOut(EntityOut):
    generation: dict[str, Any] | None = None
    lessonList: list[LessonOut] = Field(default_factory=list)


@query(args=CourseArgs, returns=CourseOut | None, auth="public")
def get(ctx: QueryCtx, args: CourseArgs) -> dict[str, Any] | None:
    """The course, where its generation stands (``state``, ``step``, ``reason``: for the
    organization's staff) and its lessons in order; null when the caller may not see it. Anyone
    reads a published course's page by its id, with its published lessons."""
    course = ctx.db.get(args.courseId, "entities", field="courseId")
    if course is None or course["type"] != "course":
        return None
    db = ctx.db.holding(args.courseId)
    generation = course["properties"].get("generation")
    return {
        **course,
        "generation": (
            {k: v for k, v in generation.items() if k not in ("outline", "lessonIds")} if generation else None
        ),
        "lessonList": [
            {
                "lessonId": d["_id"],
                "title": d["name"],
                "lessonIndex": d["properties"].get("lessonIndex", 0),
                "status": d["status"],
            }
            for d in _lessons_of(db, args.courseId, (generation or {}).get("lessonIds"))
        ],
    }
