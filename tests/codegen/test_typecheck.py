"""A frontend on ``one codegen``'s files, type-checked as its editor and CI would: TypeScript (pinned
in tests/js/package.json) with ``--strict`` over the reference's ``TokenPurchase`` component and
Astro page, unchanged (tests/codegen/reference), more of what a frontend does (right/) and the
README's page (its "first ten minutes") → no error; then over files that each hold one kind of
mistake (wrong/) → each mistake is a type error on its own line, the line marked ``// error TS…``,
and nothing else is.

One ``tsc`` run checks everything that must pass, one everything that must fail. The Astro page is
checked as TSX, line for line (its frontmatter the body of a function, its template the JSX that
function returns, Astro's globals and JSX declared in tests/codegen/project), so that tsc's line
numbers are the page's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
JS = ROOT / "tests" / "js"
TSC = JS / "node_modules" / ".bin" / "tsc"
PAGE = "src/pages/tokens/[id].astro.tsx"
_ERROR = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): ", re.M)
_MARK = re.compile(r"// error (TS\d+)\s*$")

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not TSC.exists(),
    reason="needs node and tests/js's packages (typescript): run `make check`",
)


#: Where the README's page goes in the frontend's folder (``../web/src/App.tsx`` in the README).
README_PAGE = "App.tsx"


def readme_page() -> str:
    """The page of the README's "A frontend's first ten minutes", as it stands there."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## A frontend's first ten minutes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```tsx\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's first ten minutes show one page"
    return str(blocks[0])


def astro_as_tsx(page: str) -> str:
    """An Astro page as TSX on the same lines: the opening fence becomes the pragma that gives the
    template Astro's JSX, the frontmatter after its imports the body of ``Page()``, the closing fence
    ``return (<>`` and the template what it returns."""
    lines = page.split("\n")
    if lines[0] != "---" or "---" not in lines[1:]:
        raise ValueError("an Astro page starts with its frontmatter between two --- fences")
    end = lines.index("---", 1)
    out = ["/** @jsxImportSource astro-jsx */"]
    started = False
    for line in lines[1:end]:
        if not started and line.strip() and not line.startswith(("import ", "//")):
            out.append(f"export default async function Page() {{ {line}")
            started = True
        else:
            out.append(line)
    out.append("return (<>")
    out.extend(lines[end + 1 :])
    return "\n".join(out) + "\n</>);\n}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frontend's folder: the generated files (``one codegen``, the command itself), the
    reference's component and page, the browser test's stand-ins for shadcn/ui, tests/js's
    node_modules."""
    root = tmp_path_factory.mktemp("frontend")
    shutil.copytree(HERE / "project", root, dirs_exist_ok=True)
    (root / "node_modules").symlink_to(JS / "node_modules")
    made = subprocess.run(
        [sys.executable, "-m", "infra.cli", "codegen", "--out", str(root / "convex" / "_generated")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    src = root / "src"
    shutil.copytree(ROOT / "tests" / "browser" / "src" / "components" / "ui", src / "components" / "ui")
    component = src / "components" / "features" / "tokens" / "TokenPurchase.tsx"
    component.parent.mkdir(parents=True)
    shutil.copy(HERE / "reference" / "TokenPurchase.tsx", component)
    (root / PAGE).parent.mkdir(parents=True)
    (root / PAGE).write_text(astro_as_tsx((HERE / "reference" / "[id].astro").read_text()))
    for path in (HERE / "right").iterdir():
        shutil.copy(path, src / path.name)
    (src / README_PAGE).write_text(readme_page())
    shutil.copytree(HERE / "wrong", root / "wrong")
    (root / "tsconfig.wrong.json").write_text(
        '{"extends": "./tsconfig.json", "include": ["astro.d.ts", "wrong/**/*"]}\n'
    )
    return root


def tsc(project: Path, config: str) -> tuple[int, str]:
    out = subprocess.run(
        [str(TSC), "-p", config, "--pretty", "false"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return out.returncode, out.stdout + out.stderr


def test_the_reference_frontend_type_checks_unchanged(project: Path) -> None:
    code, out = tsc(project, "tsconfig.json")
    assert (code, out) == (0, ""), out
    # what was checked: the reference's files as they are, the generated files among them
    assert (project / "src/components/features/tokens/TokenPurchase.tsx").read_text() == (
        HERE / "reference" / "TokenPurchase.tsx"
    ).read_text()
    page = (project / PAGE).read_text().split("\n")
    assert "const token = await convex.query(api.tokens.get, { id: Astro.params.id as any });" in page[7]
    assert page[24].strip() == "${token.properties.priceUsd.toFixed(2)}"
    assert (project / "convex" / "_generated" / "api.d.ts").exists()
    # and the README's page, as it stands there
    assert (project / "src" / README_PAGE).read_text() == readme_page()


def test_the_readme_s_page_is_what_its_first_ten_minutes_say() -> None:
    # type-checked with the rest that must pass (src/App.tsx, above)
    page = readme_page()
    assert "useQuery(api.creators.list, {})" in page
    assert 'from "../convex/_generated/api"' in page  # ../web/src/App.tsx → ../web/convex/_generated
    section = (ROOT / "README.md").read_text().split("## A frontend's first ten minutes", 1)[1]
    assert "make dev" in section and "one codegen --out ../web/convex/_generated" in section


def test_each_mistake_is_a_type_error_on_its_own_line(project: Path) -> None:
    expected = set()
    for path in sorted((HERE / "wrong").iterdir()):
        marks = [
            (f"wrong/{path.name}", n, m.group(1))
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if (m := _MARK.search(line))
        ]
        assert marks, f"{path.name} marks no line with // error TS…"
        expected.update(marks)
    code, out = tsc(project, "tsconfig.wrong.json")
    found = {(m["file"], int(m["line"]), m["code"]) for m in _ERROR.finditer(out)}
    assert code != 0 and found, out
    assert found == expected, f"unexpected: {sorted(found - expected)}; missing: {sorted(expected - found)}"


def test_the_browser_test_buys_with_the_reference_component_too() -> None:
    # tests/browser's page (Convex's React client in Chromium) holds the same component
    browser = ROOT / "tests" / "browser" / "src" / "components" / "features" / "tokens" / "TokenPurchase.tsx"
    assert browser.read_text() == (HERE / "reference" / "TokenPurchase.tsx").read_text()


def test_astro_pages_become_tsx_on_the_same_lines() -> None:
    page = "---\nimport X from 'x';\nconst a = 1;\n---\n<p>{a}</p>\n"
    tsx = astro_as_tsx(page).split("\n")
    assert tsx[2] == "export default async function Page() { const a = 1;"
    assert tsx[3] == "return (<>" and tsx[4] == "<p>{a}</p>"
    with pytest.raises(ValueError):
        astro_as_tsx("<p>no frontmatter</p>")
