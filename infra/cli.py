"""``one``: the platform's command line.

one dev                                   start the local stack (same as `make dev`)
one functions [--json]                    the function catalogue: path, kind, route, who may call,
                                          and (--json) an example of its arguments
one run creators:get '{"id": "ent_…"}'    call a function on the running stack, as the developer
one session                               print the development session token
one migrate status|run|cancel             the data migrations (docs/migrations.md): against the
                                          running local stack, or --stack/--table a deployed one
one cron list|run NAME [--wait]           the crons; fire one now (--wait: and wait for the jobs
                                          it scheduled, one per organization)
one signers [--count N]                   the chain accounts the platform signs with, derived from
                                          DEPLOYER_PRIVATE_KEY (each needs gas: docs/deploying.md)
one import FILE [--table T] [--append|--replace]
                                          a Convex snapshot ZIP (or one table's .jsonl, .json,
                                          .csv) into the organization (docs/import-export.md)
one export --path x.zip [--include-file-storage]
                                          the organization as a Convex snapshot ZIP
one logs [--follow] [--function F] [--status error|success] [--since 10m] [--request-id ID]
         [--text T] [--json] [--stack NAME --region R]
                                          the functions' log lines: the local stack's, or
                                          (--stack) a deployed one's CloudWatch Logs
one codegen [--out DIR] [--check|--spec|--watch]
                                          Convex's _generated (api.js, api.d.ts, dataModel.d.ts)
                                          typed from the functions (docs/clients.md)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from infra import ROOT

SESSION_FILE = Path(os.environ.get("ONE_STATE_DIR", ROOT / ".one" / "state")) / "dev-session.json"


def _session() -> dict[str, Any]:
    if not SESSION_FILE.exists():
        raise SystemExit("no local stack session: start it with `make dev`")
    data: dict[str, Any] = json.loads(SESSION_FILE.read_text())
    return data


def run(path: str, args_json: str, url: str | None) -> int:
    import httpx

    try:
        args = json.loads(args_json or "{}")
    except ValueError as exc:
        print(f"arguments are not JSON: {exc}", file=sys.stderr)
        return 2
    session = _session()
    base = url or session.get("apiUrl", "http://127.0.0.1:3210")
    try:
        resp = httpx.post(
            f"{base}/_local/run",
            json={"path": path, "args": args},
            headers={"Authorization": f"Bearer {session['token']}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        print(f"cannot reach the local stack at {base}: {exc}", file=sys.stderr)
        return 2
    body = resp.json()
    if body.get("status") == "success":
        print(json.dumps(body["value"], indent=2, ensure_ascii=False))
        return 0
    print(json.dumps(body, indent=2, ensure_ascii=False), file=sys.stderr)
    return 1


def _get(path: str, url: str | None) -> Any:
    import httpx

    base = url or _session().get("apiUrl", "http://127.0.0.1:3210")
    return httpx.get(f"{base}{path}", timeout=30).json()


def catalogue() -> list[dict[str, Any]]:
    """Every function the code root holds (the registry, found by walking functions/), in the
    catalogue's order, with an example of its arguments."""
    from ontology.runtime.registry import load_all

    rows = []
    for fn in load_all().values():
        spec = fn.spec
        route = None if spec.route is None else f"{spec.method} {spec.route}"
        # a system function by the name a client calls it (``_system/…``), reached over /api/sync
        rows.append(
            {
                "path": spec.convex_path,
                "kind": spec.kind,
                "route": route or ("sync only" if spec.system else None),
                "auth": spec.auth,
                "example": spec.example,
            }
        )
    return rows


def list_functions(as_json: bool) -> int:
    rows = catalogue()
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"{row['path']:<42} {row['kind']:<9} {row['auth']:<15} {row['route'] or 'internal'}")
    return 0


