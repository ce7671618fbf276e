"""Auth jobs: the hourly cleanup of expired sessions and verification tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import Email, NonNegative
from ontology.runtime.context import ActionCtx, MutationCtx
from ontology.runtime.functions import action, mutation
from ontology.runtime.registry import Args
from ontology.services import fanout
from ontology.services.cron_runs import CronArgs, run_time, window_for

#: Documents deleted per transaction (each delete also removes its unique guard: two items).
CLEANUP_BATCH = 40
EXPIRY_FIELD = {"sessions": "expiresAt", "verificationTokens": "expires"}
JOB = "auth:cleanup_expired_tokens"


class DeleteExpiredArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"table": "sessions", "before": 1795608000000}]}
    )

    table: Literal["sessions", "verificationTokens"]
    before: NonNegative


@mutation(args=DeleteExpiredArgs, internal=True, platform=True)
def delete_expired_batch(ctx: MutationCtx, args: DeleteExpiredArgs) -> int:
    """Delete up to one batch of documents of ``table`` that expired before ``before``."""
    field = EXPIRY_FIELD[args.table]
    expired = (
        ctx.db.query(args.table)
        .with_index("by_expires", lambda q: q.lt(field, args.before))
        .take(CLEANUP_BATCH)
    )
    for doc in expired:
        ctx.db.delete(doc["_id"], args.table)
    return len(expired)


class CleanupArgs(CronArgs):
    model_config = ConfigDict(json_schema_extra={"examples": [{"time": "2026-11-25T17:00:00Z", "part": 1}]})

    #: which piece of the run this is (0: the scheduled event; then the continuations)
    part: Annotated[int, Field(ge=0, le=100_000)] = 0


@action(args=CleanupArgs, internal=True, platform=True)
def cleanup_expired_tokens(ctx: ActionCtx, args: CleanupArgs) -> dict[str, Any]:
    """Hourly: delete every session and verification token that has expired (idempotent: a second
    run finds nothing left to delete); a run out of time continues in a job of its own, once."""
    when = run_time(args)
    before = int(when.timestamp() * 1000)
    budget = fanout.Budget()
    deleted: dict[str, int] = {}
    for table in EXPIRY_FIELD:
        total = 0
        while True:
            n = ctx.run_mutation(delete_expired_batch, {"table": table, "before": before})
            total += n
            if n < CLEANUP_BATCH:
                break
            if budget.spent():  # the rest in a job of its own (once per piece)
                deleted[table] = total
                following = {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "part": args.part + 1}
                piece = f"part:{args.part + 1}"
                fanout.schedule_once(JOB, window_for(JOB, when), piece, JOB, following)
                return {"deleted": deleted, "continued": True}
        deleted[table] = total
    return {"deleted": deleted}


class EmailArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to": "ada@example.com",
                    "subject": "Verify your email address",
                    "text": "…",
                    "html": "<p>…</p>",
                }
            ]
        }
    )

    to: Email
    subject: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    text: Annotated[StrictStr, Field(max_length=20_000)]
    html: Annotated[StrictStr, Field(max_length=50_000)]


@action(args=EmailArgs, internal=True)
def send_email(ctx: ActionCtx, args: EmailArgs) -> dict[str, str]:
    """Send one email through the email provider (Resend; the file outbox in the local stack).
    Scheduled by the mutation that decided to send it."""
    from ontology.providers.email import get_email

    return {"id": get_email().send(to=args.to, subject=args.subject, html=args.html, text=args.text)}
