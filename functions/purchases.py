"""The token purchase saga's steps: one Lambda per state of ``infra/statemachines/token_purchase.asl.json``,
and the reconciler that drives purchases the state machine left pending to a final state.

Each step takes ``{"purchaseId"}`` (and the organization in ``_auth``), reads the purchase's
recorded state and does only what is left (see :mod:`ontology.services.purchases`), so Step
Functions may retry any of them. Errors keep their names for the state machine: ``UpstreamError``
and ``ConflictError`` are transient (retried), ``PaymentFailedError`` and ``ChainRevertedError`` are
final (caught, then compensated).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, StrictStr

from ontology.errors import ValidationError
from ontology.registry import Args, action, mutation
from ontology.runtime import ActionCtx, MutationCtx
from ontology.schema import EntityId
from ontology.services import purchases
from ontology.services.cron_runs import CronArgs, organizations, run_time

log = logging.getLogger(__name__)


class StepArgs(Args):
    purchaseId: EntityId


def _org(ctx: Any) -> str:
    if not ctx.org:
        raise ValidationError("A purchase step runs inside an organization (_auth)")
    return str(ctx.org)


@action(args=StepArgs, internal=True)
def charge(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Saga step: authorize the card (a manual-capture Stripe PaymentIntent)."""
    return {"charge": purchases.charge(_org(ctx), args.purchaseId)}


@action(args=StepArgs, internal=True, uses=("chain",))
def mint(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Saga step: mint the purchased tokens (a signed transaction, recorded before it is sent)."""
    return {"mint": purchases.mint(_org(ctx), args.purchaseId)}


@action(args=StepArgs, internal=True)
def capture(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Saga step: capture the authorized charge."""
    return {"charge": purchases.capture(_org(ctx), args.purchaseId)}


@mutation(args=StepArgs, internal=True)
def record(ctx: MutationCtx, args: StepArgs) -> dict[str, Any]:
    """Saga step: record the purchase in one transaction (balance added to, three events)."""
    return purchases.complete(ctx.db, args.purchaseId)


@action(args=StepArgs, internal=True)
def refund(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Compensation: void the authorization or refund the charge, if there is one."""
    return {"charge": purchases.refund(_org(ctx), args.purchaseId)}


@action(args=StepArgs, internal=True, uses=("chain",))
def burn(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Compensation: burn the minted tokens, if any were minted."""
    return {"mint": purchases.burn(_org(ctx), args.purchaseId)}


class Failure(Args):
    """What a Catch hands on: the error's name and its cause (the Lambda's error payload)."""

    Error: Annotated[StrictStr, Field(max_length=256)]
    Cause: Annotated[StrictStr, Field(max_length=32_768)] | None = None


class FinaliseArgs(StepArgs):
    error: Failure | None = None


def reason_of(failure: Failure | None) -> str | None:
    """A message for the buyer from a caught error: the step's own message (our errors' messages
    are written for clients), else the error's name."""
    if failure is None:
        return None
    message = None
    try:
        message = (json.loads(failure.Cause or "") or {}).get("errorMessage")
    except (ValueError, AttributeError):
        message = None
    if failure.Error in ("States.Timeout", "Sandbox.Timedout"):
        return "The purchase timed out"
    return f"The purchase could not be completed: {message or failure.Error}"


def code_of(failure: Failure | None) -> str | None:
    """The stable error code of a caught error (our errors' class names map to their codes)."""
    from ontology.errors import OneError

    if failure is None:
        return None
    by_name = {cls.__name__: cls.code for cls in _error_classes(OneError)}
    return by_name.get(failure.Error, "UPSTREAM_ERROR" if "." in failure.Error else "INTERNAL")


def _error_classes(base: type) -> list[Any]:
    return [base, *(c for sub in base.__subclasses__() for c in _error_classes(sub))]


@mutation(args=FinaliseArgs, internal=True)
def finalise(ctx: MutationCtx, args: FinaliseArgs) -> dict[str, Any]:
    """Compensation, last: mark the purchase failed (or refunded) once nothing is held any more."""
    return purchases.finalise(ctx.db, args.purchaseId, reason_of(args.error), code_of(args.error))


# ------------------------------------------------------------------------------------ reconciler


def drive(org: str, purchase_id: str, reason: str) -> str:
    """Drive one purchase to a final state from what is recorded: record it if it was charged and
    minted, else undo what happened and mark it failed."""
    from ontology.transaction import run_mutation, run_query

    props = run_query(lambda db: purchases.load(db, purchase_id), org=org)["properties"]
    if props["status"] != "pending":
        return str(props["status"])
    if props["chargeStatus"] == "captured" and props["mintStatus"] == "minted":
        return str(run_mutation(lambda db: purchases.complete(db, purchase_id), org=org)["status"])
    purchases.refund(org, purchase_id)
    purchases.burn(org, purchase_id)
    return str(run_mutation(lambda db: purchases.finalise(db, purchase_id, reason), org=org)["status"])


def _stale(org: str, cutoff: int) -> list[str]:
    from ontology.transaction import run_query

    ids: list[str] = []
    cursor = None
    while True:
        page = run_query(
            lambda db, cursor=cursor: (
                db.query("entities")
                .with_index("by_type_status", lambda q: q.eq("type", "payment").eq("status", "draft"))
                .filter(lambda f: f.eq(f.field("properties.purpose"), purchases.PURPOSE))
                .paginate({"numItems": 100, "cursor": cursor})
            ),
            org=org,
        )
        ids += [d["_id"] for d in page["page"] if d["createdAt"] < cutoff]
        if page["isDone"]:
            return ids
        cursor = page["continueCursor"]


def _stop_execution(purchase_id: str) -> None:
    """Stop the purchase's execution if it is somehow still running (it is past its own timeout)."""
    from ontology.aws import client
    from ontology.settings import get_settings

    machine = get_settings().purchase_state_machine_arn
    if not machine:
        return
    arn = machine.replace(":stateMachine:", ":execution:") + f":{purchase_id}"
    sfn = client("stepfunctions")
    try:
        status = sfn.describe_execution(executionArn=arn)["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return
    if status == "RUNNING":
        sfn.stop_execution(executionArn=arn, error="Reconciled", cause="pending past the purchase timeout")


@action(args=CronArgs, internal=True, platform=True, uses=("chain", "purchase_executions"))
def reconcile(ctx: ActionCtx, args: CronArgs) -> dict[str, Any]:
    """Every five minutes: purchases still pending after the saga's timeout (a timed-out or stopped
    execution, an execution that never started, a compensation that could not finish) are driven to
    completed, failed or refunded. One purchase failing leaves the others to go on."""
    from ontology.db import DatabaseReader

    cutoff = int((run_time(args) - timedelta(seconds=purchases.TIMEOUT_SECONDS + 60)).timestamp() * 1000)
    outcomes: dict[str, int] = {}
    for org in organizations(DatabaseReader(None, platform=True)):
        for purchase_id in _stale(org["_id"], cutoff):
            try:
                _stop_execution(purchase_id)
                outcome = drive(org["_id"], purchase_id, "The purchase timed out")
            except Exception:
                log.exception("could not reconcile purchase %s; the next run tries again", purchase_id)
                outcome = "retry"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"outcomes": outcomes}
