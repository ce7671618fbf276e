"""Convex's snapshot format, read and written byte for byte as its export writes it: the value
encoding of ``documents.jsonl`` (float64 text, bare int64, ``$float``, ``$bytes``, sorted keys, raw
UTF-8), document ids, the ZIP's entries, and the single-table files ``npx convex import --table``
takes. The fixtures are the examples of Convex's source (docs/import-export.md)."""

from __future__ import annotations

import json
import math
import random
import struct
import zipfile
from pathlib import Path

import pytest

from ontology.snapshot.archive import SnapshotFormatError, SnapshotWriter, open_snapshot, read_table_file
from ontology.snapshot.ids import STORAGE_TABLE_NUMBER, decode_id, make_id
from ontology.snapshot.values import (
    SnapshotValueError,
    decode_line,
    decode_value,
    encode_float,
    encode_line,
    encode_value,
)

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1741615391483.0, "1741615391483.0"),
        (1741615391483.5596, "1741615391483.5596"),
        (0.0731, "0.0731"),
        (-0.0, "-0.0"),
        (0.0, "0.0"),
        (0.000032, "0.000032"),  # Python's repr: 3.2e-05
        (4.25e16, "4.25e16"),  # Python's repr: 4.25e+16
        (1e16, "1e16"),
        (1e15, "1000000000000000.0"),
        (3.2e-6, "3.2e-6"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (123456789.125, "123456789.125"),
    ],
)
def test_a_float64_is_written_as_ryu_writes_it(number: float, text: str) -> None:
    assert encode_float(number) == text
    assert encode_value(number) == text
    assert float(text) == number


def test_every_finite_float64_reads_back_as_itself() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        number = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(number):
            text = encode_float(number)
            assert ("." in text or "e" in text) and float(text) == number, (number, text)
            assert isinstance(decode_value(text), float)


def test_the_special_values_of_the_source_byte_for_byte() -> None:
    assert encode_value(NAN) == '{"$float":"AAAAAAAA+H8="}'
    assert encode_value(INF) == '{"$float":"AAAAAAAA8H8="}'
    assert encode_value(-INF) == '{"$float":"AAAAAAAA8P8="}'
    assert encode_value(b"\x00\x01\x02\xfe\xff--diff--\x7f") == '{"$bytes":"AAEC/v8tLWRpZmYtLX8="}'
    assert encode_value(1000000000000000000) == "1000000000000000000"  # an int64: bare, no "."
    assert encode_value(2**63 - 1) == "9223372036854775807"
    with pytest.raises(SnapshotValueError):
        encode_value(2**63)


def test_a_document_line_sorts_keys_bytewise_at_every_level_and_keeps_utf8_raw() -> None:
    doc = {
        "name": "渡辺 健二",
        "_id": "j57abc",
        "_creationTime": 1741615391483.5596,
        "Zeta": True,
        "properties": {"b": None, "a": [1.5, {"y": 2**60, "x": "tab\there"}], "B": False},
        "ctl": '\x00\x1f"\\\x7f\n\r\b\f',
    }
    assert (
        encode_line(doc)
        == (
            '{"Zeta":true,"_creationTime":1741615391483.5596,"_id":"j57abc",'
            '"ctl":"\\u0000\\u001f\\"\\\\\x7f\\n\\r\\b\\f","name":"渡辺 健二",'
            '"properties":{"B":false,"a":[1.5,{"x":"tab\\there","y":1152921504606846976}],"b":null}}\n'
        ).encode()
    )
    # _tables and _storage lines keep their own key order
    assert (
        encode_line({"name": "entities", "id": 10002}, sort_keys=False) == b'{"name":"entities","id":10002}\n'
    )


def test_reading_keeps_int64_and_float64_apart_and_types_the_dollar_objects() -> None:
    line = (
        '{"a":1000000000000000000,"b":1741615391482.0,"c":99999999999999999999,"d":{"$integer":"AAAAAAAAABA="},'
        '"e":{"$float":"AAAAAAAA+H8="},"f":{"$bytes":"AAEC/v8tLWRpZmYtLX8="},"g":-0.0,"h":{"$float":"AAAAAAAAAIA="},'
        '"i":{"nested":["渡辺",{"deep":[]}]}}'
    )
    doc = decode_line(line)
    assert doc["a"] == 10**18 and type(doc["a"]) is int
    assert doc["b"] == 1741615391482.0 and type(doc["b"]) is float
    assert doc["c"] == 1e20 and type(doc["c"]) is float  # beyond an int64: a float64
    assert doc["d"] == 2**60 and type(doc["d"]) is int
    assert math.isnan(doc["e"])
    assert doc["f"] == b"\x00\x01\x02\xfe\xff--diff--\x7f"
    assert math.copysign(1, doc["g"]) < 0 and math.copysign(1, doc["h"]) < 0
    assert doc["i"] == {"nested": ["渡辺", {"deep": []}]}


