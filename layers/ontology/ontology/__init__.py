"""The ONE platform's shared layer: schema, data layer, errors and settings.

Example::

    from ontology import run_mutation

    new_id = run_mutation(lambda db: db.insert("entities", {...}), org="org_…")
"""

from collections.abc import Mapping
from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter
from ontology.data.enums import ENTITY_STATUSES, ENTITY_TYPES, EVENT_TYPES, RELATIONSHIP_TYPES, ROLES
from ontology.data.keys import check_id, new_id
from ontology.data.query import COLLECT_MAX, MAX_EXAMINED, PAGE_MAX, Query
from ontology.data.schema import PLATFORM_SCOPE, TABLES
from ontology.data.transaction import run_mutation, run_query
from ontology.errors import (
    CODES,
    ConflictError,
    EmailNotVerifiedError,
    ForbiddenError,
    InsufficientTokensError,
    InternalError,
    LimitExceededError,
    NotFoundError,
    NotUniqueError,
    OneError,
    PayloadTooLargeError,
    PaymentFailedError,
    RateLimitedError,
    TransactionTooLargeError,
    UnauthenticatedError,
    UpstreamError,
    ValidationError,
    error_envelope,
)
from ontology.settings import Settings, configure, get_settings


def validate_document(table_name: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a document for ``table_name`` and return it normalized (see
    :mod:`ontology.data.documents`, whose models load on first use, not at cold start)."""
    from ontology.data.documents import validate_document as validate

    return validate(table_name, doc)


__all__ = [
    "CODES",
    "COLLECT_MAX",
    "ENTITY_STATUSES",
    "ENTITY_TYPES",
    "EVENT_TYPES",
    "MAX_EXAMINED",
    "PAGE_MAX",
    "PLATFORM_SCOPE",
    "RELATIONSHIP_TYPES",
    "ROLES",
    "TABLES",
    "ConflictError",
    "DatabaseReader",
    "DatabaseWriter",
    "EmailNotVerifiedError",
    "ForbiddenError",
    "InsufficientTokensError",
    "InternalError",
    "LimitExceededError",
    "NotFoundError",
    "NotUniqueError",
    "OneError",
    "PayloadTooLargeError",
    "PaymentFailedError",
    "Query",
    "RateLimitedError",
    "Settings",
    "TransactionTooLargeError",
    "UnauthenticatedError",
    "UpstreamError",
    "ValidationError",
    "check_id",
    "configure",
    "error_envelope",
    "get_settings",
    "new_id",
    "run_mutation",
    "run_query",
    "validate_document",
]
