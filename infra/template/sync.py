"""Convex's protocol in AWS (docs/architecture.md, "Reactivity"): the HTTP API's /api/query,
/api/mutation and /api/action; a WebSocket API ($connect, $disconnect, $default) and its stage; the
FIFO queue that orders each connection's work; the worker; the stream's invalidator and its recheck
queue; the keep-alive."""

from __future__ import annotations

from typing import Any

from infra.template.base import (
    API_BURST_LIMIT,
    API_RATE_LIMIT,
    READ_ACTIONS,
    ROUTED_TIMEOUT,
    TABLE_ARN,
    TABLE_INDEXES_ARN,
    public_url_parameter_name,
    public_url_read,
    table_stream,
)
from infra.template.checkov import LOG_GROUP_SKIP, checkov_metadata
from ontology.runtime.registry import RegisteredFunction
from ontology.sync import queue as sync_queue

#: The WebSocket API's one stage (CloudFront hands the sync paths to it).
SYNC_STAGE = "live"
SYNC_API_ARN = {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${SyncApi}"}

#: Only ``post_to_connection`` and ``delete_connection`` on this API's own stage.
MANAGE_CONNECTIONS: dict[str, Any] = {
    "Effect": "Allow",
    "Action": ["execute-api:ManageConnections"],
    "Resource": [
        {"Fn::Sub": "${SyncApiArn}/" + SYNC_STAGE + "/POST/@connections/*"},
        {"Fn::Sub": "${SyncApiArn}/" + SYNC_STAGE + "/DELETE/@connections/*"},
    ],
}

SYNC_QUEUE_ARN = {"Fn::GetAtt": ["SyncQueue", "Arn"]}
#: What every sync function reads: where to push (the stage's management endpoint) and its queues.
SYNC_ENV = {
    "ONE_SYNC_ENDPOINT": {
        "Fn::Sub": "https://${SyncApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + SYNC_STAGE
    },
    "ONE_SYNC_QUEUE_URL": {"Ref": "SyncQueue"},
    "ONE_SYNC_RECHECK_QUEUE_URL": {"Ref": "SyncRecheckQueue"},
}


def invoke_public(functions: dict[str, RegisteredFunction]) -> dict[str, Any]:
    """Invoking exactly the public functions (never an internal one) by their ARNs."""
    return {
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunction"],
        "Resource": [
            {"Fn::GetAtt": [fn.spec.logical_id, "Arn"]} for fn in functions.values() if not fn.spec.internal
        ],
    }


def _sync_function(handler: str, description: str, statements: list[Any], **props: Any) -> dict[str, Any]:
    """A function of the protocol, named after its handler: 256 MB, a routed function's timeout and
    :data:`SYNC_ENV` unless ``props`` say otherwise."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-" + handler.replace(".", "-")},
            "Handler": handler,
            "Description": description,
            "MemorySize": props.pop("MemorySize", 256),
            "Timeout": props.pop("Timeout", ROUTED_TIMEOUT),
            "Environment": {"Variables": dict(SYNC_ENV)},
            "Policies": [{"Version": "2012-10-17", "Statement": statements}],
            **props,
        },
    }


#: Reading the table, for the functions that run queries.
_TABLE_READ = {"Effect": "Allow", "Action": READ_ACTIONS, "Resource": [TABLE_ARN, TABLE_INDEXES_ARN]}
#: The protocol's own items (``platform#sync…``: connections, subscriptions), read and written.
_SYNC_ITEMS = {
    "Effect": "Allow",
    "Action": [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ],
    "Resource": [TABLE_ARN],
    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["platform#sync*"]}},
}
_SECRET = {
    "Effect": "Allow",
    "Action": ["secretsmanager:GetSecretValue"],
    "Resource": {"Ref": "AppSecrets"},
}
_SEND = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": SYNC_QUEUE_ARN}
_RETRY = {"Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility"], "Resource": SYNC_QUEUE_ARN}
#: :data:`MANAGE_CONNECTIONS` with the API's ARN substituted in.
_MANAGE = {
    **MANAGE_CONNECTIONS,
    "Resource": [
        {"Fn::Sub": [r["Fn::Sub"], {"SyncApiArn": SYNC_API_ARN}]} for r in MANAGE_CONNECTIONS["Resource"]
    ],
}
_FIFO = {"FifoQueue": True, "SqsManagedSseEnabled": True}

#: The WebSocket API's routes and the function each invokes.
_INTEGRATIONS = {
    "$connect": "SyncConnectFunction",
    "$disconnect": "SyncDisconnectFunction",
    "$default": "SyncMessageFunction",
}


def _route(route_key: str, function: str) -> dict[str, Any]:
    """A WebSocket route: the function's integration, the route, and API Gateway's permission."""
    name = function.removeprefix("Sync").removesuffix("Function")
    return {
        f"Sync{name}Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "SyncApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {
                    "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31"
                    + "/functions/${"
                    + function
                    + ".Arn}/invocations"
                },
            },
        },
        f"Sync{name}Route": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": "SyncApi"},
                "RouteKey": route_key,
                "AuthorizationType": "NONE",
                "Target": {"Fn::Sub": "integrations/${Sync" + name + "Integration}"},
            },
        },
        f"Sync{name}Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": function},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": ["${SyncApiArn}/*", {"SyncApiArn": SYNC_API_ARN}]},
            },
        },
    }


def _convex_http(invoke: dict[str, Any]) -> dict[str, Any]:
    """Convex's HTTP API: /api/query, /api/mutation and /api/action, each calling the named function."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-convex-http"},
            "Handler": "sync.http",
            "Description": "Convex's HTTP API (/api/query, /api/mutation, /api/action) -> each function.",
            "MemorySize": 256,
            "Timeout": ROUTED_TIMEOUT,
            "Events": {
                kind.capitalize(): {
                    "Type": "HttpApi",
                    "Properties": {
                        "ApiId": {"Ref": "HttpApi"},
                        "Method": "POST",
                        "Path": f"/api/{kind}",
                        "Auth": {"Authorizer": "NONE"},
                    },
                }
                for kind in ("query", "mutation", "action")
            },
            # a request signed in by the cookie alone: its origin is checked against the public URL
            "Environment": {"Variables": {"ONE_PUBLIC_URL_PARAMETER": public_url_parameter_name()}},
            "Policies": [
                {"Version": "2012-10-17", "Statement": [_TABLE_READ, _SECRET, invoke, public_url_read()]}
            ],
        },
    }


