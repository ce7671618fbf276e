"""The PynamoDB model of the single table, derived from the index declarations.

One item per document, plus guard items (uniqueness) and aliases (a keyed unique value held by a
document written before its rule was keyed; :mod:`ontology.data.db`):

=================  ==================================  =====  ===========================================
item               pk                                  sk     other attributes
=================  ==================================  =====  ===========================================
document           ``<scope>#<id>``                    ``D``  tb, ct, v, doc (JSON), gNpk/gNsk per index, ttl
guard              ``<scope>#guard#<table>#<rule>#<h>``  ``G``  tb=``_guard``, v, doc = {"ref": <id>}
alias              ``<scope>#<keyed id>``              ``D``  tb=``_alias``, v, doc = {"ref": <id>}
=================  ==================================  =====  ===========================================

``<scope>`` is the organization id for org-scoped tables and ``platform`` for platform tables.
The GSIs ``gsi1`` … ``gsiN`` project ALL attributes, so an index read returns whole documents.

Example::

    from ontology.data.models import Item, configure_models
    configure_models(table_name="one-dev", host="http://127.0.0.1:4566")
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ontology.data.keys import DOC_SK, GUARD_SK
from ontology.data.schema import GSI_COUNT, TABLES
from ontology.settings import get_settings

__all__ = [
    "DOC_SK",
    "GSI_COUNT",
    "GUARD_SK",
    "Item",
    "configure_models",
    "gsi_names",
    "table_definition",
]


def gsi_names() -> list[str]:
    return [f"gsi{n}" for n in range(1, GSI_COUNT + 1)]


def _gsi_class(n: int) -> type[GlobalSecondaryIndex[Any]]:
    meta = type(
        "Meta",
        (),
        {"index_name": f"gsi{n}", "projection": AllProjection(), "billing_mode": "PAY_PER_REQUEST"},
    )
    attrs: dict[str, Any] = {
        "Meta": meta,
        f"g{n}pk": UnicodeAttribute(hash_key=True, attr_name=f"g{n}pk"),
        f"g{n}sk": UnicodeAttribute(range_key=True, attr_name=f"g{n}sk"),
    }
    return type(f"Gsi{n}", (GlobalSecondaryIndex,), attrs)


def _item_class() -> type[Model]:
    settings = get_settings()
    meta = type(
        "Meta",
        (),
        {
            "table_name": settings.table_name,
            "region": settings.region,
            "host": settings.dynamodb_endpoint,
            "billing_mode": "PAY_PER_REQUEST",
            "max_retry_attempts": 3,
        },
    )
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": "One item of the single table (see the module docstring for the key design).",
        "Meta": meta,
        "pk": UnicodeAttribute(hash_key=True),
        "sk": UnicodeAttribute(range_key=True),
        "tb": UnicodeAttribute(),
        "ct": NumberAttribute(null=True),
        "v": NumberAttribute(default=1),
        "doc": UnicodeAttribute(null=True),
        "ttl": TTLAttribute(null=True),
        # a connection whose insertion the stream counts: the part it takes (ontology.data.relation_counts)
        "rc": UnicodeAttribute(null=True),
    }
    for n in range(1, GSI_COUNT + 1):
        attrs[f"g{n}pk"] = UnicodeAttribute(null=True)
        attrs[f"g{n}sk"] = UnicodeAttribute(null=True)
        attrs[f"gsi{n}"] = _gsi_class(n)()
    return type("Item", (Model,), attrs)


Item: Any = _item_class()


def configure_models(
    *, table_name: str | None = None, host: str | None = None, region: str | None = None
) -> None:
    """Point the model at another table or endpoint (the local stack and tests); drops the connection."""
    meta = Item.Meta
    if table_name is not None:
        meta.table_name = table_name
    if host is not None:
        meta.host = host or None
    if region is not None:
        meta.region = region
    Item._connection = None
    for n in range(1, GSI_COUNT + 1):
        getattr(Item, f"gsi{n}")._connection = None


def table_definition() -> dict[str, Any]:
    """The table as CloudFormation ``Properties``, derived from the PynamoDB model's schema (which is
    derived from the index declarations): the template embeds exactly this."""
    schema = Item._get_schema()
    gsis = [
        {
            "IndexName": g["index_name"],
            "KeySchema": [
                {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in g["key_schema"]
            ],
            "Projection": {"ProjectionType": g["projection"]["ProjectionType"]},
        }
        for g in schema["global_secondary_indexes"]
    ]
    return {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [dict(a) for a in schema["attribute_definitions"]],
        "KeySchema": [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema["key_schema"]
        ],
        "GlobalSecondaryIndexes": gsis,
        "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }


def index_usage() -> dict[str, list[str]]:
    """GSI name → the ``table.index`` names it serves (for docs/data-model.md and the drift test)."""
    usage: dict[str, list[str]] = {name: [] for name in gsi_names()}
    for t in TABLES.values():
        for idx in t.indexes:
            usage[idx.gsi_name].append(f"{t.name}.{idx.name}")
    return usage
