"""``one import`` and ``one export`` in process on moto (the same commands run against the local stack
in ``test_snapshot_stack.py``): ids replaced and every reference with them, creation times kept,
refusals named, a second run adding nothing, the modes, and export → import → export."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.snapshot import importer
from ontology import run_mutation, run_query
from ontology.snapshot import exporter
from ontology.snapshot.archive import open_snapshot
from ontology.snapshot.org import SnapshotTarget
from tests.data.helpers import ORG, OTHER_ORG, entity, every_document, organization
from tests.infra.snapshot_fixture import CT, PNG, cid, write_snapshot

BUCKET = "one-test-files"


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@pytest.fixture
def target(table: str) -> Iterator[SnapshotTarget]:
    import boto3

    from ontology.data.dynamodb import default_store

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    organization(ORG)
    organization(OTHER_ORG)
    yield SnapshotTarget(default_store(), s3, BUCKET, ORG, "moto, in process")


def _all(org: str) -> dict[str, list[dict[str, Any]]]:
    return {
        name: run_query(lambda db, name=name: every_document(db, name), org=org)
        for name in ("entities", "connections", "events", "tags", "knowledge")
    }


def test_a_snapshot_lands_with_its_references_rewritten(target: SnapshotTarget, tmp_path: Path) -> None:
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    report = importer.run_import(target, path, importer.ImportOptions(), _quiet)
    ids = report.ids
    assert report.counts["entities"] == {"imported": 4, "present": 0, "refused": 2}
    for name in ("connections", "events", "tags"):
        assert report.counts[name] == {"imported": 1, "present": 0, "refused": 0}, name
    assert report.counts["knowledge"] == {"imported": 2, "present": 0, "refused": 0}
    assert report.files == {"imported": 1, "present": 0, "refused": 0}
    refused = {r["id"]: r["reason"] for r in report.refused}
    assert "bytes" in refused[cid("entities", 4)]
    assert "CONFLICT" in refused[cid("entities", 5)] and "email" in refused[cid("entities", 5)]
    assert report.skipped["users"].startswith("a platform table")
    assert "components" in report.skipped["_components/chat"]

    docs = _all(ORG)
    by_id = {d["_id"]: d for rows in docs.values() for d in rows}
    creator, token, post, asset = (by_id[ids[cid("entities", i)]] for i in range(4))
    assert creator["_creationTime"] == CT and creator["name"] == "渡辺 健二"
    assert creator["createdAt"] == 1741615391482 and creator["properties"]["totalFollowers"] == 12
    assert token["properties"]["creatorId"] == creator["_id"]
    image = ids[cid("_storage", 0)]
    assert image.startswith("sto_") and token["properties"]["image"] == image
    assert asset["properties"]["storageId"] == image and asset["properties"]["fileSize"] == 81
    props = post["properties"]
    assert props["related"] == [creator["_id"], {"deep": token["_id"]}]
    assert props["notAnId"] == "j57zzzzzzzzzzzzzzzzzzzzzzzzzzzzz"  # no valid id: left as it is
    assert props["supply"] == 10**18 and props["ratio"] == 0.0731 and str(props["minusZero"]) == "-0.0"
    # what JSON has no type for, as a read gives it (an int64 is a number to a function)
    assert props["raw"] == b"\x00\x01\xfe\xff" and props["limits"] == [math.inf, -math.inf]
    assert props["small64"] == 33 and type(props["small64"]) is int
    stored = json.loads(target.store.get(f"{ORG}#{post['_id']}", "D")["doc"])["properties"]
    assert stored["raw"] == {"$bytes": "AAH+/w=="} and stored["small64"] == {"$integer": "IQAAAAAAAAA="}
    assert stored["limits"] == [{"$float": "AAAAAAAA8H8="}, {"$float": "AAAAAAAA8P8="}]
    (conn,) = docs["connections"]
    assert (conn["fromEntityId"], conn["toEntityId"]) == (creator["_id"], post["_id"])
    assert conn["metadata"] == {"via": token["_id"]} and conn["_id"] == ids[cid("connections", 0)]
    (event,) = docs["events"]
    assert (event["actorId"], event["targetId"]) == (creator["_id"], post["_id"])
    assert event["metadata"] == {"asset": asset["_id"], "file": image}
    assert docs["tags"][0]["entityId"] == post["_id"]
    assert [k["sourceId"] for k in docs["knowledge"]] == [post["_id"], post["_id"]]

    stored = target.s3.get_object(Bucket=BUCKET, Key=f"{ORG}/{image}")
    assert stored["Body"].read() == PNG and stored["ContentType"] == "image/png"

    # the write path's indexes and unique guards: found by index, by unique value, by search
    def reads(db: Any) -> tuple[Any, ...]:
        return (
            db.query("entities").with_index("by_type", lambda q: q.eq("type", "token")).collect(),
            db.lookup_unique(
                "entities", "creator_email", {"type": "creator", "properties.email": "kenji@example.com"}
            ),
            db.query("entities")
            .with_search_index("search_entities", lambda q: q.search("name", "glazes"))
            .take(5),
        )

    tokens, holder, found = run_query(reads, org=ORG)
    assert [t["_id"] for t in tokens] == [token["_id"]] and holder["_id"] == creator["_id"]
    assert [d["_id"] for d in found] == [post["_id"]]

    # a second run (a resumed one) writes nothing twice
    again = importer.run_import(target, path, importer.ImportOptions(), _quiet)
    assert again.counts["entities"] == {"imported": 0, "present": 4, "refused": 2}
    assert again.files == {"imported": 0, "present": 1, "refused": 0}
    assert again.ids == report.ids
    assert sum(len(rows) for rows in _all(ORG).values()) == sum(len(rows) for rows in docs.values())


def test_convex_values_as_the_platform_holds_them() -> None:
    convert = importer.platform_value
    assert [(v := convert(x, "x"), type(v)) for x in (-5.0, 12.0, 0.0)] == [(-5, int), (12, int), (0, int)]
    assert [type(convert(x, "x")) for x in (0.5, -0.0, 2.0**53, 1e300)] == [float] * 4
    assert str(convert(-0.0, "x")) == "-0.0" and convert(2**60, "x") == 2**60
    assert convert({"a": [1.0, {"b": "渡辺"}]}, "") == {"a": [1, {"b": "渡辺"}]}
    for name in ("$integer", "tab\there", "é", ""):
        with pytest.raises(importer._RefusalError, match="not a Convex field name"):
            convert({"a": {name: 1}}, "")
    # outside properties and metadata (the schema's typed fields): refused, an int64 an integer
    for bad in (b"\x00", float("nan"), float("-inf")):
        with pytest.raises(importer._RefusalError, match=r"x\.raw"):
            convert({"raw": bad}, "x")
    assert convert({"count": 3}, "") == {"count": 3}
    # inside them: Convex's JSON encoding; a number stays a number
    typed = {"raw": b"\x00", "nan": math.nan, "inf": -math.inf, "n": 33, "f": 33.0, "big": 2**60}
    assert convert({"properties": typed}, "")["properties"] == {
        "raw": {"$bytes": "AA=="},
        "nan": {"$float": "AAAAAAAA+H8="},
        "inf": {"$float": "AAAAAAAA8P8="},
        "n": {"$integer": "IQAAAAAAAAA="},
        "f": 33,
        "big": 2**60,
    }
    # a file that does not tell an int64 from a number (a .jsonl, an old export): a number
    assert convert({"metadata": {"n": 33}}, "", int64=False) == {"metadata": {"n": 33}}


def test_modes_require_empty_append_replace(target: SnapshotTarget, tmp_path: Path) -> None:
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    mine = run_mutation(lambda db: db.insert("entities", entity(name="Already here")), org=ORG)
    with pytest.raises(importer.SnapshotImportError) as refused:
        importer.run_import(target, path, importer.ImportOptions(), _quiet)
    assert refused.value.code == "CONFLICT" and "1 entities" in refused.value.message
    assert run_query(lambda db: db.get(mine), org=ORG) is not None
    assert len(_all(ORG)["entities"]) == 1  # nothing written

    appended = importer.run_import(target, path, importer.ImportOptions(mode="append"), _quiet)
    assert appended.counts["entities"]["imported"] == 4 and len(_all(ORG)["entities"]) == 5

    replaced = importer.run_import(target, path, importer.ImportOptions(mode="replace"), _quiet)
    assert replaced.replaced == 1 and replaced.counts["entities"]["present"] == 4
    assert run_query(lambda db: db.get(mine), org=ORG) is None


def test_replace_deletes_more_entities_than_one_transaction_takes(
    target: SnapshotTarget, tmp_path: Path
) -> None:
    """A batch of deletions too large for one transaction (each deleted entity puts its tombstones)
    is deleted in halves."""
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    mine = [
        run_mutation(lambda db, i=i: db.insert("entities", entity(name=f"Here {i}")), org=ORG)
        for i in range(30)
    ]
    replaced = importer.run_import(target, path, importer.ImportOptions(mode="replace"), _quiet)
    assert replaced.replaced == 30 and replaced.counts["entities"]["imported"] == 4
    assert run_query(lambda db: db.get_many(mine), org=ORG) == [None] * 30


def test_single_table_files(target: SnapshotTarget, tmp_path: Path) -> None:
    rows = [
        {"_id": cid("entities", 10), "type": "blog_post", "name": "One", "createdAt": 1.0, "updatedAt": 1.0},
        {"type": "blog_post", "name": "Two", "createdAt": 2.0, "updatedAt": 2.0, "properties": {"x": 1}},
    ]
    (tmp_path / "posts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(importer.SnapshotImportError, match="give --table"):
        importer.run_import(target, tmp_path / "posts.jsonl", importer.ImportOptions(), _quiet)
    with pytest.raises(importer.SnapshotImportError, match="an organization's tables"):
        importer.run_import(target, tmp_path / "posts.jsonl", importer.ImportOptions(table="users"), _quiet)
    report = importer.run_import(
        target, tmp_path / "posts.jsonl", importer.ImportOptions(table="entities"), _quiet
    )
    assert report.counts["entities"]["imported"] == 2 and set(report.ids) == {cid("entities", 10), "line:2"}
    (tmp_path / "posts.csv").write_text("type,name,createdAt,updatedAt\nblog_post,Three,3,3\n")
    report = importer.run_import(
        target, tmp_path / "posts.csv", importer.ImportOptions(table="entities", mode="append"), _quiet
    )
    assert report.counts["entities"]["imported"] == 1
    names = sorted(d["name"] for d in _all(ORG)["entities"])
    assert names == ["One", "Three", "Two"]


def _documents(path: Path) -> dict[str, list[dict[str, Any]]]:
    snap = open_snapshot(path)
    return {name: [d for _, d in snap.documents(name)] for name in snap.tables}


def _translate(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [_translate(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _translate(v, ids) for k, v in value.items()}
    return value


def test_export_import_export_gives_the_same_documents(target: SnapshotTarget, tmp_path: Path) -> None:
    write_snapshot(tmp_path / "convex.zip")
    from ontology.data import counters

    ids = importer.run_import(target, tmp_path / "convex.zip", importer.ImportOptions(), _quiet).ids
    token = ids[cid("entities", 1)]
    run_mutation(lambda db: counters.add(db, token, "holders", 3), org=ORG)  # a count on its counter
    first = exporter.run_export(target, tmp_path / "one.zip", include_files=True, progress=_quiet)
    assert first.counts == {"connections": 1, "entities": 4, "events": 1, "knowledge": 2, "tags": 1}
    assert first.files == 1

    other = SnapshotTarget(target.store, target.s3, BUCKET, OTHER_ORG, "moto")
    imported = importer.run_import(other, tmp_path / "one.zip", importer.ImportOptions(), _quiet)
    assert not imported.refused
    second = exporter.run_export(other, tmp_path / "two.zip", include_files=True, progress=_quiet)

    # first export's id → platform id in the other organization → second export's id
    chain = {old: second.ids[new] for old, new in imported.ids.items()}
    one, two = _documents(tmp_path / "one.zip"), _documents(tmp_path / "two.zip")
    assert set(one) == set(two) == {"connections", "entities", "events", "knowledge", "tags"}
    for name in one:
        expected = sorted((_translate(d, chain) for d in one[name]), key=lambda d: d["_id"])
        assert sorted(two[name], key=lambda d: d["_id"]) == expected, name
    # every id is a valid Convex id of its table, as Convex's importer checks them
    from ontology.snapshot.ids import decode_id

    for path in (tmp_path / "one.zip", tmp_path / "two.zip"):
        opened = open_snapshot(path)
        numbers = {name: t.number for name, t in opened.tables.items()}
        assert numbers == {
            "connections": 10001,
            "entities": 10002,
            "events": 10003,
            "knowledge": 10004,
            "tags": 10005,
        }
        for name, rows in _documents(path).items():
            for d in rows:
                decoded = decode_id(d["_id"])
                assert decoded is not None and decoded.table_number == numbers[name]
        assert all(decode_id(f).table_number == 540 for f in opened.files)  # type: ignore[union-attr]
    snap = open_snapshot(tmp_path / "two.zip")
    (stored,) = snap.files.values()
    assert snap.read_file(stored) == PNG and stored.content_type == "image/png"
    # the count as its readers see it, in both exports
    assert [d["properties"]["holders"] for d in one["entities"] if d["type"] == "token"] == [3.0]
    post = next(d for d in two["entities"] if d["type"] == "blog_post")
    assert post["properties"]["supply"] == 10**18 and isinstance(post["createdAt"], float)


#: Every value JSON has no type for, and its neighbours: Convex's encoding of each, as its export writes it.
TYPED = {
    "bytes": b"\x00\x01\xfe\xff-diff\x7f",
    "empty": b"",
    "nan": math.nan,
    "inf": math.inf,
    "negInf": -math.inf,
    "minusZero": -0.0,
    "int64": 33,
    "int64Zero": 0,
    "int64Negative": -7,
    "int64Big": 2**62,
    "count": 12.0,
    "nested": [{"b": b"\x01"}, -0.0, 5],
}


def test_values_json_has_no_type_for_round_trip_byte_for_byte(target: SnapshotTarget, tmp_path: Path) -> None:
    from ontology.snapshot.archive import SnapshotWriter
    from ontology.snapshot.values import encode_line, encode_value

    source = tmp_path / "convex.zip"
    writer = SnapshotWriter(source)
    writer.write_tables([("entities", 10002)])
    entity_id = cid("entities", 0)
    doc = {
        "_id": entity_id,
        "_creationTime": CT,
        "type": "blog_post",
        "name": "Typed",
        "createdAt": 1.0,
        "updatedAt": 1.0,
    }
    doc["properties"] = TYPED
    writer.write_table("entities", [encode_line(doc)])
    writer.close()
    encoded = '"properties":' + encode_value(TYPED)
    assert '{"$float":"AAAAAAAA+H8="}' in encoded and '"int64":33,' in encoded and '"count":12.0' in encoded

    first = importer.run_import(target, source, importer.ImportOptions(mode="append"), _quiet)
    assert first.counts["entities"]["imported"] == 1 and not first.refused, first.refused
    # to a function: bytes, NaN and ±Infinity as Python holds them, every int64 and count a number
    seen = run_query(lambda db: db.get(first.ids[entity_id], "entities"), org=ORG)["properties"]
    assert seen["bytes"] == TYPED["bytes"] and math.isnan(seen["nan"]) and seen["negInf"] == -math.inf
    assert (seen["int64"], seen["count"], type(seen["int64"]), type(seen["count"])) == (33, 12, int, int)

    exporter.run_export(target, tmp_path / "one.zip", include_files=False, progress=_quiet)
    other = SnapshotTarget(target.store, target.s3, BUCKET, OTHER_ORG, "moto")
    importer.run_import(other, tmp_path / "one.zip", importer.ImportOptions(), _quiet)
    exporter.run_export(other, tmp_path / "two.zip", include_files=False, progress=_quiet)
    for path in (tmp_path / "one.zip", tmp_path / "two.zip"):
        snap = open_snapshot(path)
        lines = snap.archive.read("entities/documents.jsonl").decode().splitlines()
        (line,) = [line for line in lines if '"name":"Typed"' in line]
        assert encoded in line, path.name  # the same bytes, value by value


def test_the_commands_errors_are_codes_and_exit_codes(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.cli import main as one

    monkeypatch.setenv("ONE_STATE_DIR", str(tmp_path / "no-stack"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    cases = [
        (["import", str(tmp_path / "missing.zip")], 2, "one import: VALIDATION_ERROR: no file"),
        (["import", str(path), "--batch", "0"], 2, "--batch is from 1 to 100"),
        (["import", str(path)], 5, "one import: UNREACHABLE: no local stack session"),
        (["import", str(path), "--stack", "one-prod"], 2, "name one with --org"),
        (["import", str(path), "--stack", "a", "--config-env", "b"], 2, "not with --stack"),
        (
            ["import", str(path), "--stack", "one-prod", "--org", ORG],
            5,
            "one import: UNREACHABLE: ValidationError",
        ),
        (
            ["export", "--path", str(tmp_path / "nowhere" / "x.zip")],
            2,
            "one export: VALIDATION_ERROR: no folder",
        ),
        (["export", "--path", str(tmp_path / "x.zip"), "--url", "http://127.0.0.1:9"], 5, "cannot reach"),
    ]
    for argv, code, message in cases:
        assert one(argv) == code, argv
        assert message in capsys.readouterr().err, argv


def test_a_deployed_stack_by_its_outputs_with_the_operators_credentials(
    target: SnapshotTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--stack NAME``: the table and bucket of the stack's outputs (here moto's CloudFormation), the
    organization ``--org`` names; the same import and export as against the local stack."""
    import boto3

    from infra.cli import main as one

    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="one-prod",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"TableName": {"Value": "one-test"}, "FilesBucketName": {"Value": BUCKET}},
            }
        ),
    )
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    where = ["--stack", "one-prod", "--region", "us-east-1", "--org", OTHER_ORG]
    assert one(["import", str(path), *where]) == 1  # two documents refused, as ever
    captured = capsys.readouterr()
    assert f"into organization {OTHER_ORG}   (stack one-prod, us-east-1)" in captured.err
    assert "  entities          4 imported" in captured.out
    assert len(_all(OTHER_ORG)["entities"]) == 4 and not _all(ORG)["entities"]
    assert one(["export", "--path", str(tmp_path / "out.zip"), *where]) == 0
    assert "  entities          4 documents" in capsys.readouterr().out
    assert sum(1 for _ in open_snapshot(tmp_path / "out.zip").documents("entities")) == 4
    assert (
        one(["import", str(path), "--stack", "one-prod", "--region", "us-east-1", "--org", "org_nope"]) == 2
    )
    assert "org must be an id of table 'organizations'" in capsys.readouterr().err


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    import io

    from infra.snapshot.command import Bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = Bar(terminal)
    bar("entities", 5, 20)
    bar("entities", 20, 20)  # the end of a stage is always drawn
    assert terminal.getvalue() == (
        "\r\x1b[2Kentities     [#####...............]  25%  5/20"
        "\r\x1b[2Kentities     [####################] 100%  20/20\n"
    )
    plain = io.StringIO()
    lines = Bar(plain)
    lines("entities", 1, 20)
    lines("entities", 2, 20)  # at most a line a second within a stage
    lines("events", 1, 1)
    assert plain.getvalue().splitlines() == [
        "entities     [#...................]   5%  1/20",
        "events       [####################] 100%  1/1",
    ]


