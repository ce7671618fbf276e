"""One error hierarchy for the whole platform, and the one place that turns errors into responses.

Every error a client can see has a stable ``code`` and an HTTP ``status``; the envelope is the public
contract (docs/architecture.md, "The HTTP contract")::

    {"status": "error", "errorMessage": "Creator not found", "errorData": {"code": "NOT_FOUND"}}

Example::

    raise NotFoundError("Creator not found", id=creator_id)
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

__all__ = [
    "CODES",
    "ConflictError",
    "EmailNotVerifiedError",
    "ForbiddenError",
    "InsufficientTokensError",
    "InternalError",
    "LimitExceededError",
    "NotFoundError",
    "NotUniqueError",
    "OneError",
    "PayloadTooLargeError",
    "PaymentFailedError",
    "RateLimitedError",
    "TransactionTooLargeError",
    "UnauthenticatedError",
    "UnrecognizedEventError",
    "UpstreamError",
    "ValidationError",
    "error_envelope",
    "status_and_code",
]


class OneError(Exception):
    """Base of every error the platform reports to a caller.

    ``data`` is merged into ``errorData`` next to ``code``; keep it free of internals.
    """

    code: ClassVar[str] = "INTERNAL"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or self.default_message
        self.data = {k: v for k, v in data.items() if v is not None}
        super().__init__(self.message)

    def to_error_data(self) -> dict[str, Any]:
        return {"code": self.code, **self.data}


class ValidationError(OneError):
    """Bad input. ``field`` names the offending field; ``locations`` lists several (pydantic style)."""

    code = "VALIDATION_ERROR"
    status = 400
    default_message = "Invalid input"

    def __init__(self, message: str | None = None, *, field: str | None = None, **data: Any) -> None:
        super().__init__(message, field=field, **data)
        self.field = field


class LimitExceededError(ValidationError):
    """A read asked for more than a documented bound (collect cap, items examined by a filter)."""

    code = "LIMIT_EXCEEDED"
    status = 400
    default_message = "Read limit exceeded"


class TransactionTooLargeError(ValidationError):
    """A mutation would touch more items than one DynamoDB transaction can hold; nothing was written."""

    code = "TRANSACTION_TOO_LARGE"
    status = 400
    default_message = "Mutation too large for one transaction"


class UnrecognizedEventError(ValidationError):
    """An event no source of a function's Lambda recognises (:mod:`ontology.runtime.resolvers`): not an
    HTTP API request, a sync call, a scheduled job, a cron or an object of arguments."""

    default_message = "The event is not one this function answers"


class UnauthenticatedError(OneError):
    code = "UNAUTHENTICATED"
    status = 401
    default_message = "Authentication required"


class ForbiddenError(OneError):
    code = "FORBIDDEN"
    status = 403
    default_message = "Forbidden"


class EmailNotVerifiedError(ForbiddenError):
    code = "EMAIL_NOT_VERIFIED"
    status = 403
    default_message = "Email not verified"


class NotFoundError(OneError):
    code = "NOT_FOUND"
    status = 404
    default_message = "Not found"


class ConflictError(OneError):
    """A uniqueness rule was broken, or concurrent writers kept colliding past the retry budget."""

    code = "CONFLICT"
    status = 409
    default_message = "Conflict"


class NotUniqueError(ConflictError):
    """``.unique()`` found more than one document."""

    code = "NOT_UNIQUE"
    status = 409
    default_message = "More than one document matched"


class PriceChangedError(ConflictError):
    """The price the buyer was shown is not the price now (it changed, or the client computed it
    wrongly): nothing is charged. ``errorData`` carries the current price."""

    code = "PRICE_CHANGED"
    status = 409
    default_message = "The price has changed"


class PayloadTooLargeError(OneError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "Payload too large"


class InsufficientTokensError(OneError):
    code = "INSUFFICIENT_TOKENS"
    status = 402
    default_message = "Insufficient tokens"

    def __init__(
        self,
        message: str | None = None,
        *,
        required: int | float | None = None,
        available: int | float | None = None,
        **data: Any,
    ) -> None:
        super().__init__(message, required=required, available=available, **data)


class PaymentFailedError(OneError):
    code = "PAYMENT_FAILED"
    status = 402
    default_message = "Payment failed"


class RateLimitedError(OneError):
    code = "RATE_LIMITED"
    status = 429
    default_message = "Too many requests"


class UpstreamError(OneError):
    """A provider (Stripe, the chain, OpenAI, Resend) failed; the message names it, never its internals."""

    code = "UPSTREAM_ERROR"
    status = 502
    default_message = "Upstream service error"


class ChainRevertedError(UpstreamError):
    """The chain mined a transaction and reverted it (e.g. a mint over the maximum supply): final, so
    a state machine does not retry it the way it retries an ``UpstreamError``."""

    default_message = "The chain reverted the transaction"


class MalformedAnswerError(UpstreamError):
    """The model's structured answer did not validate against its schema, on every attempt: the
    caller records the reason (a generated course is marked failed) rather than retrying forever."""

    default_message = "The model's answer did not match the expected shape"


class AbortedError(ConflictError):
    """The work was called off (a purchase being undone refuses to go forward): final, so a state
    machine does not retry it the way it retries a ``ConflictError``."""

    default_message = "Called off: this is being undone"


class InternalError(OneError):
    code = "INTERNAL"
    status = 500
    default_message = "Internal error"


def _all_error_classes() -> list[type[OneError]]:
    seen: list[type[OneError]] = []
    stack: list[type[OneError]] = [OneError]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


#: The documented codes and their HTTP status (docs/architecture.md and the OpenAPI document list these).
CODES: dict[str, int] = {cls.code: cls.status for cls in sorted(_all_error_classes(), key=lambda c: c.status)}
#: Each error class's name (what a Lambda reports as ``errorType``) and its code.
CODE_OF_NAME: dict[str, str] = {cls.__name__: cls.code for cls in _all_error_classes()}


def _pydantic_locations(exc: Any) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        out.append({"field": loc, "message": err.get("msg", "invalid")})
    return out


def error_envelope(exc: BaseException, *, request_id: str | None = None) -> tuple[int, dict[str, Any]]:
    """Map any exception to ``(status, body)``. Unknown exceptions become INTERNAL, details logged only.
    With ``request_id`` (the request's id, which every log line of the call carries), the envelope
    names it as ``errorData.requestId``, whatever the error.

    >>> error_envelope(NotFoundError("Creator not found"))[0]
    404
    """
    status, body = _envelope(exc)
    if request_id:
        body["errorData"]["requestId"] = request_id
    return status, body


def status_and_code(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and code an exception is answered with (as :func:`error_envelope` answers it),
    without logging it: for a call's summary line where no envelope is sent (a job, a cron)."""
    if isinstance(exc, OneError):
        return exc.status, exc.code
    if _is_pydantic_error(exc):
        return 400, ValidationError.code
    return 500, InternalError.code


def _is_pydantic_error(exc: BaseException) -> bool:
    try:
        import pydantic
    except ImportError:  # pragma: no cover - pydantic is a layer dependency
        return False
    return isinstance(exc, pydantic.ValidationError)


def _envelope(exc: BaseException) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, OneError):
        return exc.status, {"status": "error", "errorMessage": exc.message, "errorData": exc.to_error_data()}
    if _is_pydantic_error(exc):
        locations = _pydantic_locations(exc)
        first = locations[0] if locations else {"field": None, "message": "invalid"}
        data: dict[str, Any] = {"code": ValidationError.code, "locations": locations}
        if first["field"]:
            data["field"] = first["field"]
        message = f"Invalid {first['field']}: {first['message']}" if first["field"] else "Invalid input"
        return 400, {"status": "error", "errorMessage": message, "errorData": data}
    logger.error("unhandled error", exc_info=exc)
    return 500, {
        "status": "error",
        "errorMessage": InternalError.default_message,
        "errorData": {"code": InternalError.code},
    }