def test_a_round_trip_is_lossless() -> None:
    doc = {
        "big": 2**62 + 3,
        "neg": -(2**63),
        "f": 0.1,
        "whole": 5.0,
        "nan": NAN,
        "inf": INF,
        "ninf": -INF,
        "nz": -0.0,
        "raw": bytes(range(256)),
        "text": "ユニコード \U0001f600 \u2028",
        "list": [[], {}, [None, True, False]],
    }
    back = decode_line(encode_line(doc))
    assert encode_line(back) == encode_line(doc)
    assert type(back["whole"]) is float and type(back["big"]) is int
    assert math.isnan(back["nan"]) and back["inf"] == INF and back["ninf"] == -INF
    assert math.copysign(1, back["nz"]) < 0 and back["raw"] == bytes(range(256))


@pytest.mark.parametrize(
    "line",
    [
        '{"x":NaN}',
        '{"x":{"$float":"AAAAAAAA8D8="}}',  # 1.0 is written as a number, never as $float
        '{"x":{"$integer":"AAA="}}',
        '{"x":{"$bytes":"***"}}',
        '{"x":{"$what":"a"}}',
        '{"x":{"$bytes":"AA==","y":1}}',
        "[1]",
        "{",
    ],
)
def test_what_is_not_the_export_format_is_refused_clearly(line: str) -> None:
    with pytest.raises(SnapshotValueError):
        decode_line(line)


def test_ids_decode_as_the_source_says() -> None:
    real = decode_id("kg25efbgcywfzkr6h78cjw1pzx85r2ha")  # FileStorage.stories.tsx
    assert real is not None and real.table_number == STORAGE_TABLE_NUMBER
    assert decode_id("kg25efbgcywfzkr6h78cjw1pzx85r2hb") is None  # checksum
    assert decode_id("kg25efbgcywfzkr6h78cjw1pzx85r2hi") is None  # alphabet (no i, l, o, u)
    assert decode_id("ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R") is None
    internal = bytes(range(16))
    for number, prefix, length in [
        (10001, "j57", 32),
        (10002, "j97", 32),
        (10004, "jh7", 32),
        (540, "kg2", 32),
    ]:
        made = make_id(number, internal)
        assert made.startswith(prefix) and len(made) == length
        decoded = decode_id(made)
        assert decoded is not None and decoded.table_number == number and decoded.internal_id == internal
    assert len(make_id(1, internal)) == 31 and len(make_id(2**14, internal)) == 34
    assert len(make_id(2**21, internal)) == 36 and len(make_id(2**28, internal)) == 37


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def test_a_snapshot_zip_is_read_as_convex_matches_its_entries(tmp_path: Path) -> None:
    entity = make_id(10002, bytes(16))
    other = make_id(10001, bytes(range(16)))
    path = _zip(
        tmp_path / "snapshot.zip",
        {
            "README.md": b"# hello\n",
            "backup/_tables/documents.jsonl": (
                b'{"name":"connections","id":10001}\n{"name":"entities","id":10002}\n'
            ),
            "backup/entities/documents.jsonl": (
                f'{{"_creationTime":1.5,"_id":"{entity}","n":{2**60},"x":{{"$bytes":"AQ=="}}}}\n'
            ).encode(),
            "backup/entities/generated_schema.jsonl": b'"uniform"\n',
            "backup/connections/documents.jsonl": f'{{"_id":"{other}","n":5}}\n'.encode(),
            "backup/_components/chat/messages/documents.jsonl": b"{}\n",
            "backup/_scheduled_functions/documents.jsonl": b"{}\n",
            "backup/_storage/documents.jsonl": (
                b'{"_id":"kg25efbgcywfzkr6h78cjw1pzx85r2ha","_creationTime":1741615331483.5596,'
                b'"sha256":"x","size":3,"contentType":"audio/mpeg","internalId":"u"}\n'
            ),
            "backup/_storage/kg25efbgcywfzkr6h78cjw1pzx85r2ha.mpga": b"abc",
        },
    )
    snap = open_snapshot(path)
    assert set(snap.tables) == {"entities", "connections"}
    assert snap.components == ["chat"]
    assert snap.table_numbers() == {10001: "connections", 10002: "entities", 540: "_storage"}
    assert [d for _, d in snap.documents("entities")] == [
        {"_creationTime": 1.5, "_id": entity, "n": 2**60, "x": b"\x01"}
    ]
    # no generated_schema: plain JSON (int64 and bytes not recovered)
    assert [d for _, d in snap.documents("connections")] == [{"_id": other, "n": 5}]
    stored = snap.files["kg25efbgcywfzkr6h78cjw1pzx85r2ha"]
    assert (stored.size, stored.content_type, snap.read_file(stored)) == (3, "audio/mpeg", b"abc")


