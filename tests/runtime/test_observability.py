"""Powertools in the handler: named by the environment, metrics published by ``log_metrics``."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import load_event


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
