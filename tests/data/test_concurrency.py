"""Concurrent mutations on moto (one lock around every moto call): no lost updates, invariants hold,
and a naive read-modify-write in the same harness does lose updates (so the harness can fail)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from ontology import InsufficientTokensError, run_mutation, run_query
from ontology.data.dynamodb import default_store
from ontology.data.transaction import _doc_attrs
from tests.data.helpers import ORG, entity

THREADS = 8


def _run_threads(work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def runner(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    return errors


def _counter() -> str:
    return run_mutation(lambda db: db.insert("entities", entity("metric", "counter", value=0)), org=ORG)


def _value(doc_id: str) -> int:
    return run_query(lambda db: db.get(doc_id), org=ORG)["properties"]["value"]


@pytest.mark.slow
def test_concurrent_increments_through_mutations_are_never_lost(table: str) -> None:
    counter = _counter()

    def increment(db) -> None:
        doc = db.get(counter)
        db.patch(counter, {"properties": {"value": doc["properties"]["value"] + 1}})

    def work(_: int) -> None:
        for _ in range(25):
            run_mutation(increment, org=ORG)

    assert _run_threads(work) == []
    assert _value(counter) == THREADS * 25


def test_naive_read_modify_write_loses_updates_in_the_same_harness(table: str) -> None:
    counter = _counter()
    store = default_store()

    def naive_increment() -> None:
        doc = run_query(lambda db: db.get(counter), org=ORG)
        time.sleep(0.001)
        doc["properties"]["value"] += 1
        store.put(_doc_attrs(ORG, counter, doc, 1, (__import__("ontology").TABLES["entities"], ORG)))

    def work(_: int) -> None:
        for _ in range(25):
            naive_increment()

    assert _run_threads(work) == []
    assert _value(counter) < THREADS * 25, "the harness must be able to expose lost updates"


@pytest.mark.slow
def test_concurrent_transfers_conserve_the_total_and_never_go_negative(table: str) -> None:
    accounts = run_mutation(
        lambda db: [db.insert("entities", entity("metric", f"acct{i}", balance=100)) for i in range(10)],
        org=ORG,
    )
    refused = []

    def transfer(src: str, dst: str, amount: int):
        def body(db) -> None:
            a, b = db.get(src), db.get(dst)
            have = a["properties"]["balance"]
            if have < amount:
                raise InsufficientTokensError(required=amount, available=have)
            db.patch(src, {"properties": {"balance": have - amount}})
            db.patch(dst, {"properties": {"balance": b["properties"]["balance"] + amount}})

        return body

    def work(n: int) -> None:
        rng = random.Random(n)
        for _ in range(50):
            src, dst = rng.sample(accounts, 2)
            try:
                run_mutation(transfer(src, dst, rng.randint(1, 60)), org=ORG)
            except InsufficientTokensError:
                refused.append(1)

    assert _run_threads(work) == []
    balances = [d["properties"]["balance"] for d in run_query(lambda db: db.get_many(accounts), org=ORG)]
    assert sum(balances) == 1000
    assert min(balances) >= 0
    assert len(refused) < THREADS * 50, "most transfers went through"


def test_a_mutation_that_keeps_conflicting_reruns_then_fails_with_conflict(table: str) -> None:
    from ontology import ConflictError

    counter = _counter()
    runs = []

    def body(db) -> None:
        runs.append(1)
        doc = db.get(counter)
        # Another writer commits between this mutation's read and its commit, every time.
        run_mutation(lambda other: other.patch(counter, {"name": f"bump {len(runs)}"}), org=ORG)
        db.patch(counter, {"properties": {"value": doc["properties"]["value"] + 1}})

    try:
        run_mutation(body, org=ORG, max_attempts=4)
    except ConflictError as err:
        assert err.code == "CONFLICT" and err.data["attempts"] == 4
    else:
        raise AssertionError("expected CONFLICT")
    assert len(runs) == 4, "the whole mutation re-ran on each conflict"
    assert _value(counter) == 0, "the conflicting mutation never landed"
