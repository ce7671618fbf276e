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
import random
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.errors import CODE_OF_NAME, ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx
from ontology.runtime.examples import OTHER_ENTITY_ID
from ontology.runtime.functions import action, mutation
from ontology.runtime.registry import Args
from ontology.services import fanout, purchases
from ontology.services.cron_runs import CronArgs, run_time
from ontology.services.fanout import WorkerArgs

log = logging.getLogger(__name__)

#: The reconciler stops taking purchases on after this long (its Lambda has 60 s); the rest wait.
BUDGET_SECONDS = 35
RECONCILE = "purchases:reconcile"
RECONCILE_WORKER = "purchases:reconcile_organizations"
#: Organizations one reconciling job looks through (most have nothing pending).
RECONCILE_GROUP = 20


class StepArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"purchaseId": OTHER_ENTITY_ID}]})

    purchaseId: EntityId


def _org(ctx: Any) -> str:
    if not ctx.org:
        raise ValidationError("A purchase step runs inside an organization (_auth)")
    return str(ctx.org)


@action(args=StepArgs, internal=True)
def charge(ctx: ActionCtx, args: StepArgs) -> dict[str, str]:
    """Saga step: authorize the card (a manual-capture Stripe PaymentIntent)."""
    return {"charge": purchases.charge(_org(ctx), args.purchaseId)}


class AwaitArgs(StepArgs):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"purchaseId": OTHER_ENTITY_ID, "taskToken": "<the waiting task's token>"}]
        }
    )

    taskToken: Annotated[StrictStr, Field(min_length=1, max_length=2_000)]


@action(args=AwaitArgs, internal=True, uses=("purchase_callbacks",))
def await_authentication(ctx: ActionCtx, args: AwaitArgs) -> dict[str, str]:
    """Saga step (waitForTaskToken): the card asked for 3-D Secure; record the execution's task token
    on the purchase, which waits (no Lambda running) until Stripe's webhook resumes or fails it."""
    return {"charge": purchases.await_authentication(_org(ctx), args.purchaseId, args.taskToken)}


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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "purchaseId": OTHER_ENTITY_ID,
                    "error": {
                        "Error": "PaymentFailedError",
                        "Cause": '{"errorMessage":"Your card was declined."}',
                    },
                }
            ]
        }
    )

    error: Failure | None = None


def reason_of(failure: Failure | None) -> str | None:
    """A message for the buyer from a caught error: the step's own message (our errors' messages
    are written for clients), else the error's name."""
    if failure is None:
        return None
    if failure.Error in ("States.Timeout", "Sandbox.Timedout"):
        return "The purchase timed out"
    message = None
    if failure.Error in CODE_OF_NAME:  # our errors' messages are written for clients; others are not
        try:
            message = (json.loads(failure.Cause or "") or {}).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
    return f"The purchase could not be completed: {message or 'a service it needs failed'}"


def code_of(failure: Failure | None) -> str | None:
    """The stable error code of a caught error (our errors' class names map to their codes)."""
    if failure is None:
        return None
    return CODE_OF_NAME.get(failure.Error, "UPSTREAM_ERROR" if "." in failure.Error else "INTERNAL")


@mutation(args=FinaliseArgs, internal=True)
def finalise(ctx: MutationCtx, args: FinaliseArgs) -> dict[str, Any]:
    """Compensation, last: mark the purchase failed (or refunded) once nothing is held any more."""
    return purchases.finalise(ctx.db, args.purchaseId, reason_of(args.error), code_of(args.error))


# ------------------------------------------------------------------------------------ reconciler