def test_files_are_checked_against_their_metadata(target: SnapshotTarget, tmp_path: Path) -> None:
    from ontology.snapshot.archive import SnapshotWriter

    good, wrong, missing, bare = (cid("_storage", i) for i in range(10, 14))
    path = tmp_path / "files.zip"
    writer = SnapshotWriter(path)
    writer.write_tables([])
    metadata = [
        {"_id": good, "_creationTime": CT, "size": 3, "contentType": "text/plain"},
        {"_id": wrong, "_creationTime": CT, "sha256": "AAAA", "size": 3, "contentType": "text/plain"},
        {"_id": missing, "_creationTime": CT, "size": 3, "contentType": "text/plain"},
    ]
    writer.write_storage(metadata, iter([(f"{good}.txt", b"abc"), (f"{wrong}.txt", b"abc"), (bare, b"xyz")]))
    writer.close()
    report = importer.run_import(target, path, importer.ImportOptions(), _quiet)
    assert report.files == {"imported": 2, "present": 0, "refused": 2}
    reasons = {r["id"]: r["reason"] for r in report.refused}
    assert reasons == {
        wrong: "its SHA-256 is not the one its metadata gives",
        missing: "the ZIP holds its metadata but not the file",
    }
    assert set(report.ids) == {good, bare}
    stored = target.s3.get_object(
        Bucket=BUCKET, Key=f"{ORG}/{report.ids[bare]}"
    )  # no metadata: still imported
    assert stored["Body"].read() == b"xyz" and stored["ContentType"] == "application/octet-stream"


