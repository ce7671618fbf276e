"""Enrolling in a course, free or paid in the course's creator token."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from ontology.data.fields import Count, EntityId
from ontology.runtime.context import MutationCtx
from ontology.runtime.examples import ENTITY_ID
from ontology.runtime.functions import mutation
from ontology.runtime.registry import Args
from ontology.runtime.results import Result
from ontology.services import enrolment
from ontology.services.ontology_ops import member_entity


class EnrollArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"courseId": ENTITY_ID}]})

    courseId: EntityId


class Enrollment(Result):
    courseId: EntityId
    tokensSpent: Count
    balance: Count | None = None


@mutation(args=EnrollArgs, returns=Enrollment)
def enroll(ctx: MutationCtx, args: EnrollArgs) -> dict[str, Any]:
    """Enroll the caller in a course. A course priced in tokens (``tokenPrice`` of ``tokenId``)
    moves that many of the caller's tokens to the course's creator in the same transaction
    (INSUFFICIENT_TOKENS when they hold fewer, and nothing is written); a course with a money price
    and no token price is not sold here. CONFLICT when already enrolled."""
    learner = member_entity(ctx.auth.require_identity(), "enroll")
    return enrolment.enroll(ctx.db, learner, args.courseId)
