"""Sending to a WebSocket: API Gateway's management API (``post_to_connection``), which the local
stack's front door serves too. Messages over API Gateway's 128 KB are never sent truncated."""

from __future__ import annotations

import json
import logging
from typing import Any

from ontology.settings import get_settings

__all__ = ["MAX_MESSAGE_BYTES", "ConnectionGoneError", "close", "post"]

log = logging.getLogger(__name__)

#: API Gateway's WebSocket message limit (frames are 32 KB; it fragments larger messages itself).
MAX_MESSAGE_BYTES = 128 * 1024

_client: Any = None


class ConnectionGoneError(Exception):
    """The connection is closed (GoneException): forget it."""


def _management() -> Any:
    global _client  # noqa: PLW0603
    if _client is None:
        import botocore.config

        from ontology.aws import session

        settings = get_settings()
        _client = session().create_client(
            "apigatewaymanagementapi",
            region_name=settings.region,
            endpoint_url=settings.sync_endpoint,
            config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 3}),
        )
    return _client


def reset_client() -> None:
    global _client  # noqa: PLW0603
    _client = None


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def post(connection_id: str, message: dict[str, Any] | bytes) -> None:
    data = message if isinstance(message, bytes) else encode(message)
    client = _management()
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=data)
    except client.exceptions.GoneException:
        raise ConnectionGoneError(connection_id) from None


def close(connection_id: str) -> None:
    client = _management()
    try:
        client.delete_connection(ConnectionId=connection_id)
    except client.exceptions.GoneException:
        pass
    except Exception:
        log.warning("could not close connection %s", connection_id, exc_info=True)
