"""Secrets: from the environment locally, from one Secrets Manager secret in the cloud.

The template stores the deployment's secrets (typed, NoEcho parameters) in one secret whose ARN
functions get as ``ONE_SECRETS_ARN``; a function reads it on first use and keeps it for the life of
its container. Locally, ``ONE_<NAME>`` variables win (``ONE_CURSOR_SECRET`` for ``cursorSecret``).

Example::

    from ontology.secrets import get_secret
    key = get_secret("stripeSecretKey")
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

from ontology.errors import InternalError

__all__ = ["get_secret", "reset_secrets"]

_lock = threading.Lock()
_cache: dict[str, Any] | None = None


def _env_name(name: str) -> str:
    return "ONE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def _load() -> dict[str, Any]:
    global _cache  # noqa: PLW0603
    with _lock:
        if _cache is None:
            arn = os.environ.get("ONE_SECRETS_ARN")
            if not arn:
                _cache = {}
            else:
                from ontology.aws import client

                value = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                _cache = json.loads(value)
        return _cache


def get_secret(name: str, *, required: bool = True) -> str | None:
    value = os.environ.get(_env_name(name)) or _load().get(name)
    if not value and required:
        raise InternalError(f"The secret {name} is not configured")
    return str(value) if value else None


def reset_secrets() -> None:
    global _cache  # noqa: PLW0603
    with _lock:
        _cache = None
