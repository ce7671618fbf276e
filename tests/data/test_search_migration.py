"""The full-text index's move from its first layout to the present one: organizations indexed the
first way are searched correctly before, while and after the two migrations run, with the same
results in the same order, and nothing of the first layout is left (docs/data-model.md, "Full-text
search"; docs/migrations.md)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data.db import _creation_time
from ontology.data.documents import validate_document
from ontology.data.dynamodb import default_store, serialize
from ontology.data.keys import new_id
from ontology.data.migrations import registry, runner
from ontology.data.migrations.runner import Options
from ontology.data.schema import TABLES
from ontology.data.search import typed
from ontology.data.search_legacy import is_first_layout
from ontology.data.transaction import _doc_attrs
from tests.data.first_search_layout import first_layout_items
from tests.data.helpers import ORG, OTHER_ORG, entity, organization, settle_search

BUILD, DROP = "0012-search-postings-by-value", "0013-search-drop-first-layout"
WORDS = ["coach", "guide", "trail", "race", "pace", "yoga", "studio", "core", "cardio", "coastal", "cobalt"]
KINDS = ["blog_post", "video", "lesson"]
STATUSES = ["draft", "published"]


def _store_first_layout(org: str, rows: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Documents (name, type, status) stored with their index in the first layout only, as the
    platform wrote them before."""
    if not run_query(lambda db: db.get(org, "organizations"), org=None, platform=True):
        organization(org)
    store = default_store()
    docs = []
    for name, kind, status in rows:
        doc_id = new_id("entities")
        full = {
            **validate_document("entities", entity(kind, name, status=status)),
            "_id": doc_id,
            "_creationTime": _creation_time(),
        }
        docs.append(full)
        attrs = _doc_attrs(org, doc_id, full, 1, (TABLES["entities"], org))
        store.call("PutItem", {"TableName": store.table_name, "Item": serialize(attrs)})
    index = TABLES["entities"].search_indexes[0]
    for item in first_layout_items(index, org, "entities", docs):
        store.call("PutItem", {"TableName": store.table_name, "Item": typed(item)})
    return docs


def _search(text: str, org: str, n: int = 50, **eq: str) -> list[str]:
    def build(q: Any) -> Any:
        q = q.search("name", text)
        for f, v in eq.items():
            q = q.eq(f, v)
        return q

    docs = run_query(
        lambda db: db.query("entities").with_search_index("search_entities", build).take(n), org=org
    )
    return [d["_id"] for d in docs]


def _pages(text: str, org: str, size: int = 4) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        page = run_query(
            lambda db, cursor=cursor: (
                db.query("entities")
                .with_search_index("search_entities", lambda q: q.search("name", text))
                .paginate({"numItems": size, "cursor": cursor})
            ),
            org=org,
        )
        out += [d["_id"] for d in page["page"]]
        if page["isDone"]:
            return out
        cursor = page["continueCursor"]


QUERIES: list[tuple[str, dict[str, str]]] = [
    ("coach", {}),
    ("trail race", {}),
    ("co", {}),  # a prefix: coach, coastal, cobalt, core
    ("guide pa", {}),
    ("coach", {"type": "video"}),
    ("coach", {"status": "published"}),
    ("trail co", {"type": "course", "status": "draft"}),
    ("yoga", {"type": "blog_post"}),
]


def _every_result(org: str) -> dict[str, list[str]]:
    out = {f"{text} {sorted(eq.items())}": _search(text, org, **eq) for text, eq in QUERIES}
    out["pages of coach"] = _pages("coach", org)
    return out


def _first_layout_left() -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["one-test"]
    return [
        item.attrs["pk"].value
        for item in table.all_items()
        if item.attrs.get("tb") is not None
        and item.attrs["tb"].value == "_search"
        and is_first_layout(item.attrs["pk"].value)
    ]


def _migrate(batch: int = 7) -> None:
    for migration_id in (BUILD, DROP):
        report = runner.run(default_store(), registry.find(migration_id), Options(batch=batch))
        assert report.status == "done", (migration_id, report.error, report.problems)


