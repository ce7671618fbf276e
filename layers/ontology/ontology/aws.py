"""botocore clients for the services beyond DynamoDB (SQS, EventBridge Scheduler, Lambda), one per
service and process, pointed at the local stack's endpoint when there is one. botocore rather than
boto3: it is already loaded, and boto3 would cost a query Lambda's cold start."""

from __future__ import annotations

import threading
from typing import Any

import botocore.config
import botocore.session

from ontology.settings import get_settings

__all__ = ["client", "reset_clients"]

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            settings = get_settings()
            _clients[service] = botocore.session.get_session().create_client(
                service,
                region_name=settings.region,
                endpoint_url=settings.aws_endpoint,
                config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 4}),
            )
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
