"""``one codegen``: Convex's ``_generated`` from the platform's functions, through the command line
(``python -m infra.cli codegen``, what ``one codegen`` runs), and the rules its types follow."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field, StrictInt, StrictStr

from infra.codegen.typescript import TypeScript
from infra.codegen.validators import Validators
from ontology.data.fields import Count, EntityId, JsonObject, OrganizationId
from ontology.runtime.registry import Args, load_all
from ontology.runtime.results import Page, PaginationOpts, entity_out
from tests.conftest import ROOT
from tests.infra.test_discovery import REVIEWS, _copy

FILES = ("api.js", "api.d.ts", "dataModel.d.ts")


def one(*argv: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def test_one_codegen_writes_the_files_of_npx_convex_codegen_the_same_every_time(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    made = one("codegen", "--out", str(first), env={"PYTHONHASHSEED": "1"})
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"{first}: wrote {', '.join(FILES)}"
    assert one("codegen", "--out", str(second), env={"PYTHONHASHSEED": "2"}).returncode == 0
    for name in FILES:
        text = (first / name).read_text()
        assert text == (second / name).read_text(), f"{name} differs between two runs"
        # Convex's header: generated, not to be edited, and how to regenerate it; no timestamp
        assert text.startswith("/* eslint-disable */\n/**\n")
        assert "THIS CODE IS AUTOMATICALLY GENERATED" in text and "do not\n * edit it" in text
        assert "run `one codegen`" in text and not re.search(r"20\d\d-\d\d-\d\d", text)
    api = (first / "api.js").read_text()
    assert 'import { anyApi } from "convex/server";' in api
    assert "export const api = anyApi;" in api and "export const internal = anyApi;" in api

    # --check: what CI runs over committed files; a file not current is named
    current = one("codegen", "--check", "--out", str(first))
    assert (current.returncode, current.stdout.strip()) == (0, f"{first}: current")
    (first / "api.d.ts").write_text((first / "api.d.ts").read_text().replace("getBalance", "getBalanceX"))
    (first / "dataModel.d.ts").unlink()
    stale_run = one("codegen", "--check", "--out", str(first))
    assert stale_run.returncode == 1
    assert f"{first}: api.d.ts, dataModel.d.ts not current" in stale_run.stderr
    assert f"run `one codegen --out {first}`" in stale_run.stderr
    # writing again rewrites those two only
    again = one("codegen", "--out", str(first))
    assert again.stdout.strip() == f"{first}: wrote api.d.ts, dataModel.d.ts"


def test_the_committed_generated_files_are_current() -> None:
    # convex/_generated (the default --out, from the repository's root): what the browser test's page
    # imports and frontends copy
    check = one("codegen", "--check")
    assert (check.returncode, check.stdout.strip()) == (0, "convex/_generated: current"), check.stderr


def _namespace(text: str, tree: str, module: str) -> str:
    """One namespace's block of ``PublicApiType`` or ``InternalApiType`` in api.d.ts ('' if none)."""
    start = text.index(f"export type {tree} = {{")
    block = text[start : text.index("\n};\n", start)]
    return (
        block.split(f"\n  {module}: {{\n", 1)[1].split("\n  };", 1)[0] if f"\n  {module}: {{" in block else ""
    )


def test_api_names_every_public_function_by_both_names_and_internal_ones_only_in_internal() -> None:
    text = (ROOT / "convex" / "_generated" / "api.d.ts").read_text()
    for path, fn in load_all().items():
        module, name = path.split(":")
        public, internal = (_namespace(text, t, module) for t in ("PublicApiType", "InternalApiType"))
        if fn.spec.route == "$default" or fn.spec.request or fn.spec.system:  # the catch-all route,
            # a webhook: no client's; a system function: the platform's own tools'
            assert f"\n    {name}: " not in public + internal, path
            assert not fn.spec.system or module not in text, path
            continue
        mine, other = (internal, public) if fn.spec.internal else (public, internal)
        visibility = "internal" if fn.spec.internal else "public"
        reference = rf'\n    {name}: FunctionReference<\s*"{fn.spec.kind}",\s*"{visibility}",'
        assert re.search(reference, "\n" + mine), path
        assert f"\n    {name}: " not in "\n" + other, path
    tokens = _namespace(text, "PublicApiType", "tokens")
    assert '\n    getBalance: PublicApiType["tokens"]["get_balance"];' in tokens
    assert '\n    getUserTokenHoldings: PublicApiType["tokens"]["get_user_holdings"];' in tokens
    assert "\n    start_purchase: " not in tokens and "\n    startPurchase: " not in tokens
    assert "\n    start_purchase: FunctionReference<" in _namespace(text, "InternalApiType", "tokens")


@pytest.fixture(scope="module")
def ts() -> Iterator[Any]:
    validators, writer = Validators(), TypeScript()

    def typed(model: Any, returns: bool = False) -> str:
        v = validators.returns(model) if returns else validators.args(model)
        return writer.type(v)

    yield typed


class Example(Args):
    id: EntityId
    org: OrganizationId | None = None
    kind: Literal["a", "b"] = "a"
    small: Annotated[StrictInt, Field(ge=1, le=100)]
    big: StrictInt
    count: Count = 0
    maybe: Annotated[StrictStr, Field(max_length=10)] | None
    free: JsonObject
    tags: list[StrictStr] = Field(default_factory=list)
    page: PaginationOpts


