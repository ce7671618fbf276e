"""The registry finds the functions by walking the code root: no list of modules, a namespace per
module or declaring package, and a path resolved by importing its own namespace only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from ontology.errors import NotFoundError
from ontology.runtime.registry import load_all, namespace_of, resolve, source_of

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
DECORATORS = {"query", "mutation", "action"}


def _registers(path: Path) -> bool:
    """Whether a file decorates a function with @query, @mutation or @action."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Name) and call.id in DECORATORS:
                    return True
    return False


def test_every_namespace_of_the_code_root_is_in_the_catalogue() -> None:
    expected = {
        path.relative_to(FUNCTIONS).parts[0].removesuffix(".py")
        for path in FUNCTIONS.rglob("*.py")
        if "__pycache__" not in path.parts and _registers(path)
    }
    assert expected and {fn.spec.module for fn in load_all().values()} == expected


def test_the_catalogue_is_sorted_by_path() -> None:
    paths = list(load_all())
    assert paths == sorted(paths)


def test_a_function_knows_its_module_from_the_code_root() -> None:
    fn = resolve("creators:get")
    assert fn.spec.source == "creators" and fn.spec.handler == "creators.get"
    assert source_of("functions.clones.training") == source_of("clones.training") == "clones.training"


def test_a_namespace_is_the_module_or_what_its_package_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("functions.shop")
    package.NAMESPACE = "shop"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "functions.shop", package)
    monkeypatch.setitem(sys.modules, "functions.shop.orders", types.ModuleType("functions.shop.orders"))
    assert namespace_of("functions.shop.orders") == "shop"
    assert namespace_of("functions.creators") == "creators"
    assert namespace_of("creators") == "creators"  # the Lambda layout


def test_resolving_a_path_imports_its_namespace_only() -> None:
    probe = (
        "import sys\n"
        "from ontology.runtime.registry import resolve\n"
        "resolve('tags:add')\n"
        "print(sorted(m for m in sys.modules if m == 'functions' or m.startswith('functions.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['functions', 'functions.tags']"


@pytest.mark.parametrize("path", ["json:loads", "os:system", "ontology:x", "__init__:x", "tags.x:add"])
def test_a_path_outside_the_code_root_imports_nothing(path: str) -> None:
    before = set(sys.modules)
    with pytest.raises(NotFoundError):
        resolve(path)
    assert {m for m in set(sys.modules) - before if m.startswith("functions")} == set()


def test_every_function_has_an_example_its_arguments_accept() -> None:
    for path, fn in load_all().items():
        example = fn.spec.example
        assert example is not None, f"{path}: its argument model declares no example"
        fn.spec.args.model_validate(json.loads(json.dumps(example)))  # as it arrives, in JSON


def test_the_openapi_document_shows_each_function_its_example() -> None:
    from ontology.runtime.openapi import build_document

    document = build_document()
    shown = 0
    for fn in load_all().values():
        spec = fn.spec
        if spec.internal or spec.route is None or spec.method != "POST":
            continue
        body = document["paths"][spec.route]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["examples"] == [spec.example], spec.path
        shown += 1
    assert shown > 50
