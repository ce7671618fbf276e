"""What a DynamoDB-stream handler answers Lambda when a record fails, so that Lambda isolates it.

The platform's stream mappings report failures per record (``ReportBatchItemFailures``), bisect a
failing batch (``BisectBatchOnFunctionError``) and retry ``MaximumRetryAttempts`` times before the
failing records go to the failure destination and the shard moves on. Lambda takes the lowest
reported sequence number as the checkpoint: the records before it are done, the batch is split
there, and the rest is retried. A batch whose *first* record fails cannot be split that way: retried
as it stands, it would exhaust its retries and send every record after the failing one to the
failure destination with it. So a handler answers:

- nothing failed: an empty list;
- a record after the first failed: that record (the checkpoint), from which Lambda retries;
- the first record of a batch of several failed: :class:`BatchFailedError` is raised, a function error,
  which makes Lambda bisect the batch until the failing record is alone; only it is retried to the
  end and sent to the failure destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BatchFailedError", "batch_response"]


class BatchFailedError(RuntimeError):
    """The first record of a stream batch failed: the batch is bisected (a function error)."""


def batch_response(records: Sequence[Mapping[str, Any]], failed: int | None) -> dict[str, Any]:
    """The answer to a stream batch whose first failing record is at position ``failed`` (None: none
    failed); raises :class:`BatchFailedError` when that is the first of several records."""
    if failed is None:
        return {"batchItemFailures": []}
    if failed == 0 and len(records) > 1:
        raise BatchFailedError(f"the first of {len(records)} stream records failed; bisecting the batch")
    sequence = str((records[failed].get("dynamodb") or {}).get("SequenceNumber") or "")
    return {"batchItemFailures": [{"itemIdentifier": sequence}]}