def test_arguments_are_typed_as_the_wire_carries_them(ts: Any) -> None:
    assert ts(Example) == (
        "{\n"
        '  id: Id<"entities">;\n'  # an id of its table
        '  org?: Id<"organizations"> | null;\n'  # may be left out, or null
        '  kind?: "a" | "b";\n'  # may be left out, never null
        "  small: number;\n"  # an integer a JSON number holds
        "  big: number | bigint;\n"  # past 2**53 the wire carries an Int64: a bigint
        "  count?: number;\n"
        "  maybe: string | null;\n"  # required, and nullable
        "  free: Record<string, any>;\n"
        "  tags?: Array<string>;\n"
        "  page: PaginationOptions;\n"  # Convex's own, for usePaginatedQuery
        "}"
    )
    assert ts(Args) == "Record<string, never>"  # no arguments: callable without any


def test_results_are_typed_from_their_models_and_documents_from_the_schema(ts: Any) -> None:
    assert ts(entity_out("token") | None, returns=True) == 'Entity<"token"> | null'
    assert ts(Page[entity_out("message")], returns=True) == 'PaginationResult<Entity<"message">>'  # type: ignore[misc]
    assert ts(None, returns=True) == "any"
    spec = {path: fn.spec for path, fn in load_all().items()}
    assert ts(spec["creators:get"].returns, returns=True) == (
        '(Entity<"creator"> & {\n  contentCount?: number | null;\n}) | null'
    )
    assert ts(spec["entities:get"].returns, returns=True) == 'Doc<"entities"> | null'
    validators = Validators()
    token = TypeScript().type(validators.entity_properties["token"])
    assert "\n  priceUsd: number;\n" in token and '\n  blockchain: "sui" | "base" | "solana";\n' in token
    assert "\n  deployTx?: {\n" in token  # only the organization's staff read it
    creator = TypeScript().type(validators.entity_properties["creator"])
    assert "\n  email?: string;\n" in creator and "\n  username: string;\n" in creator


def test_the_spec_is_convex_function_spec_json() -> None:
    out = one("codegen", "--spec", "--url", "https://one.example.com")
    assert out.returncode == 0, out.stderr
    spec = json.loads(out.stdout)
    assert spec["url"] == "https://one.example.com"
    by_id = {f.get("identifier", f.get("path")): f for f in spec["functions"]}
    assert by_id["tokens.js:get_balance"] == {
        "args": {
            "type": "object",
            "value": {"tokenId": {"fieldType": {"tableName": "entities", "type": "id"}, "optional": False}},
        },
        "functionType": "Query",
        "identifier": "tokens.js:get_balance",
        "returns": {
            "type": "object",
            "value": {
                "tokenId": {"fieldType": {"tableName": "entities", "type": "id"}, "optional": False},
                "amount": {"fieldType": {"type": "number"}, "optional": False},
            },
        },
        "visibility": {"kind": "public"},
    }
    assert by_id["tokens.js:start_purchase"]["visibility"] == {"kind": "internal"}
    assert by_id["/api/stripe/webhook"] == {
        "functionType": "HttpAction",
        "method": "POST",
        "path": "/api/stripe/webhook",
    }
    token = by_id["tokens.js:get"]["returns"]["value"][0]  # Entity<"token"> | null, spelt out
    assert token["value"]["type"]["fieldType"] == {"type": "literal", "value": "token"}
    assert token["value"]["properties"]["fieldType"]["value"]["priceUsd"] == {
        "fieldType": {"type": "number"},
        "optional": False,
    }
    kinds: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if isinstance(v.get("type"), str):
                kinds.add(v["type"])
            for inner in v.values():
                walk(inner)
        elif isinstance(v, list):
            for inner in v:
                walk(inner)

    walk([{k: f[k] for k in ("args", "returns") if k in f} for f in spec["functions"]])
    # Convex's own validator kinds only (values/validators.ts' ValidatorJSON)
    convex_kinds = {"null", "number", "bigint", "boolean", "string", "bytes", "any", "literal", "id", "array"}
    assert kinds <= convex_kinds | {"record", "object", "union"}, kinds


@pytest.mark.slow
def test_watch_regenerates_when_a_function_file_changes(tmp_path: Path) -> None:
    """``one codegen --watch`` (what ``make dev`` runs beside the stack), in a copy of the repository:
    a new function file reaches api.d.ts; a file that does not import leaves it as it was."""
    copy = _copy(tmp_path / "repo")
    out = tmp_path / "_generated"
    env = {"PYTHONPATH": f"{copy}:{ROOT / 'layers' / 'ontology'}", "PYDANTIC_DISABLE_PLUGINS": "__all__"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "codegen", "--watch", "--out", str(out)],
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "ONE_LOCAL": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    said = threading.Condition()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with said:
                lines.append(line)
                said.notify_all()

    threading.Thread(target=read, daemon=True).start()

    after = [0]  # the lines a wait_for already went past

    def wait_for(text: str) -> None:
        """Until the watcher says ``text`` in a line after those an earlier wait went past."""

        def found() -> bool:
            for n in range(after[0], len(lines)):
                if text in lines[n]:
                    after[0] = n + 1
                    return True
            return False

        with said:
            assert said.wait_for(found, timeout=120), f"never said {text!r}:\n{''.join(lines)}"

    try:
        wait_for(f"codegen: {out}: wrote api.js, api.d.ts, dataModel.d.ts")
        assert "reviews" not in (out / "api.d.ts").read_text()
        (copy / "functions" / "reviews.py").write_text(REVIEWS)
        wait_for(f"codegen: {out}: wrote api.d.ts")
        reviews = (out / "api.d.ts").read_text().split("\n  reviews: {\n", 1)[1]
        assert 'create: FunctionReference<\n      "mutation",\n      "public",\n      {\n' in reviews
        assert (
            '        courseId: Id<"entities">;\n        stars: number;\n        text?: string;\n' in reviews
        )
        before = (out / "api.d.ts").read_text()
        (copy / "functions" / "reviews.py").write_text(REVIEWS + "\nthis is not Python\n")
        wait_for("left as it was")
        assert (out / "api.d.ts").read_text() == before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
