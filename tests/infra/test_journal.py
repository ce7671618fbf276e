"""The journal's replay: full images applied in order, idempotent, and a torn last line (the stack
killed mid-write) skipped with a warning instead of failing the start."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest

from infra.local import journal
from infra.local.aws import create_table


def _record(pk: str, value: str | None) -> str:
    item = None if value is None else {"pk": {"S": pk}, "sk": {"S": "D"}, "doc": {"S": value}}
    return json.dumps(
        {"t": "ddb", "table": "Table", "key": {"pk": {"S": pk}, "sk": {"S": "D"}}, "item": item}
    )


def test_replay_applies_images_in_order_and_skips_a_torn_last_line(
    aws: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_table(client, "journal-test")
    lines = [_record("a", "1"), _record("b", "1"), _record("a", "2"), _record("b", None)]
    torn = _record("c", "1")[:25]  # the process died while appending this one
    (tmp_path / "journal.jsonl").write_text("\n".join(lines) + "\n" + torn)
    with caplog.at_level(logging.WARNING, logger="one.local"):
        applied = journal.replay(tmp_path, {"Table": "journal-test"}, {})
    assert applied == 4
    assert "torn" in caplog.text
    key = {"pk": {"S": "a"}, "sk": {"S": "D"}}
    assert client.get_item(TableName="journal-test", Key=key)["Item"]["doc"] == {"S": "2"}
    assert "Item" not in client.get_item(TableName="journal-test", Key={"pk": {"S": "b"}, "sk": {"S": "D"}})
    # Replaying again changes nothing: every record is a full image (or a deletion).
    assert journal.replay(tmp_path, {"Table": "journal-test"}, {}) == 4
    assert client.get_item(TableName="journal-test", Key=key)["Item"]["doc"] == {"S": "2"}
