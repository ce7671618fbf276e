"""Relationship reads take a constant number of DynamoDB requests, whatever the fan-out."""

from __future__ import annotations

from ontology import run_mutation, run_query
from ontology.data.relations import connected
from tests.data.helpers import ORG, connection, creator, entity


def _creator_with_content(n: int) -> tuple[str, list[str]]:
    cid = run_mutation(lambda db: db.insert("entities", creator("c@example.com")), org=ORG)
    posts: list[str] = []
    for start in range(0, n, 10):  # each post and connection is 6-8 items of the transaction

        def body(db, start=start):
            ids = []
            for i in range(start, min(start + 10, n)):
                pid = db.insert("entities", entity("blog_post", f"post {i}"))
                db.insert("connections", connection(cid, pid, "authored", t=i))
                ids.append(pid)
            return ids

        posts += run_mutation(body, org=ORG)
    return cid, posts


def test_entity_with_50_targets_in_three_requests(table: str, requests_counter) -> None:
    cid, posts = _creator_with_content(50)
    requests_counter.reset()

    def read(db):
        me = db.get(cid)
        conns, targets = connected(db, cid, "authored")
        return me, conns, targets

    me, conns, targets = run_query(read, org=ORG)
    assert me["_id"] == cid
    assert [t["_id"] for t in targets] == posts
    assert len(conns) == 50
    assert requests_counter.ops() == ["GetItem", "Query", "BatchGetItem"]


def test_more_than_a_hundred_targets_batch_by_hundreds(table: str, requests_counter) -> None:
    cid, _ = _creator_with_content(120)
    requests_counter.reset()
    _, targets = run_query(lambda db: connected(db, cid, "authored"), org=ORG)
    assert len(targets) == 120
    assert requests_counter.ops() == ["Query", "BatchGetItem", "BatchGetItem"]


def test_incoming_direction(table: str) -> None:
    a, b, c = (
        run_mutation(lambda db, n=n: db.insert("entities", entity("audience_member", n)), org=ORG)
        for n in "abc"
    )
    run_mutation(lambda db: db.insert("connections", connection(a, c, "following")), org=ORG)
    run_mutation(lambda db: db.insert("connections", connection(b, c, "following")), org=ORG)
    _, followers = run_query(lambda db: connected(db, c, "following", direction="in"), org=ORG)
    assert [f["_id"] for f in followers] == [a, b]