def test_what_the_writer_writes_is_the_export_layout(tmp_path: Path) -> None:
    path = tmp_path / "out.zip"
    writer = SnapshotWriter(path)
    writer.write_tables([("connections", 10001), ("entities", 10002)])
    writer.write_table("entities", [encode_line({"_id": "a", "v": 1.0})])
    writer.write_storage([{"_id": "kg2", "size": 1}], iter([("kg2.png", b"\x89")]))
    writer.close()
    with zipfile.ZipFile(path) as z:
        names = [i.filename for i in z.infolist()]
        assert names == [
            "README.md",
            "_tables/documents.jsonl",
            "entities/documents.jsonl",
            "entities/generated_schema.jsonl",
            "_storage/documents.jsonl",
            "_storage/kg2.png",
        ]
        assert all(
            i.compress_type == zipfile.ZIP_DEFLATED and (i.external_attr >> 16) & 0o777 == 0o644
            for i in z.infolist()
        )
        assert (
            z.read("_tables/documents.jsonl")
            == b'{"name":"connections","id":10001}\n{"name":"entities","id":10002}\n'
        )
        assert z.read("entities/generated_schema.jsonl") == b'"uniform"\n'
        assert z.read("entities/documents.jsonl") == b'{"_id":"a","v":1.0}\n'
        assert z.read("_storage/documents.jsonl") == b'{"_id":"kg2","size":1}\n'


def test_single_table_files(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"a":1,"b":{"$bytes":"AQ=="}}\n\n{"a":2.5}\n')
    assert [d for _, d in read_table_file(tmp_path / "t.jsonl")] == [{"a": 1, "b": b"\x01"}, {"a": 2.5}]
    (tmp_path / "t.json").write_text(json.dumps([{"a": 1}, {"b": "x"}]))
    assert [d for _, d in read_table_file(tmp_path / "t.json")] == [{"a": 1}, {"b": "x"}]
    (tmp_path / "t.csv").write_text(
        'name,n,ok,props,empty\nAda,3,true,"{""k"": 1}",\n"B, c",-1.5,false,[1],\n'
    )
    assert [d for _, d in read_table_file(tmp_path / "t.csv")] == [
        {"name": "Ada", "n": 3.0, "ok": True, "props": {"k": 1}},
        {"name": "B, c", "n": -1.5, "ok": False, "props": [1]},
    ]
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(SnapshotFormatError):
        list(read_table_file(tmp_path / "bad.json"))
    with pytest.raises(SnapshotFormatError):
        list(read_table_file(tmp_path / "t.txt"))
    with pytest.raises(SnapshotFormatError):
        open_snapshot(tmp_path / "t.json")


def test_the_container_is_the_one_convex_streams(tmp_path: Path) -> None:
    """Every entry streamed as ZIP64 (a data descriptor after it, its sizes in the central directory's
    ZIP64 field), then the ZIP64 end records: as Convex's export writes the file."""
    import struct
    import zlib

    path = tmp_path / "out.zip"
    writer = SnapshotWriter(path)
    writer.write_entry("entities/documents.jsonl", b'{"_id":"a"}\n')
    writer.close()
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        _readme, entry = z.infolist()
        assert z.read(entry) == b'{"_id":"a"}\n' and z.testzip() is None
        assert entry.external_attr == 0o644 << 16 and entry.create_system == 3 and entry.flag_bits == 0x0808
    name = b"entities/documents.jsonl"
    local = raw[entry.header_offset :]
    assert local[:30] == struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 8, 0, 0, 0, 2**32 - 1, 2**32 - 1, len(name), 20
    )
    assert local[30 : 30 + len(name) + 20] == name + struct.pack("<HHQQ", 1, 16, 0, 0)
    data_end = entry.header_offset + 30 + len(name) + 20 + entry.compress_size
    crc = zlib.crc32(b'{"_id":"a"}\n')
    assert raw[data_end : data_end + 16] == struct.pack("<IIII", 0x08074B50, crc, 2**32 - 1, 2**32 - 1)
    assert raw.index(struct.pack("<I", 0x02014B50)) == data_end + 16  # the directory follows the last entry
    record = raw.rindex(struct.pack("<I", 0x02014B50))
    assert raw[record : record + 46] == struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        0x033F,
        20,
        0x0808,
        8,
        0,
        0,
        crc,
        2**32 - 1,
        2**32 - 1,
        len(name),
        28,
        0,
        0,
        0,
        0o644 << 16,
        2**32 - 1,
    )
    zip64 = struct.pack("<HHQQQ", 1, 24, entry.file_size, entry.compress_size, entry.header_offset)
    assert raw[record + 46 : record + 46 + len(name) + 28] == name + zip64
    assert raw[-22:-18] == struct.pack("<I", 0x06054B50)
    assert raw[-42:-38] == struct.pack("<I", 0x07064B50)  # the ZIP64 locator before the classic end
    zip64_end = struct.unpack("<Q", raw[-34:-26])[0]
    assert raw[zip64_end : zip64_end + 16] == struct.pack("<IQHH", 0x06064B50, 44, 0x033F, 46)


def test_a_document_is_written_only_with_convex_field_names() -> None:
    from ontology.snapshot.values import encode_document

    assert encode_document({"_id": "a", "x": {"ok name": 1.0}}) == '{"_id":"a","x":{"ok name":1.0}}'
    for bad in ({"$x": 1}, {"x": {"é": 1}}, {"x": [{"\t": 1}]}, {"": 1}):
        with pytest.raises(SnapshotValueError, match="not a Convex field name"):
            encode_document(bad)
