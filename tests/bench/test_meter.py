"""The cost meter's sizing and pricing rules (bench/meter.py), on items whose sizes are worked out by
hand from AWS's rules: a name's and a string's UTF-8 bytes, a number's (significant digits / 2) + 1, a
binary's raw bytes, 1 for a boolean or null, 3 + 1 per element for a list or map."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from bench.meter import Meter
from infra.local.capacity import (
    Index,
    Schema,
    index_writes,
    item_size,
    number_size,
    read_units,
    value_size,
    write_units,
)

TABLE = "t"
#: The table's keys and two indexes: one projecting everything, one only the keys.
SCHEMA = Schema(
    "pk",
    "sk",
    (
        Index("all", "apk", "ask", "ALL"),
        Index("keys", "kpk", "ksk", "KEYS_ONLY"),
    ),
)


@pytest.fixture(autouse=True)
def _sized_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    """ConsumedCapacity sized as the local stack sizes it (tests/conftest.py turns it off elsewhere)."""
    from infra.local import moto_patches

    monkeypatch.setattr(moto_patches, "SIZE_CAPACITY", True)


def s(text: str) -> dict[str, str]:
    return {"S": text}


class FakeTable:
    """What the meter reads items from: a dict, written by the requests the tests send."""

    def __init__(self, schema: Schema = SCHEMA) -> None:
        self._schema = schema
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def schema(self, table_name: str) -> Schema:
        return self._schema

    def get(self, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.items.get((key["pk"]["S"], key["sk"]["S"]))

    def lock(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def put(self, item: dict[str, Any]) -> None:
        self.items[(item["pk"]["S"], item["sk"]["S"])] = item


def send(
    fake: FakeTable, *, put: dict[str, Any] | None = None, response: dict[str, Any] | None = None
) -> Any:
    """A ``send`` for :meth:`Meter.observe`: applies ``put`` (the write's outcome) and answers."""

    def go() -> dict[str, Any]:
        if put is not None:
            fake.put(put)
        return response or {}

    return go


# ------------------------------------------------------------------------------- item sizes


def test_strings_count_their_utf8_bytes_and_their_names() -> None:
    assert item_size({"name": s("Ada")}) == 4 + 3
    assert item_size({"é": s("ü€")}) == 2 + (2 + 3)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("7", 2),  # one significant digit: 1 + 1
        ("123", 3),  # three: 2 + 1
        ("100", 2),  # trailing zeros trimmed: "1"
        ("0.00125", 3),  # leading zeros trimmed: "125"
        ("-42", 2),
        ("1796618444178.731", 9),  # sixteen digits: 8 + 1
        ("1" * 38, 20),  # the most a number holds: 19 + 1
        ("0", 1),
    ],
)
def test_numbers_take_a_byte_per_two_significant_digits_plus_one(text: str, size: int) -> None:
    assert number_size(text) == size
    assert item_size({"n": {"N": text}}) == 1 + size


def test_binary_counts_raw_bytes_and_booleans_and_nulls_one() -> None:
    assert value_size({"B": b"\x00\x01\x02"}) == 3
    assert value_size({"B": "AAEC"}) == 3  # the same bytes as the wire's base64
    assert item_size({"ok": {"BOOL": True}, "gone": {"NULL": True}}) == (2 + 1) + (4 + 1)


