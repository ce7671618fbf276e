"""Entity documents move their ``properties.blurb`` to ``properties.summary``; while it runs, the data
layer reads an old item as if it were new (``upgrade``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from ontology.data.migrations import Batch, Change, Item, Migration, scan, update


def _moved(doc_text: str) -> str | None:
    doc = json.loads(doc_text)
    props = doc.get("properties") or {}
    if "blurb" not in props:
        return None
    props["summary"] = props.pop("blurb")
    return json.dumps(doc, separators=(",", ":"))


class RenameBlurb(Migration):
    id = "0100-rename-blurb"
    description = "properties.blurb becomes properties.summary"
    source = scan("entities", segments=1)
    readers_accept_old = True

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            moved = _moved(item["doc"])
            if moved is not None:
                yield update(item, set={"doc": moved})

    def upgrade(self, item: Item) -> Item:
        moved = _moved(item["doc"]) if item.get("tb") == "entities" else None
        return item if moved is None else {**item, "doc": moved}
