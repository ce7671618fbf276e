"""The data layer's budgets: round trips of relationship reads, cost of deep pages, read efficiency."""

from __future__ import annotations

from typing import Any

from bench.harness import ORG, local_table, result, seed_creator

LISTING_ITEMS = 5_000
PAGE_SIZE = 50


def _seed_entities(n: int, kind: str) -> None:
    """Bulk-load directly through the store (a tooling path), not n transactions."""
    from ontology import TABLES
    from ontology.data.db import _creation_time
    from ontology.data.documents import validate_document
    from ontology.data.dynamodb import default_store
    from ontology.data.keys import new_id
    from ontology.data.transaction import _doc_attrs

    store = default_store()
    for i in range(n):
        doc_id = new_id("entities")
        body = validate_document(
            "entities", {"type": kind, "name": f"{kind} {i}", "createdAt": i, "updatedAt": i}
        )
        full = {**body, "_id": doc_id, "_creationTime": _creation_time()}
        store.put(_doc_attrs(ORG, doc_id, full, 1, (TABLES["entities"], ORG)))


def relationship_read() -> list[dict[str, Any]]:
    from ontology import run_query
    from ontology.data.relations import connected

    with local_table() as counter:
        creator = seed_creator(50)
        counter.reset()
        targets = run_query(lambda db: (db.get(creator), connected(db, creator, "authored")[1]), org=ORG)[1]
        assert len(targets) == 50
        n = len(counter.requests)
    return [result("dynamodb requests: entity + 50 connected targets", n, "<= 3", n <= 3)]


def listing() -> list[dict[str, Any]]:
    from ontology import run_query

    with local_table() as counter:
        _seed_entities(LISTING_ITEMS, "video")
        per_page: list[int] = []
        read = returned = 0
        cursor = None
        page_no = 0
        while True:
            counter.reset()
            page = run_query(
                lambda db, cursor=cursor: (
                    db.query("entities")
                    .with_index("by_type", lambda q: q.eq("type", "video"))
                    .order("desc")
                    .paginate({"numItems": PAGE_SIZE, "cursor": cursor})
                ),
                org=ORG,
            )
            page_no += 1
            per_page.append(len(counter.requests))
            read += counter.items_read
            returned += len(page["page"])
            if page["isDone"]:
                break
            cursor = page["continueCursor"]
        assert returned == LISTING_ITEMS, returned
    first, hundredth = per_page[0], per_page[99]
    ratio = read / returned
    return [
        result("dynamodb requests: listing page 1 of 5000 items", first, "== page 100", first == hundredth),
        result(
            "dynamodb requests: listing page 100 of 5000 items", hundredth, "== page 1", first == hundredth
        ),
        result("items read / items returned: indexed listing", ratio, "<= 1.2", ratio <= 1.2),
    ]


def run() -> list[dict[str, Any]]:
    return relationship_read() + listing()
