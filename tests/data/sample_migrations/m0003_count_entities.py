"""An aggregate: one item per organization holding how many entities it has (a change computed from
several items, conditioned on all of them)."""

from __future__ import annotations

from collections.abc import Iterator

from ontology.data.migrations import Batch, Change, Migration, put, scan


class CountEntities(Migration):
    id = "0003-count-entities"
    description = "a count item per organization and page of entities"
    source = scan("entities", segments=1)
    batch_size = 100

    def step(self, batch: Batch) -> Iterator[Change]:
        orgs: dict[str, list] = {}
        for item in batch:
            orgs.setdefault(item["pk"].split("#", 1)[0], []).append(item)
        for org, items in orgs.items():
            first = min(i["pk"] for i in items)
            (existing,) = batch.read((f"{org}#sample-count", first))
            if existing is None:
                yield put(
                    {"pk": f"{org}#sample-count", "sk": first, "tb": "_sample", "n": len(items)}, reads=items
                )
