"""Powertools in the handler: named by the environment, metrics published by ``log_metrics``, and a
tracer that sends nothing where tracing is off and traces each invocation (botocore's calls included)
where the template turns it on. Each tracing case runs a fresh interpreter: whether the X-Ray SDK is
ever imported is decided at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_event

_INVOKE = """
import json, socket, sys
sent = []
_sendto = socket.socket.sendto
def sendto(self, *args):
    sent.append(args[-1])
    return _sendto(self, *args)
socket.socket.sendto = sendto
from functions import meta
loaded_at_import = "aws_xray_sdk.core" in sys.modules
emitted = []
if {capture}:
    from aws_xray_sdk.core import xray_recorder
    class Capture:
        def send_entity(self, entity):
            emitted.append(json.loads(entity.serialize()))
        def set_daemon_address(self, address):
            pass
    xray_recorder.configure(emitter=Capture())
out = meta.not_found(json.loads(sys.argv[1]), None)
import botocore.client, inspect, types
patched = type(inspect.getattr_static(botocore.client.BaseClient, "_make_api_call")) is not types.FunctionType
print(json.dumps({{
    "status": out["statusCode"],
    "loaded_at_import": loaded_at_import,
    "loaded": "aws_xray_sdk.core" in sys.modules,
    "botocore_patched": patched,
    "sent": sent,
    "emitted": emitted,
}}))
"""


def _invoke(env: dict[str, str], *, capture: bool = False) -> dict[str, Any]:
    """``meta:not_found`` (an HTTP request that reaches no AWS service) in a fresh interpreter."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "_X_AMZN"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _INVOKE.format(capture=capture),
            json.dumps(load_event("meta/not_found.json")),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, "POWERTOOLS_SERVICE_NAME": "one-platform", "POWERTOOLS_METRICS_DISABLED": "true", **env},
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "env",
    [
        {"POWERTOOLS_TRACE_DISABLED": "true"},  # the local stack and the tests
        {"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"},
        {},  # outside Lambda Powertools turns tracing off itself
    ],
    ids=["disabled", "disabled-in-lambda", "outside-lambda"],
)
def test_where_tracing_is_off_the_xray_sdk_is_never_loaded_and_nothing_is_sent(env: dict[str, str]) -> None:
    out = _invoke(env)
    assert out["status"] == 404
    assert not out["loaded"] and not out["botocore_patched"]
    assert out["sent"] == []


def test_where_tracing_is_on_each_invocation_is_traced_from_its_first_call(tmp_path: Path) -> None:
    out = _invoke(
        {
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "one-meta-not-found",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        },
        capture=True,
    )
    assert out["status"] == 404
    # the SDK is not part of the cold import; the first traced call loads it and patches botocore
    assert not out["loaded_at_import"] and out["loaded"] and out["botocore_patched"]
    (handler,) = [e for e in out["emitted"] if e["name"] == "## lambda_handler"]
    assert handler["annotations"] == {
        "function": "meta:not_found",
        "source": "http",
        "ColdStart": True,
        "Service": "one-platform",
    }
    assert "metadata" not in handler or "lambda_handler response" not in json.dumps(handler["metadata"])
    assert out["sent"] == []  # the emitter was the test's


def test_an_environment_initialised_ahead_of_its_requests_loads_the_xray_sdk_at_import(
    tmp_path: Path,
) -> None:
    out = _invoke(
        {
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        },
        capture=True,
    )
    assert out["loaded_at_import"] and out["botocore_patched"]
    assert [e["name"] for e in out["emitted"]] == ["## lambda_handler"]


def test_metrics_are_published_once_per_request_in_the_environments_namespace(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ontology.runtime.observability import metrics
    from ontology.runtime.registry import resolve

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    out = resolve("meta:not_found")(load_event("meta/not_found.json"), None)
    assert out["statusCode"] == 404
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == os.environ["POWERTOOLS_METRICS_NAMESPACE"]
    assert {m["Name"] for m in directive["Metrics"]} == {"Invocations", "ClientErrors"}
    assert (line["function"], line["service"]) == ("meta:not_found", "one-platform")
    assert not metrics.metric_set  # published and cleared by log_metrics


def test_with_metrics_disabled_nothing_is_kept_between_requests(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ontology.runtime.observability import metrics
    from ontology.runtime.registry import resolve

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        resolve("meta:not_found")(load_event("meta/not_found.json"), None)
    assert not metrics.metric_set
    assert '"_aws"' not in capsys.readouterr().out
