"""Data migrations: changes to what the table holds, made online, in bounded batches, resumable.

One module per migration in :mod:`ontology.data.migrations.versions` (``m0002_search_postings.py``)::

    from ontology.data.migrations import Batch, Migration, scan, update

    class AddLocale(Migration):
        id = "0002-entities-locale"
        description = "every entity document gets the attribute loc"
        source = scan("entities", segments=4)   # or documents("entities"): Query, no Scan

        def step(self, batch: Batch):
            for item in batch:
                if "loc" not in item:             # already migrated: no change, counted skipped
                    yield update(item, set={"loc": "en"})

``one migrate status|run|cancel`` runs them (docs/migrations.md), and the local stack applies the
pending ones at start. The parts: :mod:`.base` (declaring), :mod:`.sources` (reading),
:mod:`.runner` (running), :mod:`.progress` (the progress item), :mod:`.registry` (finding them),
:mod:`.codec` (attribute values).
"""

from ontology.data.migrations.base import (
    LAYOUT_ATTR,
    Batch,
    Change,
    Delete,
    Item,
    Key,
    Migration,
    Put,
    Update,
    delete,
    key_of,
    put,
    replace,
    update,
)
from ontology.data.migrations.sources import Page, Source, documents, scan

__all__ = [
    "LAYOUT_ATTR",
    "Batch",
    "Change",
    "Delete",
    "Item",
    "Key",
    "Migration",
    "Page",
    "Put",
    "Source",
    "Update",
    "delete",
    "documents",
    "key_of",
    "put",
    "replace",
    "scan",
    "update",
]
