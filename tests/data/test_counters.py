"""Sharded counters (``ontology.data.counters``) on moto, mutations racing in threads: additions are
exact and never conflict (where counting in the document does, in the same harness), a capped
counter never passes its cap, a sealed counter takes no more, a read the commit does not depend on
puts nothing in the transaction, and what a function returns reads its documents' counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ontology import ConflictError, run_mutation, run_query
from ontology.data import counters
from tests.data.helpers import ORG, entity, livestream, requests_seen
from tests.functions.conftest import run_as_owner

THREADS = 8


def _race(work: Callable[[int], None]) -> list[BaseException]:
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


def cancelled_transactions() -> Any:
    """The TransactWriteItems the store refused (a condition failed: the mutation ran again)."""
    return requests_seen(
        lambda operation, params, response: (
            operation if operation == "TransactWriteItems" and response is None else None
        )
    )


def _shown(stream: str) -> int:
    return int(run_as_owner("livestreams:get", {"livestreamId": stream})["properties"]["messageCount"])


def test_additions_racing_are_exact_and_never_conflict(table: str) -> None:
    stream = livestream()

    def work(n: int) -> None:
        for i in range(20):

            def send(db: Any, i: int = i) -> None:
                db.insert(
                    "events",
                    {"type": "livestream_interaction", "actorId": stream, "targetId": stream, "timestamp": i},
                )
                counters.add(db, stream, "messageCount", 1)

            run_mutation(send, org=ORG)

    with cancelled_transactions() as refused:
        assert _race(work) == []
    assert refused == []  # no mutation ran twice, let alone failed with CONFLICT
    assert run_query(lambda db: counters.value(db, stream, "messageCount"), org=ORG) == THREADS * 20
    assert _shown(stream) == THREADS * 20
    shards = {int(i["sk"]) for i in _shard_items(stream, "messageCount")}
    assert len(shards) > 1 and max(shards) < counters.shards_of("messageCount")


def test_counting_in_the_document_conflicts_in_the_same_harness(table: str) -> None:
    """What the counters replace: the same race, counted in the document, makes mutations run again
    (so the harness can tell)."""
    stream = livestream()

    def work(n: int) -> None:
        for _ in range(10):

            def bump(db: Any) -> None:
                doc = db.get(stream)
                time.sleep(0.001)
                db.patch(stream, {"name": f"Live {doc['properties']['streamStatus']} {n}"})

            run_mutation(bump, org=ORG)

    with cancelled_transactions() as refused:
        assert _race(work) == []
    assert refused, "racing writes of one document must conflict"


def _shard_items(doc_id: str, name: str) -> list[dict[str, Any]]:
    from ontology.data.dynamodb import default_store

    items, _, _ = default_store().query(
        index=None,
        pk_attr="pk",
        pk=counters.counter_pk(ORG, doc_id, name),
        sk_attr="sk",
        sk_condition=None,
        forward=True,
        limit=None,
        start_key=None,
        consistent=True,
    )
    return items


def _token(total: int, sold: int = 0) -> dict[str, Any]:
    doc = entity(
        "token",
        "Ada coin",
        "active",
        contractAddress="0x" + "1" * 40,
        blockchain="base",
        standard="ERC20",
        totalSupply=total,
        circulatingSupply=sold,
        price=1,
    )
    token_id = run_mutation(lambda db: db.insert("entities", doc), org=ORG)
    return dict(run_query(lambda db: db.get(token_id), org=ORG))


def test_a_capped_supply_never_passes_its_cap_however_many_race(table: str) -> None:
    from ontology import ValidationError
    from ontology.services import purchases

    token = _token(50)
    added: list[int] = []
    refused: list[int] = []

    def work(n: int) -> None:
        for _ in range(3):
            try:
                run_mutation(lambda db: purchases.add_supply(db, token, 7), org=ORG)
                added.append(7)
            except ValidationError as exc:
                refused.append(int(exc.data["available"]))

    assert _race(work) == []  # none failed with CONFLICT
    assert sum(added) == 49 and len(refused) == THREADS * 3 - 7
    assert run_query(lambda db: purchases.supply_left(db, token), org=ORG) == 1
    shown = run_as_owner("tokens:get", {"id": token["_id"]})["properties"]
    assert shown["circulatingSupply"] == 49
    caps = counters.shard_caps(50, counters.shards_of("circulatingSupply"))
    for item in _shard_items(token["_id"], "circulatingSupply"):
        assert int(item["n"]) <= caps[int(item["sk"])]


def test_a_supply_the_document_still_stores_counts_against_the_cap(table: str) -> None:
    from ontology import ValidationError
    from ontology.services import purchases

    token = _token(20, sold=15)  # as a token sold before counters held its supply
    run_mutation(lambda db: purchases.add_supply(db, token, 5), org=ORG)
    with pytest.raises(ValidationError) as raised:
        run_mutation(lambda db: purchases.add_supply(db, token, 1), org=ORG)
    assert raised.value.data["available"] == 0
    assert run_as_owner("tokens:get", {"id": token["_id"]})["properties"]["circulatingSupply"] == 20


def test_a_sealed_counter_takes_no_more(table: str) -> None:
    stream = livestream()
    run_mutation(lambda db: counters.add(db, stream, "messageCount", 2), org=ORG)
    run_mutation(lambda db: counters.seal(db, stream, "messageCount"), org=ORG)
    with pytest.raises(ConflictError):
        run_mutation(lambda db: counters.add(db, stream, "messageCount", 1), org=ORG, max_attempts=2)
    assert _shown(stream) == 2


def test_a_count_is_what_the_document_stores_plus_its_counter_and_writes_keep_it(table: str) -> None:
    stream = livestream(message_count=5)  # counted before counters: migration 0014 moves it
    run_mutation(lambda db: counters.add(db, stream, "messageCount", 3), org=ORG)
    assert _shown(stream) == 8
    read = run_as_owner("livestreams:get", {"livestreamId": stream})
    run_mutation(lambda db: db.patch(stream, {"properties": read["properties"]}), org=ORG)  # written back
    assert _shown(stream) == 8
    stored = run_query(lambda db: db.get(stream), org=ORG)["properties"]["messageCount"]
    assert stored == 5, "a write never changes what the document stores of a count"
    recording = run_mutation(
        lambda db: db.insert(
            "entities", entity("recording", "Live (recording)", livestreamId=stream, messageCount=0)
        ),
        org=ORG,
    )
    shown = run_as_owner("entities:get", {"id": recording})
    assert shown["properties"]["messageCount"] == 8  # a recording counts its stream's messages


def test_a_read_without_a_check_puts_nothing_in_the_commit(table: str) -> None:
    from ontology.data.db import DatabaseWriter, TxState
    from ontology.data.transaction import build_transaction

    stream = livestream()
    other = run_mutation(lambda db: db.insert("entities", entity("blog_post", "Post")), org=ORG)
    tx = TxState(ORG)
    db = DatabaseWriter(ORG, tx=tx)
    assert db.get(stream, "entities", checked=False) is not None
    db.patch(other, {"name": "Renamed"})
    counters.add(db, stream, "messageCount", 1)
    kinds = [
        (next(iter(op)), next(iter(op.values())).get("Key", {}).get("pk"))
        for op in build_transaction(tx, "one-test")
    ]
    assert not any(pk == {"S": f"{ORG}#{stream}"} for _, pk in kinds), kinds
    db.get(stream, "entities")  # read again, checked: now the commit depends on it
    checks = [
        op["ConditionCheck"]["Key"]["pk"]["S"]
        for op in build_transaction(tx, "one-test")
        if "ConditionCheck" in op
    ]
    assert checks == [f"{ORG}#{stream}"]


def test_a_subscription_to_a_count_watches_its_shards(table: str) -> None:
    from ontology.data.tracking import recording, recording_writes

    stream = livestream()
    with recording() as reads:
        assert _shown(stream) == 0
    with recording_writes() as writes:
        run_mutation(lambda db: counters.add(db, stream, "messageCount", 1), org=ORG)
    assert reads.touches(writes), "adding to the count must re-run what read it"
    with recording_writes() as elsewhere:
        run_mutation(lambda db: counters.add(db, livestream(), "messageCount", 1), org=ORG)
    assert not reads.touches(elsewhere)