def test_every_document_is_found_the_same_way_before_and_after_the_migrations(table: str) -> None:
    rng = random.Random(5)
    rows = [
        (
            " ".join(rng.choices(WORDS, k=rng.randint(1, 5))).title(),
            rng.choice(KINDS),
            rng.choice(STATUSES),
        )
        for _ in range(60)
    ]
    docs = _store_first_layout(ORG, rows)
    before = _every_result(ORG)
    assert sum(len(ids) for ids in before.values()) > 100, before  # the queries find a good share
    coach = {d["_id"] for d in docs if "coach" in d["name"].lower().split()}
    assert set(before["pages of coach"]) == coach and len(before["pages of coach"]) == len(coach)

    _migrate()
    assert _first_layout_left() == []
    settle_search()  # the stream's aggregator counts the rebuilt postings: df and the totals
    assert _every_result(ORG) == before  # the same documents, in the same order


def test_writes_while_the_first_layout_is_there_are_found_and_gone_as_they_should(table: str) -> None:
    trail, road, yoga, core = (
        d["_id"]
        for d in _store_first_layout(
            OTHER_ORG,
            [
                ("Trail Running Club", "blog_post", "draft"),
                ("Road Cycling Club", "video", "draft"),
                ("Yoga Studio", "lesson", "published"),
                ("Core Strength", "video", "draft"),
            ],
        )
    )
    # the code of the present layout writes before the migrations have run
    mix = run_mutation(lambda db: db.insert("entities", entity("lesson", "Trail Mix Recipes")), org=OTHER_ORG)
    run_mutation(lambda db: db.patch(road, {"name": "Mountain Biking Club"}), org=OTHER_ORG)
    run_mutation(lambda db: db.delete(yoga), org=OTHER_ORG)
    run_mutation(lambda db: db.patch(core, {"status": "published"}), org=OTHER_ORG)

    def check() -> None:
        assert set(_search("trail", OTHER_ORG)) == {trail, mix}
        assert _search("cycling", OTHER_ORG) == []  # renamed: its first-layout posting is stale
        assert _search("mountain", OTHER_ORG) == [road]
        assert set(_search("club", OTHER_ORG)) == {trail, road}
        assert _search("yoga", OTHER_ORG) == [] and _search("stud", OTHER_ORG) == []  # deleted
        assert _search("core", OTHER_ORG, status="draft") == []
        assert _search("core", OTHER_ORG, status="published", type="video") == [core]
        assert set(_search("c", OTHER_ORG)) == {trail, road, core}  # club, core, cycling(gone)
        assert _search("trail", OTHER_ORG, type="lesson") == [mix]

    check()
    _migrate(batch=2)
    settle_search()
    check()
    assert _first_layout_left() == []


def test_the_first_layout_is_dropped_only_once_it_is_rebuilt(table: str) -> None:
    _store_first_layout(ORG, [("Coach Guide", "video", "draft")])
    report = runner.run(default_store(), registry.find(DROP), Options())
    assert report.status == "failed" and BUILD in (report.error or "")
    assert _first_layout_left()  # nothing deleted
    assert len(_search("coach", ORG)) == 1


def test_the_build_verifies_every_document_and_writes_what_one_lacks(table: str) -> None:
    from ontology.data.migrations import Batch
    from ontology.data.migrations.codec import decode_item
    from ontology.data.search import terms_pk

    (doc,) = _store_first_layout(ORG, [("Cobalt Coast", "video", "draft")])
    _migrate()
    store = default_store()
    build = registry.find(BUILD)

    def read(keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {k: decode_item(v) for k, v in store.batch_get_raw(keys).items()}

    item = read([(f"{ORG}#{doc['_id']}", "D")])[(f"{ORG}#{doc['_id']}", "D")]
    assert build.verify_read(item, Batch([], read).read) is None
    key = (terms_pk(ORG, "entities", "search_entities", "cobalt"), "cobalt")
    store.delete(*key)  # a dictionary entry lost: the prefix "cob" no longer reaches the document
    assert "dictionary entry cobalt missing" in (build.verify_read(item, Batch([], read).read) or "")
    (change,) = build.step(Batch([item], read))
    assert [w.key for w in change.writes] == [key]


@pytest.mark.parametrize("migration_id", [BUILD, DROP])
def test_the_migrations_are_declared_and_checked(migration_id: str) -> None:
    registry.reset()
    migration = registry.find(migration_id)
    assert migration.has_verify()
