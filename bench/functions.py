"""The function runtime's budgets: handler overhead, cold imports, round trips, peak memory.

- handler overhead: ``creators:get`` through its real handler (API Gateway event in, envelope out)
  against a hand-written Powertools + boto3 handler making the same DynamoDB calls, on the same moto
  in the same run, interleaved; the ratio of medians.
- cold import: each query Lambda's module in a fresh interpreter against ``import boto3`` alone, as
  ``python -X importtime`` counts the statement (interpreter start-up is the same for both), with
  bytecode compiled for both, the environment the template gives functions, best of several runs;
  which heavy SDKs each one loads (none may load web3/openai/stripe); and, reported, the floor under
  them: botocore, pydantic and Powertools alone (:mod:`bench.cold_floor`).
- peak RSS (VmHWM) of a cold import plus one call, in a fresh interpreter, per function kind,
  against a moto server in another process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import local_table, result, seed_creator, seed_session
from infra import ROOT

HEAVY = ("web3", "openai", "stripe")


def _event(path: str, args: dict[str, Any], authorizer: dict[str, str]) -> dict[str, Any]:
    from infra.events import api_event
    from ontology.runtime.registry import resolve

    return api_event(resolve(path).spec, args, identity=authorizer)


def _hand_written_handler() -> Any:
    """What a developer would write by hand with Powertools and boto3 for creators:get."""
    import boto3
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    logger = Logger(service="hand-written")
    metrics = Metrics(namespace="Bench", service="hand-written")
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = os.environ["ONE_TABLE_NAME"]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        args = json.loads(event["body"])
        # the caller: its session, read consistently (sign-out and role changes apply at once)
        session_id = event["requestContext"]["authorizer"]["lambda"]["sessionId"]
        key = {"pk": {"S": f"platform#{session_id}"}, "sk": {"S": "D"}}
        session = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        org = json.loads(session["doc"]["S"])["activeOrganizationId"]
        # the session's calls this minute (the per-session function-call limit)
        window = int(time.time() // 60) * 60
        client.update_item(
            TableName=table,
            Key={"pk": {"S": f"rl#call#{session_id}#60#{window}"}, "sk": {"S": "R"}},
            UpdateExpression="SET #ttl = :ttl ADD #n :one",
            ExpressionAttributeNames={"#ttl": "ttl", "#n": "n"},
            ExpressionAttributeValues={":ttl": {"N": str(window + 120)}, ":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
        item = client.get_item(
            TableName=table, Key={"pk": {"S": f"{org}#{args['id']}"}, "sk": {"S": "D"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            body: dict[str, Any] = {"status": "success", "value": None}
        else:
            # the from_type index's partition for (creator, "authored"), as the layer encodes it
            from ontology.data.indexes import Index

            idx = Index("from_type", ("fromEntityId", "relationshipType"), 1, slot=4)
            pk = idx.partition_key(org, "connections", [args["id"]])
            count = client.query(
                TableName=table,
                IndexName="gsi4",
                KeyConditionExpression="#p = :p AND begins_with(#s, :s)",
                ExpressionAttributeNames={"#p": "g4pk", "#s": "g4sk"},
                ExpressionAttributeValues={":p": {"S": pk}, ":s": {"S": "5authored\x01\x01"}},
                Select="COUNT",
            )["Count"]
            doc = json.loads(item["doc"]["S"])
            doc.update({"_id": args["id"], "_creationTime": float(item["ct"]["N"]), "contentCount": count})
            body = {"status": "success", "value": doc}
        logger.info("request", extra={"status": 200})
        metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        metrics.clear_metrics()
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}

    return handler


def handler_overhead() -> list[dict[str, Any]]:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    import contextlib
    import io

    from ontology.runtime.registry import resolve

    with local_table() as counter:
        os.environ["ONE_TABLE_NAME"] = "one-bench"
        creator = seed_creator()
        ours = resolve("creators:get")
        theirs = _hand_written_handler()
        event = _event("creators:get", {"id": creator}, seed_session())
        with contextlib.redirect_stdout(io.StringIO()):
            a = json.loads(ours(event, None)["body"])["value"]
            b = json.loads(theirs(event, None)["body"])["value"]
            assert a == b, (a, b)
            counter.reset()
            ours(event, None)
            ours_requests = len(counter.requests)
            t_ours: list[float] = []
            t_theirs: list[float] = []
            for _ in range(200):
                for fn, sink in ((ours, t_ours), (theirs, t_theirs)):
                    started = time.perf_counter()
                    fn(event, None)
                    sink.append(time.perf_counter() - started)
    ratio = statistics.median(t_ours) / statistics.median(t_theirs)
    return [
        result(
            "handler overhead vs hand-written Powertools+boto3 (creators:get)", ratio, "<= 1.3", ratio <= 1.3
        ),
        # the caller's session and its call count, the creator, its content count
        result("dynamodb requests: creators:get", ours_requests, "<= 4", ours_requests <= 4),
    ]


def get_with_content_requests() -> list[dict[str, Any]]:
    from ontology.runtime.registry import resolve

    with local_table() as counter:
        creator = seed_creator(50)
        authorizer = seed_session()
        counter.reset()
        out = resolve("creators:get_with_content")(
            _event("creators:get_with_content", {"creatorId": creator}, authorizer), None
        )
        assert len(json.loads(out["body"])["value"]["content"]) == 50
        n = len(counter.requests)
    # the caller's session and its call count, then the creator and its content in at most three
    return [result("dynamodb requests: creators:get_with_content, 50 items", n, "<= 5", n <= 5)]


FUNCTION_ENV = {
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "POWERTOOLS_SERVICE_NAME": "one-platform",
    "POWERTOOLS_METRICS_NAMESPACE": "OnePlatform",
}


def importtime_us(argv: list[str], env: dict[str, str], cwd: Path, module: str) -> int:
    """Cumulative µs of the top-level imports named ``module`` (or under its root package) that a
    fresh interpreter run with ``-X importtime`` reports (start-up imports left out)."""
    proc = subprocess.run(
        [*argv, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    root = module.split(".", maxsplit=1)[0]
    total = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            name = parts[2].strip()
            if name == root or name.startswith(root + "."):
                total += int(parts[1])
    return total or 1


#: A query Lambda's cold import, at most this many times ``import boto3``'s.
COLD_IMPORT = 1.3


def _one_import(module: str) -> int:
    """Cumulative time (µs) of ``import <module>`` in a fresh interpreter of the dev virtualenv."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | FUNCTION_ENV
    return importtime_us([sys.executable], env, ROOT, module)


