"""AWS's list prices the platform prices itself with, in one table, and each function kind's memory.

The cost bench (``python -m bench.cost``, docs/cost.md) prices the DynamoDB units and requests it
counts with :data:`PRICES`; the dashboard's Health page prices the units and durations the functions'
call lines measured with the same table. :data:`MEMORY` is what the template gives each kind of
function (``MemorySize``), so a GB-second is priced at the memory the function runs with.

Example::

    usd(PRICES["dynamodb_wru"], 2.0)   # 1.25e-06: two write request units
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKED", "CONVEX", "MEMORY", "PRICES", "Price", "usd"]


@dataclass(frozen=True)
class Price:
    """A list price: ``usd`` per ``per`` units."""

    usd: float
    per: float
    unit: str
    source: str


#: When the prices below were read from their sources.
CHECKED = "2026-12-07"
_DDB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_APIGW = "https://aws.amazon.com/api-gateway/pricing/"
_SQS = "https://aws.amazon.com/sqs/pricing/"
_SFN = "https://aws.amazon.com/step-functions/pricing/"
_S3 = "https://aws.amazon.com/s3/pricing/"

#: AWS's list prices in us-east-1 (the first tier where a price has tiers).
PRICES: dict[str, Price] = {
    "dynamodb_wru": Price(0.625, 1e6, "write request units, on-demand, Standard table class", _DDB),
    "dynamodb_rru": Price(0.125, 1e6, "read request units, on-demand, Standard table class", _DDB),
    "lambda_gb_s": Price(0.0000133334, 1, "GB-seconds, arm64 (first 7.5 billion a month)", _LAMBDA),
    "lambda_request": Price(0.20, 1e6, "Lambda requests", _LAMBDA),
    "http_api": Price(1.00, 1e6, "HTTP API requests (first 300 million a month)", _APIGW),
    "websocket_message": Price(1.00, 1e6, "WebSocket messages, 32 KB each (first billion a month)", _APIGW),
    "sqs_standard": Price(0.40, 1e6, "SQS standard queue requests, 64 KB each", _SQS),
    "sqs_fifo": Price(0.50, 1e6, "SQS FIFO queue requests, 64 KB each", _SQS),
    "state_transition": Price(0.025, 1e3, "Step Functions Standard state transitions", _SFN),
    "vector_query": Price(2.50, 1e6, "S3 Vectors QueryVectors requests", _S3),
    "vector_put": Price(0.20, 1024**3, "S3 Vectors logical data put (vectors, keys, metadata)", _S3),
}
#: Convex's price per function call: $2 per million beyond the 25 million a month the Professional
#: plan includes ("explicit client calls, scheduled executions, subscription updates, and file
#: accesses count as function calls").
CONVEX = Price(
    2.00,
    1e6,
    "Convex function calls beyond the Professional plan's 25 million a month",
    "https://docs.convex.dev/production/state/limits",
)

#: Memory (MB) per function kind, from `make bench` (peak RSS of a cold import plus one call is well
#: under 150 MB; 256 MB buys the CPU share that keeps cold starts short). The template's MemorySize.
MEMORY = {"query": 256, "mutation": 256, "action": 512}


def usd(price: Price, amount: float) -> float:
    """What ``amount`` units cost at ``price``."""
    return price.usd * amount / price.per