def _sync_api() -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}-sync"},
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.type",
            "Description": "Convex's sync protocol (queries pushed as they change).",
        },
    }


def _stage() -> dict[str, Any]:
    """The WebSocket API's one stage, throttled as the HTTP API, with its access log."""
    return {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": {"Ref": "SyncApi"},
            "StageName": SYNC_STAGE,
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingBurstLimit": API_BURST_LIMIT,
                "ThrottlingRateLimit": API_RATE_LIMIT,
            },
            "AccessLogSettings": {
                "DestinationArn": {"Fn::GetAtt": ["SyncApiAccessLogs", "Arn"]},
                "Format": '{"requestId":"$context.requestId","connectionId":"$context.connectionId",'
                '"route":"$context.routeKey","status":"$context.status","event":"$context.eventType"}',
            },
        },
    }


def _access_logs() -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": checkov_metadata([LOG_GROUP_SKIP]),
        "Properties": {
            "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-sync"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }


def _dead_letter_queue() -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            **_FIFO,
            "QueueName": {"Fn::Sub": "${AWS::StackName}-sync-dlq.fifo"},
            "MessageRetentionPeriod": 1209600,
        },
    }


def _queue() -> dict[str, Any]:
    """The FIFO queue that orders each connection's work (one message group per connection)."""
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            **_FIFO,
            "QueueName": {"Fn::Sub": "${AWS::StackName}-sync.fifo"},
            # high-throughput FIFO: ordering (and its throughput) per connection, not per queue
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
            # ontology.sync.queue, "Timing": what the worker fails comes back in seconds (it says
            # when); this is the wait after a crash, at least the worker's timeout
            "VisibilityTimeout": sync_queue.VISIBILITY_TIMEOUT,
            "MessageRetentionPeriod": 3600,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["SyncDeadLetterQueue", "Arn"]},
                "maxReceiveCount": sync_queue.MAX_RECEIVES,
            },
        },
    }


