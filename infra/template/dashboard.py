"""The dashboard (docs/dashboard.md): one Lambda of its own, its code in ``dashboard/`` (none of it in
any function's package), serving its page at ``/dashboard/`` and its API under ``/dashboard/api/`` on
the HTTP API. Its routes skip the authorizer: the dashboard reads the session itself (the cookie of
the platform's pages, or a bearer token) and admits only owners.

It may read the table (sessions, members, organizations, scheduled functions, cron runs, files'
records, the sync protocol's connections), invoke exactly the public functions (it runs them as a
member, each in its own Lambda) and the crons' functions (a cron run now, by a platform owner), read
the functions' log group, and read the sync queue's attributes (its depth, on the Live page). Its
environment names the crons (``ONE_CRONS``): its package holds no function's code."""

from __future__ import annotations

import json
from typing import Any

from infra.template.base import (
    READ_ACTIONS,
    ROUTED_TIMEOUT,
    TABLE_ARN,
    TABLE_INDEXES_ARN,
    public_url_parameter_name,
    public_url_read,
)
from infra.template.observability import FUNCTION_LOGS
from infra.template.sync import SYNC_QUEUE_ARN, invoke_public
from ontology.runtime.crons import CronJob
from ontology.runtime.registry import RegisteredFunction

#: The dashboard's routes: its page (``/dashboard/`` too: API Gateway routes a path with a trailing
#: slash as the same path without it), its files and its API's reads, its API's writes.
ROUTES = (("GET", "/dashboard"), ("GET", "/dashboard/{proxy+}"), ("POST", "/dashboard/api/{proxy+}"))


def crons_variable(crons: list[CronJob]) -> str:
    """``ONE_CRONS``: the crons the Schedules page lists and runs (name, function, schedule)."""
    listed = [
        {
            "name": c.name,
            "function": c.function,
            "schedule": c.expression,
            "unix": c.unix,
            "rateSeconds": c.rate_seconds,
        }
        for c in crons
    ]
    return json.dumps(listed, separators=(",", ":"))


def dashboard_function(functions: dict[str, RegisteredFunction], crons: list[CronJob]) -> dict[str, Any]:
    cron_functions = sorted({functions[c.function].spec.logical_id for c in crons if c.function in functions})
    statements = [
        {"Effect": "Allow", "Action": READ_ACTIONS, "Resource": [TABLE_ARN, TABLE_INDEXES_ARN]},
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": {"Ref": "AppSecrets"}},
        public_url_read(),
        invoke_public(functions),
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [{"Fn::GetAtt": [logical_id, "Arn"]} for logical_id in cron_functions],
        },
        {
            "Effect": "Allow",
            "Action": ["logs:FilterLogEvents"],
            # the log group's streams, as FilterLogEvents is authorized (…:log-group:<name>:*)
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${"
                + FUNCTION_LOGS
                + "}:*"
            },
        },
        {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes"], "Resource": SYNC_QUEUE_ARN},
    ]
    events = {
        f"Route{n}": {
            "Type": "HttpApi",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "Method": method,
                "Path": path,
                "Auth": {"Authorizer": "NONE"},
            },
        }
        for n, (method, path) in enumerate(ROUTES)
    }
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-dashboard"},
            "CodeUri": "dashboard/",
            "Handler": "dashboard.app.handler",
            "Description": "Dashboard: its page at /dashboard/ and its API, for owners (docs/dashboard.md).",
            "MemorySize": 256,
            "Timeout": ROUTED_TIMEOUT,
            "Environment": {
                "Variables": {
                    "ONE_LOG_GROUP": {"Ref": FUNCTION_LOGS},
                    "ONE_PUBLIC_URL_PARAMETER": public_url_parameter_name(),
                    "ONE_CRONS": crons_variable(crons),
                    "ONE_SYNC_QUEUE_URL": {"Ref": "SyncQueue"},
                }
            },
            "Events": events,
            "Policies": [{"Version": "2012-10-17", "Statement": statements}],
        },
    }
