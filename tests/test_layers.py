"""The layer's folders are its architecture: no import circles, and no part importing a higher one;
and the function modules stand on the layer alone, never on each other.

Every ``import`` in the layer counts, at the top of a module or inside a function (a lazy import is
still a dependency); only imports under ``if TYPE_CHECKING:`` do not, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parent.parent / "layers" / "ontology" / "ontology"
FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"

#: Each part and the parts it may import. The cross-cutting modules at the top of the package
#: (errors, settings, aws clients, secrets, the HTTP client) are the floor every part stands on.
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    "data": {"core", "data"},
    "auth": {"core", "data", "auth"},
    "runtime": {"core", "data", "auth", "runtime"},
    "providers": {"core", "data", "providers"},
    "services": {"core", "data", "auth", "runtime", "providers", "services"},
    "sync": {"core", "data", "auth", "runtime", "sync"},
    "snapshot": {"core", "data", "snapshot"},
}
#: Third-party SDKs that only their own provider (or a service through it) may import.
PROVIDER_SDKS = ("stripe", "web3", "eth_account", "openai", "elevenlabs", "vyper")


def _module_name(path: Path) -> str:
    parts = ["ontology", *path.relative_to(LAYER).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(LAYER.rglob("*.py"))}


def _part(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in MAY_IMPORT:
        return parts[1]
    if len(parts) == 2 and parts[1] in MAY_IMPORT:
        return parts[1]  # the sub-package's own __init__
    return "core"


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(the layer's modules this module imports, the top-level names of everything it imports)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    roots: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    roots.add(alias.name.split(".")[0])
                    if alias.name in MODULES:
                        found.add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    target = child.module or ""
                roots.add(target.split(".")[0])
                for alias in child.names:
                    name = f"{target}.{alias.name}"
                    if name in MODULES:
                        found.add(name)
                    elif target in MODULES:
                        found.add(target)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    found.discard(module)
    return found, roots


GRAPH = {module: _imports(module)[0] for module in MODULES}


def test_the_layer_has_its_parts() -> None:
    parts = {_part(m) for m in MODULES}
    assert parts == set(MAY_IMPORT), parts


def test_no_module_of_the_layer_imports_itself_through_a_circle() -> None:
    # Depth-first search for a back edge; the package root re-exports and is left out.
    graph = {m: {d for d in deps if d != "ontology"} for m, deps in GRAPH.items() if m != "ontology"}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def walk(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 1:
                circles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                walk(dep, [*trail, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not circles, "import circles: " + "; ".join(" → ".join(c) for c in circles)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "ontology"))
def test_a_part_imports_only_the_parts_below_it(module: str) -> None:
    part = _part(module)
    wrong = sorted(dep for dep in GRAPH[module] if dep != "ontology" and _part(dep) not in MAY_IMPORT[part])
    assert not wrong, f"{module} ({part}) imports {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) not in ("providers", "services")))
def test_provider_sdks_stay_in_their_providers(module: str) -> None:
    _, roots = _imports(module)
    assert not roots & set(PROVIDER_SDKS), f"{module} imports {sorted(roots & set(PROVIDER_SDKS))}"


def test_the_checker_sees_a_circle_and_a_wrong_floor() -> None:
    # The rules above would catch what they are for: a lazy import counts as an edge...
    deps, _ = _imports("ontology.data.dynamodb")
    assert "ontology.data.models" in deps  # store imports models inside a function
    # ...a typing-only import does not...
    assert "ontology.data.db" not in GRAPH["ontology.data.query"]
    # ...and the floors are as declared.
    assert _part("ontology.errors") == "core" and _part("ontology.auth.app") == "auth"
    assert "runtime" not in MAY_IMPORT["data"] and "services" not in MAY_IMPORT["runtime"]


#: The code root's top-level names: its modules and its packages (in Lambda they are top-level).
CODE_MODULES = {
    p.stem if p.is_file() else p.name
    for p in FUNCTIONS.iterdir()
    if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
}


def _function_imports(source: str) -> list[str]:
    """The imports of a function module that reach another module of ``functions/``."""
    wrong = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if name.startswith(".") or root == "functions" or root in CODE_MODULES:
                wrong.append(f"line {node.lineno}: {name}")
    return wrong


@pytest.mark.parametrize("path", sorted(FUNCTIONS.rglob("*.py")), ids=lambda p: str(p.relative_to(FUNCTIONS)))
def test_no_function_module_imports_another(path: Path) -> None:
    """What two function modules share lives in ``ontology.services``: a function module imports the
    layer, never another module of ``functions/`` (nor a sibling in its own package), so each
    namespace loads alone and mypy, ruff and these rules see every dependency."""
    assert not _function_imports(path.read_text())


def test_the_function_rule_sees_every_way_of_reaching_another_module() -> None:
    assert {"clones", "knowledge", "creators"} <= CODE_MODULES and "__init__" not in CODE_MODULES
    source = (
        "from functions.knowledge import chunk_text\n"
        "import knowledge\n"
        "from . import training\n"
        "def f():\n"
        "    from clones.chat import chat\n"
        "from ontology.services import knowledge as shared\n"
    )
    assert [w.split(": ")[1] for w in _function_imports(source)] == [
        "functions.knowledge",
        "knowledge",
        ".",
        "clones.chat",
    ]
