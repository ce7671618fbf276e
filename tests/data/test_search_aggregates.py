"""The search index's aggregates from the table's stream: each term's df and the totals follow the
postings exactly, once each, however the stream redelivers (ontology.data.search_aggregates)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ontology import run_mutation
from ontology.data import search_aggregates
from ontology.data.dynamodb import default_store
from ontology.data.search import terms_pk, tokenize, totals_key
from ontology.data.search_aggregates import aggregate, aggregate_handler
from tests.data.helpers import ORG, OTHER_ORG, entity, stream_records

INDEX = "search_entities"


def _names() -> list[str]:
    return [f"{w} {x} common" for w in ("alpha", "beta", "gamma", "delta") for x in ("one", "two", "three")]


def _write_some(org: str = ORG) -> list[str]:
    ids = run_mutation(lambda db: [db.insert("entities", entity(name=n)) for n in _names()], org=org)
    run_mutation(lambda db: db.patch(ids[0], {"name": "alpha alpha renamed"}), org=org)
    run_mutation(lambda db: db.delete(ids[1]), org=org)
    run_mutation(lambda db: db.patch(ids[2], {"type": "video"}), org=org)  # another list, same terms
    return ids


def _expected(names: list[str]) -> tuple[Counter[str], int, int]:
    df: Counter[str] = Counter()
    for name in names:
        df.update(set(tokenize(name)))
    return df, len(names), sum(len(tokenize(n)) for n in names)


def _current(org: str = ORG) -> list[str]:
    names = _names()
    names[0] = "alpha alpha renamed"
    del names[1]
    return names


def _aggregates(org: str, terms: set[str]) -> tuple[dict[str, int], int, int]:
    store = default_store()
    df = {}
    for t in terms:
        entry = store.get(terms_pk(org, "entities", INDEX, t), t) or {}
        df[t] = int(entry.get("df", 0))
    totals = store.get(*totals_key(org, "entities", INDEX)) or {}
    return df, int(totals.get("n", 0)), int(totals.get("len", 0))


def _assert_exact(org: str = ORG) -> None:
    df, n, length = _expected(_current(org))
    terms = set(df) | {t for name in _names() for t in tokenize(name)}
    got_df, got_n, got_len = _aggregates(org, terms)
    assert {t: c for t, c in got_df.items() if c} == dict(df)
    assert (got_n, got_len) == (n, length)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few items, so that a batch is written in several transactions."""
    monkeypatch.setattr(search_aggregates, "MAX_ITEMS", 5)


def test_the_aggregates_follow_inserts_renames_moves_and_deletes(table: str) -> None:
    _write_some()
    _write_some(OTHER_ORG)
    records = stream_records()
    assert aggregate(records) is None
    _assert_exact(ORG)
    _assert_exact(OTHER_ORG)  # each organization its own
    # the stream again, whole or from any chunk's start: nothing changes
    assert aggregate(records) is None
    _assert_exact(ORG)


def test_a_batch_redelivered_after_a_crash_counts_once(
    table: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_some()
    records = stream_records()
    store = default_store()
    sent = {"n": 0}
    original = store.transact_write

    class Died(BaseException):
        """The handler's process ended (a timeout) after its third transaction was written."""

    def transact(items: list[dict[str, Any]], token: str | None = None) -> None:
        original(items, token)
        sent["n"] += 1
        if sent["n"] == 3:
            raise Died

    monkeypatch.setattr(store, "transact_write", transact)
    with pytest.raises(Died):
        aggregate(records, store)
    monkeypatch.setattr(store, "transact_write", original)
    assert aggregate(records, store) is None  # Lambda retries the batch as it was
    _assert_exact()


def test_an_unknown_outcome_is_sent_again_and_counts_once(
    table: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_some()
    store = default_store()
    original = store.transact_write
    lost = {"n": 0}

    def transact(items: list[dict[str, Any]], token: str | None = None) -> None:
        original(items, token)
        if lost["n"] < 2:  # written, but the answer never came back
            lost["n"] += 1
            raise ConnectionError("read timeout")

    monkeypatch.setattr(store, "transact_write", transact)
    monkeypatch.setattr(search_aggregates.time, "sleep", lambda s: None)
    assert aggregate(stream_records(), store) is None
    _assert_exact()


def test_a_failing_chunk_is_reported_and_retried_from_its_first_record(
    table: str, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_some()
    records = stream_records()
    store = default_store()
    original = store.transact_write
    calls = {"n": 0}

    def transact(items: list[dict[str, Any]], token: str | None = None) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise _refused()
        original(items, token)

    monkeypatch.setattr(store, "transact_write", transact)
    answer = aggregate_handler({"Records": records})
    (failure,) = answer["batchItemFailures"]
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    failed = sequences.index(failure["itemIdentifier"])
    assert failed > 0  # the first chunk was written: Lambda need not send it again
    monkeypatch.setattr(store, "transact_write", original)
    # what Lambda does with the answer: the records before it are done, the rest comes again
    assert aggregate(records[failed:], store) is None
    _assert_exact()


def _refused() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "ValidationException", "Message": "refused"}}, "TransactWriteItems")


def test_the_handler_answers_lambda(table: str) -> None:
    _write_some()
    records = stream_records()
    assert aggregate_handler({"Records": records}) == {"batchItemFailures": []}
    _assert_exact()


def test_a_write_that_moves_no_posting_changes_no_aggregate(table: str) -> None:
    (doc,) = run_mutation(lambda db: [db.insert("entities", entity(name="plain title"))], org=ORG)
    before = len(search_aggregates.changes(stream_records()))
    run_mutation(lambda db: db.patch(doc, {"properties": {"views": 3}}), org=ORG)
    assert len(search_aggregates.changes(stream_records())) == before
