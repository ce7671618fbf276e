"""Shared fixtures: a fake AWS environment, moto in-process behind one lock, the table from
``template.yaml``, and a guard that fails the suite if anything ever calls Scan (but the data-migration
runner, an operator's tool: ``ontology.data.dynamodb.operator_scan``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Before anything imports botocore or the layer.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "ONE_LOCAL": "1",
        "ONE_TABLE_NAME": "one-test",
        "ONE_AUTH_SECRET": "test-auth-secret-0123456789abcdefghijklmnop",
        # Powertools as the template configures it, with tracing off: nothing tries to reach X-Ray.
        "POWERTOOLS_SERVICE_NAME": "one-platform",
        "POWERTOOLS_METRICS_NAMESPACE": "OnePlatform",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)
os.environ.pop("ONE_DYNAMODB_ENDPOINT", None)

import botocore.client  # noqa: E402

SCANS: list[str] = []
_original_make_api_call = botocore.client.BaseClient._make_api_call


def _no_scan(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    if operation_name == "Scan" and not _operator_scan():
        SCANS.append(repr(api_params)[:200])
        raise AssertionError("Scan called: no code path may scan the table")
    return _original_make_api_call(self, operation_name, api_params)


def _operator_scan() -> bool:
    """Whether the Scan being sent is the migration runner's (``Store.scan``), which no function's
    role may make: it is an operator's path (docs/migrations.md)."""
    from ontology.data.dynamodb import operator_scan

    return operator_scan()


