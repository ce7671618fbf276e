"""Every requirements file pins exact versions, and the cfn-lint `sam validate --lint` runs (the SAM
CLI's) is the version the dev virtualenv pins: `make validate` lints once, with that version."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = ("requirements/dev.txt", "requirements/lock.txt", "requirements/sam.txt", "requirements/checkov.txt")


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;]+)(\s*;.*)?", line)
        assert match, f"{name}: {line!r} is not pinned to one version"
        pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_every_requirement_is_pinned() -> None:
    for name in FILES:
        assert _pins(name), name


def test_sam_validate_lints_with_the_pinned_cfn_lint() -> None:
    assert _pins("requirements/sam.txt")["cfn-lint"] == _pins("requirements/dev.txt")["cfn-lint"]
