"""The dashboard's Live page: the organization's open connections of the sync protocol and their
subscriptions, and the health of the sync path.

- ``GET /dashboard/api/live?organization=``: ``{connections: [{id, connectedAt, userId, role,
  subscriptions: [{queryId, path, args, lastPushed, pending}]}]}``: the connections that authenticated
  as members of the organization (one Query of its partition and BatchGetItems of the connections,
  :meth:`ontology.sync.state.SyncState.organization_connections`), each subscription's function path,
  its arguments (as the client sent them, in Convex's JSON encoding), when its result was last pushed
  (milliseconds) and whether a re-run of it is pending;
- ``GET /dashboard/api/sync-health?organization=&since=``: over the window (``10m`` by default), the
  worker's items for the organization's connections (``"message": "sync item"`` lines: invalidations
  received, queries run, modifications pushed, clients' messages), the sync queue's depth (SQS
  ``ApproximateNumberOfMessages``, and those in flight), and for a platform owner the invalidator's
  stream batches (``"message": "sync invalidation"``: changes, connections and queries marked).

Example::

    api_live(request)   # {"connections": [{"id": "…", "subscriptions": [{"path": "creators:list", …}]}]}
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from ontology.auth.identity import has_role

if TYPE_CHECKING:
    from dashboard.app import Request

__all__ = ["api_live", "api_sync_health"]

#: At most this many connections per answer.
CONNECTIONS = 200
#: How far back sync health reads when it says nothing (ten minutes).
DEFAULT_SINCE = "10m"
#: At most this many log lines are summed per answer.
HEALTH_LINES = 10_000


def api_live(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller
    from ontology.sync.state import SyncState

    _, organization = _caller(request)
    out = []
    found = SyncState().organization_connections(organization, CONNECTIONS)
    for conn, waiting in sorted(found, key=lambda cw: -cw[0].connected_at):
        identity = conn.identity or {}
        subscriptions = [
            {
                "queryId": int(query_id),
                "path": q.get("path"),
                "args": _args(q.get("args")),
                "lastPushed": q.get("at"),
                "pending": query_id in waiting or bool(q.get("pending")),
            }
            for query_id, q in sorted(conn.queries.items(), key=lambda kv: int(kv[0]))
        ]
        out.append(
            {
                "id": conn.id,
                "connectedAt": int(conn.connected_at * 1000),
                "userId": identity.get("userId"),
                "role": identity.get("role"),
                "subscriptions": subscriptions,
            }
        )
    return {"connections": out}


def _args(raw: Any) -> Any:
    """A subscription's arguments as the client sent them: the object (the npm clients send it in a
    list of one)."""
    return raw[0] if isinstance(raw, list) and len(raw) == 1 else raw


def _queue_depth() -> dict[str, int | None]:
    """The sync queue's messages waiting and in flight (None where SQS did not say)."""
    from ontology.aws import client
    from ontology.settings import get_settings

    url = get_settings().sync_queue_url
    if not url:
        return {"waiting": None, "inFlight": None}
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {
        "waiting": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def _lines(function: str, message: str, organization: str | None, start: int) -> list[dict[str, Any]]:
    from ontology.aws import client
    from ontology.runtime.logquery import LogFilter, read_lines

    where = LogFilter(function=function, organization=organization)
    lines, _ = read_lines(
        client("logs"), os.environ["ONE_LOG_GROUP"], where, start_ms=start, limit=HEALTH_LINES
    )
    return [line for line in lines if line.get("message") == message]


def _sum(lines: list[dict[str, Any]], *names: str) -> dict[str, int]:
    return {name: sum(int(line.get(name) or 0) for line in lines) for name in names}


def api_sync_health(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller
    from ontology.runtime.logquery import parse_since
    from ontology.sync.invalidator import BATCH_MESSAGE
    from ontology.sync.worker import ITEM_MESSAGE

    identity, organization = _caller(request)
    since = request.param("since") or DEFAULT_SINCE
    start = int(time.time() * 1000) - parse_since(since)
    items = _lines("sync:worker", ITEM_MESSAGE, organization, start)
    invalidations = [line for line in items if line.get("item") == "invalidation"]
    worker = {
        "items": len(items),
        "messages": sum(1 for line in items if line.get("item") == "message"),
        "invalidations": len(invalidations),
        **_sum(invalidations, "invalidated"),
        "reruns": sum(int(line.get("runs") or 0) for line in invalidations),
        **_sum(items, "runs", "pushed"),
    }
    answer: dict[str, Any] = {"since": since, "worker": worker, "queue": _queue_depth(), "invalidator": None}
    if has_role(identity, "platform_owner"):
        batches = _lines("sync:invalidator", BATCH_MESSAGE, None, start)
        answer["invalidator"] = {
            "batches": len(batches),
            **_sum(batches, "records", "changes", "connections", "invalidated", "rechecks"),
        }
    return answer
