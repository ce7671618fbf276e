"""Where ``one import`` and ``one export`` read and write: the table, the files bucket and the
organization, and how an organization's documents are listed.

The local stack is found as ``one migrate`` finds it: its developer session names its front door,
whose ``/_local/health`` names the AWS endpoint, the table and the files bucket; the organization is
the dev session's unless ``--org`` names another. A deployed stack (``--stack NAME`` or
``--config-env ENV``) is reached with the operator's AWS credentials: its ``TableName`` and
``FilesBucketName`` outputs, and the organization ``--org`` names.
"""

from __future__ import annotations

import json
from typing import Any

from ontology.snapshot.org import SnapshotTarget

__all__ = ["SnapshotTarget", "TargetError", "deployed_target", "local_target"]


class TargetError(Exception):
    """The stack or the organization cannot be reached (exit 5), or is named wrongly (``usage``:
    VALIDATION_ERROR, exit 2)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def _state_session() -> dict[str, Any]:
    from infra.migrate import _state_dir

    session_file = _state_dir() / "dev-session.json"
    try:
        data: dict[str, Any] = json.loads(session_file.read_text())
    except (OSError, ValueError):
        raise TargetError(
            f"no local stack session at {session_file}: start the stack with `make dev`"
        ) from None
    return data


def local_target(url: str | None, org: str | None) -> SnapshotTarget:
    """The running local stack (its dev session's front door, or ``url``) and organization."""
    import botocore.config
    import botocore.session
    import httpx

    from ontology.data.dynamodb import Store, client_config

    if url is None:
        session = _state_session()
    else:
        try:
            session = _state_session()
        except TargetError:
            session = {}
    base = url or session.get("apiUrl") or "http://127.0.0.1:3210"
    try:
        health = httpx.get(f"{base}/_local/health", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise TargetError(f"cannot reach the local stack at {base} ({exc}): is `make dev` running?") from None
    if not health.get("table") or not health.get("aws") or not health.get("bucket"):
        raise TargetError(f"the local stack at {base} does not name its table and bucket: restart it")
    organization = org or session.get("organizationId")
    if not organization:
        raise TargetError("the dev session names no organization: give --org")
    botocore_session = botocore.session.Session()
    credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # moto's
    region = health.get("region") or "us-east-1"
    ddb = botocore_session.create_client(
        "dynamodb", region_name=region, endpoint_url=health["aws"], config=client_config(), **credentials
    )
    s3 = botocore_session.create_client(
        "s3",
        region_name=region,
        endpoint_url=health["aws"],
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        **credentials,
    )
    store = Store(ddb, table=health["table"])
    _check_org(store, organization)
    return SnapshotTarget(store, s3, health["bucket"], organization, f"the local stack, {health['aws']}")


def _check_org(store: Any, organization: str) -> None:
    from ontology.data.keys import check_id
    from ontology.errors import ValidationError

    try:
        check_id("organizations", organization, field="org")
    except ValidationError as exc:
        raise TargetError(exc.message, usage=True) from None
    if store.get(f"platform#{organization}", "D") is None:
        raise TargetError(f"no organization {organization} in this stack")


def deployed_target(
    stack: str | None, config_env: str | None, region: str | None, org: str | None
) -> SnapshotTarget:
    """A deployed stack's table and files bucket, with the operator's AWS credentials."""
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.migrate import UsageError, samconfig_stack
    from ontology.data.dynamodb import Store, client_config

    if not org:
        raise TargetError("a deployed stack holds many organizations: name one with --org", usage=True)
    if config_env:
        try:
            stack, configured = samconfig_stack(config_env)
        except UsageError as exc:
            raise TargetError(str(exc), usage=True) from None
        region = region or configured
    session = botocore.session.get_session()  # the operator's credentials (env, profile, SSO, …)
    region = region or session.get_config_variable("region")
    if not region:
        raise TargetError("no AWS region: give --region (or set AWS_REGION)", usage=True)
    try:
        described = session.create_client("cloudformation", region_name=region).describe_stacks(
            StackName=stack
        )
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
        if "TableName" not in outputs or "FilesBucketName" not in outputs:
            raise TargetError(
                f"stack {stack} has no TableName and FilesBucketName outputs: is it the platform's?"
            )
        store = Store(
            session.create_client("dynamodb", region_name=region, config=client_config()),
            table=outputs["TableName"],
        )
        _check_org(store, org)
        s3 = session.create_client("s3", region_name=region)
    except ClientError as exc:
        raise TargetError(f"{exc.response.get('Error', {}).get('Code')}: {exc}") from None
    except BotoCoreError as exc:
        raise TargetError(f"cannot reach AWS: {exc}") from None
    return SnapshotTarget(store, s3, outputs["FilesBucketName"], org, f"stack {stack}, {region}")
