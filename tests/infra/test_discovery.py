"""The catalogue is what the code root holds: in the Lambda layout (the function's code at the top
level, no ``functions`` package) a path resolves by importing its own namespace only, and the whole
catalogue is the one the repository has."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

from ontology.runtime.registry import load_all

ROOT = Path(__file__).resolve().parents[2]


def _build(logical_id: str, into: Path) -> None:
    """The target ``sam build`` runs for one function (functions/Makefile), into a folder."""
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            "functions",
            f"build-{logical_id}",
            f"ARTIFACTS_DIR={into}",
            f"PYTHON={sys.executable}",
        ],
        cwd=ROOT,
        check=True,
    )


def test_in_the_lambda_layout_a_path_loads_its_namespace_and_the_catalogue_is_whole(tmp_path: Path) -> None:
    _build("ClonesChatFunction", tmp_path)
    # The built function and the layer's sources and packages only: no site, so no editable install
    # of this repository (which would make `functions` a package).
    path = f"{tmp_path}:{ROOT / 'layers' / 'ontology'}:{sysconfig.get_paths()['purelib']}"
    probe = (
        "import importlib, importlib.util, json, sys\n"
        "from ontology.runtime.registry import load_all, resolve\n"
        "assert importlib.util.find_spec('functions') is None\n"
        "fn = resolve('clones:chat')\n"
        "code = {p.split('.')[0] for p in sys.argv[1:]}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in code)\n"
        "module, attr = fn.spec.handler.rsplit('.', 1)  # as Lambda's runtime reads a handler\n"
        "assert getattr(importlib.import_module(module), attr) is fn\n"
        "print(json.dumps({'loaded': loaded, 'catalogue': sorted(load_all())}))\n"
    )
    code = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists())
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, *code],
        cwd=tmp_path,
        env={
            "PYTHONPATH": path,
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
            "ONE_LOCAL": "1",
            "LAMBDA_TASK_ROOT": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout)
    clones = ROOT / "functions" / "clones"
    namespace = ["clones"] + (
        sorted(f"clones.{p.stem}" for p in clones.glob("*.py") if p.stem != "__init__")
        if clones.is_dir()
        else []
    )
    assert found["loaded"] == namespace
    assert found["catalogue"] == sorted(load_all())