def drive(org: str, purchase_id: str, reason: str) -> str:
    """Drive one purchase to a final state from what is recorded: record it if it was charged and
    minted, else undo what happened and mark it failed."""
    from ontology.data.transaction import run_mutation, run_query

    props = run_query(lambda db: purchases.load(db, purchase_id), org=org)["properties"]
    if props["status"] != "pending":
        return str(props["status"])
    forward = not props.get("compensating")
    if forward and props["chargeStatus"] == "captured" and props["mintStatus"] == "minted":
        return str(run_mutation(lambda db: purchases.complete(db, purchase_id), org=org)["status"])
    failure: Exception | None = None
    try:
        purchases.refund(org, purchase_id)
    except Exception as exc:  # the mint is undone all the same; the refund is tried again next run
        failure = exc
    purchases.burn(org, purchase_id, wait_seconds=0)
    if failure is not None:
        raise failure
    return str(run_mutation(lambda db: purchases.finalise(db, purchase_id, reason), org=org)["status"])


def _stale(org: str, cutoff: int) -> list[str]:
    from ontology.data.transaction import run_query

    def pending(db: Any) -> list[str]:
        query = (
            db.query("entities")
            .with_index("by_type_status", lambda q: q.eq("type", "payment").eq("status", "draft"))
            .filter(lambda f: f.eq(f.field("properties.purpose"), purchases.PURPOSE))
        )
        return [d["_id"] for d in query.iterate(100) if d["createdAt"] < cutoff]

    ids: list[str] = run_query(pending, org=org)
    return ids


#: A step Lambda may still run this long after its execution stopped (the longest task timeout).
SETTLE_SECONDS = 120


def _settled(purchase_id: str, cutoff: datetime, now: datetime) -> bool:
    """Whether the reconciler may take the purchase over: its execution (if any) started before the
    cutoff and stopped long enough ago that none of its steps can still be running. A running one
    (past its own timeout) is stopped now and taken over on a later run."""
    from ontology.aws import client
    from ontology.settings import get_settings

    machine = get_settings().purchase_state_machine_arn
    if not machine:
        return True
    arn = purchases.execution_arn(machine, purchase_id)
    sfn = client("stepfunctions")
    try:
        found = sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        return True
    if found["status"] == "RUNNING":
        if found["startDate"] < cutoff:
            sfn.stop_execution(
                executionArn=arn, error="Reconciled", cause="pending past the purchase timeout"
            )
        return False
    stopped = found.get("stopDate") or found["startDate"]
    return bool(found["startDate"] < cutoff and stopped < now - timedelta(seconds=SETTLE_SECONDS))


@action(args=CronArgs, internal=True, platform=True)
def reconcile(ctx: ActionCtx, args: CronArgs) -> dict[str, Any]:
    """Every five minutes: purchases still pending after the saga's timeout (a timed-out or stopped
    execution, an execution that never started, a compensation that could not finish) are driven to
    completed, failed or refunded. The run schedules one ``purchases:reconcile_organizations`` job
    per group of organizations, a page of them at a time (``fanout:page``)."""
    return fanout.drive(ctx, RECONCILE, args, RECONCILE_WORKER, group=RECONCILE_GROUP)


@action(args=WorkerArgs, internal=True, platform=True, uses=("chain", "purchase_executions"))
def reconcile_organizations(ctx: ActionCtx, args: WorkerArgs) -> dict[str, Any]:
    """The stale purchases of a group of organizations, driven within the job's budget; what is left
    (``later``) the next run takes. One purchase failing leaves the others to go on."""
    now = run_time(CronArgs(time=args.time))
    cutoff = now - timedelta(seconds=purchases.TIMEOUT_SECONDS + 60)
    deadline = time.monotonic() + BUDGET_SECONDS
    outcomes: dict[str, int] = {}
    stale = [
        (org_id, purchase_id)
        for org_id in args.organizationIds
        for purchase_id in _stale(org_id, int(cutoff.timestamp() * 1000))
    ]
    random.shuffle(stale)  # one slow purchase (or organization) does not hold the others back
    for org_id, purchase_id in stale:
        if time.monotonic() > deadline:
            outcomes["later"] = outcomes.get("later", 0) + 1
            continue
        try:
            outcome = (
                drive(org_id, purchase_id, "The purchase timed out")
                if _settled(purchase_id, cutoff, now)
                else "running"
            )
        except Exception:
            log.exception("could not reconcile purchase %s; the next run tries again", purchase_id)
            outcome = "retry"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"outcomes": outcomes}
