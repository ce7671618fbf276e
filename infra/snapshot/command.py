"""``one import`` and ``one export`` (docs/import-export.md): their options, progress and report.

Exit codes: 0 done (with refused documents listed in the report, exit 1 instead); 2 bad usage or a
file that is not a snapshot (VALIDATION_ERROR); 3 the organization is not empty (CONFLICT: give
--append or --replace); 5 the stack cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

EXIT_REFUSED, EXIT_USAGE, EXIT_CONFLICT, EXIT_UNREACHABLE = 1, 2, 3, 5


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="a snapshot ZIP (npx convex export), or one table's .jsonl, .json or .csv"
    )
    parser.add_argument("--table", help="the table a single table's file goes to (not with a ZIP)")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=["zip", "jsonl", "json", "csv"],
        help="the file's format (default: its extension)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="add to what the organization holds")
    mode.add_argument(
        "--replace",
        action="store_true",
        help="delete what the imported tables hold first (what memberships wrote stays)",
    )
    _where(parser)
    parser.add_argument(
        "--batch", type=int, default=25, help="documents a transaction writes (1-100; default 25)"
    )
    parser.add_argument("--ids", help="where the mapping old id → new id goes (default: FILE.ids.json)")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", required=True, help="the ZIP to write")
    parser.add_argument("--include-file-storage", action="store_true", help="the organization's files too")
    _where(parser)


def _where(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group(
        "target (default: the running local stack, the dev session's organization)"
    )
    where.add_argument("--org", help="the organization (required with a deployed stack)")
    where.add_argument("--url", help="the local stack's front door (default: its dev session's)")
    where.add_argument("--stack", help="a deployed stack, with the operator's AWS credentials")
    where.add_argument("--config-env", help="a deployed stack by its samconfig.toml environment")
    where.add_argument("--region", help="the deployed stack's region (default: the AWS configuration's)")


def _target(ns: argparse.Namespace) -> Any:
    from infra.snapshot.target import TargetError, deployed_target, local_target

    if ns.stack and ns.config_env:
        raise TargetError("--config-env names the stack: not with --stack", usage=True)
    if ns.stack or ns.config_env:
        if ns.url:
            raise TargetError("--url names the local stack; --stack a deployed one: not both", usage=True)
        return deployed_target(ns.stack, ns.config_env, ns.region, ns.org)
    return local_target(ns.url, ns.org)


class Bar:
    """Progress on stderr: a bar redrawn in place on a terminal, a line a second otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = 0.0
        self.stage = ""
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total and done >= total
        if stage == self.stage and not finished and now - self.last < (0.1 if self.tty else 1.0):
            return
        self.stage, self.last = stage, now
        if total:
            filled = int(20 * done / total)
            bar = "#" * filled + "." * (20 - filled)
            line = f"{stage:<12} [{bar}] {100 * done / total:3.0f}%  {done}/{total}"
        else:
            line = f"{stage:<12} {done}"
        if self.tty:
            self.out.write("\r\x1b[2K" + line + ("\n" if finished else ""))
            self.drawn = not finished
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.tty and self.drawn:
            self.out.write("\n")
            self.drawn = False


def _error(command: str, code: str, message: str, exit_code: int) -> int:
    print(f"one {command}: {code}: {message}", file=sys.stderr)
    return exit_code


def import_main(ns: argparse.Namespace) -> int:
    from infra.snapshot.importer import ImportOptions, SnapshotImportError, run_import
    from infra.snapshot.target import TargetError

    path = Path(ns.file)
    if not path.is_file():
        return _error("import", "VALIDATION_ERROR", f"no file {path}", EXIT_USAGE)
    if not 1 <= ns.batch <= 100:
        return _error("import", "VALIDATION_ERROR", "--batch is from 1 to 100 documents", EXIT_USAGE)
    mode = "append" if ns.append else "replace" if ns.replace else "requireEmpty"
    bar = Bar(sys.stderr)
    try:
        target = _target(ns)
        print(f"importing {path} into organization {target.org}   ({target.where})", file=sys.stderr)
        report = run_import(
            target, path, ImportOptions(mode=mode, table=ns.table, fmt=ns.fmt, batch=ns.batch), bar
        )
    except TargetError as exc:
        if exc.usage:
            return _error("import", "VALIDATION_ERROR", str(exc), EXIT_USAGE)
        return _error("import", "UNREACHABLE", str(exc), EXIT_UNREACHABLE)
    except SnapshotImportError as exc:
        code = EXIT_CONFLICT if exc.code == "CONFLICT" else EXIT_USAGE
        return _error("import", exc.code, exc.message, code)
    finally:
        bar.end()
    ids_path = Path(ns.ids) if ns.ids else path.with_name(path.name + ".ids.json")
    ids_path.write_text(
        json.dumps(
            {"importId": report.import_id, "organizationId": target.org, "ids": report.ids},
            indent=1,
            sort_keys=True,
        )
    )
    out = sys.stdout
    print(f"imported into {target.org} in {report.elapsed:.1f} s (import {report.import_id[:12]})", file=out)
    rows = list(report.counts.items())
    if any(report.files.values()):
        rows.append(("_storage", report.files))
    for name, c in rows:
        print(
            f"  {name:<12} {c['imported']:>6} imported  {c['present']:>6} already there  "
            f"{c['refused']:>4} refused",
            file=out,
        )
    if report.replaced:
        print(f"  replaced: {report.replaced} document(s) deleted first", file=out)
    for name, why in sorted(report.skipped.items()):
        print(f"  skipped {name}: {why}", file=out)
    for r in report.refused:
        print(f"  refused {r['table']} {r['id']}: {r['reason']}", file=out)
    print(f"ids: {ids_path}", file=out)
    return EXIT_REFUSED if report.refused else 0


def export_main(ns: argparse.Namespace) -> int:
    from infra.snapshot.target import TargetError
    from ontology.snapshot.exporter import run_export

    path = Path(ns.path)
    if path.is_dir():
        path = path / f"snapshot_{int(time.time() * 1e9)}.zip"
    if not path.parent.is_dir():
        return _error("export", "VALIDATION_ERROR", f"no folder {path.parent}", EXIT_USAGE)
    bar = Bar(sys.stderr)
    try:
        target = _target(ns)
        print(f"exporting organization {target.org} to {path}   ({target.where})", file=sys.stderr)
        report = run_export(target, path, include_files=ns.include_file_storage, progress=bar)
    except TargetError as exc:
        if exc.usage:
            return _error("export", "VALIDATION_ERROR", str(exc), EXIT_USAGE)
        return _error("export", "UNREACHABLE", str(exc), EXIT_UNREACHABLE)
    finally:
        bar.end()
    ids_path = path.with_name(path.name + ".export-ids.json")
    ids_path.write_text(
        json.dumps({"organizationId": target.org, "ids": report.ids}, indent=1, sort_keys=True)
    )
    out = sys.stdout
    print(f"exported {target.org} in {report.elapsed:.1f} s: {path}", file=out)
    for name, n in sorted(report.counts.items()):
        print(f"  {name:<12} {n:>6} documents", file=out)
    if ns.include_file_storage:
        print(f"  {'_storage':<12} {report.files:>6} files", file=out)
    for r in report.refused:
        print(f"  left out {r['table']} {r['id']}: {r['reason']}", file=out)
    print(f"ids: {ids_path}", file=out)
    return EXIT_REFUSED if report.refused else 0
