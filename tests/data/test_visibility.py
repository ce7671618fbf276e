"""The visibility rules in the data layer: public pointers written in the transaction that makes an
entity public (and deleted in the one that ends it), reads as each audience sees them, what deciding
costs in requests (none for staff, one per page for what a customer's page needs), and subscriptions
that see a document become public."""

from __future__ import annotations

from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.data.db import DatabaseReader
from ontology.data.dynamodb import default_store
from ontology.data.keys import DOC_SK
from ontology.data.tracking import recording, recording_writes
from ontology.data.visibility import Sight, Viewer
from tests.data.helpers import ORG, OTHER_ORG, connection, creator, entity

FAN = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8A"


def _pointer(entity_id: str) -> dict[str, Any] | None:
    item = default_store().get(f"platform#{entity_id}", DOC_SK, consistent=True)
    return item


def _reader(viewer: Viewer, org: str | None = None) -> DatabaseReader:
    return DatabaseReader(org if org is not None else viewer.org, sight=Sight(viewer))


ANYONE = Viewer()
STAFF = Viewer(ORG, "org_user", None)


def test_the_pointer_follows_the_entity_in_its_own_transaction(table: str) -> None:
    cid = run_mutation(lambda db: db.insert("entities", creator("a@x.io")), org=ORG)
    draft = run_mutation(lambda db: db.insert("entities", entity("blog_post", "Draft")), org=ORG)
    pointer = _pointer(cid)
    assert pointer is not None and '"organizationId":"' + ORG in pointer["doc"]
    assert _pointer(draft) is None
    run_mutation(lambda db: db.patch(cid, {"status": "inactive"}), org=ORG)
    assert _pointer(cid) is None
    run_mutation(lambda db: db.patch(draft, {"status": "published"}), org=ORG)
    assert _pointer(draft) is not None
    run_mutation(lambda db: db.delete(draft), org=ORG)
    assert _pointer(draft) is None
    # a write that leaves it public leaves the pointer alone
    run_mutation(lambda db: db.patch(cid, {"status": "active"}), org=ORG)
    with recording_writes() as writes:
        run_mutation(lambda db: db.patch(cid, {"name": "Renamed"}), org=ORG)
    assert (f"platform#{cid}", DOC_SK) not in writes.points


def test_each_audience_reads_what_the_rule_says(table: str) -> None:
    def body(db: Any) -> dict[str, str]:
        return {
            "creator": db.insert("entities", creator("hidden@x.io")),
            "draft": db.insert("entities", entity("blog_post", "Draft")),
            "clone": db.insert(
                "entities", entity("ai_clone", "Clone", "active", systemPrompt="prompt", temperature=0.5)
            ),
            "fan": db.insert("entities", entity("audience_member", "fan@x.io", "active")),
        }

    ids = run_mutation(body, org=ORG)
    customer = Viewer(ORG, "customer", ids["fan"])
    stranger = Viewer(OTHER_ORG, "org_owner", None)
    for viewer in (ANYONE, stranger):
        seen = _reader(viewer).get(ids["creator"], "entities")
        assert seen is not None and "email" not in seen["properties"], viewer
        assert _reader(viewer).get(ids["draft"], "entities") is None
        assert _reader(viewer).get(ids["clone"], "entities") is None
    assert "email" in _reader(STAFF).get(ids["creator"], "entities")["properties"]
    clone = _reader(customer).get(ids["clone"], "entities")
    assert clone is not None and "systemPrompt" not in clone["properties"]
    assert _reader(customer).get(ids["fan"], "entities")["_id"] == ids["fan"]
    assert _reader(Viewer(ORG, "customer", FAN)).get(ids["fan"], "entities") is None
    assert _reader(STAFF).get(ids["clone"], "entities")["properties"]["systemPrompt"] == "prompt"


def _conversations(n: int, per: int) -> tuple[list[str], list[str]]:
    """``n`` conversations of FAN with ``per`` messages each (half of them FAN's own, half replies)."""

    def body(db: Any) -> tuple[list[str], list[str]]:
        convs, msgs = [], []
        for c in range(n):
            conv = db.insert("entities", entity("conversation", f"C{c}", "active", startedBy=FAN))
            db.insert("connections", connection(FAN, conv, "participated_in"))
            convs.append(conv)
            for m in range(per):
                sender = FAN if m % 2 == 0 else "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8B"
                msgs.append(
                    db.insert(
                        "entities",
                        entity(
                            "message", f"M{c}.{m}", "active", senderId=sender, conversationId=conv, text="x"
                        ),
                    )
                )
        return convs, msgs

    return run_mutation(body, org=ORG)