def cron_run(name: str, url: str | None, *, wait: bool = False) -> int:
    """Fire a cron; with ``wait``, also wait for the jobs its run scheduled (a cron over the
    organizations schedules one per organization) and print how they ended."""
    import time

    import httpx

    base = url or _session().get("apiUrl", "http://127.0.0.1:3210")
    fired_at = time.time() * 1000
    body = httpx.post(f"{base}/_local/cron/run", json={"name": name}, timeout=600).json()
    if body.get("status") != "success":
        print(json.dumps(body, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    if not wait:
        print(json.dumps(body["value"], indent=2, ensure_ascii=False))
        return 0
    jobs = _jobs_since(fired_at, url)
    print(json.dumps({"run": body["value"], "jobs": jobs}, indent=2, ensure_ascii=False))
    return 1 if any("failed" in states for states in jobs.values()) else 0


#: How long ``one cron run --wait`` waits for the jobs of a run.
WAIT_SECONDS = 600.0


def _jobs_since(since_ms: float, url: str | None) -> dict[str, dict[str, int]]:
    """The jobs created since ``since_ms`` once none of them is due and unfinished: name → state →
    how many (a retry due later stays ``pending``)."""
    import time

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = time.time() * 1000
        jobs = [j for j in _get("/_local/scheduled", url) if j["_creationTime"] >= since_ms]
        busy = [
            j
            for j in jobs
            if j["state"] == "inProgress" or (j["state"] == "pending" and j["scheduledTime"] <= now)
        ]
        if not busy or time.monotonic() > deadline:
            summary: dict[str, dict[str, int]] = {}
            for job in jobs:
                states = summary.setdefault(job["name"], {})
                states[job["state"]] = states.get(job["state"], 0) + 1
            return summary
        time.sleep(0.2)


def signers(count: int | None) -> int:
    """The signing pool's addresses, derived from ``DEPLOYER_PRIVATE_KEY`` (the deployer's first)."""
    from eth_account import Account

    from ontology.providers.chain import MAX_SIGNERS, signer_count, signer_keys

    key = os.environ.get("DEPLOYER_PRIVATE_KEY", "").strip()
    if not key:
        print(
            "one signers: VALIDATION_ERROR: set DEPLOYER_PRIVATE_KEY to the deployer's key", file=sys.stderr
        )
        return 2
    wanted = signer_count() if count is None else count
    if not 1 <= wanted <= MAX_SIGNERS:
        print(f"one signers: VALIDATION_ERROR: --count is 1 to {MAX_SIGNERS}", file=sys.stderr)
        return 2
    try:
        keys = signer_keys(key, wanted)
        addresses = [Account.from_key(k).address for k in keys]
    except ValueError:
        print("one signers: VALIDATION_ERROR: DEPLOYER_PRIVATE_KEY is not a private key", file=sys.stderr)
        return 2
    for n, address in enumerate(addresses):
        print(f"{n:>2}  {address}{'  (the deployer)' if n == 0 else ''}")
    return 0


def _log_source(stack: str | None, region: str | None, url: str | None) -> tuple[Any, str]:
    """CloudWatch Logs and the functions' log group: a deployed stack's (the operator's AWS
    credentials), or the running local stack's (which answers FilterLogEvents as AWS does)."""
    import boto3

    if stack:
        session = boto3.session.Session(region_name=region)
        found = session.client("cloudformation").describe_stack_resource(
            StackName=stack, LogicalResourceId="FunctionLogs"
        )
        return session.client("logs"), found["StackResourceDetail"]["PhysicalResourceId"]
    health = _get("/_local/health", url)
    if not health.get("logGroup"):
        raise SystemExit("the local stack does not name its log group: restart it")
    logs = boto3.client(
        "logs",
        endpoint_url=health["aws"],
        region_name=health.get("region") or "us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto's, as the stack's own
    )
    return logs, str(health["logGroup"])


def logs(ns: argparse.Namespace) -> int:
    """Print the lines that pass the filters; with ``--follow``, then every new one as it comes."""
    import time

    from ontology.errors import ValidationError
    from ontology.runtime.logquery import LogFilter, format_line, parse_since, read_lines

    try:
        where = LogFilter(function=ns.function, status=ns.status, request_id=ns.request_id, text=ns.text)
        start = int(time.time() * 1000) - parse_since(ns.since) if ns.since else None
    except ValidationError as exc:
        print(f"one logs: VALIDATION_ERROR: {exc.message}", file=sys.stderr)
        return 2
    source, group = _log_source(ns.stack, ns.region, ns.url)
    seen: set[str] = set()
    while True:
        lines, _ = read_lines(source, group, where, start_ms=start, limit=ns.limit)
        for line in lines:
            if line["_id"] in seen:
                continue
            seen.add(line["_id"])
            print(json.dumps(line, ensure_ascii=False) if ns.json else format_line(line), flush=True)
            start = max(start or 0, int(line["_t"] or 0))
        if not ns.follow:
            return 0
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`one scheduled | head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so that the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["codegen"]:  # its own options (python -m infra.codegen)
        from infra.codegen.__main__ import main as codegen_main

        return codegen_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="one", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="start the local stack")
    p_functions = sub.add_parser("functions", help="list the functions (no stack needed)")
    p_functions.add_argument(
        "--json", action="store_true", help="as JSON, with an example of each one's arguments"
    )
    p_run = sub.add_parser("run", help="call a function on the running local stack")
    p_run.add_argument("path", help="module:function, e.g. creators:get")
    p_run.add_argument("args", nargs="?", default="{}", help="JSON object of arguments")
    p_run.add_argument("--url", help="front door URL (default: the running stack's)")
    sub.add_parser("session", help="print the development session token")
    sub.add_parser("codegen", help="Convex's _generated typed from the functions (one codegen --help)")
    p_cron = sub.add_parser("cron", help="the crons: list them, or fire one now")
    p_cron.add_argument("action", choices=["list", "run"])
    p_cron.add_argument("name", nargs="?", help="the cron's name, e.g. 'monthly billing'")
    p_cron.add_argument("--url")
    p_cron.add_argument(
        "--wait", action="store_true", help="wait for the jobs the run scheduled, and print how they ended"
    )
    p_sched = sub.add_parser("scheduled", help="scheduled functions and their states")
    p_sched.add_argument("--url")
    p_logs = sub.add_parser("logs", help="the functions' log lines (local stack, or --stack in AWS)")
    p_logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p_logs.add_argument("--function", help="one function's lines, e.g. creators:get")
    p_logs.add_argument("--status", choices=["error", "success"], help="calls that failed or succeeded")
    p_logs.add_argument("--since", help="lines from this long ago: 30s, 10m, 2h, 1d")
    p_logs.add_argument("--request-id", dest="request_id", help="one request's lines (errorData.requestId)")
    p_logs.add_argument("--text", help="lines containing this text")
    p_logs.add_argument("--json", action="store_true", help="each line as its JSON")
    p_logs.add_argument("--limit", type=int, default=500, help="at most this many lines (default 500)")
    p_logs.add_argument("--stack", help="a deployed stack's CloudWatch Logs (AWS credentials)")
    p_logs.add_argument("--region")
    p_logs.add_argument("--url", help="the local stack's front door (default: the running one)")
    p_signers = sub.add_parser("signers", help="the chain accounts the platform signs with")
    p_signers.add_argument("--count", type=int, help="how many (default: ONE_CHAIN_SIGNERS, else 16)")
    from infra import migrate

    migrate.add_arguments(sub.add_parser("migrate", help="the data migrations: status, run, cancel"))
    from infra.snapshot import command as snapshot

    snapshot.add_import_arguments(sub.add_parser("import", help="a Convex snapshot into the organization"))
    snapshot.add_export_arguments(sub.add_parser("export", help="the organization as a Convex snapshot ZIP"))
    ns = parser.parse_args(argv)
    if ns.command == "migrate":
        return migrate.main(ns)
    if ns.command == "import":
        return snapshot.import_main(ns)
    if ns.command == "export":
        return snapshot.export_main(ns)
    if ns.command == "dev":
        from infra.local.__main__ import main as dev_main

        return dev_main(["--watch", "--codegen", str(ROOT / "convex" / "_generated")])
    if ns.command == "functions":
        return list_functions(ns.json)
    if ns.command == "signers":
        return signers(ns.count)
    if ns.command == "logs":
        return logs(ns)
    if ns.command == "run":
        return run(ns.path, ns.args, ns.url)
    if ns.command == "cron":
        if ns.action == "list":
            print(json.dumps(_get("/_local/crons", ns.url), indent=2))
            return 0
        if not ns.name:
            parser.error("one cron run needs the cron's name")
        return cron_run(ns.name, ns.url, wait=ns.wait)
    if ns.command == "scheduled":
        for job in _get("/_local/scheduled", ns.url):
            print(f"{job['_id']}  {job['state']:<10}  {job['name']:<40}  {json.dumps(job['args'])[:60]}")
        return 0
    print(_session()["token"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
