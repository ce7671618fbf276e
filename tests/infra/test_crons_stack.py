"""A cron over every organization on the local stack (`make dev`), as a developer fires it with
``one cron run``: the run reads a page of organizations and schedules a job for each and for the
next page; the stack's scheduler (the table's stream, the jobs queue, the runner) runs them; every
organization gets its weekly report once. The same run delivered again schedules nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import Stack, running_stack

#: More organizations than a page holds (ontology.services.fanout.ORGANIZATIONS_PER_PAGE: 20).
CREATED = 22
WEEKLY = "weekly analytics report"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "crons")


def one_cron_run(stack: Stack, name: str) -> dict[str, Any]:
    fired = subprocess.run(
        [sys.executable, "-m", "infra.cli", "cron", "run", name, "--wait", "--url", stack.url],
        cwd=ROOT,
        env={**os.environ, "ONE_STATE_DIR": str(stack.state_dir)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert fired.returncode == 0, fired.stdout + fired.stderr
    return dict(json.loads(fired.stdout))


def reports(client: OneClient, org: str) -> list[dict[str, Any]]:
    client.action("organizations:switch_active", {"organizationId": org})
    page = client.query(
        "entities:list", {"type": "report", "paginationOpts": {"numItems": 10, "cursor": None}}
    )
    return list(page["page"])


@pytest.mark.slow
def test_a_cron_over_every_organization_runs_as_one_job_each(stack: Stack) -> None:
    from ontology.services.fanout import ORGANIZATIONS_PER_PAGE

    assert ORGANIZATIONS_PER_PAGE < CREATED + 1
    home = stack.dev_session()["organizationId"]
    with OneClient(stack.url, token=stack.token()) as owner:
        orgs = [home] + [
            owner.action("organizations:create", {"name": f"Studio {i}"})["organizationId"]
            for i in range(CREATED)
        ]
        first = one_cron_run(stack, WEEKLY)
        run = first["run"]
        assert run["organizations"] == ORGANIZATIONS_PER_PAGE and run["scheduled"] == ORGANIZATIONS_PER_PAGE
        assert run["more"] is True, "the rest follow as a job of their own"
        # one bounded job per organization, and one for the second page, each run once (and each
        # worker's next attempt, scheduled before it started, cancelled once it was done)
        assert first["jobs"] == {
            "analytics:report_organization": {"success": len(orgs), "canceled": len(orgs)},
            "fanout:page": {"success": 1},
        }
        assert all(len(reports(owner, org)) == 1 for org in orgs)

        again = one_cron_run(stack, WEEKLY)  # the same week's run, delivered again
        assert again["run"]["scheduled"] == 0 and again["jobs"] == {}
        assert [len(reports(owner, org)) for org in (orgs[0], orgs[-1])] == [1, 1]
