"""The guards of keyed unique rules become aliases at the keys their values derive.

A keyed rule (``Unique.keyed``: a connection's from/to/type, a tag's entity/key/value) is enforced by
the document's key: a new document's id is derived from its value, so its insert lands on the key a
second document of the value would need. Documents written before keep their random ids and had a
guard item each (``<scope>#guard#<table>#<rule>#<value>``, ``{"ref": <id>}``). This moves each such
guard to an *alias* at the derived id's key (``<scope>#<derived id>``, sort key ``D``, ``tb``
``_alias``, the same ``{"ref": <id>}``), in one transaction per guard (the alias put where nothing
is, the guard deleted as read): a new insert of the value then finds the alias there, as it would a
document, ``lookup_unique`` follows it, and the old document's delete deletes it.

A value whose derived key already holds something (a document written while the guard was not
honoured) fails the migration on that guard, naming both: keep one of the two documents and run it
again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ontology.data.db import KEYED_MIGRATION
from ontology.data.keys import ALIAS_TB, DOC_SK, keyed_id
from ontology.data.migrations import Batch, Change, Item, Migration, replace, scan
from ontology.data.schema import TABLES


def alias_of(guard: Item) -> dict[str, Any] | None:
    """The alias that replaces ``guard``, or None when it is a guard of a rule that is not keyed."""
    parts = str(guard["pk"]).split("#", 4)
    if len(parts) != 5 or parts[1] != "guard":
        return None
    scope, _, table_name, rule, encoded = parts
    t = TABLES.get(table_name)
    if t is None or t.keyed is None or t.keyed.name != rule:
        return None
    ref = json.loads(str(guard["doc"]))["ref"]
    return {
        "pk": f"{scope}#{keyed_id(table_name, scope, encoded)}",
        "sk": DOC_SK,
        "tb": ALIAS_TB,
        "v": 1,
        "doc": json.dumps({"ref": ref}),
    }


class KeyedUniques(Migration):
    id = KEYED_MIGRATION
    description = "the guards of keyed unique rules (connections, tags) become aliases at their derived ids"
    source = scan("_guard", segments=4)
    batch_size = 100

    def step(self, batch: Batch) -> Iterator[Change]:
        moves = [(guard, alias) for guard in batch if (alias := alias_of(guard)) is not None]
        if not moves:
            return
        taken = batch.read(*((alias["pk"], alias["sk"]) for _, alias in moves))
        for (guard, alias), there in zip(moves, taken, strict=True):
            if there is not None:
                raise ValueError(
                    f"{guard['pk']} names {json.loads(alias['doc'])['ref']}, and {alias['pk']} "
                    f"({there.get('tb')}) holds the same value: keep one of the two documents"
                )
            yield replace(guard, alias)

    def verify(self, item: Item) -> str | None:
        return None if alias_of(item) is None else "a guard of a keyed rule is left"