def _requests(fn: Any) -> tuple[Any, list[str]]:
    from ontology.data.dynamodb import add_listener, remove_listener
    from tests.conftest import RequestCounter

    counter = RequestCounter()
    add_listener(counter)
    try:
        return fn(), counter.ops()
    finally:
        remove_listener(counter)


@pytest.mark.parametrize("conversations", [1, 4])
def test_deciding_a_page_costs_one_request_not_one_per_document(table: str, conversations: int) -> None:
    _, msgs = _conversations(conversations, 4)

    def listing(viewer: Viewer) -> Any:
        return (
            _reader(viewer)
            .query("entities")
            .with_index("by_type", lambda q: q.eq("type", "message"))
            .paginate({"numItems": 50, "cursor": None})
        )

    page, ops = _requests(lambda: listing(Viewer(ORG, "customer", FAN)))
    assert {d["_id"] for d in page["page"]} == set(msgs)  # their own and the replies they took part in
    assert ops == ["Query", "BatchGetItem"]  # the page, then every participation it needs at once
    other, ops = _requests(lambda: listing(Viewer(ORG, "customer", "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8C")))
    assert other["page"] == [] and ops == ["Query", "BatchGetItem"]
    staff, ops = _requests(lambda: listing(STAFF))
    assert len(staff["page"]) == len(msgs) and ops == ["Query"]  # staff: nothing to decide
    many, ops = _requests(lambda: _reader(Viewer(ORG, "customer", FAN)).get_many(msgs, "entities"))
    assert None not in many and ops == ["BatchGetItem", "BatchGetItem"]


def test_a_connection_is_seen_by_whoever_sees_both_ends(table: str) -> None:
    def body(db: Any) -> dict[str, str]:
        cid = db.insert("entities", creator("c@x.io"))
        post = db.insert("entities", entity("blog_post", "P", "published"))
        draft = db.insert("entities", entity("blog_post", "D", "draft"))
        return {
            "public": db.insert("connections", connection(cid, post)),
            "draft": db.insert("connections", connection(cid, draft)),
            "creator": cid,
        }

    ids = run_mutation(body, org=ORG)

    def listed(viewer: Viewer) -> set[str]:
        reader = _reader(viewer, ORG)
        q = reader.query("connections").with_index(
            "from_entity", lambda r: r.eq("fromEntityId", ids["creator"])
        )
        return {c["_id"] for c in q.collect()}

    assert listed(Viewer(OTHER_ORG, "org_owner")) == {ids["public"]}
    assert listed(Viewer(ORG, "customer", FAN)) == {ids["public"]}
    assert listed(STAFF) == {ids["public"], ids["draft"]}


def test_an_anonymous_subscription_sees_a_document_become_public(table: str) -> None:
    post = run_mutation(lambda db: db.insert("entities", entity("blog_post", "Soon")), org=ORG)
    with recording() as reads:
        assert _reader(ANYONE).get(post, "entities") is None
    with recording_writes() as writes:
        run_mutation(lambda db: db.patch(post, {"status": "published"}), org=ORG)
    assert reads.touches(writes)
    with recording() as reads:
        assert _reader(ANYONE).get(post, "entities")["name"] == "Soon"
    with recording_writes() as writes:
        run_mutation(lambda db: db.patch(post, {"status": "archived"}), org=ORG)
    assert reads.touches(writes)
    assert run_query(lambda db: db.get(post), org=ORG)["status"] == "archived"
    assert _reader(ANYONE).get(post, "entities") is None


def test_the_public_listing_spans_organizations_and_follows_writes(table: str) -> None:
    a = run_mutation(lambda db: db.insert("entities", creator("a@x.io")), org=ORG)
    b = run_mutation(lambda db: db.insert("entities", creator("b@x.io")), org=OTHER_ORG)
    run_mutation(lambda db: db.insert("entities", {**creator("c@x.io"), "status": "draft"}), org=ORG)
    listing = _reader(ANYONE).public_entities("creator")
    (found, ops) = _requests(lambda: listing.take(10))
    # the platform-wide listing is sharded (8 partitions): one Query of each, then the entities
    assert [c["_id"] for c in found] == [a, b] and ops == ["Query"] * 8 + ["BatchGetItem"], ops
    assert all("email" not in c["properties"] for c in found)
    with recording() as reads:
        _reader(ANYONE).public_entities("creator").take(10)
    with recording_writes() as writes:
        run_mutation(lambda db: db.insert("entities", creator("d@x.io")), org=OTHER_ORG)
    assert reads.touches(writes)
