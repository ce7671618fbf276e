"""creators:get's contentCount and creators:get_with_content's followerCount as counters, through the
functions' handlers: moved by the writes that change them (follows and authored items made: by the
table's stream, given to the aggregator's Lambda handler as Lambda hands it over), answering each
caller what it sees, filled by migration 0015 for what was written before, and read in the same
requests at any count; and get_with_content's content a page at a time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.functions.conftest import Member, member_of

MIGRATION = "0015-relation-counts"


@pytest.fixture
def migrated(alice: Member, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table that has the migration done (a new table: the local stack's first start)."""
    from ontology.data.dynamodb import default_store
    from ontology.data.migrations.progress import born

    monkeypatch.setattr("ontology.data.layout.LEGACY_RECHECK_SECONDS", 1e9)
    store = default_store()
    store.memo.clear()
    born(store, MIGRATION, "relation counts", now=1)


@pytest.fixture
def requests() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB request made while the test runs (operation, parameters)."""
    from ontology.data.dynamodb import add_listener, remove_listener

    seen: list[tuple[str, dict[str, Any]]] = []

    def listen(operation: str, params: dict[str, Any], response: Any) -> None:
        seen.append((operation, params))

    add_listener(listen)
    yield seen
    remove_listener(listen)


def _creator(call: Callable[..., Any], email: str = "ada@example.com") -> str:
    made = call("creators:create", {"email": email, "name": "Ada", "niche": ["math"]})
    return str(made.value["creatorId"])


def _post(call: Callable[..., Any], cid: str, name: str, status: str | None = None) -> tuple[str, str]:
    """A blog post authored by ``cid``: (post id, connection id)."""
    args: dict[str, Any] = {"type": "blog_post", "name": name}
    if status:
        args["status"] = status
    post = call("entities:create", args).value["id"]
    conn = call(
        "connections:create", {"fromEntityId": cid, "toEntityId": post, "relationshipType": "authored"}
    ).value["id"]
    return post, conn


def _stream(records: list[dict[str, Any]] | None = None) -> None:
    """The stream's aggregator (its Lambda handler) given the table's stream so far (or ``records``),
    as Lambda does within a second: each batch is counted once however often it comes."""
    from functions.search import aggregate
    from tests.data.helpers import stream_records

    batch = stream_records() if records is None else records
    assert aggregate({"Records": batch}, None) == {"batchItemFailures": []}


def _count(call: Callable[..., Any], cid: str, as_: Member | None) -> int:
    _stream()
    return int(call("creators:get", {"id": cid}, as_=as_).value["contentCount"])


def _followers(call: Callable[..., Any], cid: str) -> int:
    _stream()
    return int(call("creators:get_with_content", {"creatorId": cid}).value["followerCount"])


def test_counts_follow_creates_removals_and_status_changes(call, alice, migrated) -> None:
    fan = member_of(alice, "fan@example.com", "customer")
    cid = _creator(call)
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [0, 0, 0]
    _post(call, cid, "Draft one")
    published, _ = _post(call, cid, "Out one", "published")
    _, second = _post(call, cid, "Out two", "published")
    # staff count every item; a member and the world the published ones (drafts are not counted)
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [3, 2, 2]
    assert call("connections:delete", {"id": second}).value == {"success": True}
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [2, 1, 1]
    assert call("entities:archive", {"id": published}).value == {"success": True}
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [2, 0, 0]
    follower = call("entities:create", {"type": "audience_member", "name": "F"}).value["id"]
    follow = call(
        "connections:create", {"fromEntityId": follower, "toEntityId": cid, "relationshipType": "following"}
    ).value["id"]
    assert _followers(call, cid) == 1
    call("connections:delete", {"id": follow})
    assert _followers(call, cid) == 0


def test_follows_are_counted_from_the_stream_once_however_often_it_delivers(call, alice, migrated) -> None:
    """A follow's transaction writes no counter: the stream's aggregator adds it (eventually: until
    its batch is handled the count has not moved); a batch delivered again, whole or from its middle
    after a crash, adds nothing more; an unfollow takes it away."""
    from tests.data.helpers import stream_records

    cid = _creator(call)
    _stream()
    fans = [
        call("entities:create", {"type": "audience_member", "name": f"F{i}"}).value["id"] for i in range(3)
    ]
    follows = [
        call(
            "connections:create", {"fromEntityId": f, "toEntityId": cid, "relationshipType": "following"}
        ).value["id"]
        for f in fans
    ]
    assert call("creators:get_with_content", {"creatorId": cid}).value["followerCount"] == 0
    batch = stream_records()
    _stream(batch)
    assert _followers(call, cid) == 3
    _stream(batch)  # at least once: the same batch again
    assert _followers(call, cid) == 3
    late = call("entities:create", {"type": "audience_member", "name": "Late"}).value["id"]
    call("connections:create", {"fromEntityId": late, "toEntityId": cid, "relationshipType": "following"})
    _stream(batch + stream_records()[len(batch) :])  # a retry from the batch's start, with more after it
    assert _followers(call, cid) == 4
    call("connections:delete", {"id": follows[0]})
    assert call("creators:get_with_content", {"creatorId": cid}).value["followerCount"] == 4
    assert _followers(call, cid) == 3
    assert [_count(call, cid, None)] == [0]  # follows are no content


def test_a_member_counts_what_is_seen_by_every_member(call, alice, migrated) -> None:
    """A livestream is every member's (unless archived) and the world's only while on air: the count
    of a member and of the world tell them apart."""
    fan = member_of(alice, "fan@example.com", "customer")
    cid = _creator(call)
    stream = call(
        "livestreams:schedule",
        {"creatorId": cid, "title": "Live", "scheduledFor": int(time.time() * 1000) + 3_600_000},
    ).value["livestreamId"]
    call("connections:create", {"fromEntityId": cid, "toEntityId": stream, "relationshipType": "authored"})
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [1, 1, 1]
    call("livestreams:start", {"livestreamId": stream})
    call("livestreams:end", {"livestreamId": stream})
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [1, 1, 0]


def test_the_count_costs_the_same_requests_at_any_number_of_items(call, alice, migrated, requests) -> None:
    cid = _creator(call)
    shapes = []
    for n in (1, 6):
        while _count(call, cid, alice) < n:
            _post(call, cid, f"Post {len(shapes)} {n}", "published")
        _stream()
        del requests[:]
        assert call("creators:get", {"id": cid}, as_=None).value["contentCount"] == n
        shapes.append([op for op, _ in requests])
        assert not any(p.get("Select") == "COUNT" for _, p in requests)
    assert shapes[0] == shapes[1]


def test_before_the_migration_callers_count_and_the_migration_fills_the_counters(call, alice) -> None:
    from ontology.data.dynamodb import default_store
    from ontology.data.migrations.registry import registered
    from ontology.data.migrations.runner import run

    fan = member_of(alice, "fan@example.com", "customer")
    cid = _creator(call)
    _post(call, cid, "Draft")
    _post(call, cid, "Out", "published")
    follower = call("entities:create", {"type": "audience_member", "name": "F"}).value["id"]
    call("connections:create", {"fromEntityId": follower, "toEntityId": cid, "relationshipType": "following"})
    _stream()
    store = default_store()
    assert _counter_items(store, alice.organizationId, cid), "the writes moved the counters"
    _drop_counters(
        store, alice.organizationId, cid
    )  # what was written before the counters existed: no count anywhere
    store.memo.clear()
    # not migrated: the connections are counted, as before
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [2, 1, 1]
    assert call("creators:get_with_content", {"creatorId": cid}).value["followerCount"] == 1
    (migration,) = [m for m in registered() if m.id == MIGRATION]
    report = run(store, migration)
    assert report.status == "done" and report.run["changed"] == 1
    store.memo.clear()
    assert [_count(call, cid, who) for who in (alice, fan, None)] == [2, 1, 1]
    assert call("creators:get_with_content", {"creatorId": cid}).value["followerCount"] == 1
    assert _counter_items(store, alice.organizationId, cid), "the counts are read from the counters now"
    # run again: every counter already says what the connections do
    from ontology.data.migrations import progress

    store.call(
        "DeleteItem",
        {"TableName": store.table_name, "Key": {"pk": {"S": progress.PARTITION}, "sk": {"S": MIGRATION}}},
    )
    assert run(store, migration).run["changed"] == 0


def _counter_items(store: Any, org: str, cid: str) -> list[dict[str, Any]]:
    """The shard items of the creator's two counters (a Query of each counter's partition)."""
    items: list[dict[str, Any]] = []
    for name in ("contentCount", "followerCount"):
        items += store.call(
            "Query",
            {
                "TableName": store.table_name,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"{org}#{cid}#count#{name}"}},
            },
        )["Items"]
    return items


def _drop_counters(store: Any, org: str, cid: str) -> None:
    for item in _counter_items(store, org, cid):
        store.call("DeleteItem", {"TableName": store.table_name, "Key": {"pk": item["pk"], "sk": item["sk"]}})


def test_get_with_content_a_page_at_a_time(call, alice, migrated, monkeypatch) -> None:
    monkeypatch.setattr("functions.creators.CONTENT_PAGE", 3)
    cid = _creator(call)
    posts = [_post(call, cid, f"P{i}", "published")[0] for i in range(5)]
    first = call("creators:get_with_content", {"creatorId": cid}).value
    assert [d["_id"] for d in first["content"]] == posts[:3] and first["isDone"] is False
    rest = call(
        "creators:get_with_content",
        {"creatorId": cid, "paginationOpts": {"numItems": 3, "cursor": first["continueCursor"]}},
    ).value
    assert [d["_id"] for d in rest["content"]] == posts[3:] and rest["isDone"] is True
    assert rest["name"] == "Ada" and rest["followerCount"] == 0
    two = call("creators:get_with_content", {"creatorId": cid, "paginationOpts": {"numItems": 2}}).value
    assert [d["_id"] for d in two["content"]] == posts[:2]
    anyone = call("creators:get_with_content", {"creatorId": cid}, as_=None).value
    assert [d["_id"] for d in anyone["content"]] == posts[:3]
    bad = call("creators:get_with_content", {"creatorId": cid, "paginationOpts": {"numItems": 0}})
    assert bad.status == 400
    forged = call(
        "creators:get_with_content", {"creatorId": cid, "paginationOpts": {"numItems": 2, "cursor": "x"}}
    )
    assert (forged.status, forged.body["errorData"]["field"]) == (400, "cursor")


def test_a_count_holding_what_only_some_members_see_is_counted_for_each(call, alice, migrated) -> None:
    """An item only some members see (a member's own entity): its part says a member's count cannot
    be the counter's, and each member's is counted from the connections, as before."""
    fan = member_of(alice, "fan@example.com", "customer")
    other = member_of(alice, "other@example.com", "customer")
    cid = _creator(call)
    _post(call, cid, "Out", "published")
    call(
        "connections:create",
        {"fromEntityId": cid, "toEntityId": fan.entityId, "relationshipType": "authored"},
    )
    assert [_count(call, cid, who) for who in (alice, fan, other, None)] == [2, 2, 1, 1]


def test_past_a_thousand_items_a_page_is_what_is_read(call, alice, migrated, requests) -> None:
    """1,030 authored items (more than a get_many may name): the first page is 99 of them, read in
    the same requests as a page of 3, and the pages walk through every one."""
    from ontology import run_mutation

    cid = _creator(call)
    n = 1_030
    for start in range(0, n, 10):

        def body(db: Any, start: int = start) -> None:
            for i in range(start, min(start + 10, n)):
                post = db.insert(
                    "entities",
                    {"type": "blog_post", "name": f"P{i}", "properties": {}, "createdAt": 1, "updatedAt": 1},
                )
                conn = {
                    "fromEntityId": cid,
                    "toEntityId": post,
                    "relationshipType": "authored",
                    "createdAt": i,
                }
                db.insert("connections", conn)

        run_mutation(body, org=alice.organizationId)
    assert _count(call, cid, alice) == n
    del requests[:]
    first = call("creators:get_with_content", {"creatorId": cid}).value
    assert len(first["content"]) == 99 and first["isDone"] is False
    ops = [op for op, _ in requests]
    del requests[:]
    call("creators:get_with_content", {"creatorId": cid, "paginationOpts": {"numItems": 3}})
    assert [op for op, _ in requests] == ops
    seen, cursor = 0, None
    while True:
        page = call(
            "creators:get_with_content",
            {"creatorId": cid, "paginationOpts": {"numItems": 500, "cursor": cursor}},
        ).value
        seen += len(page["content"])
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert seen == n