def test_a_file_that_is_no_snapshot_is_a_validation_error(target: SnapshotTarget, tmp_path: Path) -> None:
    from ontology.snapshot.archive import SnapshotWriter

    (tmp_path / "text.zip").write_text("not a zip")
    broken = tmp_path / "broken.zip"
    writer = SnapshotWriter(broken)
    writer.write_table("entities", [b'{"_id":"a","type":"blog_post"}\n', b'{"name": NaN}\n'])
    writer.close()
    for path, message in (
        (tmp_path / "text.zip", "is not a ZIP file"),
        (broken, "entities/documents.jsonl:2: NaN is not JSON"),
    ):
        with pytest.raises(importer.SnapshotImportError) as refused:
            importer.run_import(target, path, importer.ImportOptions(), _quiet)
        assert refused.value.code == "VALIDATION_ERROR" and message in refused.value.message
    assert not _all(ORG)["entities"]  # the whole file is read before anything is written
    with pytest.raises(importer.SnapshotImportError, match="--table is for a single table"):
        importer.run_import(target, broken, importer.ImportOptions(table="entities"), _quiet)


def test_a_batch_too_large_for_one_transaction_is_split(
    target: SnapshotTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ontology.data import transaction

    rows = [
        {
            "_id": cid("entities", 100 + i),
            "_creationTime": CT + i,
            "type": "blog_post",
            "name": f"Glazes and kilns at cone six, part {i}",
            "createdAt": 1.0,
            "updatedAt": 1.0,
        }
        for i in range(40)
    ]
    (tmp_path / "posts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sizes: list[int] = []
    check = transaction._check_limits

    def counted(items: list[Any]) -> None:
        sizes.append(len(items))
        check(items)

    monkeypatch.setattr(transaction, "_check_limits", counted)
    options = importer.ImportOptions(table="entities", batch=25)
    report = importer.run_import(target, tmp_path / "posts.jsonl", options, _quiet)
    assert report.counts["entities"] == {"imported": 40, "present": 0, "refused": 0}
    assert sizes[0] > transaction.MAX_TRANSACTION_ITEMS  # the first batch of 25 did not fit…
    # the halves that fit set the size of the table's later batches: they are sent once, and fit
    assert all(n <= transaction.MAX_TRANSACTION_ITEMS for n in sizes[-2:])
    assert len(_all(ORG)["entities"]) == 40