def _recheck_dead_letter_queue() -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600},
    }


def _recheck_queue() -> dict[str, Any]:
    """Delayed rechecks of the subscriptions a write touched."""
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": 3600,
            "VisibilityTimeout": 60,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["SyncRecheckDeadLetterQueue", "Arn"]},
                "maxReceiveCount": 5,
            },
        },
    }


def _worker(invoke: dict[str, Any]) -> dict[str, Any]:
    """Runs each connection's messages and invalidations in order, pushing what changed."""
    return _sync_function(
        "sync.worker",
        "Sync: a connection's messages and invalidations, in order -> its pushes.",
        # send: the item that runs the new subscriptions one item may not (limits.ITEM_RUNS)
        # retry: when a record it failed comes back (ontology.sync.queue, "Timing")
        [_TABLE_READ, _SYNC_ITEMS, _SECRET, _MANAGE, invoke, _SEND, _RETRY],
        Timeout=sync_queue.WORKER_TIMEOUT,
        Events={
            "Queue": {
                "Type": "SQS",
                "Properties": {
                    "Queue": SYNC_QUEUE_ARN,
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            }
        },
    )


def _invalidator() -> dict[str, Any]:
    """Turns the table's writes (and the delayed rechecks) into the worker's invalidations."""
    return _sync_function(
        "sync.invalidate",
        "Sync: the table's stream -> the subscriptions each write touched (and a delayed recheck).",
        [
            _SYNC_ITEMS,
            _SEND,
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": {"Fn::GetAtt": ["SyncRecheckQueue", "Arn"]},
            },
        ],
        Events={
            "Recheck": {
                "Type": "SQS",
                "Properties": {
                    "Queue": {"Fn::GetAtt": ["SyncRecheckQueue", "Arn"]},
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
            # every client's live updates pass here: a failing write holds back a quarter of
            # the shard, and a write not invalidated within ten minutes is skipped (and alarms)
            "Writes": table_stream("LATEST", parallelization=4, max_age=600),
        },
    )


def _keepalive() -> dict[str, Any]:
    """Pings every open connection every 15 s: Convex's clients reconnect after 30 to 60 s of
    silence (ontology.sync.websocket)."""
    return _sync_function(
        "sync.keepalive",
        "Sync: Ping every open connection every 15 s.",
        [_SYNC_ITEMS, _MANAGE],
        Timeout=70,
        Events={
            "Every": {
                "Type": "Schedule",
                "Properties": {
                    "Schedule": "rate(1 minute)",
                    "Description": "sync keep-alive",
                    "Enabled": True,
                },
            }
        },
    )


def sync_resources(functions: dict[str, RegisteredFunction]) -> dict[str, Any]:
    """Convex's HTTP API function, the WebSocket API with its routes and stage, the queues and the
    sync functions, in the template's order."""
    invoke = invoke_public(functions)
    routes = {k: v for key, function in _INTEGRATIONS.items() for k, v in _route(key, function).items()}
    return {
        "ConvexHttpFunction": _convex_http(invoke),
        "SyncApi": _sync_api(),
        **routes,
        "SyncStage": _stage(),
        "SyncApiAccessLogs": _access_logs(),
        "SyncDeadLetterQueue": _dead_letter_queue(),
        "SyncQueue": _queue(),
        "SyncRecheckDeadLetterQueue": _recheck_dead_letter_queue(),
        "SyncRecheckQueue": _recheck_queue(),
        "SyncConnectFunction": _sync_function(
            "sync.connect", "Sync: $connect -> the connection's state.", [_SYNC_ITEMS]
        ),
        "SyncDisconnectFunction": _sync_function(
            "sync.disconnect", "Sync: $disconnect -> forget the connection.", [_SYNC_ITEMS]
        ),
        "SyncMessageFunction": _sync_function(
            "sync.message", "Sync: $default -> the connection's FIFO group.", [_SEND, _MANAGE]
        ),
        "SyncWorkerFunction": _worker(invoke),
        "SyncInvalidatorFunction": _invalidator(),
        "SyncKeepAliveFunction": _keepalive(),
    }
