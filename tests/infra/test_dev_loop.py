"""The dev loop (`make dev`: ``--watch``): in a copy of the repository, a saved function answers
through the front door without a restart, with the data written before still there; a file that does
not load (a syntax error, an import error) leaves the previous code answering and its error in the
stack's output; a new function file is routed and callable through Convex's HTTP API and socket, and
the generated ``api.d.ts`` gains it; a removed one answers 404 and NOT_FOUND; a layer module is
reloaded with the functions that import it, and one holding the stack's state waits for the next
start. One stack, started once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.infra.localstack import Stack, until

#: A new domain, added while the stack runs; its greeting comes from a layer module.
GREETINGS = '''"""Greetings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictStr

from ontology.runtime.context import QueryCtx
from ontology.runtime.functions import query
from ontology.runtime.registry import Args
from ontology.services.greeting import greet


class HelloArgs(Args):
    name: Annotated[StrictStr, Field(max_length=40)]


@query(args=HelloArgs, returns=str, auth="public")
def hello(ctx: QueryCtx, args: HelloArgs) -> str:
    """A greeting."""
    return greet(args.name)
'''
GREETING = '''"""What a greeting says."""

WORD = "Hello"


def greet(name: str) -> str:
    return f"{WORD}, {name}"
'''
#: How creators:get counts a creator's content, in functions/creators.py.
COUNTED = '"contentCount": count}'


def _copy(into: Path) -> Path:
    """What the stack runs, copied (the real repository stays as it is): the code root, the layer,
    the infrastructure, the template and its cached translation, the generated files."""
    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for tree in ("functions", "infra", "docs", "events", "convex", "layers/ontology/ontology"):
        shutil.copytree(ROOT / tree, into / tree, ignore=ignore)
    shutil.copy(ROOT / "template.yaml", into / "template.yaml")
    if (ROOT / ".one" / "cache").is_dir():
        shutil.copytree(ROOT / ".one" / "cache", into / ".one" / "cache")
    (into / "layers" / "ontology" / "ontology" / "services" / "greeting.py").write_text(GREETING)
    return into


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("repository"))


@pytest.fixture(scope="module")
def stack(copy: Path) -> Iterator[Stack]:
    # bytecode written, as on a developer's machine (a stale .pyc must not answer)
    env = {"PYTHONPATH": f"{copy}:{copy / 'layers' / 'ontology'}", "PYTHONDONTWRITEBYTECODE": ""}
    args = ["--watch", "--codegen", str(copy / "convex" / "_generated")]
    s = Stack(copy / ".one" / "state", env=env, args=args, cwd=copy, demo=False)
    s.start()
    try:
        yield s
    finally:
        s.kill()


def _post(stack: Stack, path: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{stack.url}{path}", json=body, headers=headers, timeout=30)


def _convex(stack: Stack, path: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {"path": path, "args": args, "format": "json"}
    return dict(httpx.post(f"{stack.url}/api/query", json=body, timeout=30).json())


def _over_the_socket(stack: Stack, path: str, args: dict[str, Any]) -> dict[str, Any]:
    """A subscription's first answer through Convex's Python client (the sync protocol's socket)."""
    config = {"url": stack.url, "calls": [{"kind": "subscribe", "name": path, "args": args}]}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.infra.convex_python", json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def _save(path: Path, text: str) -> None:
    """Write a file as an editor saves it, a moment after the previous save (the watcher compares
    modification times)."""
    time.sleep(0.05)
    path.write_text(text)


def _printed(stack: Stack, text: str) -> str | None:
    return next((line for line in list(stack.after) if text in line), None)


def test_saved_code_answers_in_the_running_stack(stack: Stack, copy: Path) -> None:
    token = stack.token()
    created = _post(
        stack, "/api/creators/create", {"email": "ada@example.com", "name": "Ada", "niche": ["math"]}, token
    )
    creator = created.json()["value"]["creatorId"]

    def count() -> Any:
        answer = _post(stack, "/api/creators/get", {"id": creator}, token).json()
        return (answer.get("value") or {}).get("contentCount")

    assert count() == 0
    source = copy / "functions" / "creators.py"
    original = source.read_text()
    assert COUNTED in original
    pid = stack.proc.pid if stack.proc else None

    _save(source, original.replace(COUNTED, '"contentCount": count + 1000}'))
    assert until(lambda: count() == 1000, 30), stack.after[-20:]
    assert until(lambda: _printed(stack, "reload: functions/creators.py in "), 10)
    # the same process, the creator written before the reload still there
    assert stack.proc is not None and stack.proc.pid == pid and stack.proc.poll() is None

    _save(source, original.replace(COUNTED, '"contentCount": count + 1000}') + "\ndef broken(:\n")
    error = until(lambda: _printed(stack, "SyntaxError"), 30)
    assert error and "functions/creators.py:" in error and "the previous code goes on answering" in error
    assert count() == 1000

    _save(
        source,
        original.replace(COUNTED, '"contentCount": count + 1000}') + "\nfrom ontology.nowhere import x\n",
    )
    error = until(lambda: _printed(stack, "No module named 'ontology.nowhere'"), 30)
    assert error and "the previous code goes on answering" in error
    assert count() == 1000

    _save(source, original.replace(COUNTED, '"contentCount": count + 2000}'))
    assert until(lambda: count() == 2000, 30), stack.after[-20:]

    # saved again within the same second, the same size: Python would trust the .pyc of 2000
    saved = source.stat().st_mtime_ns
    _save(source, original.replace(COUNTED, '"contentCount": count + 3000}'))
    os.utime(source, ns=(saved + 1, saved + 1))
    assert until(lambda: count() == 3000, 30), stack.after[-20:]


def test_a_new_function_file_is_served_and_typed_and_a_removed_one_is_gone(stack: Stack, copy: Path) -> None:
    generated = copy / "convex" / "_generated" / "api.d.ts"
    assert "greetings" not in generated.read_text()
    assert _post(stack, "/api/greetings/hello", {"name": "Ada"}).status_code == 404

    module = copy / "functions" / "greetings.py"
    _save(module, GREETINGS)
    found = until(lambda: _post(stack, "/api/greetings/hello", {"name": "Ada"}).status_code == 200, 30)
    assert found, stack.after[-20:]
    assert _post(stack, "/api/greetings/hello", {"name": "Ada"}).json() == {
        "status": "success",
        "value": "Hello, Ada",
    }
    # Convex's HTTP API and the sync worker invoke it by its Lambda, with policies that now name it
    assert _convex(stack, "greetings:hello", {"name": "Ada"})["value"] == "Hello, Ada"
    assert _over_the_socket(stack, "greetings:hello", {"name": "Ada"}) == {"value": "Hello, Ada"}
    assert _printed(stack, "+greetings:hello")
    assert until(lambda: "greetings" in generated.read_text(), 30), stack.after[-20:]
    assert "hello: FunctionReference<" in generated.read_text()

    # a layer module: reloaded, with the function that imports it
    layer = copy / "layers" / "ontology" / "ontology"
    _save(layer / "services" / "greeting.py", GREETING.replace('"Hello"', '"Bonjour"'))
    assert until(
        lambda: _convex(stack, "greetings:hello", {"name": "Ada"}).get("value") == "Bonjour, Ada", 30
    )
    # one that holds the running stack's state: its change waits for the next start, and says so
    settings = layer / "settings.py"
    _save(settings, settings.read_text() + "\n# edited\n")
    deferred = until(lambda: _printed(stack, "ontology.settings: at the next start"), 30)
    assert deferred and "holds the running stack's state" in deferred
    assert _convex(stack, "greetings:hello", {"name": "Ada"})["value"] == "Bonjour, Ada"

    module.unlink()
    assert until(lambda: _post(stack, "/api/greetings/hello", {"name": "Ada"}).status_code == 404, 30)
    gone = _convex(stack, "greetings:hello", {"name": "Ada"})
    assert gone["status"] == "error" and gone["errorData"]["code"] == "NOT_FOUND"
    assert until(lambda: "greetings" not in generated.read_text(), 30)
    # the repository itself never heard of it
    assert not (ROOT / "functions" / "greetings.py").exists()
