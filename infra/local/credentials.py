"""Each invocation signs its AWS calls as its function's role, as Lambda hands a function its role's
credentials.

The runner invokes every function in this one process (threads), and the layer keeps one botocore
client per service for the whole process (:mod:`ontology.aws`). So the credentials cannot be the
client's: every client of the layer is given :class:`ActingCredentials`, whose keys are looked up at
each signature (botocore asks ``get_frozen_credentials()`` once per request) in a context variable
the runner sets for the length of an invocation (:func:`acting_as`). A call outside any invocation
(the stack starting, its pollers, a developer's script) signs with the stack's own credentials, the
account's; nested invocations (a function invoking another) each see their own.

:class:`FunctionRoles` gets each function's credentials once: the role its deployed configuration
names (moto's Lambda, from the template CloudFormation created) assumed through moto's STS, with the
function's name as the session's. :mod:`infra.local.iam` then checks every call signed with them.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

from botocore.credentials import Credentials, ReadOnlyCredentials

__all__ = ["ActingCredentials", "FunctionRoles", "InvocationStoppedError", "acting_as", "current"]

_acting: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar(
    "one_local_acting_credentials", default=None
)
#: Set when the invocation this context belongs to was stopped (its timeout passed).
_stopped: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "one_local_invocation_stopped", default=None
)


class InvocationStoppedError(BaseException):
    """An AWS call from an invocation that was stopped at its timeout. Lambda freezes and resets a
    timed-out sandbox, so nothing the function does afterwards reaches AWS; the local runner cannot
    stop a thread, so it refuses the thread's calls instead. A BaseException: the function's own
    ``except Exception`` blocks do not swallow it."""


def current() -> ReadOnlyCredentials | None:
    """The running invocation's role credentials (None: outside any invocation)."""
    return _acting.get()


@contextlib.contextmanager
def acting_as(
    credentials: ReadOnlyCredentials | None, stopped: threading.Event | None = None
) -> Iterator[None]:
    """Sign this context's calls with ``credentials`` (None: the stack's own) for the block; once
    ``stopped`` is set, refuse them (:class:`InvocationStoppedError`)."""
    token = _acting.set(credentials)
    stop_token = _stopped.set(stopped)
    try:
        yield
    finally:
        _stopped.reset(stop_token)
        _acting.reset(token)


def check_running() -> None:
    """Raise :class:`InvocationStoppedError` when this context's invocation was stopped."""
    stopped = _stopped.get()
    if stopped is not None and stopped.is_set():
        raise InvocationStoppedError("the invocation was stopped at its timeout")


class ActingCredentials(Credentials):  # type: ignore[misc]  # botocore ships no types: its base is Any
    """botocore credentials that are the running invocation's role's, or else the stack's own."""

    def __init__(self, own: ReadOnlyCredentials) -> None:  # no super().__init__: nothing here is fixed
        self._own = own
        self.method = "one-local-role"

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        check_running()
        return _acting.get() or self._own

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:
        token = self.get_frozen_credentials().token
        return None if token is None else str(token)

    @property
    def account_id(self) -> str | None:
        return None


class FunctionRoles:
    """Each function's role credentials, by logical id, assumed once and kept (moto's sessions do not
    expire; Lambda's are renewed for the function all along)."""

    def __init__(self, physical: dict[str, str], lambda_client: Any, sts_client: Any) -> None:
        self._physical = physical
        self._lambda = lambda_client
        self._sts = sts_client
        self._lock = threading.Lock()
        self._credentials: dict[str, ReadOnlyCredentials] = {}

    def forget(self, logical_id: str) -> None:
        """Assume the function's role again at its next invocation (its role changed)."""
        with self._lock:
            self._credentials.pop(logical_id, None)

    def role_arn(self, logical_id: str) -> str:
        name = self._physical[logical_id]
        return str(self._lambda.get_function_configuration(FunctionName=name)["Role"])

    def credentials(self, logical_id: str) -> ReadOnlyCredentials | None:
        """The function's role credentials; None for a function the stack did not deploy."""
        found = self._credentials.get(logical_id)
        if found is not None or logical_id not in self._physical:
            return found
        with self._lock, acting_as(None):  # the stack itself asks STS, as Lambda's service does
            if logical_id not in self._credentials:
                issued = self._sts.assume_role(
                    RoleArn=self.role_arn(logical_id), RoleSessionName=self._physical[logical_id][:64]
                )["Credentials"]
                self._credentials[logical_id] = ReadOnlyCredentials(
                    issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
                )
            return self._credentials[logical_id]
