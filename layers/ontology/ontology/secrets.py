"""Secrets: from the environment locally, from one Secrets Manager secret in the cloud.

The template stores the deployment's secrets (typed, NoEcho parameters) in one secret whose ARN
functions get as ``ONE_SECRETS_ARN``; a function reads it on first use and keeps it for the life of
its container. ``ONE_<NAME>`` variables win (``ONE_CURSOR_SECRET`` for ``cursorSecret``: tests); the
local stack sets none and keeps the secret in Secrets Manager, as in AWS. What was read is kept per
identity that read it (the access key that signed the read): in Lambda that is one role for the
container's life, and in the local stack, where every function runs in one process, a function never
gets a secret its own role could not read.

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
_cache: dict[str | None, dict[str, Any]] = {}


def _env_name(name: str) -> str:
    return "ONE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def _load() -> dict[str, Any]:
    arn = os.environ.get("ONE_SECRETS_ARN")
    if not arn:
        return {}
    from ontology.aws import client, signer

    reader = signer()
    with _lock:
        if reader not in _cache:
            value = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            _cache[reader] = json.loads(value)
        return _cache[reader]


def get_secret(name: str, *, required: bool = True) -> str | None:
    value = os.environ.get(_env_name(name)) or _load().get(name)
    if not value and required:
        raise InternalError(f"The secret {name} is not configured")
    return str(value) if value else None


def reset_secrets() -> None:
    with _lock:
        _cache.clear()
