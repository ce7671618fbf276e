"""Every blog post gets ``properties.tag`` in its document (idempotent by its shape: a post that has
it is left alone), read through the entities' creation-time index (Query, no Scan). The functions'
own writes keep the field (it is part of the document they read and write back)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from ontology.data.migrations import Batch, Change, Migration, documents, update


def tagged(doc_text: str) -> str | None:
    """The document with its tag, or None when it needs none."""
    doc = json.loads(doc_text)
    if doc.get("type") != "blog_post" or "tag" in doc.get("properties", {}):
        return None
    doc["properties"]["tag"] = "sample"
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class TagEntities(Migration):
    id = "0002-tag-entities"
    description = "every blog post's properties get tag = 'sample'"
    source = documents("entities")
    batch_size = 5

    def step(self, batch: Batch) -> Iterator[Change]:
        for item in batch:
            doc = tagged(item["doc"])
            if doc is not None:
                yield update(item, set={"doc": doc})
