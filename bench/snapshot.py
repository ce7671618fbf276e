"""``one import`` of a Convex snapshot, in-process on moto (infra/snapshot, docs/import-export.md).

- **Documents a second**: 10,000 blog posts (six-word names, as ``entities:create``'s row in
  :mod:`bench.cost`) imported into an empty organization through the write path (batches of 25
  documents a transaction, their indexes, guards and search postings). This machine's seconds on
  moto, a local figure: what an operator waits for locally, not DynamoDB's speed.
- **Write units a document**: 500 of the same posts imported under :func:`bench.meter.metered`,
  DynamoDB's write request units (transactions at 2x, each GSI entry) over the documents written.
  Budget: an imported post costs at most what ``entities:create`` of the same post may
  (``WRU_BUDGET`` of :mod:`bench.cost`): the import writes what a create writes, less its event.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.harness import ORG, local_table, result

DOCUMENTS = 10_000
METERED = 500
#: What an operator waits for locally: 10,000 documents in under three minutes. moto's handling of
#: each request is most of it (a batch of six posts and their postings is one transaction: 100 items).
MIN_RATE = 60.0
CREATE_ROW = "entities:create (blog post, six-word name)"
#: Names from a Zipf-distributed vocabulary of 400 words (as bench/search.py's): an organization's
#: search dictionary gains an entry per new word, so what a document costs depends on its words.
_WORDS = [f"w{i}" for i in range(400)]
_WEIGHTS = [1 / (i + 1) for i in range(len(_WORDS))]


def _name(rng: random.Random) -> str:
    words: list[str] = []
    while len(words) < 6:
        (word,) = rng.choices(_WORDS, _WEIGHTS)
        if word not in words:
            words.append(word)
    return " ".join(words)


_BUCKET = "one-bench-files"


def _snapshot(path: Path, n: int, seed: int) -> None:
    from ontology.snapshot.archive import SnapshotWriter
    from ontology.snapshot.ids import make_id
    from ontology.snapshot.values import encode_line

    rng = random.Random(seed)
    lines = []
    for i in range(n):
        doc_id = make_id(10002, rng.randbytes(14) + (20_000).to_bytes(2, "big"))
        created = 1741615391482.0 + i
        lines.append(
            encode_line(
                {
                    "_id": doc_id,
                    "_creationTime": created + 0.5,
                    "type": "blog_post",
                    "name": _name(rng),
                    "status": "published",
                    "createdAt": created,
                    "updatedAt": created,
                    "properties": {"body": "A post of the bench.", "words": 6.0},
                }
            )
        )
    writer = SnapshotWriter(path)
    writer.write_tables([("entities", 10002)])
    writer.write_table("entities", sorted(lines))
    writer.close()


def _target(org: str) -> Any:
    import boto3

    from ontology import run_mutation
    from ontology.data.dynamodb import default_store
    from ontology.snapshot.org import SnapshotTarget

    run_mutation(
        lambda db: db.insert(
            "organizations",
            {"name": org, "slug": org.lower().replace("_", "-"), "createdAt": 1, "updatedAt": 1},
            doc_id=org,
        ),
        org=None,
        platform=True,
    )
    s3 = boto3.client("s3", region_name="us-east-1")
    return SnapshotTarget(default_store(), s3, _BUCKET, org, "moto, in process")


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def run() -> list[dict[str, Any]]:
    import boto3

    from bench.cost import WRU_BUDGET
    from bench.meter import Meter, metered
    from infra.snapshot.importer import ImportOptions, run_import

    out = []
    with TemporaryDirectory() as tmp, local_table():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=_BUCKET)
        big, small = Path(tmp) / "big.zip", Path(tmp) / "small.zip"
        _snapshot(big, DOCUMENTS, 1)
        _snapshot(small, METERED, 2)

        target = _target(ORG)
        started = time.monotonic()
        report = run_import(target, big, ImportOptions(), _quiet)
        elapsed = time.monotonic() - started
        assert report.counts["entities"]["imported"] == DOCUMENTS, report.counts
        rate = DOCUMENTS / elapsed
        out.append(
            result(
                f"one import: documents a second ({DOCUMENTS:,} posts, local moto)",
                rate,
                f">= {MIN_RATE:.0f}",
                rate >= MIN_RATE,
            )
        )

        other = _target("org_01JD8Z6V7Q3M0N2W5X9Y4K1T9S")
        with metered(Meter()) as meter:
            small_report = run_import(other, small, ImportOptions(), _quiet)
        written = small_report.counts["entities"]["imported"]
        assert written == METERED, small_report.counts
        per_doc = meter.wru / written
        budget = WRU_BUDGET[CREATE_ROW]
        out.append(
            result(
                "one import: write units a document (blog post, six-word name)",
                per_doc,
                f"<= {budget} ({CREATE_ROW})",
                per_doc <= budget,
            )
        )
    return out
