"""Every limit of time AWS puts on a call, applied locally as AWS applies it: a function stopped at
its timeout with Lambda's own error (and nothing it does afterwards reaching AWS), the HTTP API's 503
when its integration has not answered in time, routed functions that fit the API's 30 s, provider
calls bounded by what the invocation has left, Lambda invokes never retried into running twice, and
an asynchronous invocation answered at once, retried as Lambda retries it, then dead-lettered."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from starlette.testclient import TestClient

from infra.local.credentials import ActingCredentials, InvocationStoppedError
from infra.local.frontdoor import build_app
from infra.local.runner import LambdaRunner, LambdaTimeoutError, install_moto_lambda
from infra.template.base import ROUTED_TIMEOUT
from infra.template.document import load_template

OWN = ReadOnlyCredentials("AKIDSTACK", "secret", None)


def _runner(timeout: int, handler: Any, events: dict[str, Any] | None = None) -> LambdaRunner:
    props: dict[str, Any] = {"Handler": "slow.handler", "Timeout": timeout}
    if events:
        props["Events"] = events
    runner = LambdaRunner({"Resources": {"Slow": {"Type": "AWS::Serverless::Function", "Properties": props}}})
    runner._handlers["Slow"] = handler
    return runner


def test_a_function_past_its_timeout_fails_with_lambdas_error_and_reaches_aws_no_more() -> None:
    after: dict[str, Any] = {}
    finished = threading.Event()

    def slow(event: Any, context: Any) -> Any:
        time.sleep(1.5)
        try:  # what a frozen sandbox could never do: sign another AWS request
            ActingCredentials(OWN).get_frozen_credentials()
            after["signed"] = True
        except InvocationStoppedError:
            after["signed"] = False
        finished.set()
        return {"ok": True}

    runner = _runner(1, slow)
    with pytest.raises(LambdaTimeoutError) as caught:
        runner.invoke("Slow", {})
    assert caught.value.lambda_error_type == "Sandbox.Timedout"
    assert str(caught.value).endswith("Task timed out after 1.00 seconds")
    assert finished.wait(10) and after == {"signed": False}


def test_a_function_within_its_timeout_answers_and_signs_as_before() -> None:
    def quick(event: Any, context: Any) -> Any:
        assert 0 < context.get_remaining_time_in_millis() <= 3000
        return {"key": ActingCredentials(OWN).get_frozen_credentials().access_key, "event": event}

    assert _runner(3, quick).invoke("Slow", {"a": 1}) == {"key": "AKIDSTACK", "event": {"a": 1}}


def test_an_error_of_the_function_reaches_the_caller_unchanged() -> None:
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        _runner(3, broken).invoke("Slow", {})


def test_the_http_api_answers_503_when_its_integration_is_late_and_the_function_runs_on() -> None:
    done = threading.Event()

    def late(event: Any, context: Any) -> Any:
        time.sleep(1.0)
        done.set()
        return {"statusCode": 200, "body": "{}"}

    route = {"Type": "HttpApi", "Properties": {"Path": "/api/late", "Method": "POST", "TimeoutInMillis": 200}}
    route["Properties"]["Auth"] = {"Authorizer": "NONE"}
    runner = _runner(3, late, {"Api": route})
    client = TestClient(build_app(runner, {"Resources": {"HttpApi": {"Properties": {}}}}))
    answer = client.post("/api/late", json={})
    assert answer.status_code == 503 and answer.json() == {"message": "Service Unavailable"}
    assert not done.is_set()  # the API answered before the function did...
    assert done.wait(10)  # ...and giving up did not stop the function


def test_a_function_timing_out_inside_the_api_is_its_500() -> None:
    def slow(event: Any, context: Any) -> Any:
        time.sleep(2)
        return {"statusCode": 200, "body": "{}"}

    route = {
        "Type": "HttpApi",
        "Properties": {"Path": "/api/slow", "Method": "POST", "Auth": {"Authorizer": "NONE"}},
    }
    client = TestClient(
        build_app(_runner(1, slow, {"Api": route}), {"Resources": {"HttpApi": {"Properties": {}}}})
    )
    answer = client.post("/api/slow", json={})
    assert answer.status_code == 500 and answer.json() == {"message": "Internal Server Error"}


def test_every_routed_function_answers_before_the_http_api_gives_up() -> None:
    template = load_template()
    websocket_targets = {
        integration["Properties"]["IntegrationUri"]["Fn::Sub"].split("${", 1)[1].split(".", 1)[0]
        for integration in template["Resources"].values()
        if integration["Type"] == "AWS::ApiGatewayV2::Integration"
    }
    late = []
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        routed = any(e["Type"] == "HttpApi" for e in (props.get("Events") or {}).values())
        if (routed or logical_id in websocket_targets) and int(props.get("Timeout", 3)) > ROUTED_TIMEOUT:
            late.append((logical_id, props["Timeout"]))
    assert ROUTED_TIMEOUT < 30 and late == []
    assert websocket_targets  # the WebSocket API's functions were found and checked too


def test_a_lambda_invoke_is_never_retried_and_waits_for_the_longest_function() -> None:
    from ontology import aws

    config = aws._config("lambda")
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.read_timeout > 900  # a callee may run 15 minutes; botocore's 60 s would re-send
    assert aws._config("sqs").retries["total_max_attempts"] > 1


def test_a_provider_call_waits_only_what_the_invocation_has_left() -> None:
    from ontology import deadline
    from ontology.errors import UpstreamError
    from ontology.providers.http import post

    seen: list[float] = []

    class _Client:
        def post(self, url: str, **kwargs: Any) -> Any:
            seen.append(kwargs.get("timeout", -1.0))
            return type("R", (), {"status_code": 200})()

    class _Context:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def get_remaining_time_in_millis(self) -> int:
            return self.ms

    with deadline.started(_Context(5_000)):
        post(_Client(), "http://x", provider="x", message=str)
    assert 0 < seen[0] <= 4.0
    with deadline.started(_Context(1_500)), pytest.raises(UpstreamError):
        post(_Client(), "http://x", provider="x", message=str)
    assert len(seen) == 1  # nothing was sent without the time to wait for its answer
    post(_Client(), "http://x", provider="x", message=str)  # outside an invocation: the client's own
    assert seen[1] == -1.0


def test_the_jobs_runner_queues_each_job_and_never_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from ontology import aws
    from ontology.runtime import scheduler

    calls: list[dict[str, Any]] = []

    class _Lambda:
        def invoke(self, **kwargs: Any) -> Any:
            calls.append(kwargs)
            return {"StatusCode": 202}

    class _Reader:
        def __init__(self, *args: Any, **kwargs: Any) -> None: ...

        def get(self, job_id: str, table: str) -> Any:
            return {"_id": job_id, "state": "pending", "name": "clones:train"}

    monkeypatch.setattr(aws, "client", lambda service: _Lambda())
    monkeypatch.setattr(scheduler, "DatabaseReader", _Reader)
    records = [{"messageId": str(i), "body": f'{{"jobId": "job{i}"}}'} for i in range(3)]
    assert scheduler.runner_handler({"Records": records}) == {"batchItemFailures": []}
    assert [c["InvocationType"] for c in calls] == ["Event"] * 3


def test_an_asynchronous_invocation_is_answered_at_once_retried_then_dead_lettered() -> None:
    from moto.awslambda.models import LambdaFunction

    attempts: list[float] = []

    def failing(event: Any, context: Any) -> Any:
        attempts.append(time.monotonic())
        raise RuntimeError("always")

    runner = _runner(3, failing)
    letters: list[tuple[str, str, str]] = []
    arrived = threading.Event()

    def dead_letters(logical: str, body: str, error: str) -> None:
        letters.append((logical, body, error))
        arrived.set()

    undo = install_moto_lambda(runner, {"stack-slow": "Slow"}, dead_letters, retry_delays=(0.05, 0.05))
    try:
        fn = type("Fn", (), {"function_name": "stack-slow"})()
        answer = LambdaFunction.invoke(fn, '{"job": 1}', {"x-amz-invocation-type": "Event"}, {})  # type: ignore[arg-type]
        assert answer == b""  # 202: queued, not run yet as far as the caller knows
        assert arrived.wait(10)
    finally:
        undo()
    assert len(attempts) == 3  # the first try and Lambda's two retries
    logical, body, error = letters[0]
    assert logical == "Slow" and body == '{"job": 1}' and error == "RuntimeError: always"
