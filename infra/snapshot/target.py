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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ontology.data.schema import TABLES

__all__ = [
    "ORG_TABLES",
    "SnapshotTarget",
    "TargetError",
    "deployed_target",
    "local_target",
    "org_documents",
]

#: The tables an organization's snapshot holds: the org-scoped ones (the reference's entities,
#: connections, events and tags, and the platform's knowledge), in the schema's order.
ORG_TABLES = tuple(name for name, t in TABLES.items() if t.scope == "org")
_SCAN_SEGMENTS = 4
_SCAN_PAGE = 500


class TargetError(Exception):
    """The stack or the organization cannot be reached (exit 5), or is named wrongly (``usage``:
    VALIDATION_ERROR, exit 2)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class SnapshotTarget:
    store: Any  # ontology.data.dynamodb.Store
    s3: Any  # a botocore S3 client
    bucket: str
    org: str
    where: str


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


def org_documents(store: Any, org: str, tables: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, document) of every document of ``tables`` in the organization, by a consistent,
    segment-by-segment Scan (an operator's read, as the migration runner's; no function scans)."""
    from ontology.data.db import DatabaseReader
    from ontology.data.dynamodb import deserialize
    from ontology.data.keys import DOC_SK

    if not tables:
        return
    names = {"#p": "pk", "#s": "sk", "#t": "tb"}
    values: dict[str, Any] = {":p": {"S": f"{org}#"}, ":d": {"S": DOC_SK}}
    listed = []
    for i, name in enumerate(tables):
        values[f":t{i}"] = {"S": name}
        listed.append(f":t{i}")
    expression = f"begins_with(#p, :p) AND #s = :d AND #t IN ({', '.join(listed)})"
    for segment in range(_SCAN_SEGMENTS):
        start: dict[str, Any] | None = None
        while True:
            raw, start, _ = store.scan(
                segment=segment,
                segments=_SCAN_SEGMENTS,
                limit=_SCAN_PAGE,
                start_key=start,
                filter_expression=expression,
                names=names,
                values=values,
            )
            for typed in raw:
                item = deserialize(typed)
                if item["pk"].count("#") != 1:
                    continue  # a bookkeeping item (guard, posting) of the organization
                yield str(item["tb"]), DatabaseReader._to_doc(item)
            if not start:
                break
