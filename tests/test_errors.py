"""One error hierarchy, one envelope."""

from __future__ import annotations

import pydantic
import pytest

from ontology import errors as E


def test_codes_are_stable_and_documented() -> None:
    assert E.CODES["VALIDATION_ERROR"] == 400
    assert E.CODES["UNAUTHENTICATED"] == 401
    assert E.CODES["FORBIDDEN"] == 403
    assert E.CODES["NOT_FOUND"] == 404
    assert E.CODES["CONFLICT"] == 409
    assert E.CODES["PAYLOAD_TOO_LARGE"] == 413
    assert E.CODES["RATE_LIMITED"] == 429
    assert E.CODES["INSUFFICIENT_TOKENS"] == 402
    assert E.CODES["PAYMENT_FAILED"] == 402
    assert E.CODES["UPSTREAM_ERROR"] == 502
    assert E.CODES["INTERNAL"] == 500
    for cls in E._all_error_classes():
        assert cls.__name__.endswith("Error")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (E.NotFoundError("Creator not found", id="ent_1"), 404, "NOT_FOUND"),
        (E.ValidationError("bad", field="name"), 400, "VALIDATION_ERROR"),
        (E.ConflictError("dup"), 409, "CONFLICT"),
        (E.InsufficientTokensError(required=5, available=2), 402, "INSUFFICIENT_TOKENS"),
        (E.RateLimitedError(), 429, "RATE_LIMITED"),
        (E.UpstreamError("Stripe is unavailable"), 502, "UPSTREAM_ERROR"),
    ],
)
def test_envelope_of_known_errors(exc: E.OneError, status: int, code: str) -> None:
    got_status, body = E.error_envelope(exc)
    assert got_status == status
    assert body["status"] == "error"
    assert body["errorData"]["code"] == code
    assert body["errorMessage"] == exc.message


def test_envelope_keeps_fields() -> None:
    _, body = E.error_envelope(E.InsufficientTokensError(required=5, available=2))
    assert body["errorData"] == {"code": "INSUFFICIENT_TOKENS", "required": 5, "available": 2}
    _, body = E.error_envelope(E.ValidationError("bad", field="name"))
    assert body["errorData"]["field"] == "name"


def test_unknown_exceptions_leak_nothing() -> None:
    status, body = E.error_envelope(KeyError("secret-table-name"), request_id="req-1")
    assert status == 500
    assert body == {
        "status": "error",
        "errorMessage": "Internal error",
        "errorData": {"code": "INTERNAL", "requestId": "req-1"},
    }
    assert "secret" not in str(body)


def test_pydantic_errors_become_validation_errors_naming_the_field() -> None:
    class Args(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(strict=True, extra="forbid")
        limit: int

    with pytest.raises(pydantic.ValidationError) as info:
        Args.model_validate({"limit": "x"})
    status, body = E.error_envelope(info.value)
    assert status == 400
    assert body["errorData"]["code"] == "VALIDATION_ERROR"
    assert body["errorData"]["field"] == "limit"
    assert body["errorData"]["locations"][0]["field"] == "limit"


def test_the_client_raises_the_class_that_owns_a_code() -> None:
    """A code maps to the class declaring it, never to a subclass refining it (a CONFLICT from the API
    is a ConflictError, not the saga's AbortedError; an UPSTREAM_ERROR is not a ChainRevertedError)."""
    from ontology.client import _BY_CODE

    assert _BY_CODE["CONFLICT"] is E.ConflictError
    assert _BY_CODE["UPSTREAM_ERROR"] is E.UpstreamError
    assert _BY_CODE["INTERNAL"] is E.InternalError
    assert set(_BY_CODE) == set(E.CODES)


def test_status_and_code_are_what_the_envelope_answers() -> None:
    """A job's or a cron's summary line names the status and code a call over HTTP would answer."""
    import pydantic

    from ontology.errors import NotFoundError, error_envelope, status_and_code

    class Model(pydantic.BaseModel):
        n: int

    try:
        Model.model_validate({"n": "x"})
    except pydantic.ValidationError as exc:
        invalid = exc
    for exc in (NotFoundError("gone"), invalid, RuntimeError("boom")):
        status, body = error_envelope(exc)
        assert status_and_code(exc) == (status, body["errorData"]["code"])
    assert status_and_code(invalid) == (400, "VALIDATION_ERROR")
    assert status_and_code(RuntimeError("boom")) == (500, "INTERNAL")
