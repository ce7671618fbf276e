"""``one import`` and ``one export`` as an operator runs them against the local stack (`make dev`), then
Convex's HTTP API finding what was imported: by id, by list, by full-text search, and anonymously
through the public creators list. An import killed halfway (SIGKILL) and run again writes no
document twice; export → import into another organization → export gives the same documents.

One stack start for every check (docs/import-export.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ontology.client import OneClient
from ontology.snapshot.archive import SnapshotWriter, open_snapshot
from ontology.snapshot.ids import make_id
from ontology.snapshot.values import encode_line
from tests.conftest import ROOT
from tests.infra.localstack import PAGE, Stack, convex_query, one_cli, running_stack, until
from tests.infra.snapshot_fixture import CT, cid, write_snapshot

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "snapshot", demo=True)  # the dev organization holds it


one = one_cli


def new_org(stack: Stack, name: str) -> str:
    created = OneClient(stack.url, stack.token()).action("organizations:create", {"name": name})
    return str(created["organizationId"])


def test_import_finds_documents_by_get_list_and_search(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "snapshot.zip"
    write_snapshot(path)
    # the dev organization holds the demo creator and token: refused unless --append or --replace
    refused = one(stack, "import", str(path))
    assert refused.returncode == 3, refused.stderr
    assert (
        "one import: CONFLICT: organization" in refused.stderr and "--append or --replace" in refused.stderr
    )

    org = new_org(stack, "Imported studio")
    done = one(stack, "import", str(path), "--org", org)
    assert done.returncode == 1, done.stderr  # two documents refused: named in the report
    assert f"importing {path} into organization {org}" in done.stderr
    assert "entities     [####################] 100%  6/6" in done.stderr  # the progress, on stderr
    out = done.stdout
    assert "  entities          4 imported       0 already there     2 refused" in out
    assert "  _storage          1 imported       0 already there     0 refused" in out
    held = "name: bytes are held only in properties and metadata"
    assert f"refused entities {cid('entities', 4)}: {held}" in out
    assert f"refused entities {cid('entities', 5)}: CONFLICT: a creator with this email already exists" in out
    assert "skipped users: a platform table" in out
    # a component's tables are left out, as the format document allows, and said so
    (component,) = [line for line in out.splitlines() if line.strip().startswith("skipped _components/chat:")]
    assert "component" in component
    ids = json.loads((tmp_path / "snapshot.zip.ids.json").read_text())
    assert ids["organizationId"] == org
    creator, token, post = (ids["ids"][cid("entities", i)] for i in range(3))

    client = OneClient(stack.url, stack.token())
    client.action("organizations:switch_active", {"organizationId": org})
    got = client.query("entities:get", {"id": post})
    assert got["name"] == "Glazes at cone six" and got["_creationTime"] == CT + 2
    assert got["properties"]["related"] == [creator, {"deep": token}]
    # what JSON has no type for, as the platform's HTTP API sends it (Convex's JSON encoding of each);
    # an int64 is a number to a function
    wire = got["properties"]
    assert wire["raw"] == {"$bytes": "AAH+/w=="} and wire["small64"] == 33
    assert wire["limits"] == [{"$float": "AAAAAAAA8H8="}, {"$float": "AAAAAAAA8P8="}]
    listed = client.query("entities:list", {"type": "blog_post", "paginationOpts": PAGE})["page"]
    assert [d["_id"] for d in listed] == [post]
    found = client.query("entities:search", {"query": "glazes cone"})
    assert [d["_id"] for d in found] == [post]
    conns = client.query(
        "connections:list",
        {"entityId": creator, "relationshipType": "authored", "direction": "from", "paginationOpts": PAGE},
    )["page"]
    assert [c["toEntityId"] for c in conns] == [post]
    # by meaning: the imported chunk's vector, indexed from the table's stream
    hits = until(lambda: client.action("knowledge:search", {"query": "glaze recipes for cone six"}))
    assert hits[0]["_id"] == ids["ids"][cid("knowledge", 1)] and hits[0]["sourceId"] == post
    # public: anyone finds the imported active creator, as Convex's HTTP client asks
    creators = convex_query(stack, "creators:list", {})
    assert creator in [c["_id"] for c in creators]

    again = one(stack, "import", str(path), "--org", org)
    assert "  entities          0 imported       4 already there     2 refused" in again.stdout


def _many(path: Path, n: int) -> None:
    writer = SnapshotWriter(path)
    writer.write_tables([("entities", 10002)])
    lines = []
    for i in range(n):
        doc_id = make_id(10002, i.to_bytes(14, "big") + (20157).to_bytes(2, "big"))
        doc = {
            "_id": doc_id,
            "_creationTime": CT + i,
            "type": "blog_post",
            "name": f"Post {i}",
            "createdAt": 1.0,
            "updatedAt": 1.0,
            "properties": {},
        }
        lines.append(encode_line(doc))
    writer.write_table("entities", sorted(lines))
    writer.close()


def test_an_import_killed_halfway_resumes_without_writing_twice(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    total = 400
    _many(path, total)
    org = new_org(stack, "Resumed studio")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "import", str(path), "--org", org, "--batch", "2"],
        cwd=ROOT,
        env={**os.environ, "ONE_STATE_DIR": str(stack.state_dir)},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("entities") and f"/{total}" in line:
            done = int(line.split()[-1].split("/")[0])
            if 0 < done < total:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    resumed = one(stack, "import", str(path), "--org", org, "--batch", "50")
    assert resumed.returncode == 0, resumed.stderr
    row = next(line for line in resumed.stdout.splitlines() if line.startswith("  entities"))
    imported, present = int(row.split()[1]), int(row.split()[3])
    assert present > 0 and imported > 0 and imported + present == total, row

    client = OneClient(stack.url, stack.token())
    client.action("organizations:switch_active", {"organizationId": org})
    seen: list[str] = []
    cursor = None
    while True:
        page = client.query(
            "entities:list", {"type": "blog_post", "paginationOpts": {"numItems": 100, "cursor": cursor}}
        )
        seen += [d["name"] for d in page["page"]]
        if page["isDone"]:
            break
        cursor = page["continueCursor"]
    assert sorted(seen) == sorted(f"Post {i}" for i in range(total))  # each once


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


def test_export_import_export_round_trips(stack: Stack, tmp_path: Path) -> None:
    write_snapshot(tmp_path / "convex.zip")
    source = new_org(stack, "Round trip one")
    assert one(stack, "import", str(tmp_path / "convex.zip"), "--org", source).returncode == 1
    first = one(
        stack, "export", "--path", str(tmp_path / "one.zip"), "--include-file-storage", "--org", source
    )
    assert first.returncode == 0, first.stderr
    # four imported, and the owner's own entity and joining
    assert (
        "  entities          5 documents" in first.stdout
        and "  events            2 documents" in first.stdout
    )
    assert "  _storage          1 files" in first.stdout

    target = new_org(stack, "Round trip two")
    second_import = one(stack, "import", str(tmp_path / "one.zip"), "--org", target)
    assert second_import.returncode == 0, second_import.stdout
    second = one(
        stack, "export", "--path", str(tmp_path / "two.zip"), "--include-file-storage", "--org", target
    )
    assert second.returncode == 0, second.stderr

    # one.zip's import: Convex id → platform id; two.zip's export: platform id → Convex id
    imported = json.loads((tmp_path / "one.zip.ids.json").read_text())
    assert imported["organizationId"] == target and "importId" in imported
    exported = json.loads((tmp_path / "two.zip.export-ids.json").read_text())["ids"]
    chain = {old: exported[new] for old, new in imported["ids"].items()}
    one_docs, two_docs = _documents(tmp_path / "one.zip"), _documents(tmp_path / "two.zip")
    for name in one_docs:
        expected = [_translate(d, chain) for d in one_docs[name]]
        extra = [d for d in two_docs[name] if d not in expected]
        assert all(d in two_docs[name] for d in expected), name
        # what the second organization's membership wrote: the owner's own entity, their joining
        more = {"entities": ["audience_member"], "events": ["user_joined"]}.get(name, [])
        assert [d["type"] for d in extra] == more, name
