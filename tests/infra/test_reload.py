"""The dev loop's reload (:mod:`infra.local.reload`) on its own, in a copy of the code root and the
layer, in a fresh interpreter (the suite's own modules stay as they are): a function moved to
another file keeps answering, two files declaring one function and a layer module removed while
imported are errors that leave the previous code in place, a saved crons file declares its crons
again, and a change to a module holding the process's state waits for the next start while a
service is reloaded with what imports it. The stack test (tests/infra/test_dev_loop.py) does the
rest through the front door."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = r"""
import json, sys
from pathlib import Path
from ontology.runtime.registry import REGISTRY, load_all, resolve
from ontology.runtime.crons import REGISTERED
from infra.local.reload import ReloadError, reload

load_all()
out = {}
functions, layer = Path("functions"), Path("layers/ontology/ontology")

def attempt(paths):
    try:
        return {"ok": reload(paths).__dict__ | {"checked": None}}
    except ReloadError as exc:
        return {"error": str(exc)}

# clones:probe moves from one file of the clones package to another (the same path, another module)
def probe(name):
    return (
        "from ontology.runtime.context import QueryCtx\n"
        "from ontology.runtime.functions import query\n"
        "from ontology.runtime.registry import NoArgs\n\n\n"
        f"@query(args=NoArgs, internal=True, name='probe')\n"
        f"def {name}(ctx: QueryCtx, args: NoArgs) -> str:\n"
        f"    return '{name}'\n"
    )

clones = functions / "clones"
(clones / "one.py").write_text(probe("first"))
out["added"] = attempt([clones / "one.py"])
(clones / "one.py").unlink()
(clones / "two.py").write_text(probe("moved"))
out["moved"] = attempt([clones / "one.py", clones / "two.py"])
out["moved_source"] = resolve("clones:probe").spec.source

# another file declares it too: an error, the previous code stays
before = resolve("clones:probe")
(clones / "three.py").write_text(probe("again"))
out["twice"] = attempt([clones / "three.py"])
out["twice_kept"] = resolve("clones:probe") is before and "functions.clones.three" not in sys.modules
(clones / "three.py").unlink()
attempt([clones / "three.py"])

# a layer module removed while a function imports it
examples = layer / "runtime" / "examples.py"
text = examples.read_text()
examples.unlink()
out["removed"] = attempt([examples])
out["removed_kept"] = "ontology.runtime.examples" in sys.modules and len(REGISTRY) > 0
examples.write_text(text)
attempt([examples])

# the crons file saved: its crons declared again, not twice
jobs = len(REGISTERED.jobs)
crons = functions / "crons.py"
crons.write_text(crons.read_text() + "\n")
out["crons"] = attempt([crons])
out["crons_jobs"] = (jobs, len(REGISTERED.jobs))

# state: deferred; a service: reloaded with what imports it
settings = layer / "settings.py"
settings.write_text(settings.read_text() + "\n")
out["settings"] = attempt([settings])
ops = layer / "services" / "ontology_ops.py"
ops.write_text(ops.read_text() + "\n")
out["service"] = attempt([ops])
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("repository")
    ignore = shutil.ignore_patterns("__pycache__")
    for tree in ("functions", "infra", "layers/ontology/ontology"):
        shutil.copytree(ROOT / tree, copy / tree, ignore=ignore)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{copy}:{copy / 'layers' / 'ontology'}",
        "ONE_LOCAL": "1",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout.splitlines()[-1]))


def test_a_function_moved_to_another_file_keeps_its_path(probed: dict) -> None:
    assert "ok" in probed["added"], probed["added"]
    assert "ok" in probed["moved"], probed["moved"]
    assert probed["moved_source"] == "clones.two"


def test_two_files_declaring_one_function_is_an_error_and_the_previous_code_stays(probed: dict) -> None:
    assert probed["twice"]["error"].startswith("functions/clones/three.py:")
    assert "registered twice" in probed["twice"]["error"]
    assert probed["twice_kept"] is True


def test_a_removed_layer_module_still_imported_is_an_error(probed: dict) -> None:
    assert "No module named 'ontology.runtime.examples'" in probed["removed"]["error"]
    assert probed["removed_kept"] is True


def test_a_saved_crons_file_declares_its_crons_again(probed: dict) -> None:
    assert "ok" in probed["crons"], probed["crons"]
    jobs_before, jobs_after = probed["crons_jobs"]
    assert jobs_before == jobs_after > 0


def test_state_waits_for_the_next_start_and_a_service_reloads_with_its_importers(probed: dict) -> None:
    deferred = probed["settings"]["ok"]["deferred"]
    assert "holds the running stack's state" in deferred["ontology.settings"]
    assert probed["settings"]["ok"]["layer"] == []
    layer = probed["service"]["ok"]["layer"]
    assert layer[0] == "ontology.services.ontology_ops" and len(layer) > 1
    assert probed["service"]["ok"]["deferred"] == {}
