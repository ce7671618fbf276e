"""The reference's environment variables (its ``.env``) and what each one becomes here.

One table, read by the template generator (the stack's parameters), the local stack (which reads the
names from the environment or a ``.env`` file at the repository's root, never committed) and
``python -m infra.environment`` (which turns them into ``sam deploy --parameter-overrides``), and listed
in docs/deploying.md.

Example::

    python -m infra.environment   # StripeSecretKey=sk_test_… AuthSecret=… (from the environment and .env)
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra import ROOT

__all__ = ["REFERENCE_VARIABLES", "Variable", "parameter_overrides", "read_env"]


@dataclass(frozen=True)
class Variable:
    #: The reference's name.
    name: str
    #: The stack parameter it fills (``sam deploy``).
    parameter: str
    #: ``secret``: a NoEcho parameter kept in the deployment's Secrets Manager secret; ``plain``: a
    #: parameter the template hands functions as an environment variable.
    kind: str
    #: The platform's own variable for it (locally, and for plain parameters in Lambda too).
    platform: str
    what: str
    #: What the local stack does with it.
    local: str


REFERENCE_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "BETTER_AUTH_SECRET",
        "AuthSecret",
        "secret",
        "ONE_AUTH_SECRET",
        "signs session cookies",
        "used (else a fixed local secret)",
    ),
    Variable(
        "BETTER_AUTH_URL",
        "AuthBaseUrl",
        "plain",
        "ONE_AUTH_BASE_URL",
        "the public URL: auth and invitation links, the OAuth redirect URI, the origin trusted for cookies",
        "used (else the front door's URL)",
    ),
    Variable(
        "ALLOWED_ORIGINS",
        "AllowedOrigins",
        "plain",
        "ONE_ALLOWED_ORIGINS",
        "web origins (comma-separated) browsers may call the platform from, with the session cookie"
        " (CORS; Better Auth's trustedOrigins); the platform's own, not the reference's",
        "used (else the template's default: Astro's and Vite's dev servers on localhost)",
    ),
    Variable("GITHUB_CLIENT_ID", "GithubClientId", "plain", "ONE_GITHUB_CLIENT_ID", "GitHub sign-in", "used"),
    Variable(
        "GITHUB_CLIENT_SECRET",
        "GithubClientSecret",
        "secret",
        "ONE_GITHUB_CLIENT_SECRET",
        "GitHub sign-in",
        "used",
    ),
    Variable("GOOGLE_CLIENT_ID", "GoogleClientId", "plain", "ONE_GOOGLE_CLIENT_ID", "Google sign-in", "used"),
    Variable(
        "GOOGLE_CLIENT_SECRET",
        "GoogleClientSecret",
        "secret",
        "ONE_GOOGLE_CLIENT_SECRET",
        "Google sign-in",
        "used",
    ),
    Variable(
        "RESEND_API_KEY",
        "ResendApiKey",
        "secret",
        "ONE_RESEND_API_KEY",
        "sends email through Resend",
        "not used: email goes to the local outbox",
    ),
    Variable(
        "RESEND_FROM_EMAIL",
        "ResendFromEmail",
        "plain",
        "ONE_RESEND_FROM_EMAIL",
        "the From address of the platform's emails",
        "used (the outbox shows it)",
    ),
    Variable(
        "STRIPE_SECRET_KEY",
        "StripeSecretKey",
        "secret",
        "ONE_STRIPE_SECRET_KEY",
        "charges and refunds through Stripe",
        "given to the local Stripe stand-in, which accepts any key; nothing reaches Stripe",
    ),
    Variable(
        "STRIPE_PUBLISHABLE_KEY",
        "StripePublishableKey",
        "plain",
        "ONE_STRIPE_PUBLISHABLE_KEY",
        "the browser's Stripe.js key (public)",
        "used",
    ),
    Variable(
        "BASE_RPC_URL",
        "ChainRpcUrl",
        "plain",
        "ONE_CHAIN_RPC_URL",
        "JSON-RPC endpoint of the chain creator tokens live on",
        "not used: the local chain answers",
    ),
    Variable(
        "DEPLOYER_PRIVATE_KEY",
        "DeployerPrivateKey",
        "secret",
        "ONE_DEPLOYER_PRIVATE_KEY",
        "deploys, mints and burns creator tokens",
        "not used: the local chain's own funded account signs",
    ),
    Variable(
        "OPENAI_API_KEY",
        "OpenAIApiKey",
        "secret",
        "ONE_OPENAI_API_KEY",
        "chat and embeddings through OpenAI",
        "given to the local OpenAI-compatible endpoint, which accepts any key",
    ),
    Variable(
        "ELEVENLABS_API_KEY",
        "ElevenLabsApiKey",
        "secret",
        "ONE_ELEVENLABS_API_KEY",
        "voice cloning and speech through ElevenLabs",
        "kept for the ElevenLabs provider; nothing reaches ElevenLabs",
    ),
)

#: Variables the local stack applies as they are (the others keep their local stand-in's value).
LOCALLY_USED = frozenset(v.name for v in REFERENCE_VARIABLES if v.local.startswith(("used", "given", "kept")))


def read_env(env_file: Path | None = None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The reference's variables that are set: the environment wins over the ``.env`` file."""
    from dotenv import dotenv_values

    path = env_file if env_file is not None else ROOT / ".env"
    from_file = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for v in REFERENCE_VARIABLES:
        value = environ.get(v.name) or from_file.get(v.name)
        if value:
            found[v.name] = value
    return found


def parameter_overrides(values: Mapping[str, str]) -> list[str]:
    """``Parameter=value`` for ``sam deploy --parameter-overrides``, one per variable that is set."""
    by_name = {v.name: v for v in REFERENCE_VARIABLES}
    return [f"{by_name[name].parameter}={value}" for name, value in values.items() if name in by_name]


def samconfig_overrides(config_env: str) -> list[str]:
    """The ``parameter_overrides`` samconfig.toml gives ``config_env`` (sam deploy's own
    ``--parameter-overrides`` replaces them, so they are repeated first)."""
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    value = config.get(config_env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print sam deploy's --parameter-overrides from the environment."
    )
    parser.add_argument("--env-file", type=Path, default=None, help="default: .env at the repository's root")
    parser.add_argument(
        "--config-env", default="default", help="samconfig.toml's environment (default, prod)"
    )
    args = parser.parse_args(argv)
    overrides = samconfig_overrides(args.config_env) + parameter_overrides(read_env(args.env_file))
    print(" ".join(shlex.quote(o) for o in overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
