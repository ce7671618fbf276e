"""Crons over every organization, a page at a time (:mod:`ontology.services.fanout`): each page of
organizations schedules one job per organization (or group) for its cron, and the next page."""

from __future__ import annotations

from typing import Any

from ontology.runtime.context import MutationCtx
from ontology.runtime.functions import mutation
from ontology.services.fanout import PageArgs, fan_out_page


@mutation(args=PageArgs, internal=True, platform=True, name="page")
def page(ctx: MutationCtx, args: PageArgs) -> dict[str, Any]:
    """One page of a cron's organizations: a job of its worker for each (or each group) not yet
    scheduled in the run's window, and the next page as a job of its own; once per page, however
    often it is delivered."""
    return fan_out_page(ctx, args)
