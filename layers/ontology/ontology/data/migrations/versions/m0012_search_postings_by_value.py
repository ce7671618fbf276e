"""Every organization's full-text index rebuilt in its present layout from the documents.

The first layout (:mod:`ontology.data.search_legacy`) kept one posting list per term, copied into a
GSI list per combination of filter values, and the terms' document frequencies and the statistics in
each transaction. The present one (:mod:`ontology.data.search`) lists a term's postings per value of
the index's first filter field and keeps no GSI copy; the dictionary entry names those values; the
frequencies and totals come from the table's stream. This migration writes, for every document of
a table with a search index, the postings and the dictionary entries it has in the present layout
(those a write since the code shipped has not written already); the stream's aggregator counts them
as they appear. ``0013-search-drop-first-layout`` then deletes the first layout's items. Until both
are done a search reads both layouts, so every document is found throughout.
"""

from __future__ import annotations

from ontology.data.migrations import documents
from ontology.data.migrations.backfills import SearchBackfill, expected_postings

TABLE = "entities"  # the one table with a search index

#: A document item's postings and dictionary entries in the present layout.
expected = expected_postings


class SearchPostingsByValue(SearchBackfill):
    id = "0012-search-postings-by-value"
    description = "full-text index: postings listed per first filter value, rebuilt from the documents"
    table = TABLE
    source = documents(TABLE)
