"""One Lambda per registered function: its route (none for internal functions), memory and timeout
by kind, its crons, and the role of its access profile with least-privilege inline policies.

Queries may only read the table (GetItem, BatchGetItem, Query, never Scan) and count their session's
calls; mutations and actions may also Put, Update, Delete and ConditionCheck. Each capability a
function declares in ``uses`` adds exactly its own statement (``storage``: the files bucket, read-only
for queries); every function may read the deployment's secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.template.base import (
    READ_ACTIONS,
    ROUTED_TIMEOUT,
    TABLE_ARN,
    TABLE_INDEXES_ARN,
    WRITE_ACTIONS,
    public_url_parameter_name,
    public_url_read,
)
from infra.template.saga import PURCHASE_EXECUTIONS_ARN, PURCHASE_STATE_MACHINE_ARN, STATE_MACHINE
from infra.template.scheduler import JOBS_QUEUE_ARN, SCHEDULES_ARN
from infra.template.vectors import VECTOR_INDEX_ARNS
from ontology.auth.ratelimit import RATE_PREFIX
from ontology.runtime import registry
from ontology.runtime.crons import CronJob
from ontology.runtime.prices import MEMORY as KIND_MEMORY
from ontology.runtime.registry import FunctionSpec, RegisteredFunction

#: Memory per function kind (:data:`ontology.runtime.prices.MEMORY`: the dashboard prices with it).
MEMORY = KIND_MEMORY
#: Seconds per function kind; a routed function's is at most :data:`ROUTED_TIMEOUT`.
TIMEOUT = {"query": 10, "mutation": 15, "action": 60}

#: A query may write nothing but its session's call counter (ontology.auth.ratelimit: one UpdateItem on
#: a ``platform#rate#…`` item); mutations and actions write the table anyway.
RATE_COUNTERS = {
    "Effect": "Allow",
    "Action": ["dynamodb:UpdateItem"],
    "Resource": [TABLE_ARN],
    "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [RATE_PREFIX + "*"]}},
}

#: What every deployed name starts with; functions read it as ``ONE_FUNCTION_PREFIX``.
FUNCTION_PREFIX = "${AWS::StackName}-"


def function_name(spec: FunctionSpec) -> dict[str, Any]:
    """A registered function's deployed name: the stack's, then the function's
    (:func:`ontology.runtime.registry.function_name`, by which the scheduler's runner and Convex's
    calls invoke it)."""
    return {"Fn::Sub": registry.function_name(spec.path, FUNCTION_PREFIX)}


def uses_of(spec: FunctionSpec) -> frozenset[str]:
    """What a function uses, with what its route implies: on a route without the authorizer a request
    signed in by the session cookie alone has its origin checked against the public URL
    (ontology.auth.callers), so such a function reads it too (``public_url``)."""
    implied = {"public_url"} if spec.route is not None and spec.auth == "public" else set()
    return spec.uses | implied


def _allow(actions: list[str], resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _storage(kind: str) -> dict[str, Any]:
    """The files bucket's objects: read by queries, read and written by mutations and actions."""
    actions = ["s3:GetObject"] if kind == "query" else ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    return _allow(actions, {"Fn::Sub": "${FilesBucket.Arn}/*"})


#: The statement each capability in ``uses`` adds (given the function's kind), in the order a policy
#: lists them; a capability outside AWS (``chain``: the chain's RPC) adds none.
GRANTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "scheduler": lambda kind: _allow(["scheduler:DeleteSchedule"], SCHEDULES_ARN),
    "purchase_saga": lambda kind: _allow(["states:StartExecution"], {"Ref": STATE_MACHINE}),
    # a waiting purchase's execution is resumed or failed by its task token
    "purchase_callbacks": lambda kind: _allow(
        ["states:SendTaskSuccess", "states:SendTaskFailure"], PURCHASE_STATE_MACHINE_ARN
    ),
    "purchase_executions": lambda kind: _allow(
        ["states:DescribeExecution", "states:StopExecution"], PURCHASE_EXECUTIONS_ARN
    ),
    "vectors": lambda kind: _allow(["s3vectors:QueryVectors", "s3vectors:GetVectors"], VECTOR_INDEX_ARNS),
    "public_url": lambda kind: public_url_read(),
    "storage": _storage,
}


