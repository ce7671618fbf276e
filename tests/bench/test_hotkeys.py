"""The hot-key table's families: keys a call picks among at random or by a hash (a counter's shards,
the signing accounts' nonce items) count as one of ``n`` alike, each taking ``1/n`` of the load, and
keys of one call alone keep theirs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.hotkeys import TABLE, Stream, peaks
from bench.meter import Load
from ontology.data.counters import counter_pk, shards_of
from ontology.providers.chain import signer_count

ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
STREAM = "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"


class Run:
    """What a meter gives the table: conditional writes per item and load per partition."""

    def __init__(self, *items: tuple[str, str]) -> None:
        self.items = items

    def conditional_writes(self) -> Counter[tuple[str, str]]:
        return Counter(self.items)

    def partitions(self) -> dict[tuple[str, str], Load]:
        out: dict[tuple[str, str], Load] = {}
        for pk, _ in self.items:
            out.setdefault((TABLE, pk), Load()).wru += 2
        return out


def _stream(rate: float, platform: float, *runs: Any) -> Stream:
    return Stream("s", rate, platform, (runs[0], runs[1]), runs[2] if len(runs) > 2 else None)


def test_a_counters_shards_each_take_their_share_and_a_document_keeps_its_load() -> None:
    pk = counter_pk(ORG, STREAM, "messageCount")
    doc = (f"{ORG}#{STREAM}", "D")
    _, items = peaks([_stream(100, 100, Run((pk, "03"), doc), Run((pk, "11"), doc))])
    shard = max(v.wcu for (k, _), v in items.items() if k == pk)
    assert shard == 100 / shards_of("messageCount")
    assert items[doc].wcu == 100  # one item every call writes: the budget's NO
    lone = counter_pk(ORG, "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8S", "messageCount")
    _, items = peaks([_stream(100, 100, Run((lone, "05")), Run())])
    assert items[(lone, "05")].wcu == 1.0  # one call's own: its load, not a share


def test_the_signing_accounts_nonce_items_share_the_platforms_transactions() -> None:
    def nonce(n: int) -> tuple[str, str]:
        return f"platform#cnc_01JD8Z6V7Q3M0N2W5X9Y4K1T{n:02d}", "D"

    partitions, items = peaks([_stream(50, 100, Run(nonce(1)), Run(nonce(7)), Run(nonce(12)))])
    assert max(v.wcu for v in items.values()) == 100 / signer_count()
    assert max(v.wcu for k, v in partitions.items() if k[0] == TABLE) == 2 * 100 / signer_count()
