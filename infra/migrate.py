"""``one migrate status|run|cancel``: the data migrations (docs/migrations.md), against the local stack
or a deployed one.

The target is the running local stack by default (its developer session says where its front door
is; the front door's ``/_local/health`` names its AWS endpoint and table), or a deployed table with
the operator's AWS credentials: ``--stack NAME`` (its ``TableName`` output) or ``--table NAME``. Either
way this process is the runner: it talks to the table itself, holds the lease, and shows progress.

Exit codes: 0 done (or nothing to do), 1 a migration failed (``run`` again resumes it), 2 bad usage
or an unknown migration, 3 another runner holds the migration (or there is nothing to cancel),
4 cancelled (``run`` again resumes it), 5 the target cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from infra import ROOT

EXIT_FAILED, EXIT_USAGE, EXIT_CONFLICT, EXIT_CANCELLED, EXIT_UNREACHABLE = 1, 2, 3, 4, 5
#: How long ``cancel`` waits for the runner to stop at its batch boundary.
CANCEL_WAIT_SECONDS = 120


class TargetError(Exception):
    """The table to migrate cannot be reached (exit 5)."""


class UsageError(Exception):
    """Bad usage (exit 2)."""


@dataclass
class Target:
    store: Any
    table: str
    where: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``one migrate``'s commands and options."""
    sub = parser.add_subparsers(dest="action", required=True)

    def targeted(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        where = p.add_argument_group("target (default: the running local stack)")
        where.add_argument("--url", help="the local stack's front door (default: its dev session's)")
        where.add_argument("--stack", help="a deployed stack: migrate the table of its TableName output")
        where.add_argument(
            "--config-env", help="a deployed stack by its samconfig.toml environment (default, prod)"
        )
        where.add_argument("--table", help="a deployed table, by name")
        where.add_argument("--region", help="the deployed stack's region (default: the AWS configuration's)")
        where.add_argument("--endpoint", help="a DynamoDB endpoint other than AWS's (with --table)")
        return p

    status = targeted("status", "each migration: status, progress, counts, ETA")
    status.add_argument("--json", action="store_true", help="as JSON")
    run = targeted("run", "run (or resume) a migration, or every pending one")
    run.add_argument("id", nargs="?", help="the migration's id, e.g. 0002-search-postings")
    run.add_argument("--all", action="store_true", help="every migration not done, in order")
    run.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    run.add_argument("--batch", type=int, help="items a page examines (1-1000; default: the migration's)")
    run.add_argument("--max-wcu", type=float, help="write capacity units a second (default: no limit)")
    cancel = targeted("cancel", "stop a running migration at its next batch boundary")
    cancel.add_argument("id", help="the migration's id")


def main(ns: argparse.Namespace) -> int:
    from ontology.errors import ConflictError, NotFoundError, OneError, ValidationError

    try:
        if ns.action == "run":
            _check_run_arguments(ns)
        target = resolve_target(ns)
        if ns.action == "status":
            return status(target, as_json=ns.json)
        if ns.action == "run":
            return run(target, ns)
        return cancel(target, ns.id)
    except UsageError as exc:
        return _error("VALIDATION_ERROR", str(exc), EXIT_USAGE)
    except TargetError as exc:
        return _error("UNREACHABLE", str(exc), EXIT_UNREACHABLE)
    except (ValidationError, NotFoundError) as exc:
        return _error(exc.code, exc.message, EXIT_USAGE)
    except ConflictError as exc:
        return _error(exc.code, exc.message, EXIT_CONFLICT)
    except OneError as exc:
        return _error(exc.code, exc.message, EXIT_UNREACHABLE)
    except (ImportError, ValueError) as exc:  # a migration module that does not load or check
        return _error("VALIDATION_ERROR", f"the declared migrations do not load: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code = _aws_error_code(exc)
        if code is None:
            return _error("INTERNAL", f"{type(exc).__name__}: {exc}", EXIT_FAILED)
        return _error("UPSTREAM_ERROR", f"{code}: {exc}", EXIT_UNREACHABLE)


def _error(code: str, message: str, exit_code: int) -> int:
    print(f"one migrate: {code}: {message}", file=sys.stderr)
    return exit_code


def _aws_error_code(exc: BaseException) -> str | None:
    """The AWS error's code (botocore's ClientError, or its credential and connection errors)."""
    from botocore.exceptions import BotoCoreError

    response = getattr(exc, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code"):
        return str(response["Error"]["Code"])
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return None


def _check_run_arguments(ns: argparse.Namespace) -> None:
    if bool(ns.id) == bool(ns.all):
        raise UsageError("name one migration, or --all")
    if ns.batch is not None and not 1 <= ns.batch <= 1000:
        raise UsageError("--batch is from 1 to 1000 items")
    if ns.max_wcu is not None and not ns.max_wcu > 0:
        raise UsageError("--max-wcu must be positive")


# ------------------------------------------------------------------------------------------ targets


def samconfig_stack(config_env: str, path: Path = ROOT / "samconfig.toml") -> tuple[str, str | None]:
    """The stack name and region ``sam deploy --config-env <config_env>`` deploys to."""
    import tomllib

    config = tomllib.loads(path.read_text())
    env = config.get(config_env)
    if not isinstance(env, dict):
        known = ", ".join(k for k, v in config.items() if isinstance(v, dict)) or "none"
        raise UsageError(f"samconfig.toml has no environment '{config_env}' (it has: {known})")

    def parameter(name: str) -> str | None:
        for command in ("deploy", "global"):
            value = env.get(command, {}).get("parameters", {}).get(name)
            if value:
                return str(value)
        return None

    stack = parameter("stack_name")
    if stack is None:
        raise UsageError(f"samconfig.toml's '{config_env}' names no stack_name")
    return stack, parameter("region")


def resolve_target(ns: argparse.Namespace) -> Target:
    if ns.config_env:
        if ns.stack:
            raise UsageError("--config-env names the stack: not with --stack")
        ns.stack, region = samconfig_stack(ns.config_env)
        ns.region = ns.region or region
    if ns.stack or ns.table:
        if ns.url:
            raise UsageError("--url names the local stack; --stack and --table a deployed one: not both")
        return _deployed(ns.stack, ns.table, ns.region, ns.endpoint)
    if ns.endpoint:
        raise UsageError("--endpoint goes with --table")
    return _local(ns.url)


def _state_dir() -> Path:
    return Path(os.environ.get("ONE_STATE_DIR", ROOT / ".one" / "state"))


def _local(url: str | None) -> Target:
    import botocore.session
    import httpx

    from ontology.data.dynamodb import Store, client_config

    if url is None:
        session_file = _state_dir() / "dev-session.json"
        try:
            url = json.loads(session_file.read_text()).get("apiUrl") or "http://127.0.0.1:3210"
        except (OSError, ValueError):
            raise TargetError(
                f"no local stack session at {session_file}: start the stack with `make dev`, "
                "or name a deployed one with --stack or --table"
            ) from None
    try:
        health = httpx.get(f"{url}/_local/health", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise TargetError(f"cannot reach the local stack at {url} ({exc}): is `make dev` running?") from None
    if not health.get("table") or not health.get("aws"):
        raise TargetError(f"the local stack at {url} does not name its table: restart it")
    client = botocore.session.Session().create_client(
        "dynamodb",
        region_name=health.get("region") or "us-east-1",
        endpoint_url=health["aws"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto's, as the stack's own
        config=client_config(),
    )
    return Target(Store(client, table=health["table"]), health["table"], f"the local stack, {health['aws']}")


def _deployed(stack: str | None, table: str | None, region: str | None, endpoint: str | None) -> Target:
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    from ontology.data.dynamodb import Store, client_config

    session = botocore.session.get_session()  # the operator's credentials (env, profile, SSO, …)
    region = region or session.get_config_variable("region")
    if not region:
        raise UsageError("no AWS region: give --region (or set AWS_REGION)")
    try:
        if stack:
            cloudformation = session.create_client("cloudformation", region_name=region)
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
            if "TableName" not in outputs:
                raise TargetError(f"stack {stack} has no TableName output: is it the platform's?")
            if table and table != outputs["TableName"]:
                raise UsageError(f"stack {stack}'s table is {outputs['TableName']}, not {table}")
            table = outputs["TableName"]
        assert table is not None
        client = session.create_client(
            "dynamodb", region_name=region, endpoint_url=endpoint, config=client_config()
        )
        store = Store(client, table=table)
        store.describe()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            raise TargetError(f"no table {table} in {region}") from None
        if code == "ValidationError" and stack:
            raise TargetError(f"no stack {stack} in {region}") from None
        raise TargetError(f"{code}: {exc}") from None
    except BotoCoreError as exc:
        raise TargetError(f"cannot reach AWS: {exc}") from None
    where = f"stack {stack}, {region}" if stack else (endpoint or region)
    return Target(store, table, where)


def _header(target: Target) -> None:
    print(f"table {target.table}   ({target.where})")


# ------------------------------------------------------------------------------------------- status


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def status(target: Target, *, as_json: bool) -> int:
    from ontology.data.migrations.registry import registered
    from ontology.data.migrations.runner import status as read_status

    rows = read_status(target.store, registered())
    if as_json:
        print(
            json.dumps(
                {
                    "table": target.table,
                    "target": target.where,
                    "migrations": [
                        {
                            "id": r.id,
                            "description": r.description,
                            "status": r.status,
                            "declared": r.declared,
                            "percent": r.percent,
                            "etaSeconds": r.eta,
                            "total": r.total,
                            **r.counts,
                            "startedAt": r.started_at,
                            "updatedAt": r.updated_at,
                            "finishedAt": r.finished_at,
                            "owner": r.owner,
                            "lastError": r.error,
                            "source": r.source,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return 0
    _header(target)
    if not rows:
        print("no migrations declared")
        return 0
    width = max(len(r.id) for r in rows)
    print(
        f"{'ID':<{width}}  {'STATUS':<11}  {'PROGRESS':>8}  {'EXAMINED':>9}  {'CHANGED':>8}  "
        f"{'SKIPPED':>8}  {'FAILED':>6}  {'ETA':>7}  DESCRIPTION"
    )
    for r in rows:
        percent = "-" if r.percent is None else f"{r.percent:.0f}%"
        described = r.description if r.declared else f"{r.description} (no longer declared)"
        c = r.counts
        print(
            f"{r.id:<{width}}  {r.status:<11}  {percent:>8}  {c['examined']:>9}  {c['changed']:>8}  "
            f"{c['skipped']:>8}  {c['failed']:>6}  {_duration(r.eta):>7}  {described}"
        )
        if r.status in ("failed", "interrupted", "cancelled") and r.error:
            print(f"{'':<{width}}  last error: {r.error}")
    pending = [r.id for r in rows if r.declared and r.status != "done"]
    print(f"{len(pending)} pending" + (": one migrate run --all" if pending else ""))
    return 0


# ---------------------------------------------------------------------------------------------- run


class Progress:
    """What a run shows: a bar redrawn in place on a terminal, a line a second otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = 0.0
        self.drawn = False

    def __call__(self, report: Any) -> None:
        now = time.monotonic()
        if now - self.last < (0.1 if self.tty else 1.0):
            return
        self.last = now
        line = self.line(report)
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
            self.drawn = True
        else:
            self.out.write(line + "\n")
        self.out.flush()

    @staticmethod
    def line(report: Any) -> str:
        c = report.counts
        total = f"/{report.total}" if report.total else ""
        percent = report.percent
        bar = ""
        if percent is not None:
            filled = int(percent / 5)
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {percent:3.0f}%  "
        if report.phase == "verifying":
            return f"{report.id}  verifying: {report.verified} items checked"
        eta = f"  ETA {_duration(report.eta)}" if report.eta is not None else ""
        return (
            f"{report.id}  {bar}{c['examined']}{total} examined, {c['changed']} changed, "
            f"{c['skipped']} skipped, {c['failed']} failed, {c['retried']} retried{eta}"
        )

    def end(self) -> None:
        if self.tty and self.drawn:
            self.out.write("\n")
            self.out.flush()
            self.drawn = False


def _outcome(report: Any, out: TextIO) -> int:
    c = report.counts
    counts = f"{c['examined']} examined, {c['changed']} changed, {c['skipped']} skipped, {c['failed']} failed"
    if report.status == "dry-run":
        print(
            f"{report.id}: dry run: {c['changed']} change(s) would be written ({c['examined']} examined, "
            f"{c['skipped']} skipped); nothing was written",
            file=out,
        )
        for sample in report.samples:
            print(f"  e.g. {sample}", file=out)
        return 0
    if report.status == "done":
        checked = f"; {report.verified} verified" if report.verified else ""
        print(f"{report.id}: done: {counts}{checked} ({report.elapsed:.1f} s)", file=out)
        return 0
    if report.status == "cancelled":
        print(f"{report.id}: cancelled at a batch boundary: {counts}; `one migrate run` resumes it", file=out)
        return EXIT_CANCELLED
    print(f"{report.id}: failed: {report.error}", file=out)
    print(f"  {counts}; fix the cause and `one migrate run` resumes it", file=out)
    return EXIT_FAILED


def run(target: Target, ns: argparse.Namespace) -> int:
    from ontology.data.migrations import progress as progress_items
    from ontology.data.migrations.registry import find, registered
    from ontology.data.migrations.runner import Options, pending
    from ontology.data.migrations.runner import run as run_one

    _header(target)
    shown = Progress(sys.stdout)
    options = Options(batch=ns.batch, max_wcu=ns.max_wcu, dry_run=ns.dry_run, on_progress=shown)
    if ns.all:
        todo = pending(target.store, registered())
        if not todo:
            print("nothing to migrate: every declared migration is done")
            return 0
        print(f"{len(todo)} pending: {', '.join(m.id for m in todo)}")
    else:
        migration = find(ns.id)
        state = progress_items.read(target.store, migration.id)
        if state is not None and state.status == "done":
            print(f"{migration.id}: done already")
            return 0
        todo = [migration]
    code = 0
    for migration in todo:
        print(f"{migration.id}: {migration.description}  [{migration.source.describe()}]")
        sys.stdout.flush()
        try:
            report = run_one(target.store, migration, options)
        finally:
            shown.end()
        code = _outcome(report, sys.stdout)
        if code:
            return code
    return code


# ------------------------------------------------------------------------------------------- cancel


def cancel(target: Target, migration_id: str) -> int:
    from ontology.data.keys import now_ms
    from ontology.data.migrations import progress as progress_items
    from ontology.data.migrations.runner import cancel as request

    _header(target)
    state = request(target.store, migration_id)
    if state.status == "cancelled":
        print(f"{migration_id}: cancelled (no runner was running it)")
        return 0
    print(
        f"{migration_id}: cancel requested; waiting for its runner ({state.owner}) to stop at its "
        "batch boundary"
    )
    sys.stdout.flush()
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = progress_items.read(target.store, migration_id)
        if current is not None and current.status == "running" and not current.leased(now_ms()):
            current = request(target.store, migration_id)  # its runner stopped renewing: gone
        if current is None or current.status != "running":
            final = current.status if current else "gone"
            examined = current.counts["examined"] if current else 0
            print(f"{migration_id}: {final} ({examined} examined)")
            return 0
    print(f"{migration_id}: its runner has not stopped yet; it will at its next batch boundary")
    return 0
