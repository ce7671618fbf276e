"""Counts folded into their documents (``ontology.data.count_folds``): the stream's aggregator sets each
changed counter shard in its document's fold, and a page lists a counted document with its counts
from the fold, reading no counter; a document read by its id stays exact; a write of the document
carries its fold on unless a fold was written since (then it runs again); a document without a fold
is read until the next change builds it whole."""

from __future__ import annotations

from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data import counters
from ontology.data.count_folds import FOLD
from ontology.data.dynamodb import default_store
from ontology.data.keys import DOC_SK
from ontology.data.search_aggregates import aggregate
from tests.data.helpers import ORG, livestream, requests_seen, stream_records
from tests.functions.conftest import run_as_owner

PAGE = {"paginationOpts": {"numItems": 20, "cursor": None}}


def counter_reads() -> Any:
    """The partitions of the counters read (each a Query of its shards)."""

    def pick(operation: str, params: dict[str, Any], response: Any) -> str | None:
        values = (params.get("ExpressionAttributeValues") or {}).values()
        found = [str(v["S"]) for v in values if "#count#" in str(v.get("S", ""))]
        return found[0] if operation == "Query" and found else None

    return requests_seen(pick)


def _say(stream: str, n: int) -> None:
    for _ in range(n):
        run_mutation(lambda db: counters.add(db, stream, "messageCount", 1), org=ORG)


def _listed(stream: str) -> int:
    page = run_as_owner("entities:list", PAGE)["page"]
    (doc,) = [d for d in page if d["_id"] == stream]
    return int(doc["properties"]["messageCount"])


def _shown(stream: str) -> int:
    return int(run_as_owner("livestreams:get", {"livestreamId": stream})["properties"]["messageCount"])


def _fold(stream: str) -> Any:
    item = default_store().get(f"{ORG}#{stream}", DOC_SK)
    return None if item is None else item.get(FOLD)


def _settle() -> None:
    assert aggregate(stream_records()) is None


def test_a_listed_document_reads_its_counts_from_its_fold(table: str) -> None:
    stream = livestream(4)  # counted before counters: the stored part is added to the fold's
    assert _fold(stream) == {"messageCount": {}}, "a new counted entity is put with an empty fold"
    with counter_reads() as read:
        assert _listed(stream) == 4
    assert read == [], "a listed document with a fold reads no counter"
    _say(stream, 3)
    assert _shown(stream) == 7, "a document read by its id is exact"
    assert _listed(stream) == 4, "listed, it shows the fold: the stream has not caught up yet"
    _settle()
    assert sum(_fold(stream)["messageCount"].values()) == 3
    with counter_reads() as read:
        assert _listed(stream) == 7
    assert read == []
    _say(stream, 2)
    _settle()
    assert _listed(stream) == 9
    folded = _fold(stream)
    _settle()  # the whole stream again: the same slots, the same values
    assert _fold(stream) == folded and _listed(stream) == 9


def test_a_write_of_the_document_carries_its_fold_unless_a_fold_was_written_since(table: str) -> None:
    from ontology.data.count_folds import _set_slots

    stream = livestream()
    _say(stream, 2)
    _settle()
    folded = _fold(stream)
    run_mutation(lambda db: db.patch(stream, {"name": "Live again"}), org=ORG)
    assert _fold(stream) == folded, "a write keeps the fold it read"

    attempts: list[int] = []

    def rename(db: Any) -> None:
        db.get(stream)
        if not attempts:  # between this mutation's read and its commit, a fold lands
            assert _set_slots(default_store(), f"{ORG}#{stream}", {"messageCount": {"00": 40}})
        attempts.append(1)
        db.patch(stream, {"name": "Live once more"})

    run_mutation(rename, org=ORG)
    assert len(attempts) == 2, "the write that would have put back an older fold ran again"
    assert _fold(stream)["messageCount"]["00"] == 40


def test_a_document_without_a_fold_is_read_until_a_change_builds_it_whole(table: str) -> None:
    stream = livestream()
    _say(stream, 2)
    default_store().send(  # as written before folds existed
        "UpdateItem",
        {
            "TableName": table,
            "Key": {"pk": {"S": f"{ORG}#{stream}"}, "sk": {"S": DOC_SK}},
            "UpdateExpression": "REMOVE cnt, cnv",
        },
    )
    _settle()
    assert _fold(stream) is not None, "a change seen with no fold builds it"
    _say(stream, 1)
    default_store().send(
        "UpdateItem",
        {
            "TableName": table,
            "Key": {"pk": {"S": f"{ORG}#{stream}"}, "sk": {"S": DOC_SK}},
            "UpdateExpression": "REMOVE cnt, cnv",
        },
    )
    with counter_reads() as read:
        assert _listed(stream) == 3  # no fold: its counter is read, exactly
    assert read
    before = len(stream_records())
    _say(stream, 1)
    assert aggregate(stream_records()[before:]) is None  # only the last change: the fold is built whole
    assert sum(_fold(stream)["messageCount"].values()) == 4
    with counter_reads() as read:
        assert _listed(stream) == 4
    assert read == []


def test_a_fold_never_brings_back_a_deleted_document(table: str) -> None:
    stream = livestream()
    _say(stream, 2)
    run_mutation(lambda db: db.delete(stream), org=ORG)
    _settle()
    assert default_store().get(f"{ORG}#{stream}", DOC_SK) is None
    assert run_query(lambda db: db.get(stream), org=ORG) is None


def test_a_listing_subscription_re_runs_when_a_fold_changes_its_page(table: str) -> None:
    from ontology.data.tracking import recording
    from ontology.sync.invalidator import write_set_of

    stream = livestream()
    _say(stream, 1)
    _settle()
    with recording() as reads:
        assert _listed(stream) == 1
    before = len(stream_records())
    _say(stream, 1)
    _settle()
    folds = [
        r
        for r in stream_records()[before:]
        if r["dynamodb"]["Keys"]["pk"]["S"] == f"{ORG}#{stream}" and r["eventName"] == "MODIFY"
    ]
    assert folds, "the fold is a write of the document's item"
    touched = [write_set_of(r) for r in folds]
    assert any(w is not None and reads.touches(w) for w in touched)


def test_a_fold_that_keeps_losing_fails_the_batch_which_comes_back_whole(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ontology.data import count_folds

    stream = livestream()
    default_store().send(  # no fold: the batch's change must build it
        "UpdateItem",
        {
            "TableName": table,
            "Key": {"pk": {"S": f"{ORG}#{stream}"}, "sk": {"S": DOC_SK}},
            "UpdateExpression": "REMOVE cnt, cnv",
        },
    )
    _say(stream, 2)
    records = stream_records()
    monkeypatch.setattr(count_folds, "_build", lambda store, item: False)  # a write lands each time
    assert aggregate(records) == 0, "Lambda hands the batch over again from its first record"
    assert _fold(stream) is None
    monkeypatch.undo()
    assert aggregate(records) is None
    assert sum(_fold(stream)["messageCount"].values()) == 2
