"""Courses: enrolling, free or paid in the course's creator token."""

from __future__ import annotations

from typing import Any

from ontology.data.fields import EntityId
from ontology.errors import ConflictError, ForbiddenError, ValidationError
from ontology.runtime.context import MutationCtx
from ontology.runtime.functions import mutation
from ontology.runtime.registry import Args
from ontology.runtime.results import Result
from ontology.services.ledger import move_tokens
from ontology.services.ontology_ops import log_event, now_ms, require_entity


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
    learner = ctx.auth.require_identity().entityId
    if not learner:
        raise ForbiddenError("Your account has no entity in this organization to enroll")
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
