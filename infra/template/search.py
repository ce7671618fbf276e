"""The stream's aggregator: the table's stream (postings, connections and counter shards) → each
term's document frequency, each index's totals, the counts of connections the stream keeps (a
creator's followers and content) and each counter folded into its document (ontology.data.
search_aggregates, ontology.data.relation_counts, ontology.data.count_folds)."""

from __future__ import annotations

import json
from typing import Any

from infra.template.base import TABLE_ARN, table_stream
from ontology.data.counters import COUNTER_TB
from ontology.data.search import POSTING_TB

#: Only postings', connections' and counter shards' writes invoke the aggregator (a filter on the
#: stream, not in code).
POSTING_FILTER = [
    {"dynamodb": {"NewImage": {"tb": {"S": [POSTING_TB, "connections", COUNTER_TB]}}}},
    {"dynamodb": {"OldImage": {"tb": {"S": [POSTING_TB, "connections", COUNTER_TB]}}}},
]
#: Records Lambda gathers into one batch (up to a second's worth): the aggregates of a batch are one
#: write per distinct term and per index, so larger batches write less per posting.
BATCH_SIZE = 1000
BATCH_WINDOW_SECONDS = 1

#: The aggregator reads and writes nothing but the search index's items, the counters it keeps and
#: the entities their folds are written on: their partition keys hold ``#search#`` (an organization's
#: dictionary and totals, the platform's receipts), ``#count#`` (a counter's shards, read whole to
#: build a fold) or ``#ent_`` (an entity).
SEARCH_ITEMS = {
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:Query"],
    "Resource": [TABLE_ARN],
    "Condition": {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["*#search#*", "*#count#*", "*#ent_*"]}
    },
}


def search_resources() -> dict[str, Any]:
    return {"SearchAggregatorFunction": _aggregator()}


def _aggregator() -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-search-aggregator"},
            "Handler": "search.aggregate",
            "Description": "Stream aggregates: postings -> terms' df, index totals; connections -> counts.",
            "MemorySize": 256,
            "Timeout": 60,
            "Events": {
                # one batch of a shard at a time, retried from where the handler says, never bisected:
                # its receipts make a redelivered chunk change nothing (exactly once)
                "Postings": table_stream(  # and connections
                    patterns=[json.dumps(p, separators=(",", ":")) for p in POSTING_FILTER],
                    batch_size=BATCH_SIZE,
                    window=BATCH_WINDOW_SECONDS,
                    bisect=False,
                )
            },
            "Policies": [{"Version": "2012-10-17", "Statement": [SEARCH_ITEMS]}],
        },
    }
