"""The stream's aggregator (``SearchAggregatorFunction``): the postings' changes → each term's
document frequency and each index's totals; the connections' → the counts the stream keeps (a
creator's followers and content) (ontology.data.search_aggregates, ontology.data.relation_counts)."""

from __future__ import annotations

from ontology.data.search_aggregates import aggregate_handler as aggregate

__all__ = ["aggregate"]
