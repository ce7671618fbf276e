"""Data migrations on moto, in process: batches, a crash and its resumption, concurrent writes, dry
runs, cancelling, the lease, the Query source, the old layout's readers (docs/migrations.md).

The same migrations run through the CLI against the local stack in
``tests/infra/test_migrations_stack.py``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data import layout
from ontology.data.dynamodb import add_listener, default_store, remove_listener
from ontology.data.keys import now_ms
from ontology.data.migrations import Batch, Change, Migration, progress, registry, runner, scan, update
from ontology.data.migrations.progress import LeaseHeldError
from ontology.data.migrations.runner import Options, WcuBudget
from ontology.errors import ConflictError, NotFoundError
from tests.data.helpers import ORG, OTHER_ORG, entity, organization
from tests.data.sample_migrations.m0001_mark_entities import MarkEntities
from tests.data.sample_migrations.m0002_tag_entities import TagEntities
from tests.data.sample_migrations.m0003_count_entities import CountEntities

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def seed(n: int, org: str = ORG, **props: Any) -> list[str]:
    if n and not run_query(lambda db: db.get(org, "organizations"), org=None, platform=True):
        organization(org)
    ids = []
    for i in range(n):
        ids.append(
            run_mutation(lambda db, i=i: db.insert("entities", entity(name=f"Post {i}", **props)), org=org)
        )
    return ids


def raw_items(org: str = ORG) -> dict[str, dict[str, Any]]:
    """Every entity item of ``org`` as stored (through moto's backend: no Scan)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["one-test"]
    out = {}
    for item in table.all_items():
        attrs = {k: v.to_json() for k, v in item.attrs.items()}
        if attrs.get("tb") == {"S": "entities"} and attrs["pk"]["S"].startswith(org):
            out[attrs["pk"]["S"]] = attrs
    return out


class Calls:
    def __init__(self) -> None:
        self.ops: list[str] = []

    def __call__(self, operation: str, params: dict[str, Any], response: Any) -> None:
        self.ops.append(operation)


@pytest.fixture
def calls(table: str) -> Iterator[Calls]:
    seen = Calls()
    add_listener(seen)
    yield seen
    remove_listener(seen)


class Crash(BaseException):
    """A runner's process dying: nothing after it runs (no status, no lease given back)."""


def test_batches_crash_and_resume_changing_no_item_twice(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed(45)
    store = default_store()
    real_save = progress.save
    saves = {"n": 0}

    def save_then_die(*args: Any, **kwargs: Any) -> Any:
        # the third page's changes are written, then the process dies before its cursor is saved;
        # nothing it does after that is saved (the other segment's thread dies at its next save)
        if kwargs.get("segment") is not None:
            saves["n"] += 1
            if saves["n"] >= 3:
                raise Crash()
        return real_save(*args, **kwargs)

    monkeypatch.setattr(progress, "save", save_then_die)
    with pytest.raises(Crash):
        runner.run(store, MarkEntities(), Options(batch=10))
    monkeypatch.setattr(progress, "save", real_save)

    half = progress.read(store, MarkEntities.id)
    assert half is not None and half.status == "running"  # interrupted: its runner never said otherwise
    marked = [item for item in raw_items().values() if "mk" in item]
    assert 0 < len(marked) < 45
    assert {item["mk"]["N"] for item in marked} == {"1"}

    report = runner.run(store, MarkEntities(), Options(batch=10))
    assert report.status == "done", report.error
    items = raw_items()
    assert len(items) == 45
    # every item changed exactly once: the page redone after the crash found its items stamped
    assert {item["mk"]["N"] for item in items.values()} == {"1"}
    assert {item["lv"]["N"] for item in items.values()} == {"1"}
    assert {item["v"]["N"] for item in items.values()} == {"2"}  # a version more, as any write
    assert report.counts["changed"] + report.counts["skipped"] == 45
    assert report.counts["changed"] < 45  # the crashed page's writes, never saved, were skipped
    assert report.verified == 45 and not report.problems
    done = progress.read(store, MarkEntities.id)
    assert done is not None and done.status == "done" and done.owner is None
    # the documents read as before, and the next mutation writes over them as usual
    assert run_query(lambda db: db.get(ids[0]), org=ORG)["name"] == "Post 0"
    run_mutation(lambda db: db.patch(ids[0], {"name": "Renamed"}), org=ORG)
    assert run_query(lambda db: db.get(ids[0]), org=ORG)["name"] == "Renamed"
    # run again: it is done
    with pytest.raises(ConflictError):
        runner.run(store, MarkEntities(), Options())


class MarkWhileSomeoneWrites(MarkEntities):
    """The first time ``step`` meets the target, a function renames it (between the runner's read and
    its write)."""

    target = ""
    interfered = False

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            if item["pk"].endswith(self.target) and not MarkWhileSomeoneWrites.interfered:
                MarkWhileSomeoneWrites.interfered = True
                run_mutation(lambda db: db.patch(self.target, {"name": "Written meanwhile"}), org=ORG)
        yield from super().step(batch)


def test_a_concurrent_write_is_never_overwritten(table: str) -> None:
    ids = seed(6)
    MarkWhileSomeoneWrites.target = ids[3]
    report = runner.run(default_store(), MarkWhileSomeoneWrites(), Options(batch=3))
    assert MarkWhileSomeoneWrites.interfered and report.status == "done", report.error
    assert report.counts["retried"] >= 1  # its write met the function's and was made again
    doc = run_query(lambda db: db.get(ids[3]), org=ORG)
    assert doc["name"] == "Written meanwhile"  # the function's write is kept...
    item = raw_items()[f"{ORG}#{ids[3]}"]
    assert item["mk"] == {"N": "1"} and item["v"] == {"N": "3"}  # ...and migrated once, on top of it


def test_a_dry_run_writes_nothing(table: str, calls: Calls) -> None:
    seed(12)
    before = raw_items()
    calls.ops.clear()
    report = runner.run(default_store(), MarkEntities(), Options(dry_run=True, batch=5))
    assert report.status == "dry-run"
    assert report.counts["changed"] == 12 and report.counts["skipped"] == 0
    assert len(report.samples) == 5 and report.samples[0].startswith(f"update {ORG}#ent_")
    assert not WRITES & set(calls.ops), calls.ops
    assert raw_items() == before
    assert progress.read(default_store(), MarkEntities.id) is None


def test_cancel_stops_at_a_batch_boundary_and_run_resumes(table: str) -> None:
    seed(30)
    store = default_store()
    seen: list[int] = []

    def cancel_after_the_first_batch(report: runner.Report) -> None:
        seen.append(report.run["examined"])
        if len(seen) == 1:  # as `one migrate cancel` from another process
            runner.cancel(store, TagEntities.id)

    report = runner.run(store, TagEntities(), Options(batch=5, on_progress=cancel_after_the_first_batch))
    assert report.status == "cancelled"
    assert report.counts["changed"] == 10  # the batch during which it was asked, and the next one
    state = progress.read(store, TagEntities.id)
    assert state is not None and state.status == "cancelled" and state.owner is None
    assert [row.status for row in runner.status(store, [TagEntities()])] == ["cancelled"]
    with pytest.raises(ConflictError):
        runner.cancel(store, TagEntities.id)  # nothing runs: nothing to cancel

    resumed = runner.run(store, TagEntities(), Options(batch=5))
    assert resumed.status == "done" and resumed.run["changed"] == 20  # from where it stopped
    assert resumed.counts["changed"] == 30


def test_the_lease_keeps_a_second_runner_out(table: str) -> None:
    seed(4)
    store = default_store()
    holding, release = threading.Event(), threading.Event()

    def hold(report: runner.Report) -> None:
        holding.set()
        release.wait(30)

    first = threading.Thread(
        target=runner.run, args=(store, TagEntities(), Options(batch=2, on_progress=hold))
    )
    first.start()
    try:
        assert holding.wait(30)
        with pytest.raises(LeaseHeldError) as refused:
            runner.run(store, TagEntities(), Options())
        assert refused.value.code == "CONFLICT" and "being run by" in refused.value.message
        (row,) = runner.status(store, [TagEntities()])
        assert row.status == "running" and row.owner
    finally:
        release.set()
        first.join(30)
    assert progress.read(store, TagEntities.id).status == "done"


def test_a_dead_runners_lease_is_taken_over(table: str) -> None:
    seed(3)
    store = default_store()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:0000dead"
    progress.acquire(
        store,
        TagEntities.id,
        description="",
        owner=dead,
        now=now_ms(),
        lease_ms=3_600_000,
        segments=1,
        total=None,
    )
    (row,) = runner.status(store, [TagEntities()])
    assert row.status == "interrupted"  # its process is gone (its lease would run for an hour)
    assert runner.cancel(store, TagEntities.id).status == "cancelled"  # at once: nobody runs it
    report = runner.run(store, TagEntities(), Options())
    assert report.status == "done" and report.counts["changed"] == 3


def test_the_documents_source_reads_by_query_never_scan(table: str, calls: Calls) -> None:
    seed(7)
    seed(4, org=OTHER_ORG)
    calls.ops.clear()
    report = runner.run(default_store(), TagEntities(), Options(batch=3))
    assert report.status == "done" and report.counts["changed"] == 11 and report.counts["examined"] == 11
    assert "Scan" not in calls.ops and "Query" in calls.ops
    for org in (ORG, OTHER_ORG):
        docs = [json.loads(item["doc"]["S"]) for item in raw_items(org).values()]
        assert {d["properties"]["tag"] for d in docs} == {"sample"}


def test_a_change_from_several_items_is_one_conditioned_transaction(table: str, calls: Calls) -> None:
    seed(5)
    seed(2, org=OTHER_ORG)
    store = default_store()
    calls.ops.clear()
    report = runner.run(store, CountEntities(), Options())
    assert report.status == "done" and report.counts["changed"] == 2 and report.counts["skipped"] == 0
    assert calls.ops.count("TransactWriteItems") == 2  # the count, and a check of each entity read
    counts = run_query(
        lambda db: db._store.query(
            index=None,
            pk_attr="pk",
            pk=f"{ORG}#sample-count",
            sk_attr="sk",
            sk_condition=None,
            forward=True,
            limit=None,
            start_key=None,
            consistent=True,
        ),
        org=ORG,
    )[0]
    assert [c["n"] for c in counts] == [5]


def test_an_item_step_fails_on_stops_the_migration_and_names_it(table: str) -> None:
    ids = seed(4)

    class Fails(MarkEntities):
        id = "0009-fails"

        def step(self, batch: Batch) -> Iterator[Change]:
            for item in batch:
                if item["pk"].endswith(ids[2]):
                    raise ValueError("cannot migrate this one")
                yield update(item, set={"ok": True})

    report = runner.run(default_store(), Fails(), Options(batch=10))
    assert report.status == "failed" and ids[2] in report.error and "cannot migrate this one" in report.error
    state = progress.read(default_store(), "0009-fails")
    assert state.status == "failed" and state.counts["failed"] == 1 and ids[2] in state.last_error
    assert [row.status for row in runner.status(default_store(), [Fails()])] == ["failed"]


def test_the_write_budget_paces_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = {"now": 100.0, "slept": 0.0}

    def sleep(seconds: float) -> None:
        clock["slept"] += seconds
        clock["now"] += seconds

    monkeypatch.setattr(runner.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(runner.time, "sleep", sleep)
    budget = WcuBudget(10)
    for _ in range(30):
        budget.spend(1)
    # 30 units at 10 a second, the first 10 from the bucket: the writes took 2 seconds more
    assert clock["slept"] == pytest.approx(2.0)
    unlimited = WcuBudget(None)
    unlimited.spend(1000)
    assert clock["slept"] == pytest.approx(2.0)


@pytest.fixture
def layout_migrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ONE_MIGRATIONS", "tests.data.layout_migrations")
    registry.reset()
    layout.reset()
    yield
    monkeypatch.delenv("ONE_MIGRATIONS")
    registry.reset()
    layout.reset()


def test_readers_accept_the_old_layout_while_it_runs(table: str, layout_migrations: None) -> None:
    (migration,) = [m for m in registry.registered() if m.readers_accept_old]
    (old,) = seed(1, blurb="short")
    assert "blurb" in json.loads(raw_items()[f"{ORG}#{old}"]["doc"]["S"])["properties"]
    # stored in the old layout, read in the new one
    assert run_query(lambda db: db.get(old), org=ORG)["properties"] == {"summary": "short"}
    assert run_query(lambda db: db.query("entities").collect(), org=ORG)[0]["properties"] == {
        "summary": "short"
    }
    report = runner.run(default_store(), migration, Options())
    assert report.status == "done" and report.counts["changed"] == 1
    assert json.loads(raw_items()[f"{ORG}#{old}"]["doc"]["S"])["properties"] == {"summary": "short"}
    assert run_query(lambda db: db.get(old), org=ORG)["properties"] == {"summary": "short"}


def test_the_registry_finds_orders_and_checks_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    registry.reset()
    platform_own = registry.registered()  # whatever the platform declares loads and checks
    assert all(m.id for m in platform_own)
    monkeypatch.setenv("ONE_MIGRATIONS", "tests.data.sample_migrations")
    registry.reset()
    try:
        ids = [m.id for m in registry.registered()]
        samples = ["0001-mark-entities", "0002-tag-entities", "0003-count-entities"]
        assert [i for i in ids if i in samples] == samples  # in the order of their numbers
        assert {m.id for m in platform_own} <= set(ids) and ids == sorted(ids)
        assert registry.find("0002-tag-entities").source.describe().endswith("(Query, no Scan)")
        with pytest.raises(NotFoundError) as unknown:
            registry.find("0042-nothing")
        assert "0001-mark-entities" in unknown.value.message
    finally:
        monkeypatch.delenv("ONE_MIGRATIONS")
        registry.reset()

    class BadId(Migration):
        id = "Add Things"
        description = "x"
        source = scan()

        def step(self, batch: Batch) -> Iterator[Change]:
            yield from ()

    with pytest.raises(ValueError, match="id must be"):
        BadId.check()

    class NoUpgrade(BadId):
        id = "0001-no-upgrade"
        readers_accept_old = True

    with pytest.raises(ValueError, match="needs upgrade"):
        NoUpgrade.check()
    assert os.environ.get("ONE_MIGRATIONS") is None


def test_a_resumed_run_keeps_the_segments_it_started_with(table: str) -> None:
    seed(10)
    store = default_store()
    # started with 3 segments (since then the declaration says 2), nothing done yet, runner gone
    progress.acquire(
        store,
        MarkEntities.id,
        description="",
        owner="elsewhere:1:x",
        now=0,
        lease_ms=1,
        segments=3,
        total=None,
    )
    report = runner.run(store, MarkEntities(), Options(batch=4))
    assert report.status == "done" and report.verified == 10 and not report.problems
    assert set(progress.read(store, MarkEntities.id).cursors) == {0, 1, 2}
    assert {item["mk"]["N"] for item in raw_items().values()} == {"1"}