def invoke_queries(functions: dict[str, RegisteredFunction]) -> dict[str, Any]:
    """``invoke_queries``: invoking exactly the public queries (the dashboard's live run of a query as
    a member), by their ARNs: no mutation, action, internal or system function."""
    return _allow(
        ["lambda:InvokeFunction"],
        [
            {"Fn::GetAtt": [fn.spec.logical_id, "Arn"]}
            for fn in functions.values()
            if fn.spec.kind == "query" and not fn.spec.internal and not fn.spec.system
        ],
    )


def _policies(spec: FunctionSpec, functions: dict[str, RegisteredFunction]) -> list[dict[str, Any]]:
    uses = uses_of(spec)
    table_actions = READ_ACTIONS if spec.kind == "query" else READ_ACTIONS + WRITE_ACTIONS
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": table_actions, "Resource": [TABLE_ARN, TABLE_INDEXES_ARN]},
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": {"Ref": "AppSecrets"}},
    ]
    if spec.kind == "query":
        statements.append(RATE_COUNTERS)
    statements += [grant(spec.kind) for use, grant in GRANTS.items() if use in uses]
    if "invoke_queries" in uses:
        statements.append(invoke_queries(functions))
    return [{"Version": "2012-10-17", "Statement": statements}]


def role_name(spec: FunctionSpec) -> str:
    """The logical id of the role of a function's access profile: its kind and what it uses (every
    function of a profile has exactly the same permissions, so they share one role)."""
    uses = "".join(u.replace("_", " ").title().replace(" ", "") for u in sorted(uses_of(spec)))
    return f"{spec.kind.capitalize()}{uses}Role"


def _role(spec: FunctionSpec, functions: dict[str, RegisteredFunction]) -> dict[str, Any]:
    """The role of a function's access profile: logs, X-Ray and its policies."""
    managed = ["service-role/AWSLambdaBasicExecutionRole", "AWSXRayDaemonWriteAccess"]
    policies = [{"PolicyName": "access", "PolicyDocument": doc} for doc in _policies(spec, functions)]
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"{spec.kind}s using {', '.join(sorted(uses_of(spec))) or 'the table'}",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/" + m} for m in managed],
            "Policies": policies,
        },
    }


def _route_event(spec: FunctionSpec, route: str) -> dict[str, Any]:
    """The HTTP API's route to the function (without the authorizer for a public one)."""
    event: dict[str, Any] = {"ApiId": {"Ref": "HttpApi"}, "Method": spec.method, "Path": route}
    if spec.auth == "public":
        event["Auth"] = {"Authorizer": "NONE"}
    return {"Type": "HttpApi", "Properties": event}


def _cron_event(job: CronJob) -> dict[str, Any]:
    return {
        "Type": "Schedule",
        "Properties": {"Schedule": job.expression, "Description": f"cron: {job.name}", "Enabled": True},
    }


def _variables(spec: FunctionSpec) -> dict[str, Any]:
    """The environment a function's capabilities need beyond the Globals'."""
    variables: dict[str, Any] = {}
    if spec.uses & {"purchase_saga", "purchase_executions"}:
        variables["ONE_PURCHASE_STATE_MACHINE_ARN"] = {"Ref": STATE_MACHINE}
    if "public_url" in uses_of(spec):
        variables["ONE_PUBLIC_URL_PARAMETER"] = public_url_parameter_name()
    return variables


