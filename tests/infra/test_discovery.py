"""The catalogue is what the code root holds. A new file under functions/ is a new namespace in the
template, the OpenAPI document, the docs, the sample events and the CLI, with nothing else named
anywhere (shown in a copy of the repository, so the real one stays as it is); a package is one
namespace when it declares it. In the Lambda layout (the function's code at the top level, no
``functions`` package) a path resolves by importing its own namespace only, and the whole catalogue
is the one the repository has."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

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


#: A new domain: one file, nothing else named anywhere.
REVIEWS = '''"""Reviews of a course: its stars and its words."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.runtime.context import MutationCtx
from ontology.runtime.examples import ENTITY_ID
from ontology.runtime.functions import mutation
from ontology.runtime.registry import Args


class CreateArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"courseId": ENTITY_ID, "stars": 5, "text": "Clear and kind."}]}
    )

    courseId: EntityId
    stars: Annotated[int, Field(ge=1, le=5)]
    text: Annotated[StrictStr, Field(max_length=2000)] = ""


@mutation(args=CreateArgs)
def create(ctx: MutationCtx, args: CreateArgs) -> dict[str, Any]:
    """Review a course: its stars and its words."""
    return {"reviewId": ctx.db.insert("entities", {"type": "review", "name": args.text[:80]})}
'''

#: A domain of several files: a package that declares its namespace.
SHOP = {
    "__init__.py": '"""The shop."""\n\nNAMESPACE = "shop"\n',
    "orders.py": (
        "from ontology.runtime.context import QueryCtx\n"
        "from ontology.runtime.functions import query\n\n\n"
        "@query()\n"
        "def list_orders(ctx: QueryCtx, args: object) -> list[object]:\n"
        '    """The orders."""\n'
        "    return []\n"
    ),
}
EXAMPLE = {"courseId": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "stars": 5, "text": "Clear and kind."}


def _copy(into: Path) -> Path:
    """The trees the generators read and write, copied: the real repository stays as it is."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for tree in ("functions", "infra", "docs", "events"):
        shutil.copytree(ROOT / tree, into / tree, ignore=ignore)
    shutil.copy(ROOT / "template.yaml", into / "template.yaml")
    return into


def _run(copy: Path, *argv: str) -> str:
    """A command in the copy, with the copy (and the real layer) on the path."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{copy}:{ROOT / 'layers' / 'ontology'}",
        "ONE_LOCAL": "1",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    out = subprocess.run(
        [sys.executable, *argv], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
def test_a_new_function_file_reaches_the_template_openapi_docs_events_and_cli(tmp_path: Path) -> None:
    import yaml

    copy = _copy(tmp_path)
    (copy / "functions" / "reviews.py").write_text(REVIEWS)
    (copy / "functions" / "shop").mkdir()
    for name, text in SHOP.items():
        (copy / "functions" / "shop" / name).write_text(text)

    _run(copy, "-m", "infra.template")
    template = yaml.load((copy / "template.yaml").read_text(), Loader=yaml.BaseLoader)
    reviews = template["Resources"]["ReviewsCreateFunction"]["Properties"]
    assert reviews["Handler"] == "reviews.create"
    assert reviews["Events"]["Api"]["Properties"]["Path"] == "/api/reviews/create"
    assert (
        template["Resources"]["ShopListOrdersFunction"]["Properties"]["Handler"] == "shop.orders.list_orders"
    )

    openapi = "import json\nfrom ontology.runtime.openapi import build_document as b\nprint(json.dumps(b()))"
    document = json.loads(_run(copy, "-c", openapi))
    body = document["paths"]["/api/reviews/create"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["examples"] == [EXAMPLE] and "/api/shop/list_orders" in document["paths"]

    _run(copy, "-m", "infra.docs")
    catalogue = (copy / "docs" / "functions.md").read_text()
    assert (
        "| `reviews:create` | mutation | `POST /api/reviews/create` | member | Review a course" in catalogue
    )
    assert "| `shop:list_orders` | query |" in catalogue

    _run(copy, "-m", "infra.events")
    event = json.loads((copy / "events" / "reviews" / "create.json").read_text())
    assert json.loads(event["body"]) == EXAMPLE

    listed = {row["path"]: row for row in json.loads(_run(copy, "-m", "infra.cli", "functions", "--json"))}
    assert listed["reviews:create"]["example"] == EXAMPLE and "shop:list_orders" in listed
    assert "reviews:create" in _run(copy, "-m", "infra.cli", "functions")

    # The repository itself never heard of them.
    assert not (ROOT / "functions" / "reviews.py").exists()
    assert "reviews:create" not in load_all() and "Reviews" not in (ROOT / "template.yaml").read_text()


def test_a_package_that_declares_no_namespace_fails_the_catalogue(tmp_path: Path) -> None:
    copy = tmp_path
    (copy / "functions" / "shop").mkdir(parents=True)
    (copy / "functions" / "__init__.py").write_text("")
    (copy / "functions" / "shop" / "__init__.py").write_text('"""The shop, with no NAMESPACE."""\n')
    (copy / "functions" / "shop" / "orders.py").write_text(SHOP["orders.py"])
    probe = "from ontology.runtime.registry import load_all; load_all()"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{copy}:{ROOT / 'layers' / 'ontology'}", "ONE_LOCAL": "1"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0
    assert "orders:list_orders is defined in shop.orders" in out.stderr
    assert "NAMESPACE = 'shop'" in out.stderr
