"""Every index of every table, queried in both orders with pagination across page boundaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data.indexes import SearchIndex, get_path
from ontology.data.keys import encode_value, new_id
from ontology.data.schema import TABLES
from tests.data.helpers import ORG

N = 8
ENT = [new_id("entities") for _ in range(3)]
USERS = [new_id("users") for _ in range(2)]
ORGS = [new_id("organizations") for _ in range(3)]


def _docs(table_name: str) -> list[dict[str, Any]]:
    """N valid documents whose indexed fields repeat (so partitions hold several) and vary."""
    makers: dict[str, Callable[[int], dict[str, Any]]] = {
        "organizations": lambda i: {"name": f"Org {i}", "slug": f"org-{i}", "createdAt": i, "updatedAt": i},
        "users": lambda i: {
            "email": f"u{i}@x.io",
            "tokenIdentifier": f"tok|{i % 2}",
            "createdAt": i,
            "updatedAt": i,
        },
        "memberships": lambda i: {
            "organizationId": ORGS[i % 3],
            "userId": new_id("users") if i > 1 else USERS[i],
            "role": ("org_owner", "org_user", "customer")[i % 3],
            "createdAt": i,
            "updatedAt": i,
        },
        "sessions": lambda i: {
            "userId": USERS[i % 2],
            "tokenHash": f"h{i}",
            "expiresAt": 100 - i,
            "createdAt": i,
            "updatedAt": i,
        },
        "verificationTokens": lambda i: {
            "identifier": f"id{i % 2}",
            "token": f"t{i}",
            "expires": 50 + i % 3,
            "type": ("email_verification", "password_reset")[i % 2],
        },
        "entities": lambda i: {
            "type": ("blog_post", "video")[i % 2],
            "name": f"{'ab'[i % 2]}name {i}",
            "status": ("draft", "published", "archived")[i % 3],
            "createdAt": (i * 7) % 5,
            "updatedAt": (i * 5) % 7 + 0.5,
            "properties": {},
        },
        "connections": lambda i: {
            "fromEntityId": ENT[i % 2],
            "toEntityId": ENT[(i % 3)] if i < 3 else new_id("entities"),
            "relationshipType": ("authored", "following", "owns")[i % 3],
            "createdAt": (i * 3) % 4,
        },
        "events": lambda i: {
            "type": ("creator_created", "tokens_purchased")[i % 2],
            "actorId": ENT[i % 2],
            **({"targetId": ENT[2]} if i % 3 else {}),
            "timestamp": 1000 - (i % 4),
            "metadata": {"i": i},
        },
        "scheduledFunctions": lambda i: {
            "name": "creators:update",
            "args": {"i": i},
            "scheduledTime": 100 - i,
            "kind": "mutation",
            "state": ("pending", "success")[i % 2],
            "organizationId": ORGS[i % 2],
            "createdAt": i,
        },
        "cronRuns": lambda i: {
            "job": ("a:b", "c:d")[i % 2],
            "window": f"w{i % 3}",
            "item": f"item{i}",
            "createdAt": i,
        },
        "accounts": lambda i: {
            "userId": USERS[i % 2],
            "providerId": ("credential", "github")[i % 2],
            "accountId": f"acct{i}",
            "createdAt": i,
            "updatedAt": i,
        },
        "rateLimits": lambda i: {
            "key": f"k{i % 2}",
            "window": str(100 + i),
            "count": i,
            "expiresAt": 1000 + i,
        },
        "chainNonces": lambda i: {"account": f"1:0x{i:040x}", "next": i, "updatedAt": i},
        "publicEntities": lambda i: {"organizationId": ORGS[i % 2], "type": ("creator", "token")[i % 2]},
        "webhookEvents": lambda i: {
            "provider": "stripe",
            "eventId": f"evt_{i}",
            "type": "payment_intent.succeeded",
            "createdAt": i,
            "expiresAt": 1000 + i,
        },
        "tags": lambda i: {
            "entityId": ENT[i % 2],
            "key": ("skill", "industry")[i % 2],
            "value": f"v{i % 3}-{i}",
        },
        "knowledge": lambda i: {
            "kind": ("chunk", "label")[i % 2],
            "text": f"text {i}",
            "sourceId": ENT[i % 3],
            **({"chunkIndex": i % 4} if i % 2 == 0 else {}),
            "labels": {"n": str(i)},
            "createdAt": i,
            "updatedAt": i,
        },
    }
    return [makers[table_name](i) for i in range(N)]


CASES = [
    (t.name, idx.name)
    for t in TABLES.values()
    for idx in (*t.indexes, *t.virtual_indexes)
    if not isinstance(idx, SearchIndex) and not idx.served_by
]


def _expected_order(docs: list[dict[str, Any]], index) -> list[str]:
    def key(d: dict[str, Any]) -> str:
        return (
            "".join(encode_value(v) for v in index.values_of(d))
            + encode_value(d["_creationTime"])
            + encode_value(d["_id"])
        )

    return [d["_id"] for d in sorted(docs, key=key)]


def _paginate_all(
    table_name: str, index_name: str, build, order: str, platform: bool, page: int = 3
) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor = None
    pages = 0
    while True:
        result = run_query(
            lambda db, cursor=cursor: (
                db.query(table_name)
                .with_index(index_name, build)
                .order(order)
                .paginate({"numItems": page, "cursor": cursor})
            ),
            org=ORG,
            platform=platform,
        )
        pages += 1
        assert len(result["page"]) <= page
        ids += [d["_id"] for d in result["page"]]
        if result["isDone"]:
            return ids, pages
        cursor = result["continueCursor"]
        assert pages < 50


@pytest.mark.parametrize(("table_name", "index_name"), CASES, ids=[f"{t}.{i}" for t, i in CASES])
def test_index_in_both_orders_with_pagination(table: str, table_name: str, index_name: str) -> None:
    t = TABLES[table_name]
    platform = t.scope == "platform"
    index = t.index(index_name)
    ids = run_mutation(
        lambda db: [db.insert(table_name, d) for d in _docs(table_name)], org=ORG, platform=platform
    )
    stored = run_query(lambda db: db.get_many(ids, table_name), org=ORG, platform=platform)
    assert len(stored) == N

    partitions: dict[tuple, list[dict[str, Any]]] = {}
    for d in stored:
        if not index.holds(d):  # a sparse index: no entry for a document without its partition
            assert index.sparse
            continue
        partitions.setdefault(
            tuple(encode_value(v) for v in index.values_of(d)[: index.partition]), []
        ).append(d)
    for members in partitions.values():
        values = index.values_of(members[0])[: index.partition]

        def build(q, values=values):
            for f, v in zip(index.fields, values, strict=False):
                q = q.eq(f, v)
            return q

        expected = _expected_order(members, index)
        for order in ("asc", "desc"):
            got, _ = _paginate_all(table_name, index_name, build, order, platform)
            want = expected if order == "asc" else expected[::-1]
            assert got == want, f"{table_name}.{index_name} {order}"
            assert len(set(got)) == len(got), "no duplicates"
            collected = run_query(
                lambda db, order=order: (
                    db.query(table_name).with_index(index_name, build).order(order).collect()
                ),
                org=ORG,
                platform=platform,
            )
            assert [d["_id"] for d in collected] == want

        # A bound on the next field keeps exactly the documents past it.
        nxt = index.range_fields[index.partition]
        pivot = get_path(members[0], nxt) if nxt != "_creationTime" else members[0]["_creationTime"]

        def ranged(q, values=values, nxt=nxt, pivot=pivot):
            return build(q, values).gte(nxt, pivot)

        def below(q, values=values, nxt=nxt, pivot=pivot):
            return build(q, values).lt(nxt, pivot)

        got_below, _ = _paginate_all(table_name, index_name, below, "desc", platform, page=2)
        assert all(
            encode_value(
                get_path(next(d for d in members if d["_id"] == i), nxt)
                if nxt != "_creationTime"
                else next(d for d in members if d["_id"] == i)["_creationTime"]
            )
            < encode_value(pivot)
            for i in got_below
        )
        got, _ = _paginate_all(table_name, index_name, ranged, "asc", platform, page=2)
        want = [
            i
            for i in expected
            if encode_value(
                get_path(next(d for d in members if d["_id"] == i), nxt)
                if nxt != "_creationTime"
                else next(d for d in members if d["_id"] == i)["_creationTime"]
            )
            >= encode_value(pivot)
        ]
        assert got == want


def test_search_index_prefix_and_filters(table: str) -> None:
    run_mutation(lambda db: [db.insert("entities", d) for d in _docs("entities")], org=ORG)
    hits = run_query(
        lambda db: (
            db.query("entities")
            .with_search_index("search_entities", lambda q: q.search("name", "AN").eq("type", "blog_post"))
            .collect()
        ),
        org=ORG,
    )
    assert sorted(d["name"] for d in hits) == ["aname 0", "aname 2", "aname 4", "aname 6"]


def test_first_unique_and_take(table: str) -> None:
    from ontology import NotUniqueError

    run_mutation(lambda db: [db.insert("entities", d) for d in _docs("entities")], org=ORG)

    def by_type(kind: str):
        return lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", kind))

    assert run_query(lambda db: by_type("video")(db).first(), org=ORG)["type"] == "video"
    assert run_query(lambda db: by_type("podcast")(db).first(), org=ORG) is None
    assert run_query(lambda db: by_type("podcast")(db).unique(), org=ORG) is None
    with pytest.raises(NotUniqueError):
        run_query(lambda db: by_type("video")(db).unique(), org=ORG)
    one = run_query(
        lambda db: by_type("video")(db).filter(lambda q: q.eq(q.field("name"), "bname 3")).unique(), org=ORG
    )
    assert one["name"] == "bname 3"
    assert len(run_query(lambda db: by_type("video")(db).take(2), org=ORG)) == 2
    assert run_query(lambda db: by_type("video")(db).take(0), org=ORG) == []


def test_a_merged_index_reads_every_type_newest_first_sees_its_writes_and_is_watched(table: str) -> None:
    """connections.from_entity keeps no GSI: it is from_type's partition merged over the relationship
    types. Newest first across types, a mutation reads its own new connection in order, a write of a
    type the partition did not hold yet touches what a subscription read, and a cursor made for
    another form of the index is refused."""
    from ontology.data.tracking import recording, recording_writes
    from ontology.errors import ValidationError

    src, far = new_id("entities"), new_id("entities")

    def link(rel: str, t: int) -> str:
        doc = {"fromEntityId": src, "toEntityId": new_id("entities"), "relationshipType": rel, "createdAt": t}
        return run_mutation(lambda db: db.insert("connections", doc), org=ORG)

    made = [link(rel, i) for i, rel in enumerate(["owns", "authored", "owns", "following", "authored"])]

    def newest(db: Any, n: int = 10) -> list[str]:
        q = db.query("connections").with_index("from_entity", lambda q: q.eq("fromEntityId", src))
        return [c["_id"] for c in q.order("desc").take(n)]

    assert run_query(newest, org=ORG) == made[::-1]
    first = run_query(
        lambda db: (
            db.query("connections")
            .with_index("from_entity", lambda q: q.eq("fromEntityId", src))
            .order("desc")
            .paginate({"numItems": 2, "cursor": None})
        ),
        org=ORG,
    )
    assert [c["_id"] for c in first["page"]] == made[::-1][:2]

    def insert_and_read(db: Any) -> list[str]:
        new = db.insert(
            "connections",
            {"fromEntityId": src, "toEntityId": far, "relationshipType": "referred", "createdAt": 9},
        )
        return [new, *newest(db, 3)]

    new, *seen = run_mutation(insert_and_read, org=ORG)
    assert seen == [new, *made[::-1][:2]]
    with recording() as reads:
        run_query(newest, org=ORG)
    with recording_writes() as writes:
        run_mutation(
            lambda db: db.insert(
                "connections",
                {
                    "fromEntityId": src,
                    "toEntityId": far,
                    "relationshipType": "collaborates_with",
                    "createdAt": 10,
                },
            ),
            org=ORG,
        )
    assert reads.touches(writes)  # a relationship type the partition did not hold before
    typed_cursor = run_query(
        lambda db: (
            db.query("connections")
            .with_index("from_type", lambda q: q.eq("fromEntityId", src).eq("relationshipType", "owns"))
            .paginate({"numItems": 1, "cursor": None})
        ),
        org=ORG,
    )["continueCursor"]
    with pytest.raises(ValidationError):
        run_query(
            lambda db: (
                db.query("connections")
                .with_index("from_entity", lambda q: q.eq("fromEntityId", src))
                .paginate({"numItems": 1, "cursor": typed_cursor})
            ),
            org=ORG,
        )