def function_resource(spec: FunctionSpec, crons: list[CronJob] | None = None) -> dict[str, Any]:
    """The function of a spec, with its route (if any), its environment and its crons' schedules."""
    props: dict[str, Any] = {
        "FunctionName": function_name(spec),
        "Handler": spec.handler,
        "Description": f"{spec.kind} {spec.path}: {spec.description}"[:256],
        "MemorySize": MEMORY[spec.kind],
        "Timeout": TIMEOUT[spec.kind] if spec.route is None else min(TIMEOUT[spec.kind], ROUTED_TIMEOUT),
        "Role": {"Fn::GetAtt": [role_name(spec), "Arn"]},
    }
    if spec.route is not None:
        props["Events"] = {"Api": _route_event(spec, spec.route)}
    variables = _variables(spec)
    if variables:
        props["Environment"] = {"Variables": variables}
    for job in crons or []:
        props.setdefault("Events", {})[f"Cron{job.logical_suffix}"] = _cron_event(job)
    return {"Type": "AWS::Serverless::Function", "Properties": props}


def function_resources(functions: dict[str, RegisteredFunction], crons: list[CronJob]) -> dict[str, Any]:
    """Every registered function, each followed by its access profile's role where that profile
    first appears: one role per profile keeps the stack far below CloudFormation's 500 resources."""
    resources: dict[str, Any] = {}
    for fn in functions.values():
        resources[fn.spec.logical_id] = function_resource(
            fn.spec, [c for c in crons if c.function == fn.spec.path]
        )
        resources.setdefault(role_name(fn.spec), _role(fn.spec, functions))
    return resources


def function_globals() -> dict[str, Any]:
    """SAM's Globals: every function's runtime, architecture, code, tracing, layer and environment
    (what ontology.settings reads at cold start)."""
    return {
        "Function": {
            "Runtime": "python3.11",
            "Architectures": ["arm64"],
            "CodeUri": "functions/",
            "Tracing": "Active",
            "Layers": [{"Ref": "OntologyLayer"}],
            "Environment": {
                "Variables": {
                    "ONE_STAGE": {"Ref": "Stage"},
                    "ONE_TABLE_NAME": {"Ref": "Table"},
                    "ONE_FILES_BUCKET": {"Ref": "FilesBucket"},
                    "ONE_VECTOR_BUCKET_ARN": {"Fn::GetAtt": ["VectorBucket", "VectorBucketArn"]},
                    "ONE_EMBEDDING_DIMENSIONS": {"Ref": "EmbeddingDimensions"},
                    "ONE_SECRETS_ARN": {"Ref": "AppSecrets"},
                    "ONE_JOBS_QUEUE_URL": {"Ref": "JobsQueue"},
                    "ONE_JOBS_QUEUE_ARN": JOBS_QUEUE_ARN,
                    "ONE_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                    "ONE_SCHEDULE_GROUP": {"Ref": "JobsScheduleGroup"},
                    "ONE_FUNCTION_PREFIX": {"Fn::Sub": FUNCTION_PREFIX},
                    "ONE_RESEND_FROM_EMAIL": {"Ref": "ResendFromEmail"},
                    "ONE_AUTH_BASE_URL": {"Ref": "AuthBaseUrl"},
                    "ONE_ALLOWED_ORIGINS": {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]},
                    "ONE_CHAIN_RPC_URL": {"Ref": "ChainRpcUrl"},
                    "ONE_STRIPE_PUBLISHABLE_KEY": {"Ref": "StripePublishableKey"},
                    "ONE_RATE_LIMIT": {"Ref": "RateLimit"},
                    "ONE_FUNCTION_CALL_LIMIT": {"Ref": "FunctionCallLimit"},
                    "POWERTOOLS_SERVICE_NAME": "one-platform",
                    "POWERTOOLS_METRICS_NAMESPACE": "OnePlatform",
                    "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
                    # pydantic otherwise scans every installed package for plugins at first use
                    "PYDANTIC_DISABLE_PLUGINS": "__all__",
                }
            },
        }
    }
