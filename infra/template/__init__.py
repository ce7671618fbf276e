"""Generates ``template.yaml`` from the function registry and the schema's declarations.

``python -m infra.template`` rewrites the file; ``--check`` exits 1 when the committed file differs
from what the registry generates (the test suite runs the same check).

One module per part of the stack, each building its own resources:

- ``base``: the layer, the table and its stream, the files bucket, the secrets, the HTTP API and the
  public URL parameter, which every other part names;
- ``parameters``: the stack's parameters (the secrets' NoEcho ones among them) and conditions;
- ``functions``: one Lambda per registered function, its route and crons, and the role of its access
  profile with least-privilege inline policies; SAM's Globals;
- ``auth``: the HTTP API's Lambda authorizer and Better Auth's endpoints;
- ``dashboard``: the dashboard's Lambda (its page and API under ``/dashboard/``);
- ``scheduler``: the jobs queue, its dispatcher and runner, one-time schedules, the crons;
- ``sync``: Convex's HTTP API and the WebSocket API, its queues and functions;
- ``edge``: the CloudFront distribution that serves both APIs on one host;
- ``vectors``: S3 Vectors' bucket, indexes and stream indexer;
- ``search``: the full-text search index's stream aggregator;
- ``saga``: the token purchase state machine;
- ``observability``: the functions' log group and the alarms; ``checkov``: the checks that do not apply;
- ``outputs``: the stack's outputs;
- ``builder``: ``build_template``, the parts in the template's order;
- ``document``: ``render``, ``load_template`` and the command.

The package re-exports the names callers use from it; each is defined in its part.
"""

from __future__ import annotations

from infra.template.base import (
    ACCESS_LOG_FORMAT,
    API_BURST_LIMIT,
    API_RATE_LIMIT,
    AUTHORIZER_CACHE_SECONDS,
    CORS,
    PUBLIC_URL_PARAMETER,
    READ_ACTIONS,
    ROUTED_TIMEOUT,
    TABLE_ARN,
    TABLE_INDEXES_ARN,
    WRITE_ACTIONS,
    public_url_parameter_name,
    public_url_read,
    table_stream,
)
from infra.template.builder import build_template
from infra.template.checkov import DLQ_SKIP, LAMBDA_SKIPS, LOG_GROUP_SKIP, RESOURCE_SKIPS
from infra.template.document import HEADER, TEMPLATE_PATH, load_template, main, render
from infra.template.edge import ALL_VIEWER_EXCEPT_HOST, CACHING_DISABLED, SYNC_PATH_FUNCTION
from infra.template.functions import (
    FUNCTION_PREFIX,
    MEMORY,
    RATE_COUNTERS,
    TIMEOUT,
    function_name,
    role_name,
    uses_of,
)
from infra.template.observability import (
    ALARM_TOPIC,
    FUNCTION_LOGS,
    STREAM_FAILURES,
    dead_letter_queues,
    with_alarms,
    with_log_groups,
)
from infra.template.parameters import DEFAULT_ALLOWED_ORIGINS, SECRET_PARAMETERS
from infra.template.saga import (
    PURCHASE_EXECUTIONS_ARN,
    PURCHASE_STATE_MACHINE_ARN,
    STATE_MACHINE,
    STATE_MACHINE_ASL,
    saga_steps,
)
from infra.template.scheduler import JOBS_QUEUE_ARN, OUTBOX_FILTER, SCHEDULES_ARN, load_crons
from infra.template.search import POSTING_FILTER
from infra.template.sync import MANAGE_CONNECTIONS, SYNC_API_ARN, SYNC_ENV, SYNC_QUEUE_ARN, SYNC_STAGE
from infra.template.vectors import KNOWLEDGE_FILTER, VECTOR_INDEX_ARNS

__all__ = [
    "ACCESS_LOG_FORMAT",
    "ALARM_TOPIC",
    "ALL_VIEWER_EXCEPT_HOST",
    "API_BURST_LIMIT",
    "API_RATE_LIMIT",
    "AUTHORIZER_CACHE_SECONDS",
    "CACHING_DISABLED",
    "CORS",
    "DEFAULT_ALLOWED_ORIGINS",
    "DLQ_SKIP",
    "FUNCTION_LOGS",
    "FUNCTION_PREFIX",
    "HEADER",
    "JOBS_QUEUE_ARN",
    "KNOWLEDGE_FILTER",
    "LAMBDA_SKIPS",
    "LOG_GROUP_SKIP",
    "MANAGE_CONNECTIONS",
    "MEMORY",
    "OUTBOX_FILTER",
    "POSTING_FILTER",
    "PUBLIC_URL_PARAMETER",
    "PURCHASE_EXECUTIONS_ARN",
    "PURCHASE_STATE_MACHINE_ARN",
    "RATE_COUNTERS",
    "READ_ACTIONS",
    "RESOURCE_SKIPS",
    "ROUTED_TIMEOUT",
    "SCHEDULES_ARN",
    "SECRET_PARAMETERS",
    "STATE_MACHINE",
    "STATE_MACHINE_ASL",
    "STREAM_FAILURES",
    "SYNC_API_ARN",
    "SYNC_ENV",
    "SYNC_PATH_FUNCTION",
    "SYNC_QUEUE_ARN",
    "SYNC_STAGE",
    "TABLE_ARN",
    "TABLE_INDEXES_ARN",
    "TEMPLATE_PATH",
    "TIMEOUT",
    "VECTOR_INDEX_ARNS",
    "WRITE_ACTIONS",
    "build_template",
    "dead_letter_queues",
    "function_name",
    "load_crons",
    "load_template",
    "main",
    "public_url_parameter_name",
    "public_url_read",
    "render",
    "role_name",
    "saga_steps",
    "table_stream",
    "uses_of",
    "with_alarms",
    "with_log_groups",
]
