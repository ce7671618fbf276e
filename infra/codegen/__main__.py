"""``python -m infra.codegen`` (``one codegen``): write, check or watch Convex's ``_generated``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from infra.codegen import DEFAULT_OUT

__all__ = ["main", "stale", "write"]

#: The function spec's ``url``, as ``npx convex function-spec`` gives the deployment's.
DEFAULT_URL = "http://127.0.0.1:3210"


def write(out: Path) -> list[str]:
    """Write the generated files into ``out``; the names of those that changed (a file whose
    content is already right is left alone, so a frontend's dev server does not reload for it)."""
    from infra.codegen import render

    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in render().items():
        path = out / name
        if path.exists() and path.read_text() == text:
            continue
        partial = path.with_name(f".{name}.{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(path)
        changed.append(name)
    return changed


def stale(out: Path) -> list[str]:
    """The generated files in ``out`` that are missing or not what the functions give."""
    from infra.codegen import render

    return [
        name
        for name, text in render().items()
        if not (out / name).exists() or (out / name).read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="one codegen",
        description="Convex's _generated (api.js, api.d.ts, dataModel.d.ts) from the platform's functions.",
    )
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help=f"default: {DEFAULT_OUT}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="exit 1 when the files in --out are not current (CI)"
    )
    mode.add_argument(
        "--spec", action="store_true", help="print the function spec (npx convex function-spec's JSON)"
    )
    mode.add_argument(
        "--watch", action="store_true", help="regenerate whenever a function or model file changes"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the spec's deployment URL ({DEFAULT_URL})")
    args = parser.parse_args(argv)
    if args.spec:
        from infra.codegen import function_spec

        print(json.dumps(function_spec(args.url), indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    if args.watch:
        from infra.codegen.watch import watch

        watch(args.out)
        return 0
    if args.check:
        outdated = stale(args.out)
        if outdated:
            print(
                f"{args.out}: {', '.join(outdated)} not current for the functions: run `one codegen"
                f"{'' if str(args.out) == DEFAULT_OUT else f' --out {args.out}'}` and commit",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out}: current")
        return 0
    changed = write(args.out)
    print(f"{args.out}: {'wrote ' + ', '.join(changed) if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
