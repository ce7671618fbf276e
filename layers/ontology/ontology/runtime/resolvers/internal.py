"""A plain call (another function, the token purchase's state machine, the local stack, a test): the
event *is* the object of arguments, with the caller's identity, if any, under ``"_auth"`` in the
authorizer context's shape (``{"userId", "organizationId", "role", …}``). The value is the answer, as
JSON; errors are raised (a pydantic one as VALIDATION_ERROR), so that a state machine can Retry and
Catch them by name.

An object that another AWS source sent (an API Gateway event of another kind, a batch of ``Records``,
an EventBridge event other than a cron's) is no function's arguments: this resolver leaves it to the
handler, which refuses it as an unrecognised event.

Example::

    InternalCallResolver().parse({"id": "ent_…", "_auth": {"userId": "usr_…", …}}).args   # {"id": …}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ontology.auth.identity import Identity
from ontology.errors import OneError, ValidationError
from ontology.runtime.context import _as_validation_error, invoke
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers.base import EventResolver, json_value

__all__ = ["OTHER_SOURCES_KEYS", "InternalCall", "InternalCallResolver"]

#: Keys that mark an event as another AWS source's: API Gateway's (REST, WebSocket, HTTP payload 1.0),
#: a batch of records (SQS, SNS, S3, DynamoDB and Kinesis streams), EventBridge's.
OTHER_SOURCES_KEYS = ("requestContext", "Records", "detail-type")


class InternalCall:
    """The arguments of a plain call and who makes it."""

    __slots__ = ("raw_event",)

    def __init__(self, raw_event: Mapping[str, Any]) -> None:
        self.raw_event = raw_event

    @property
    def args(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw_event.items() if k != "_auth"}

    @property
    def identity(self) -> Identity | None:
        """The caller from ``_auth`` (None: no caller, as for the platform's own calls)."""
        auth = self.raw_event.get("_auth")
        if auth is not None and not isinstance(auth, Mapping):
            raise ValidationError("_auth must be an object", field="_auth")
        return Identity.from_context(auth)


class InternalCallResolver(EventResolver[InternalCall]):
    """Any other object: the arguments themselves (the last resolver asked)."""

    source = "internal"

    def _parse(self, event: Mapping[str, Any]) -> InternalCall | None:
        if any(key in event for key in OTHER_SOURCES_KEYS):
            return None
        return InternalCall(event)

    def _answer(self, fn: RegisteredFunction, event: InternalCall, context: Any) -> Any:
        identity = event.identity
        try:
            return json_value(invoke(fn, event.args, identity))
        except OneError:
            raise
        except PydanticValidationError as exc:
            raise _as_validation_error(exc) from None
