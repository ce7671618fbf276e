"""Convex's protocol on the platform (see :mod:`ontology.sync`): the HTTP API's three routes, the
WebSocket API's routes, the stream's invalidator, the per-connection worker and the keep-alive.
None of them runs a function itself: each invokes the function's own Lambda."""

from __future__ import annotations

from typing import Any

from ontology.sync.http import handle_convex_http
from ontology.sync.invalidator import invalidate_handler as invalidate
from ontology.sync.websocket import connect_handler as connect
from ontology.sync.websocket import disconnect_handler as disconnect
from ontology.sync.websocket import keepalive_handler as keepalive
from ontology.sync.websocket import message_handler as message
from ontology.sync.websocket import worker_handler as worker

__all__ = ["connect", "disconnect", "http", "invalidate", "keepalive", "message", "worker"]


_KINDS = {"/api/query": "query", "/api/mutation": "mutation", "/api/action": "action"}


def http(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``POST /api/query``, ``/api/mutation``, ``/api/action`` (one Lambda, three routes)."""
    path = str(event.get("rawPath") or "")
    return handle_convex_http(_KINDS.get(path, "query"), event)
