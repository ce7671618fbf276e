"""botocore clients for the services beyond DynamoDB (SQS, EventBridge Scheduler, Lambda), one per
service and process, pointed at the local stack's endpoint when there is one. botocore rather than
boto3: it is already loaded, and boto3 would cost a query Lambda's cold start.

Every client signs with the credentials botocore finds (in Lambda, the function's role's, from its
environment), or with those given to :func:`use_credentials` (the local stack gives credentials that
are the running function's role's at each call, so one client serves every function)."""

from __future__ import annotations

import threading
from typing import Any

import botocore.config
import botocore.session

from ontology.settings import get_settings

__all__ = ["client", "reset_clients", "session", "signer", "use_credentials"]

_lock = threading.RLock()
_clients: dict[str, Any] = {}
_session: Any = None
_credentials: Any = None


def session() -> Any:
    """The process's one botocore session: every client (DynamoDB, S3, Secrets Manager, the rest) is
    made from it, so the service data it loads is loaded once per cold start, not once per client."""
    global _session  # noqa: PLW0603
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
            if _credentials is not None:
                from botocore.credentials import CredentialProvider, CredentialResolver

                given = _credentials

                class _Given(CredentialProvider):  # type: ignore[misc]
                    METHOD = "given"

                    def load(self) -> Any:
                        return given

                _session.register_component("credential_provider", CredentialResolver([_Given()]))
        return _session


def use_credentials(credentials: Any) -> None:
    """Sign every call of this process's clients with ``credentials`` (a botocore ``Credentials``,
    asked for its keys at each request). Clients made before keep theirs: call it first, or reset
    them (this module's here; the store's, storage's and the sync push client's by their own
    ``reset``)."""
    global _session, _credentials  # noqa: PLW0603
    with _lock:
        _credentials = credentials
        _session = None
        _clients.clear()


def signer() -> str | None:
    """The access key id this call's requests are signed with now (None: no credentials)."""
    credentials = session().get_credentials()
    if credentials is None:
        return None
    key: str | None = credentials.get_frozen_credentials().access_key
    return key


#: The longest a Lambda function may run (15 minutes), and a little more: a synchronous invoke waits
#: for its callee's answer however long the callee may take.
LAMBDA_READ_TIMEOUT = 905


def _config(service: str) -> botocore.config.Config:
    """Standard retries for every service but Lambda: an Invoke whose answer was slow or lost may
    already be running, and sending it again would run the function twice (botocore's default 60-s
    read timeout and retries would do exactly that to a slow callee). One attempt, waited for."""
    if service == "lambda":
        return botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=LAMBDA_READ_TIMEOUT,
            connect_timeout=5,
        )
    return botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 4})


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            settings = get_settings()
            _clients[service] = session().create_client(
                service,
                region_name=settings.region,
                endpoint_url=settings.aws_endpoint,
                config=_config(service),
            )
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
