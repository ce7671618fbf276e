"""The full-text index's first layout, as the platform wrote it before the present one
(``ontology.data.search_legacy`` describes it): the items a document had, for tests that start from
an organization indexed that way (the migrations' test)."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ontology.data import search_legacy as legacy
from ontology.data.indexes import SearchIndex, get_path
from ontology.data.search import MAX_INDEXED_TERMS, posting_sk, tokenize


def _shard(doc_id: str) -> str:
    return f"{zlib.crc32(doc_id.encode()) % legacy.STATS_SHARDS:02d}"


def first_layout_items(
    index: SearchIndex, scope: str, table: str, docs: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every first-layout item of these documents: postings with a GSI key per filter combination,
    the dictionary with each term's ``df``, the statistics shards."""
    items: list[dict[str, Any]] = []
    df: Counter[str] = Counter()
    shards: dict[str, list[int]] = {}
    for doc in docs:
        text = get_path(doc, index.search_field)
        if not isinstance(text, str):
            continue
        tokens = tokenize(text)
        counts = Counter(tokens)
        terms = {t: counts[t] for t in list(dict.fromkeys(tokens))[:MAX_INDEXED_TERMS]}
        values = [get_path(doc, f) for f in index.filter_fields]
        for term, tf in terms.items():
            pk = legacy.list_pk(scope, table, index.name, term)
            sk = posting_sk(tf, len(tokens), doc["_creationTime"], doc["_id"])
            item: dict[str, Any] = {"pk": pk, "sk": sk, "tb": legacy.TB}
            for mask in range(1, 1 << len(index.filter_fields)):
                fields = legacy.mask_fields(index, mask)
                masked = [v for i, v in enumerate(values) if mask >> i & 1]
                item[f"g{mask}pk"] = legacy.filter_key(pk, mask, masked, fields)
                item[f"g{mask}sk"] = sk
            items.append(item)
        df.update(terms.keys())
        shard = shards.setdefault(_shard(doc["_id"]), [0, 0])
        shard[0] += 1
        shard[1] += len(tokens)
    dpk = legacy.dict_pk(scope, table, index.name)
    items += [{"pk": dpk, "sk": t, "tb": legacy.TB, "df": n} for t, n in df.items()]
    spk = legacy.stats_keys(scope, table, index.name)[0][0]
    items += [
        {"pk": spk, "sk": s, "tb": legacy.TB, "n": n, "len": length} for s, (n, length) in shards.items()
    ]
    return items