def test_maps_and_lists_take_three_bytes_and_one_per_element() -> None:
    # name "m" 1 + map 3 + ("a": 1 + 1 + number 2) + ("bc": 1 + 2 + "xy" 2)
    assert item_size({"m": {"M": {"a": {"N": "1"}, "bc": s("xy")}}}) == 1 + 3 + 4 + 5
    # name "l" 1 + list 3 + (1 + "ab" 2) + (1 + true 1) + (1 + null 1)
    assert item_size({"l": {"L": [s("ab"), {"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 3 + 2 + 2
    assert item_size({"e": {"L": []}}) == 1 + 3


def test_units_round_up_per_kilobyte_written_and_four_read() -> None:
    assert [write_units(n) for n in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1.0
    assert read_units(0, consistent=False) == 0.5


# --------------------------------------------------------------------------- secondary indexes


def doc(body: str, **keys: str) -> dict[str, Any]:
    return {"pk": s("a"), "sk": s("D"), "doc": s(body), **{k: s(v) for k, v in keys.items()}}


def test_an_index_entry_is_its_projection() -> None:
    item = doc("x" * 1500, apk="p", ask="q", kpk="k", ksk="l")
    full = item_size(item)  # pk 3 + sk 3 + doc 1503 + apk 4 + ask 4 + kpk 4 + ksk 4
    assert full == 1525
    writes = {w.index: w for w in index_writes(SCHEMA, None, item)}
    assert (writes["all"].kind, writes["all"].size, writes["all"].units) == ("put", 1525, 2)
    # KEYS_ONLY: the table's keys and the index's, nothing else
    assert (writes["keys"].kind, writes["keys"].size, writes["keys"].units) == ("put", 3 + 3 + 4 + 4, 1)
    including = Schema("pk", "sk", (Index("inc", "kpk", "ksk", "INCLUDE", ("doc",)),))
    (entry,) = index_writes(including, None, item)
    assert entry.size == 3 + 3 + 4 + 4 + 1503


def test_an_item_without_an_index_key_is_not_in_the_index() -> None:
    assert index_writes(SCHEMA, None, doc("x", apk="p")) == []  # no sort key: sparse
    assert [w.index for w in index_writes(SCHEMA, None, doc("x", apk="p", ask="q"))] == ["all"]


def test_a_changed_index_key_is_a_delete_and_a_put() -> None:
    before = doc("x" * 2000, apk="old", ask="q")
    after = doc("y" * 500, apk="new", ask="q")
    writes = index_writes(SCHEMA, before, after)
    assert [(w.kind, w.pk, w.units) for w in writes] == [("delete", "old", 2), ("put", "new", 1)]


def test_an_entry_appearing_is_a_put_and_disappearing_a_delete() -> None:
    assert [w.kind for w in index_writes(SCHEMA, doc("x"), doc("x", apk="p", ask="q"))] == ["put"]
    assert [w.kind for w in index_writes(SCHEMA, doc("x", apk="p", ask="q"), doc("x"))] == ["delete"]


def test_same_keys_write_the_larger_entry_once_or_nothing_when_it_is_unchanged() -> None:
    before = doc("x" * 2100, apk="p", ask="q", kpk="k", ksk="l")
    after = doc("x" * 10, apk="p", ask="q", kpk="k", ksk="l")
    writes = index_writes(SCHEMA, before, after)
    # ALL: the projected doc changed, one write of the larger entry; KEYS_ONLY: nothing it holds changed
    assert [(w.index, w.kind, w.units) for w in writes] == [("all", "update", 3)]
    assert index_writes(SCHEMA, before, dict(before)) == []


# ----------------------------------------------------------------------------------- requests


def test_update_item_pays_for_the_larger_of_before_and_after() -> None:
    fake = FakeTable()
    fake.put(doc("x" * 2100))
    meter = Meter(fake)
    params = {"TableName": TABLE, "Key": {"pk": s("a"), "sk": s("D")}, "UpdateExpression": "SET doc = :d"}
    meter.observe(None, "UpdateItem", params, send(fake, put=doc("x" * 10)))
    (write,) = meter.writes
    # before: pk 3 + sk 3 + doc 2,103; after: 3 + 3 + 13
    assert (write.size_before, write.size_after, write.units) == (2109, 19, 3)
    assert meter.wru == 3


def test_delete_item_pays_for_the_deleted_item_and_its_index_entries() -> None:
    fake = FakeTable()
    fake.put(doc("x" * 1500, apk="p", ask="q"))
    meter = Meter(fake)

    def delete() -> dict[str, Any]:
        del fake.items[("a", "D")]
        return {}

    meter.observe(None, "DeleteItem", {"TableName": TABLE, "Key": {"pk": s("a"), "sk": s("D")}}, delete)
    (write,) = meter.writes
    assert (write.units, [(w.kind, w.units) for w in write.indexes]) == (2, [("delete", 2)])


def test_transactional_writes_pay_twice_and_their_index_copies_once() -> None:
    fake = FakeTable()
    fake.put({"pk": s("guard"), "sk": s("G"), "doc": s("y" * 500)})
    meter = Meter(fake)
    new = doc("x" * 1500, apk="p", ask="q")
    params = {
        "TransactItems": [
            {"Put": {"TableName": TABLE, "Item": new, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": s("guard"), "sk": s("G")}}},
        ]
    }
    meter.observe(None, "TransactWriteItems", params, send(fake, put=new))
    put, check = meter.writes
    assert (put.units, [w.units for w in put.indexes]) == (2 * 2, [2])  # 1,517 B: 2 units, twice
    assert (check.units, check.indexes) == (2 * 1, [])
    assert meter.wru == 4 + 2 + 2
    assert meter.conditional_writes() == {("a", "D"): 1, ("guard", "G"): 1}


def test_a_query_pays_for_the_total_it_read_rounded_once() -> None:
    fake = FakeTable()
    meter = Meter(fake)
    items = [doc("x" * 1483, apk="p", ask=str(i)) for i in range(3)]  # 1,500 B each, 4,500 in all
    assert {item_size(i) for i in items} == {1500}
    table_query = {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "ConsistentRead": True}
    table_query["ExpressionAttributeValues"] = {":p": s("a")}
    meter.observe(None, "Query", table_query, lambda: {"Items": items})
    index_query = {
        "TableName": TABLE,
        "IndexName": "all",
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": "apk"},
        "ExpressionAttributeValues": {":p": s("p")},
    }
    meter.observe(None, "Query", index_query, lambda: {"Items": items})
    strong, index = meter.reads
    # 4,500 B: two 4 KB units (not three, one per item), and an index read is eventually consistent
    assert (strong.units, strong.pk, strong.consistent) == (2, "a", True)
    assert (index.units, index.pk, index.index, index.consistent) == (1.0, "p", "all", False)


def test_eventually_consistent_reads_pay_half_and_a_batch_pays_per_item() -> None:
    fake = FakeTable()
    big = doc("x" * 4990)  # 4,999 B: two 4 KB units
    fake.put(big)
    meter = Meter(fake)
    key = {"pk": s("a"), "sk": s("D")}
    meter.observe(
        None, "GetItem", {"TableName": TABLE, "Key": key, "ConsistentRead": True}, lambda: {"Item": big}
    )
    meter.observe(None, "GetItem", {"TableName": TABLE, "Key": key}, lambda: {"Item": big})
    missing = {"pk": s("nope"), "sk": s("D")}
    batch = {"RequestItems": {TABLE: {"Keys": [key, missing], "ConsistentRead": False}}}
    meter.observe(None, "BatchGetItem", batch, lambda: {"Responses": {TABLE: [big]}})
    assert [r.units for r in meter.reads] == [2, 1.0, 1.0, 0.5]
    assert meter.rru == 4.5


def test_partitions_gather_the_table_and_index_loads() -> None:
    fake = FakeTable()
    meter = Meter(fake)
    new = doc("x", apk="hot", ask="1")
    meter.observe(None, "PutItem", {"TableName": TABLE, "Item": new}, send(fake, put=new))
    loads = meter.partitions()
    assert (loads[("table", "a")].wru, loads[("all", "hot")].wru) == (1, 1)


# ------------------------------------------------------------------------ against the template


def test_a_put_to_the_platform_table_costs_what_the_rules_say(table: str) -> None:
    """A known item put to the table template.yaml defines (seven GSIs projecting everything),
    through the store: its size worked out by hand, one copy per GSI whose keys it has."""
    from bench.meter import metered
    from ontology.data.dynamodb import default_store

    attrs = {
        "pk": "org_1#ent_1",  # 2 + 11
        "sk": "D",  # 2 + 1
        "tb": "entities",  # 2 + 8
        "v": 12,  # 1 + (1 + 1)
        "doc": "x" * 1000,  # 3 + 1000
        "g1pk": "org_1#entities#by_creation_time",  # 4 + 31
        "g1sk": "k1",  # 4 + 2
        "g2pk": "org_1#entities#by_type#5post",  # 4 + 28
        "g2sk": "k2",  # 4 + 2
    }
    size = 13 + 3 + 10 + 3 + 1003 + 35 + 6 + 32 + 6
    assert size == 1111
    meter = Meter()
    with metered(meter):
        default_store().put(attrs)
    (write,) = meter.writes
    assert write.size_after == size
    assert [(w.index, w.kind, w.units) for w in write.indexes] == [("gsi1", "put", 2), ("gsi2", "put", 2)]
    assert meter.wru == 2 + 2 + 2
    # the local stack's ConsumedCapacity (moto's is a constant) is the meter's figure: the item and
    # its two index copies, and with INDEXES each index's share
    import boto3

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": attrs["pk"]}, "sk": {"S": "D"}})
    answered = dynamodb.put_item(TableName=table, Item=write_item(attrs), ReturnConsumedCapacity="INDEXES")
    assert answered["ConsumedCapacity"]["CapacityUnits"] == meter.wru == 6
    assert answered["ConsumedCapacity"]["Table"]["CapacityUnits"] == 2
    assert answered["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {
        "gsi1": {"CapacityUnits": 2},
        "gsi2": {"CapacityUnits": 2},
    }


def test_the_local_stacks_consumed_capacity_is_the_meters_for_every_request(table: str) -> None:
    """Reads, a transaction, a batch and a delete through the store, each answered the units the meter
    counts for it; asking for them adds no request and changes no answer."""
    from bench.meter import metered
    from ontology.data.dynamodb import add_listener, consumed, default_store, remove_listener

    store = default_store()
    big = {"pk": "org_1#ent_2", "sk": "D", "tb": "entities", "v": 1, "doc": "y" * 9000}
    store.put(big)
    sent: list[dict[str, Any]] = []

    def listen(operation: str, params: dict[str, Any], response: dict[str, Any] | None) -> None:
        sent.append(
            {"operation": operation, "asked": params.get("ReturnConsumedCapacity"), "response": response}
        )

    add_listener(listen)
    try:
        meter = Meter()
        with metered(meter), consumed() as units:
            assert store.get("org_1#ent_2", "D", consistent=True)["doc"] == big["doc"]  # 9 KB: 3 RRU
            store.get("org_1#ent_2", "D", consistent=False)  # 1.5
            store.batch_get([("org_1#ent_2", "D"), ("org_1#none", "D")], consistent=True)  # 3 + 1
            store.query(
                index=None,
                pk_attr="pk",
                pk="org_1#ent_2",
                sk_attr="sk",
                sk_condition=None,
                forward=True,
                limit=10,
                start_key=None,
                consistent=True,
            )  # 3
            store.transact_write(
                [
                    {
                        "Put": {
                            "TableName": table,
                            "Item": write_item({"pk": "org_1#t", "sk": "D", "tb": "x", "v": 1}),
                        }
                    },
                    {"Delete": {"TableName": table, "Key": {"pk": {"S": "org_1#ent_2"}, "sk": {"S": "D"}}}},
                ]
            )  # 2 x (1 + 9)
            store.batch_write([{"pk": "org_1#b", "sk": "D", "tb": "x", "v": 1}], [("org_1#t", "D")])  # 1 + 1
    finally:
        remove_listener(listen)
    assert units.read == meter.rru == 3 + 1.5 + 4 + 3
    assert units.write == meter.wru == 20 + 2
    assert len(sent) == len(meter.requests) == 6  # the parameter rides on the requests: none more
    assert all(s["asked"] == "TOTAL" and "ConsumedCapacity" in s["response"] for s in sent)


def write_item(attrs: dict[str, Any]) -> dict[str, Any]:
    from ontology.data.dynamodb import serialize

    return serialize(attrs)