def _import_ratio(module: str, baseline: str = "boto3", runs: int = 7) -> float:
    """Best-of-``runs`` import time of ``module`` over ``baseline``'s, the two measured in turn so
    that the shared machine's load drifts over both alike."""
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(_one_import(module))
        theirs.append(_one_import(baseline))
    return min(ours) / min(theirs)


def cold_imports() -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "layers", "functions", "bench"],
        check=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    out = []
    worst = 0.0
    from ontology.runtime.registry import load_all

    # the module a query Lambda's handler imports (clones.training), one measure per module
    query_modules = sorted({fn.spec.source for fn in load_all().values() if fn.spec.kind == "query"})
    for module in query_modules:
        ratio = _import_ratio(f"functions.{module}")
        worst = max(worst, ratio)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys, functions.{module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        heavy = probe.stdout.strip()
        out.append(
            result(
                f"cold import functions.{module} vs import boto3",
                ratio,
                f"<= {COLD_IMPORT}",
                ratio <= COLD_IMPORT,
            )
        )
        out.append(
            result(
                f"heavy SDKs imported by functions.{module}",
                len(heavy.split(",")) if heavy else 0,
                "== 0",
                not heavy,
            )
        )
    floor = _import_ratio("bench.cold_floor")
    out.append(
        result(
            "cold import of botocore, pydantic and Powertools alone vs import boto3", floor, "reported", True
        )
    )
    return out


_RSS_PROBE = """
import json, os, sys
from functions import {module}
from infra.events import api_event
fn = {module}.{attr}
event = api_event(fn.spec, json.loads(sys.argv[1]), identity=json.loads(sys.argv[2]))
out = fn(event, None)
assert out["statusCode"] == 200, out
# VmHWM, not ru_maxrss: the latter keeps the high-water mark of the parent that forked this process.
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_rss() -> list[dict[str, Any]]:
    import boto3
    from moto.server import ThreadedMotoServer

    from bench.harness import fake_aws_env, free_port
    from infra.local.aws import create_table, install_moto_lock
    from infra.local.moto_patches import install_moto_patches

    fake_aws_env()
    install_moto_lock()
    install_moto_patches()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        create_table(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"), "one-rss")
        from ontology.data.dynamodb import reset_default_store
        from ontology.settings import configure

        configure(None)
        configure(table_name="one-rss", dynamodb_endpoint=endpoint)
        reset_default_store()
        authorizer = seed_session()
        reset_default_store()
        env = {
            **os.environ,
            **FUNCTION_ENV,
            "ONE_DYNAMODB_ENDPOINT": endpoint,
            "ONE_TABLE_NAME": "one-rss",
            "ONE_LOCAL": "1",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        cases = {
            "query": ("creators", "get", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
            "mutation": ("creators", "create", {"email": "r@x.io", "name": "R", "niche": []}),
        }
        out = []
        for kind, (module, attr, args) in cases.items():
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _RSS_PROBE.format(module=module, attr=attr),
                    json.dumps(args),
                    json.dumps(authorizer),
                ],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
            )
            mb = int(proc.stdout.strip().splitlines()[-1]) / 1024
            out.append(result(f"peak RSS MB: {kind} Lambda, cold import + one call", mb, "<= 150", mb <= 150))
        return out
    finally:
        server.stop()


def run() -> list[dict[str, Any]]:
    return handler_overhead() + get_with_content_requests() + cold_imports() + peak_rss()
