"""Writes ``events/``: a sample API Gateway v2 event for every function (``sam local invoke -e`` where
Docker exists; the tests load them). ``python -m infra.events`` rewrites them; ``--check`` fails when
one is missing or stale.

The arguments are the example each function's argument model declares (``json_schema_extra``); a
cron gets EventBridge's scheduled event of its first firing at or after SAMPLE_TIME instead."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra import ROOT
from ontology.runtime.examples import ENTITY_ID
from ontology.runtime.registry import FunctionSpec, load_all

EVENTS = ROOT / "events"

SAMPLE_IDENTITY = {
    "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
    "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
    "role": "org_owner",
    "entityId": ENTITY_ID,
}
#: A cron's sample event is its first firing at or after this time.
SAMPLE_TIME = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def scheduled_event(time_: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "sample-event-id",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time_,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sample"],
        "detail": {},
    }


def api_event(
    spec: FunctionSpec, args: dict[str, Any], *, identity: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a call of ``spec`` with ``args``."""
    path = spec.route if spec.route and spec.route != "$default" else "/api/unknown"
    method = spec.method if spec.method != "ANY" else "POST"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}" if spec.route != "$default" else "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": "Bearer <session token>"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1",
                "userAgent": "sample",
            },
            "requestId": "sample-request-id",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795608000000,
        },
        "body": json.dumps(args) if method == "POST" else None,
        "isBase64Encoded": False,
    }
    if spec.auth != "public" or identity is not None:  # a public route has no authorizer in front
        event["requestContext"]["authorizer"] = {"lambda": identity or SAMPLE_IDENTITY}
    return event


def cron_times() -> dict[str, str]:
    """Each cron's function and the time of its sample event (its first firing at or after
    SAMPLE_TIME), from functions/crons.py."""
    from ontology.runtime.crons import REGISTERED
    from ontology.runtime.registry import code_module

    code_module("crons")
    return {
        job.function: job.next_fire(SAMPLE_TIME - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for job in REGISTERED.jobs.values()
    }


def example_of(spec: FunctionSpec) -> dict[str, Any]:
    example = spec.example
    if example is None:
        raise SystemExit(
            f"{spec.path} has no example: give {spec.args.__name__} "
            'model_config = ConfigDict(json_schema_extra={"examples": [{…}]})'
        )
    return example


def render_all() -> dict[Path, str]:
    out: dict[Path, str] = {}
    crons = cron_times()
    for path, fn in load_all().items():
        module, name = path.split(":")
        if path in crons:
            event = scheduled_event(crons[path])
        elif fn.spec.internal:
            event = {**example_of(fn.spec), "_auth": SAMPLE_IDENTITY}
        elif fn.spec.system:  # no route: the sync worker's call
            event = {"_sync": {"args": example_of(fn.spec), "auth": SAMPLE_IDENTITY}}
        elif fn.spec.request:
            request = example_of(fn.spec)
            event = api_event(fn.spec, {})
            event["body"] = request["body"]
            event["headers"] = {"content-type": "application/json", **request["headers"]}
        else:
            event = api_event(fn.spec, example_of(fn.spec))
        out[EVENTS / module / f"{name}.json"] = json.dumps(event, indent=2) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    wanted = render_all()
    if args.check:
        stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
        if stale:
            print("events/ is out of date: run `make events`", *stale, sep="\n  ", file=sys.stderr)
            return 1
        return 0
    for p, text in wanted.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    print(f"wrote {len(wanted)} sample events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