botocore.client.BaseClient._make_api_call = _no_scan  # type: ignore[method-assign]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has cores. The local stack's tests spend much of
    their time waiting (on the stack's scheduler, its pollers, a rate limit's window), and a third
    worker on two cores fills those waits: the suite took 467 s instead of about 590."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere, every core
    return (len(affinity(0)) if affinity else os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of a module that starts the local stack (it holds :mod:`tests.infra.localstack`'s
    ``Stack`` or ``running_stack``) is marked ``stack``: ``make check`` runs the rest."""
    for item in items:
        names = vars(getattr(item, "module", None) or object)
        if any(
            getattr(names.get(name), "__module__", None) == "tests.infra.localstack"
            for name in ("Stack", "running_stack")
        ):
            item.add_marker(pytest.mark.stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """A failed test on the local stack shows what the stack logged last (its function errors and
    timeouts, the front door's lines), as a section of the report."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("stack")
    lines = getattr(stack, "after", None)
    if report.failed and isinstance(lines, list) and lines:
        report.sections.append(("the local stack's last lines", "\n".join(lines[-80:])))
    return report


@pytest.fixture(autouse=True, scope="session")
def _assert_no_scans() -> Iterator[None]:
    yield
    assert not SCANS, f"Scan was called: {SCANS}"


def seconds_hidden(queue_url: str, body: str) -> float:
    """Seconds until the SQS message with ``body`` (or this message id) is visible again (moto's own
    bookkeeping, in process): how long SQS will hold it, read without waiting for it."""
    import time

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue(queue_url.rsplit("/", 1)[1])
    (message,) = [m for m in queue._messages if body in (m.body, m.id)]
    return float(message.visible_at) / 1000 - time.time()


def _unsized_capacity() -> None:
    """In-process tests get moto's own ConsumedCapacity: sizing each request as DynamoDB would (what
    the local stack answers) costs every DynamoDB test a tenth of its time, and none of them reads it
    but tests/bench/test_meter.py, which turns it back on."""
    from infra.local import moto_patches

    moto_patches.SIZE_CAPACITY = False


_unsized_capacity()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process, every request under the one moto lock."""
    from moto import mock_aws

    from infra.local.aws import install_moto_lock
    from infra.local.moto_patches import install_moto_patches

    install_moto_lock()
    install_moto_patches()
    # boto3's default session is kept from one test to the next (moto would start each test with a
    # new one): a new session reads each service's model again (S3's alone, a second of CPU) for
    # every client a test makes. Its credentials are moto's fake ones, the same in every test.
    from moto.core.config import default_user_config

    with mock_aws(config={"core": {**default_user_config["core"], "reset_boto3_session": False}}):
        yield


@pytest.fixture
def table(aws: None) -> Iterator[str]:
    """The single table, created from template.yaml, with the layer pointed at it."""
    import boto3

    from infra.local.aws import create_table
    from ontology.auth import ratelimit
    from ontology.data import search_legacy
    from ontology.data.dynamodb import reset_default_store
    from ontology.data.models import configure_models
    from ontology.settings import configure

    search_legacy.reset()  # a fresh table: whether its search index's first layout is gone is unknown
    ratelimit._batched.clear()  # nor what this process counted of a session's calls
    name = "one-test"
    configure(None)
    configure(table_name=name, dynamodb_endpoint=None)
    configure_models(table_name=name, host="")
    reset_default_store()
    _fresh_table(name, lambda: create_table(boto3.client("dynamodb", region_name="us-east-1"), name))
    yield name
    reset_default_store()


#: The table as CreateTable (and UpdateTimeToLive) left it, empty: created through moto's API once per
#: worker, then copied into each test's fresh moto (a quarter of a second less per test).
_PRISTINE: dict[str, Any] = {}


def _fresh_table(name: str, create: Callable[[], Any]) -> None:
    import copy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    if name not in _PRISTINE:
        create()
        _PRISTINE[name] = copy.deepcopy(backend.tables[name])
    backend.tables[name] = copy.deepcopy(_PRISTINE[name])


@pytest.fixture
def strict_mode() -> Iterator[Callable[..., Any]]:
    """``strict_mode("gsi-lag", gsi_lag_ms=200)``: those AWS-strict facets of the local stack in
    force (in process, on moto) until the test ends (:mod:`infra.local.strict`)."""
    from infra.local import strict

    before = strict.current()

    def use(*facets: str, **settings: Any) -> Any:
        return strict.configure(strict.Strict(facets=frozenset(facets), **settings))

    try:
        yield use
    finally:
        strict.configure(before)


class LagClock:
    """The clock AWS-strict ``gsi-lag`` times changes by, moved by hand (``now``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lag_clock(monkeypatch: pytest.MonkeyPatch) -> LagClock:
    """GSI lag on a clock that stands still until the test moves it: a GSI never shows a write
    made after this until then."""
    from infra.local import gsi_lag

    clock = LagClock()
    monkeypatch.setattr(gsi_lag, "clock", clock)
    return clock


class RequestCounter:
    """Counts DynamoDB requests (and items returned) through the store's listener hook."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.items_read = 0

    def __call__(self, operation: str, params: dict[str, Any], response: dict[str, Any] | None) -> None:
        self.calls.append((operation, params))
        if response:
            if operation == "Query":
                self.items_read += int(response.get("ScannedCount", response.get("Count", 0)))
            elif operation == "BatchGetItem":
                self.items_read += sum(len(v) for v in response.get("Responses", {}).values())
            elif operation == "GetItem":
                self.items_read += 1 if response.get("Item") else 0

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0


@pytest.fixture
def requests_counter(table: str) -> Iterator[RequestCounter]:
    from ontology.data.dynamodb import add_listener, remove_listener

    counter = RequestCounter()
    add_listener(counter)
    yield counter
    remove_listener(counter)


@pytest.fixture
def outbox(table: str, tmp_path: Path) -> Iterator[Any]:
    from ontology.providers.email import FileOutbox, set_email

    box = FileOutbox(tmp_path / "outbox")
    set_email(box)
    yield box
    set_email(None)


@pytest.fixture
def deliver(outbox: Any) -> Callable[[], list[dict[str, Any]]]:
    """Run every pending scheduled job (the emails), then return the outbox, newest first."""
    from ontology import run_query
    from ontology.runtime.jobs import execute_job

    def run() -> list[dict[str, Any]]:
        jobs = run_query(
            lambda db: (
                db.query("scheduledFunctions")
                .with_index("by_state", lambda q: q.eq("state", "pending"))
                .collect()
            ),
            org=None,
            platform=True,
        )
        for job in jobs:
            execute_job(job["_id"])
        return outbox.messages()

    return run


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return data
