"""``python -m bench.cost --explain``: a call's items add up to its total."""

from __future__ import annotations

import re

import pytest

from tests.bench.test_cost import bench_cost


@pytest.mark.slow
def test_explain_lists_every_item_and_index_copy_of_a_call() -> None:
    done = bench_cost("--explain", "tags:add")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    total = float(re.match(r"tags:add: ([\d.]+) WRU", lines[0]).group(1))  # type: ignore[union-attr]
    items = [line for line in lines if re.match(r"\s+\d+ WRU  (Put|Update|Delete|ConditionCheck) ", line)]
    # and the call's share of the function-call limiter's batch (a tenth of its one write unit)
    limiter = float(re.search(r"the function-call limiter: ([\d.]+) WRU", done.stdout).group(1))  # type: ignore[union-attr]
    assert limiter == 0.1
    assert round(sum(int(line.split()[0]) for line in items) + limiter, 2) == total
    # the tag's own document: twice its units in the transaction, then a copy in each of the tags
    # table's two indexes (entity, key: by_key_value is answered by by_key)
    (tag,) = [i for i, line in enumerate(lines) if "[tags]" in line]
    copies = [line.split()[0] for line in lines[tag + 1 : tag + 3]]
    assert copies == ["gsi2", "gsi3"]
    assert not re.match(r"\s+gsi\d", lines[tag + 3])
    assert "x2 (transaction)" in lines[tag]
    assert re.search(r"WRU on the table \d+, on the indexes \d+", done.stdout)
