"""Each source of a function's events is recognised by its own resolver, in the handler's order, and an
event no resolver recognises is refused with a typed error (never a KeyError or a crash)."""

from __future__ import annotations

from typing import Any

import pytest

from ontology.errors import UnrecognizedEventError, ValidationError
from ontology.runtime.resolvers import (
    RESOLVERS,
    HttpApiEvent,
    HttpApiResolver,
    InternalCall,
    InternalCallResolver,
    ScheduledJobEvent,
    ScheduledJobResolver,
    ScheduleResolver,
    SyncCall,
    SyncResolver,
    recognise,
)
from tests.conftest import load_event

JOB = "job_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
OWNER = {"userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}


def _sync_event(args: dict[str, Any], *, reads: bool, counted: bool) -> dict[str, Any]:
    """The event the sync protocol really sends a function's Lambda (captured from its invoker)."""
    from ontology.auth.identity import Identity
    from ontology.runtime.registry import resolve
    from ontology.sync import calls

    sent: list[dict[str, Any]] = []

    def capture(fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
        sent.append(payload)
        return {"status": "success", "value": None}

    calls.set_invoker(capture)
    try:
        identity = Identity(role="org_owner", **OWNER)
        calls.call(resolve("creators:get"), args, identity, reads=reads, counted=counted)
    finally:
        calls.set_invoker(None)
    return sent[0]


def _events() -> dict[str, dict[str, Any]]:
    return {
        "http": load_event("creators/get.json"),
        "sync": _sync_event({"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}, reads=True, counted=True),
        # what the scheduler's runner sends a job's own function
        "job": {"_scheduledJob": JOB},
        "schedule": load_event("auth/cleanup_expired_tokens.json"),
        "internal": load_event("auth/send_email.json"),
    }


def test_the_handler_asks_one_resolver_per_source_in_a_fixed_order() -> None:
    assert [type(r) for r in RESOLVERS] == [
        HttpApiResolver,
        SyncResolver,
        ScheduledJobResolver,
        ScheduleResolver,
        InternalCallResolver,
    ]
    assert [r.source for r in RESOLVERS] == ["http", "sync", "job", "schedule", "internal"]


@pytest.mark.parametrize("source", ["http", "sync", "job", "schedule", "internal"])
def test_each_source_is_recognised_by_its_own_resolver(source: str) -> None:
    event = _events()[source]
    resolver, _ = recognise(event)
    assert resolver.source == source
    # no resolver but its own (and the plain call, which takes what the others leave) claims it
    claimed = [r.source for r in RESOLVERS if r.parse(event) is not None]
    assert claimed in ([source], [source, "internal"])


def test_an_http_api_request_is_read_as_payload_2_0() -> None:
    event = HttpApiResolver().parse(load_event("creators/get.json"))
    assert isinstance(event, HttpApiEvent)
    assert event.http_method == "POST"
    assert event.request_id == event.raw_event["requestContext"]["requestId"]
    # payload 1.0 (the REST API's) is another source
    rest = {**load_event("creators/get.json"), "version": "1.0"}
    assert HttpApiResolver().parse(rest) is None


def test_a_sync_call_carries_the_arguments_the_caller_and_what_it_asks_for() -> None:
    call = SyncResolver().parse(
        _sync_event({"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}, reads=True, counted=False)
    )
    assert isinstance(call, SyncCall)
    assert call.args == {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}
    assert call.identity is not None and call.identity.organizationId == OWNER["organizationId"]
    assert (call.reads, call.counted) == (True, False)


def test_a_scheduled_job_is_read_by_its_id() -> None:
    job = ScheduledJobResolver().parse({"_scheduledJob": JOB})
    assert isinstance(job, ScheduledJobEvent) and job.job_id == JOB


def test_a_cron_is_eventbridges_scheduled_event_and_nothing_else() -> None:
    cron = load_event("auth/cleanup_expired_tokens.json")
    event = ScheduleResolver().parse(cron)
    assert event is not None and event.time == cron["time"] and event.detail_type == "Scheduled Event"
    other = {**cron, "detail-type": "Object Created", "source": "aws.s3"}
    assert ScheduleResolver().parse(other) is None


def test_a_plain_call_is_its_arguments_and_its_caller() -> None:
    raw = load_event("auth/send_email.json")
    call = InternalCallResolver().parse(raw)
    assert isinstance(call, InternalCall)
    assert "_auth" not in call.args and call.args["to"] == raw["to"]
    assert call.identity is not None and call.identity.userId == raw["_auth"]["userId"]
    anonymous = InternalCallResolver().parse({"to": "a@b.co"})
    assert anonymous is not None and anonymous.identity is None
    malformed = InternalCallResolver().parse({"_auth": "usr_1"})
    assert malformed is not None
    with pytest.raises(ValidationError) as caught:
        _ = malformed.identity
    assert caught.value.field == "_auth"


UNRECOGNISED = {
    "null": None,
    "array": [{"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}],
    "text": "creators:get",
    "number": 7,
    "sqs batch": {"Records": [{"messageId": "m", "body": "{}", "eventSource": "aws:sqs"}]},
    "rest api (payload 1.0)": {
        "version": "1.0",
        "resource": "/api/creators/get",
        "httpMethod": "POST",
        "requestContext": {"requestId": "r"},
        "body": "{}",
    },
    "websocket route": {"requestContext": {"routeKey": "$connect", "connectionId": "c"}},
    "eventbridge (not a cron)": {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
}


@pytest.mark.parametrize("name", sorted(UNRECOGNISED))
def test_an_event_no_resolver_recognises_is_a_typed_error(name: str) -> None:
    from ontology.runtime.registry import resolve

    event = UNRECOGNISED[name]
    assert all(r.parse(event) is None for r in RESOLVERS)
    with pytest.raises(UnrecognizedEventError) as caught:
        resolve("creators:get")(event, None)
    assert caught.value.code == "VALIDATION_ERROR" and caught.value.status == 400
    assert "is not an HTTP API request" in caught.value.message
