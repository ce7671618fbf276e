"""A course generated with the creator's AI clone: ``courses:generate`` writes the reference's "Course
Generation" mapping in steps (:mod:`ontology.services.course_generation`), each its own transaction
and each idempotent, ``courses:write_step`` running one step after another. Until the last step
commits the course is ``draft``; a step that fails (the model down after its retries, an answer that
never validates) marks the generation ``failed`` with the reason, and a generation that stops making
progress is marked failed by its watchdog (one per generation, looking every STEP_DEADLINE_S). The same
``idempotencyKey`` again answers the same course (and resumes a failed one).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import Count, EntityId, IdempotencyKey
from ontology.errors import ConflictError, OneError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import EntityOut, Result
from ontology.services import course_generation as generation
from ontology.services.clones import agent_of, clone_of_creator
from ontology.services.ontology_ops import by_idempotency_key, require_entity

Topic = Annotated[StrictStr, Field(min_length=3, max_length=200)]
Audience = Literal["beginner", "intermediate", "advanced"]
Format = Literal["video", "text", "interactive"]


class GenerateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"creatorId": ENTITY_ID, "topic": "Marathon training for beginners", "lessons": 6}]
        }
    )

    creatorId: EntityId
    topic: Topic
    lessons: Annotated[int, Field(ge=1, le=generation.MAX_LESSONS)] = generation.DEFAULT_LESSONS
    audience: Audience = "beginner"
    format: Format = "video"
    #: the same key again answers the same course (and resumes it when its generation failed)
    idempotencyKey: IdempotencyKey | None = None


class GenerateResult(Result):
    courseId: EntityId
    status: str
    generation: str
    created: bool


@mutation(args=GenerateArgs, returns=GenerateResult, auth="org_user")
def generate(ctx: MutationCtx, args: GenerateArgs) -> dict[str, Any]:
    """Start generating a course on ``topic`` taught by the creator's AI clone (CONFLICT when the
    creator has none): the course is there at once as a ``draft`` and is written in steps."""
    require_entity(ctx.db, args.creatorId, field="creatorId", kind="creator")
    existing = by_idempotency_key(ctx.db, "course", args.creatorId, args.idempotencyKey)
    if existing is not None:
        state = existing["properties"]["generation"]
        if state["state"] == "failed":  # asked again: resume where it stopped, a new attempt
            step, attempt = int(state["step"]), int(state.get("attempt", 0)) + 1
            fields = {"state": "writing" if step else "outlining", "reason": None, "attempt": attempt}
            generation.set_generation(ctx.db, existing, {**fields, "step": step})
            _next_step(ctx, existing["_id"], step)
            _watch(ctx, existing["_id"], step, attempt)
            return {"courseId": existing["_id"], "status": "draft", "generation": "resumed", "created": False}
        return {
            "courseId": existing["_id"],
            "status": existing["status"],
            "generation": state["state"],
            "created": False,
        }
    clone = clone_of_creator(ctx.db, args.creatorId)
    if clone is None:
        raise ConflictError(
            "The creator has no AI clone to teach the course: create it first", field="creatorId"
        )
    course_id = generation.new_course(
        ctx.db,
        creator_id=args.creatorId,
        clone_id=clone["_id"],
        agent_id=agent_of(ctx.db, clone["_id"]),
        topic=args.topic,
        lessons=args.lessons,
        audience=args.audience,
        format=args.format,
        idempotency_key=args.idempotencyKey,
    )
    _next_step(ctx, course_id, 0)
    _watch(ctx, course_id, 0, 0)
    return {"courseId": course_id, "status": "draft", "generation": "outlining", "created": True}


def _next_step(ctx: MutationCtx, course_id: str, step: int) -> None:
    """The step's action scheduled, in this transaction (it runs once the generation is at it)."""
    ctx.scheduler.run_after(0, write_step, {"courseId": course_id, "step": step})


def _watch(ctx: MutationCtx, course_id: str, step: int, attempt: int) -> None:
    ctx.scheduler.run_after(
        generation.STEP_DEADLINE_S, watchdog, {"courseId": course_id, "step": step, "attempt": attempt}
    )


class StepArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID, "step": 0}]})

    courseId: EntityId
    step: Annotated[int, Field(ge=0, le=generation.MAX_STEP)]


@query(args=StepArgs, internal=True)
def step_plan(ctx: QueryCtx, args: StepArgs) -> dict[str, Any]:
    """What the step needs: ``todo`` false when it is done already (or the generation is not running),
    else the course's generation, the clone's prompt and temperature."""
    return generation.step_plan(ctx.db, args.courseId, args.step)


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
            outline = generation.write_outline(plan)
            ctx.run_mutation(save_outline, {"courseId": args.courseId, "outline": outline})
        elif args.step <= plan["lessons"]:
            content = generation.write_lesson(ctx, plan, args.step)
            ctx.run_mutation(save_lesson, {"courseId": args.courseId, "step": args.step, "content": content})
        else:
            ctx.run_mutation(publish, {"courseId": args.courseId, "step": args.step})
    except OneError as exc:
        reason = f"{exc.code}: {exc.message}"[:1000]
        ctx.run_mutation(fail_generation, {"courseId": args.courseId, "step": args.step, "reason": reason})
        return {"courseId": args.courseId, "step": args.step, "done": "failed", "reason": reason}
    return {"courseId": args.courseId, "step": args.step, "done": "yes"}


class OutlineArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID, "outline": {}}]})

    courseId: EntityId
    outline: dict[str, Any]


@mutation(args=OutlineArgs, internal=True)
def save_outline(ctx: MutationCtx, args: OutlineArgs) -> dict[str, Any]:
    """The outline on the course (its title, description, duration), and the first lesson's step."""
    course = generation.running(ctx.db, args.courseId, 0)
    if course is None:
        return {"saved": False}
    generation.save_outline(ctx.db, course, args.outline)
    _next_step(ctx, args.courseId, 1)
    return {"saved": True}


class LessonArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID, "step": 1, "content": {}}]}
    )

    courseId: EntityId
    step: Annotated[int, Field(ge=1, le=generation.MAX_LESSONS)]
    content: dict[str, Any]


@mutation(args=LessonArgs, internal=True)
def save_lesson(ctx: MutationCtx, args: LessonArgs) -> dict[str, Any]:
    """One lesson, whole: the ``lesson``, course → lesson ``part_of``, its video, text and quiz with
    lesson → content ``part_of``, ``clone_generated_content``; then the next step."""
    course = generation.running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"saved": False}
    lesson_id = generation.save_lesson(ctx.db, course, args.step, args.content)
    _next_step(ctx, args.courseId, args.step + 1)
    return {"saved": True, "lessonId": lesson_id}


class PublishArgs(StepArgs):
    """A publishing step: one after the last lesson's."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID, "step": 7}]})


@mutation(args=PublishArgs, internal=True)
def publish(ctx: MutationCtx, args: PublishArgs) -> dict[str, Any]:
    """A publishing step: PUBLISH_BATCH lessons and their content ``published``; the last step the
    course itself, with ``course_created`` and the ``skill``, ``industry``, ``audience`` and ``format``
    tags (so the course is ``draft`` until everything it holds is published)."""
    course = generation.running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"published": False}
    result = generation.publish_step(ctx.db, course, args.step)
    if not result["published"]:  # a batch of lessons: the next step publishes the next
        _next_step(ctx, args.courseId, args.step + 1)
    return result


class FailArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"courseId": OTHER_ENTITY_ID, "step": 0, "reason": "UPSTREAM_ERROR: OpenAI down"}]
        }
    )

    courseId: EntityId
    step: Annotated[int, Field(ge=0, le=generation.MAX_STEP)]
    reason: Annotated[StrictStr, Field(min_length=1, max_length=1000)]


@mutation(args=FailArgs, internal=True)
def fail_generation(ctx: MutationCtx, args: FailArgs) -> dict[str, Any]:
    """The generation failed at ``step``: the course stays ``draft``, its generation ``failed`` with
    the reason (unless the step was done meanwhile)."""
    course = generation.running(ctx.db, args.courseId, args.step)
    if course is None:
        return {"failed": False}
    generation.set_generation(ctx.db, course, {"state": "failed", "reason": args.reason})
    return {"failed": True}


class WatchArgs(StepArgs):
    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID, "step": 0}]})

    #: the attempt it watches (asking again after a failure starts a new one); None: the current one
    attempt: Annotated[int, Field(ge=0)] | None = None


@mutation(args=WatchArgs, internal=True)
def watchdog(ctx: MutationCtx, args: WatchArgs) -> dict[str, Any]:
    """One per running generation, every 15 minutes (STEP_DEADLINE_S): a generation still at the step
    it was at the last look (its action died where no error could be caught) is failed, so no course
    is left writing forever; one that has moved on is looked at again later."""
    course = require_entity(ctx.db, args.courseId, field="courseId", kind="course")
    state = course["properties"].get("generation") or {}
    attempt = int(state.get("attempt", 0))
    if state.get("state") not in generation.RUNNING or args.attempt not in (None, attempt):
        return {"failed": False}
    if state["step"] != args.step:
        _watch(ctx, args.courseId, int(state["step"]), attempt)
        return {"failed": False}
    minutes = generation.STEP_DEADLINE_S // 60
    reason = f"TIMEOUT: step {args.step} did not finish within {minutes} minutes"
    generation.set_generation(ctx.db, course, {"state": "failed", "reason": reason})
    return {"failed": True}


class CourseArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": OTHER_ENTITY_ID}]})

    courseId: EntityId


class LessonOut(Result):
    lessonId: EntityId
    title: str
    lessonIndex: Count
    status: str


class CourseOut(EntityOut):
    type: Literal["course"]
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
    state = course["properties"].get("generation")
    return {
        **course,
        "generation": (
            {k: v for k, v in state.items() if k not in ("outline", "lessonIds")} if state else None
        ),
        "lessonList": [
            {
                "lessonId": d["_id"],
                "title": d["name"],
                "lessonIndex": d["properties"].get("lessonIndex", 0),
                "status": d["status"],
            }
            for d in generation.lessons_of(db, args.courseId, (state or {}).get("lessonIds"))
        ],
    }
