"""The reference's environment variables: read from the environment or a .env file, and turned into
the stack's parameters for sam deploy."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from infra import environment
from infra.template.builder import build_template
from tests.conftest import ROOT


def test_every_reference_variable_is_a_stack_parameter() -> None:
    parameters = build_template()["Parameters"]
    names = {v.name for v in environment.REFERENCE_VARIABLES}
    # The reference's "Environment Variables" section, exactly, and the platform's own allowed origins.
    assert names - {"ALLOWED_ORIGINS"} == {
        "BETTER_AUTH_SECRET",
        "BETTER_AUTH_URL",
        "GITHUB_CLIENT_ID",
        "GITHUB_CLIENT_SECRET",
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "RESEND_API_KEY",
        "RESEND_FROM_EMAIL",
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "BASE_RPC_URL",
        "DEPLOYER_PRIVATE_KEY",
        "OPENAI_API_KEY",
        "ELEVENLABS_API_KEY",
    }
    for v in environment.REFERENCE_VARIABLES:
        declared = parameters[v.parameter]
        assert v.name in declared["Description"]
        assert declared.get("NoEcho", False) is (v.kind == "secret"), v.name
    docs = (ROOT / "docs" / "deploying.md").read_text()
    assert all(f"`{v.name}`" in docs for v in environment.REFERENCE_VARIABLES)


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        'STRIPE_SECRET_KEY=sk_test_file\nBETTER_AUTH_SECRET="quoted value"\n# a comment\nOTHER=x\n'
    )
    found = environment.read_env(env_file, {"STRIPE_SECRET_KEY": "sk_test_shell"})
    assert found == {"STRIPE_SECRET_KEY": "sk_test_shell", "BETTER_AUTH_SECRET": "quoted value"}
    assert environment.read_env(tmp_path / "missing.env", {}) == {}


def test_sam_deploy_gets_them_as_parameter_overrides(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=sk-abc\nBASE_RPC_URL=https://base.example/rpc?key=a b\n")
    out = subprocess.run(
        [sys.executable, "-m", "infra.environment", "--env-file", str(env_file), "--config-env", "prod"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    # samconfig.toml's own overrides first (sam deploy's flag replaces them), then the variables.
    assert shlex.split(out) == [
        "Stage=prod",
        "LogLevel=WARNING",
        "ChainRpcUrl=https://base.example/rpc?key=a b",
        "OpenAIApiKey=sk-abc",
    ]
