"""Compiles the platform's contracts with the pinned Vyper and writes their ABI and bytecode.

``python -m infra.contracts.build`` rewrites ``<Name>.json`` beside each ``<Name>.vy``; ``--check`` fails
when a committed artifact differs from a fresh compile (the test suite runs it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The layer ships the artifacts too (the chain provider deploys and calls the contracts in Lambda).
LAYER_COPY = HERE.parent.parent / "layers" / "ontology" / "ontology" / "providers"


def compile_contract(source_path: Path) -> dict[str, Any]:
    import vyper
    from vyper import compile_code

    source = source_path.read_text()
    formats = ["abi", "bytecode", "bytecode_runtime"]
    out = compile_code(source, contract_path=source_path.name, output_formats=formats)
    return {
        "contractName": source_path.stem,
        "compiler": f"vyper {vyper.__version__}",
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(HERE.glob("*.vy")):
        text = render(compile_contract(source))
        for target in (source.with_suffix(".json"), LAYER_COPY / f"{source.stem}.json"):
            if args.check:
                if not target.exists() or target.read_text() != text:
                    stale.append(str(target.relative_to(HERE.parent.parent)))
            else:
                target.write_text(text)
                print(f"wrote {target.relative_to(HERE.parent.parent)}")
    if stale:
        print("contract artifacts are out of date: run `make contracts`:", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
