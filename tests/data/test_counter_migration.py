"""Migration 0014 moves the counts documents stored (before counters held them) into their counters'
shards: every count reads the same before and after, the documents store 0, a capped supply lands
within its shards' shares, an addition racing the move is kept, and running it again changes
nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data import counters
from ontology.data.dynamodb import default_store
from ontology.data.migrations import runner
from ontology.data.migrations.base import Batch, Change
from ontology.data.migrations.runner import Options
from ontology.data.migrations.versions.m0014_counter_shards import CounterShards
from tests.data.helpers import ORG, entity
from tests.functions.conftest import run_as_owner


def _insert(doc: dict[str, Any]) -> str:
    return str(run_mutation(lambda db: db.insert("entities", doc), org=ORG))


def _old_documents() -> dict[str, str]:
    """Documents as the platform stored them before counters: their counts in their properties."""
    stream = _insert(entity("livestream", "Live", "published", streamStatus="ended", messageCount=42))
    return {
        "stream": stream,
        "recording": _insert(entity("recording", "Live (recording)", livestreamId=stream, messageCount=42)),
        "clone": _insert(entity("ai_clone", "Ada", "active", systemPrompt="Be Ada.", totalInteractions=7)),
        "token": _insert(
            entity(
                "token",
                "Ada coin",
                "active",
                contractAddress="0x" + "1" * 40,
                blockchain="base",
                standard="ERC20",
                totalSupply=100,
                circulatingSupply=30,
                holders=3,
                price=1,
            )
        ),
        "post": _insert(entity("blog_post", "Post", messageCount=5)),
    }


def _shown(ids: dict[str, str]) -> dict[str, int]:
    def prop(doc_id: str, name: str) -> int:
        return int(run_as_owner("entities:get", {"id": doc_id})["properties"][name])

    return {
        "stream": prop(ids["stream"], "messageCount"),
        "recording": prop(ids["recording"], "messageCount"),
        "clone": prop(ids["clone"], "totalInteractions"),
        "supply": prop(ids["token"], "circulatingSupply"),
        "holders": prop(ids["token"], "holders"),
    }


def _stored(doc_id: str) -> dict[str, Any]:
    return dict(run_query(lambda db: db.get(doc_id), org=ORG)["properties"])


def _shards(doc_id: str, name: str) -> dict[str, int]:
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
    return {str(i["sk"]): int(i["n"]) for i in items if int(i.get("n", 0))}


def test_stored_counts_move_into_their_counters_and_read_the_same(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _old_documents()
    monkeypatch.setattr(counters.random, "randrange", lambda n: 3)  # additions land in shard 03
    run_mutation(lambda db: counters.add(db, ids["stream"], "messageCount", 2), org=ORG)  # since the deploy
    before = _shown(ids)
    assert before == {"stream": 44, "recording": 44, "clone": 7, "supply": 30, "holders": 3}

    report = runner.run(default_store(), CounterShards(), Options(batch=2))
    assert report.status == "done" and report.counts["changed"] == 3  # the stream, the clone, the token
    assert _shown(ids) == before
    assert _stored(ids["stream"])["messageCount"] == 0 and _stored(ids["clone"])["totalInteractions"] == 0
    assert _stored(ids["token"])["circulatingSupply"] == 0 and _stored(ids["token"])["holders"] == 0
    assert _stored(ids["recording"])["messageCount"] == 42, "a recording counts its stream's"
    assert _stored(ids["post"])["messageCount"] == 5, "a blog post's property is no count"
    assert _shards(ids["stream"], "messageCount") == {"00": 42, "03": 2}
    assert _shards(ids["clone"], "totalInteractions") == {"00": 7}
    assert _shards(ids["token"], "holders") == {"00": 3}
    shares = counters.shard_caps(100, counters.shards_of("circulatingSupply"))
    assert _shards(ids["token"], "circulatingSupply") == {
        "00": shares[0],
        "01": shares[1],
        "02": 30 - 2 * shares[0],
    }

    again = runner.run(default_store(), _Again(), Options(batch=2))  # the same step over every item again
    assert again.status == "done" and again.counts["changed"] == 0
    assert _shown(ids) == before


class _Again(CounterShards):
    id = "0014-counter-shards-again"


class _Raced(CounterShards):
    """The migration with a message counted between its step's reads and its write, once."""

    raced = False

    def step(self, batch: Batch) -> Any:
        changes: list[Change] = list(super().step(batch))
        stream = next(
            (c for c in changes if json.loads(str(c.reads[0]["doc"]))["type"] == "livestream"), None
        )
        if stream is not None and not _Raced.raced:
            _Raced.raced = True
            doc_id = str(stream.reads[0]["pk"]).rsplit("#", 1)[1]
            run_mutation(lambda db: counters.add(db, doc_id, "messageCount", 1), org=ORG)
        return changes


def test_an_addition_racing_the_move_is_kept(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _old_documents()
    monkeypatch.setattr(counters.random, "randrange", lambda n: 0)  # into the shard the move writes
    report = runner.run(default_store(), _Raced(), Options(batch=5))
    assert _Raced.raced and report.status == "done" and report.counts["retried"] >= 1
    assert _shown(ids)["stream"] == 43 and _shards(ids["stream"], "messageCount") == {"00": 43}
