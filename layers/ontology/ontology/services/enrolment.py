"""Enrolling in a course, free or paid in the course's creator token: the learner ``enrolled_in`` the
course, the tokens moved to its creator in the same transaction, ``course_enrolled`` and
``tokens_earned`` logged.

Example::

    enroll(ctx.db, learner_id, course_id)  # {"courseId": …, "tokensSpent": 50, "balance": 950}
"""

from __future__ import annotations

from typing import Any

from ontology.data.db import DatabaseWriter
from ontology.errors import ConflictError, ValidationError
from ontology.services.ledger import move_tokens
from ontology.services.ontology_ops import log_event, now_ms, require_entity

__all__ = ["enroll"]


def enroll(db: DatabaseWriter, learner: str, course_id: str) -> dict[str, Any]:
    """Enroll ``learner`` in the course. A course priced in tokens (``tokenPrice`` of ``tokenId``)
    moves that many of the learner's tokens to the course's creator (INSUFFICIENT_TOKENS when they
    hold fewer, and nothing is written); a course with a money price and no token price is not sold
    here. CONFLICT when already enrolled."""
    course = require_entity(db, course_id, field="courseId", kind="course")
    props = course["properties"]
    if course["status"] not in ("active", "published"):
        raise ValidationError("This course is not open for enrollment", field="courseId")
    enrolled = db.lookup_unique(
        "connections",
        "triple",
        {"fromEntityId": learner, "toEntityId": course_id, "relationshipType": "enrolled_in"},
    )
    if enrolled is not None:
        raise ConflictError("You are already enrolled in this course", field="courseId")
    token_price = int(props.get("tokenPrice") or 0)
    spent, balance = 0, None
    if token_price:
        token_id = props.get("tokenId")
        if not token_id:
            raise ValidationError("This course has a token price but no token", field="courseId")
        token = require_entity(db, token_id, field="tokenId", kind="token")
        payee = token["properties"].get("creatorId")
        if not payee:
            raise ValidationError("This course's token has no creator to pay", field="courseId")
        balance, _ = move_tokens(db, token_id, learner, payee, token_price)
        spent = token_price
    elif props.get("price"):
        raise ValidationError("This course is sold for money, not tokens", field="courseId")
    now = now_ms()
    db.insert(
        "connections",
        {
            "fromEntityId": learner,
            "toEntityId": course_id,
            "relationshipType": "enrolled_in",
            "metadata": {"tokensSpent": spent, "enrolledAt": now},
            "createdAt": now,
        },
    )
    db.patch(
        course_id,
        {"properties": {**props, "enrollments": int(props.get("enrollments", 0)) + 1}, "updatedAt": now},
        "entities",
    )
    log_event(
        db,
        "course_enrolled",
        actor_id=learner,
        target_id=course_id,
        timestamp=now,
        metadata={"tokensSpent": spent, **({"tokenId": props["tokenId"]} if spent else {})},
    )
    if spent:
        log_event(
            db,
            "tokens_earned",
            actor_id=learner,
            target_id=token["properties"]["creatorId"],
            timestamp=now,
            metadata={"tokenId": props["tokenId"], "amount": spent, "courseId": course_id},
        )
    return {"courseId": course_id, "tokensSpent": spent, "balance": balance}
