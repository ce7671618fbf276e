"""The full-text search index's stream consumer (``SearchAggregatorFunction``): the postings' changes
→ each term's document frequency and each index's totals (ontology.data.search_aggregates)."""

from __future__ import annotations

from ontology.data.search_aggregates import aggregate_handler as aggregate

__all__ = ["aggregate"]
