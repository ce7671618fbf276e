"""What `sam build` produces: a query Lambda's cold import from the built artifact (the layer and the
function, bytecode and all) against the same from the dev virtualenv, with the same interpreter.

Both run with ``-S`` and an explicit path (Lambda runs no ``site``): with ``site``, the dev run would
have ``urllib.parse``, ``enum``, ``pathlib`` and others imported before the measured import (by the
editable install's finder), and the built one would pay for them: a 10% gap that is not the artifact's.

The build is the one `sam build` runs (layers/ontology/Makefile, functions/Makefile), with the host's
wheels instead of arm64's so that this machine can import them; the bytecode is the same either way.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.functions import FUNCTION_ENV, ROOT, importtime_us
from bench.harness import result

HOST_PLATFORM = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}.get(
    platform.machine(), "manylinux2014_x86_64"
)


def _built_import(function_dir: Path, layer_dir: Path, module: str) -> int:
    """µs of ``import <module>`` as Lambda does it: the function's folder and the layer on the path,
    nothing else (no site-packages)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env |= FUNCTION_ENV | {"PYTHONPATH": f"{function_dir}:{layer_dir}"}
    return importtime_us([sys.executable, "-S"], env, function_dir, module)


def _dev_import(module: str) -> int:
    """µs of ``import <module>`` from the dev tree and the virtualenv's packages, also without ``site``."""
    import sysconfig

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    path = f"{ROOT}:{ROOT / 'layers' / 'ontology'}:{sysconfig.get_paths()['purelib']}"
    return importtime_us([sys.executable, "-S"], env | FUNCTION_ENV | {"PYTHONPATH": path}, ROOT, module)


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        layer, function = Path(tmp) / "layer", Path(tmp) / "function"
        function.mkdir()
        subprocess.run(
            [
                "make",
                "-s",
                "-C",
                "layers/ontology",
                "build-OntologyLayer",
                f"ARTIFACTS_DIR={layer}",
                f"PLATFORM={HOST_PLATFORM}",
                f"PYTHON={sys.executable}",
            ],
            check=True,
            cwd=ROOT,
        )
        subprocess.run(
            [
                "make",
                "-s",
                "-C",
                "functions",
                "build-CreatorsGetFunction",
                f"ARTIFACTS_DIR={function}",
                f"PYTHON={sys.executable}",
            ],
            check=True,
            cwd=ROOT,
        )
        sources = sum(1 for _ in (layer / "python").rglob("*.py"))
        compiled = sum(1 for _ in (layer / "python").rglob("__pycache__/*.cpython-311.pyc"))
        built, dev = [], []
        for _ in range(7):
            built.append(_built_import(function, layer / "python", "creators"))
            dev.append(_dev_import("functions.creators"))
        ratio = min(built) / min(dev)
    return [
        result(
            "sam build layer: modules with bytecode / modules",
            compiled / sources,
            "== 1.0",
            compiled == sources,
        ),
        result(
            "cold import of a query Lambda: sam build output vs dev virtualenv", ratio, "<= 1.1", ratio <= 1.1
        ),
    ]
