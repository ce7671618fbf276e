"""The local stack's store of the functions' lines: bounded in memory and on disk, read back at the next
start, and paged as FilterLogEvents pages."""

from __future__ import annotations

from pathlib import Path

from infra.local.logs import LogStore


def test_lines_are_bounded_rotated_and_read_back(tmp_path: Path) -> None:
    store = LogStore(tmp_path, ring=5, file_bytes=300)
    for n in range(12):
        store.add(f'{{"message": "line {n}"}}', stream="creators-get", timestamp=1000 + n)
    events, token = store.filter()
    assert [e["message"] for e in events] == [f'{{"message": "line {n}"}}' for n in range(7, 12)]
    assert token is None
    assert (tmp_path / "functions.1.jsonl").exists()  # rotated once past its size
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 2 * 300 + 200
    again = LogStore(tmp_path, ring=5)
    assert [e["message"] for e in again.filter()[0]] == [e["message"] for e in events]


def test_filter_pages_by_time_and_stream(tmp_path: Path) -> None:
    store = LogStore(tmp_path)
    for n in range(5):
        store.add(f"m{n}", stream="a" if n % 2 else "b", timestamp=100 * n)
    first, token = store.filter(start_time=100, limit=2)
    assert [e["message"] for e in first] == ["m1", "m2"] and token
    rest, token = store.filter(start_time=100, limit=2, next_token=token)
    assert [e["message"] for e in rest] == ["m3", "m4"]
    assert [e["message"] for e in store.filter(streams=["a"])[0]] == ["m1", "m3"]
    assert [e["message"] for e in store.filter(end_time=100)[0]] == ["m0", "m1"]
