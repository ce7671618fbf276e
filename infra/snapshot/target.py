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
    "org_items",
]

#: The tables an organization's snapshot holds: the org-scoped ones (the reference's entities,
#: connections, events and tags, and the platform's knowledge), in the schema's order.
ORG_TABLES = tuple(name for name, t in TABLES.items() if t.scope == "org")


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


#: How each table's documents of one organization are found in its own index partitions (never a
#: Scan of the table): ``(index, partition values)``; ``ENTITY`` stands for each of the organization's
#: entity ids (a connection is read from its ``fromEntityId``'s partition, a tag from its entity's).
ENTITY = object()
PARTITIONS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "entities": ("by_creation_time", ()),  # every entity, newest first, its shards merged
    "events": ("by_timestamp", ()),  # every event
    "knowledge": ("by_kind", ("label", "chunk")),  # KnowledgeDoc.kind's two values
    "connections": ("from_type", (ENTITY,)),
    "tags": ("by_entity", (ENTITY,)),
}
_PAGE = 500
missing = set(ORG_TABLES) - set(PARTITIONS)
if missing:  # a new organization table must say where its documents are found
    raise ValueError(f"no partitions to list the documents of {sorted(missing)}")


def _partition(store: Any, org: str, name: str, index_name: str, value: Any) -> Iterator[dict[str, Any]]:
    """The document items of one partition of a table's index (every shard), page by page."""
    from ontology.data.keys import DOC_SK
    from ontology.data.schema import table

    index = table(name).index(index_name)
    pk = index.partition_key(org, name, [] if value is None else [value])
    for shard in range(index.shards):
        start: dict[str, Any] | None = None
        while True:
            items, start, _ = store.query(
                index=index.gsi_name,
                pk_attr=index.pk_attr,
                pk=index.sharded(pk, shard),
                sk_attr=index.sk_attr,
                sk_condition=None,
                forward=True,
                limit=_PAGE,
                start_key=start,
            )
            for item in items:
                if item.get("sk") == DOC_SK and item.get("tb") == name:
                    yield item
            if not start:
                break


def org_items(store: Any, org: str, tables: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, stored item) of every document of ``tables`` in the organization, read from the
    organization's own index partitions (:data:`PARTITIONS`): Queries whose cost is the
    organization's documents, not the table's. Index reads are eventually consistent: a document
    written a moment before may not be listed yet. Only the organization's entity ids are held in
    memory (for the connections' and tags' partitions); items are yielded page by page."""
    entity_ids: list[str] = []
    by_entity = [name for name in tables if PARTITIONS[name][1] == (ENTITY,)]
    if "entities" in tables or by_entity:
        for item in _partition(store, org, "entities", "by_creation_time", None):
            if by_entity:
                entity_ids.append(str(item["pk"]).rsplit("#", 1)[1])
            if "entities" in tables:
                yield "entities", item
    for name in tables:
        index_name, values = PARTITIONS[name]
        if name == "entities":
            continue
        if values == (ENTITY,):
            for entity_id in entity_ids:
                for item in _partition(store, org, name, index_name, entity_id):
                    yield name, item
        else:
            for value in values or (None,):
                for item in _partition(store, org, name, index_name, value):
                    yield name, item


def org_documents(store: Any, org: str, tables: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, document) of every document of ``tables`` in the organization (:func:`org_items`)."""
    from ontology.data.db import DatabaseReader

    for name, item in org_items(store, org, tables):
        yield name, DatabaseReader._to_doc(item)
