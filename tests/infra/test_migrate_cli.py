"""``one migrate``'s output and its targets, in process on moto (the same commands run as subprocesses
against the local stack in ``test_migrations_stack.py``): the status table, a progress bar on a
terminal and plain lines elsewhere, the outcome lines and exit codes, samconfig's stacks."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import migrate
from infra.cli import main as one
from ontology import run_mutation
from ontology.data.dynamodb import default_store
from ontology.data.migrations import registry
from tests.data.helpers import ORG, entity, organization

SAMPLES = "tests.data.sample_migrations"
#: The platform's own migrations (numbered after the samples).
PLATFORM = [
    "0010-document-indexes",
    "0011-keyed-uniques",
    "0012-search-postings-by-value",
    "0013-search-drop-first-layout",
    "0014-counter-shards",
    "0015-relation-counts",
    "0016-shard-hot-partitions",
    "0017-knowledge-vectors",
]


@pytest.fixture
def samples(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[migrate.Target]:
    monkeypatch.setenv("ONE_MIGRATIONS", SAMPLES)
    registry.reset()
    organization(ORG)
    for i in range(7):
        run_mutation(lambda db, i=i: db.insert("entities", entity(name=f"Post {i}")), org=ORG)
    yield migrate.Target(default_store(), "one-test", "moto, in process")
    monkeypatch.delenv("ONE_MIGRATIONS")
    registry.reset()


def _run_args(**given: object) -> argparse.Namespace:
    values: dict[str, object] = {"id": None, "all": False, "dry_run": False, "batch": None, "max_wcu": None}
    values.update(given)
    return argparse.Namespace(**values)


def test_status_run_and_outcomes(samples: migrate.Target, capsys: pytest.CaptureFixture[str]) -> None:
    assert migrate.status(samples, as_json=False) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "table one-test   (moto, in process)"
    assert re.search(
        r"^ID +STATUS +PROGRESS +EXAMINED +CHANGED +SKIPPED +FAILED +ETA +DESCRIPTION$", out, re.M
    )
    assert re.search(r"^0001-mark-entities +pending +- +0 +0 +0 +0 +- +every entity document", out, re.M)
    assert f"{3 + len(PLATFORM)} pending: one migrate run --all" in out  # the samples, the platform's own

    assert migrate.run(samples, _run_args(id="0001-mark-entities", dry_run=True)) == 0
    out = capsys.readouterr().out
    assert "0001-mark-entities: dry run: 7 change(s) would be written" in out
    assert out.count("  e.g. update org_") == 5

    assert migrate.run(samples, _run_args(all=True, batch=3)) == 0
    out = capsys.readouterr().out
    samples_first = ", ".join(["0001-mark-entities", "0002-tag-entities", "0003-count-entities", *PLATFORM])
    assert f"{3 + len(PLATFORM)} pending: {samples_first}" in out
    assert "0001-mark-entities: done: " in out and "; 7 verified" in out
    assert "0003-count-entities: done: " in out
    assert migrate.run(samples, _run_args(all=True)) == 0
    assert "nothing to migrate" in capsys.readouterr().out

    assert migrate.status(samples, as_json=False) == 0
    out = capsys.readouterr().out
    assert re.search(r"^0002-tag-entities +done +100% +7 +7 +0 +0 +- ", out, re.M), out
    assert "0 pending" in out


def test_a_bar_on_a_terminal_lines_elsewhere(samples: migrate.Target) -> None:
    from ontology.data.migrations.runner import Report

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    report = Report(
        id="0001-mark-entities",
        status="running",
        counts={"examined": 50, "changed": 20, "skipped": 30, "failed": 0, "retried": 1},
        run={"examined": 50, "changed": 20, "skipped": 30, "failed": 0, "retried": 1},
        total=200,
        elapsed=10.0,
    )
    terminal = Terminal()
    bar = migrate.Progress(terminal)
    bar(report)
    bar.end()
    assert terminal.getvalue() == (
        "\r\x1b[2K0001-mark-entities  [#####...............]  25%  50/200 examined, 20 changed, "
        "30 skipped, 0 failed, 1 retried  ETA 0:30\n"
    )
    plain = io.StringIO()
    lines = migrate.Progress(plain)
    lines(report)
    lines(report)  # at most a line a second
    assert plain.getvalue().count("\n") == 1 and "\r" not in plain.getvalue()


def test_errors_are_codes_and_exit_codes(
    samples: migrate.Target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ONE_STATE_DIR", str(tmp_path / "no-stack"))
    assert one(["migrate", "status"]) == 5
    assert "one migrate: UNREACHABLE: no local stack session" in capsys.readouterr().err
    assert one(["migrate", "run", "0001-mark-entities", "--all"]) == 2
    assert "VALIDATION_ERROR: name one migration, or --all" in capsys.readouterr().err
    assert one(["migrate", "run", "--all", "--max-wcu", "0"]) == 2
    assert one(["migrate", "status", "--config-env", "staging"]) == 2
    assert "samconfig.toml has no environment 'staging' (it has: default, prod)" in capsys.readouterr().err
    assert one(["migrate", "status", "--url", "http://127.0.0.1:9", "--table", "t"]) == 2


def test_samconfig_names_the_deployed_stacks() -> None:
    assert migrate.samconfig_stack("default") == ("one-platform-dev", "us-east-1")
    assert migrate.samconfig_stack("prod") == ("one-platform-prod", "us-east-1")
