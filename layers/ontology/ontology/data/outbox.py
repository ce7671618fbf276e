"""The transactional outbox: a scheduled function is a ``scheduledFunctions`` document (Convex's
``_scheduled_functions``) written in the scheduling mutation's own transaction, so it exists, and
runs, if and only if that mutation commits.

This module only writes the document; :class:`ontology.runtime.scheduler.Scheduler` (``ctx.scheduler``)
checks the target and its arguments against the registry first, and the runtime dispatches and runs
the job (:mod:`ontology.runtime.scheduler`, :mod:`ontology.runtime.jobs`).

Example::

    job_id = enqueue(db.view(platform=True), "auth:send_email", "action", {"to": email, ...})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ontology.data.db import DatabaseWriter
from ontology.data.keys import now_ms

__all__ = ["TABLE", "enqueue"]

TABLE = "scheduledFunctions"


def enqueue(
    db: DatabaseWriter,
    name: str,
    kind: Literal["mutation", "action"],
    args: Mapping[str, Any],
    *,
    when_ms: float | None = None,
    organization_id: str | None = None,
    auth: Mapping[str, Any] | None = None,
) -> str:
    """Write a pending job for ``name(args)`` due at ``when_ms`` (now when omitted) into ``db``'s
    transaction (a platform view); returns the job's id. ``auth`` is the identity it runs as."""
    created = now_ms()
    doc: dict[str, Any] = {
        "name": name,
        "args": dict(args),
        "scheduledTime": int(created if when_ms is None else when_ms),
        "state": "pending",
        "kind": kind,
        "createdAt": created,
    }
    if organization_id is not None:
        doc["organizationId"] = organization_id
    if auth is not None:
        doc["auth"] = dict(auth)
    return db.insert(TABLE, doc)
