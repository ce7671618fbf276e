"""botocore clients for the services beyond DynamoDB (SQS, EventBridge Scheduler, Lambda), one per
service and process, pointed at the local stack's endpoint when there is one. botocore rather than
boto3: it is already loaded, and boto3 would cost a query Lambda's cold start."""

from __future__ import annotations

import threading
from typing import Any

import botocore.config
import botocore.session

from ontology.settings import get_settings

__all__ = ["client", "reset_clients", "session"]

_lock = threading.RLock()
_clients: dict[str, Any] = {}
_session: Any = None


def session() -> Any:
    """The process's one botocore session: every client (DynamoDB, S3, Secrets Manager, the rest) is
    made from it, so the service data it loads is loaded once per cold start, not once per client."""
    global _session  # noqa: PLW0603
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            settings = get_settings()
            _clients[service] = session().create_client(
                service,
                region_name=settings.region,
                endpoint_url=settings.aws_endpoint,
                config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 4}),
            )
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
