"""Relationship reads in a constant number of round trips.

The reference reads an entity's connections with one indexed query, then each target with its own
``db.get`` (N+1 round trips). Here the targets come back in one BatchGetItem (per 100)::

    connections, targets = connected(db, creator_id, "authored")   # 1 Query + 1 BatchGetItem
"""

from __future__ import annotations

from typing import Literal

from ontology.data.db import DatabaseReader, Doc
from ontology.data.keys import check_id
from ontology.errors import ValidationError

__all__ = ["connected"]


def connected(
    db: DatabaseReader,
    entity_id: str,
    relationship_type: str,
    *,
    direction: Literal["out", "in"] = "out",
    limit: int | None = None,
) -> tuple[list[Doc], list[Doc]]:
    """The connections of ``relationship_type`` leaving (``out``) or reaching (``in``) an entity,
    and the entities at their other ends (missing ones dropped), in connection order."""
    check_id("entities", entity_id, field="entityId")
    if direction not in ("out", "in"):
        raise ValidationError("direction must be 'out' or 'in'", field="direction")
    index, near, far = (
        ("from_type", "fromEntityId", "toEntityId")
        if direction == "out"
        else ("to_type", "toEntityId", "fromEntityId")
    )
    query = db.query("connections").with_index(
        index, lambda q: q.eq(near, entity_id).eq("relationshipType", relationship_type)
    )
    connections = query.take(limit) if limit is not None else query.collect()
    others = db.get_many([c[far] for c in connections], "entities")
    return connections, [d for d in others if d is not None]
