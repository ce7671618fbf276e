"""Authentication on the HTTP API: the Lambda authorizer every non-public route runs first, and
Better Auth's endpoints under ``/api/auth`` (docs/auth.md)."""

from __future__ import annotations

from typing import Any

from infra.template.base import (
    READ_ACTIONS,
    TABLE_ARN,
    TABLE_INDEXES_ARN,
    WRITE_ACTIONS,
    public_url_parameter_name,
    public_url_read,
)


def auth_api() -> dict[str, Any]:
    """Better Auth's endpoints: one ASGI app in one Lambda (public routes: it reads sessions itself)."""
    statements = [
        {
            "Effect": "Allow",
            "Action": READ_ACTIONS + WRITE_ACTIONS,
            "Resource": [TABLE_ARN, TABLE_INDEXES_ARN],
        },
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [{"Ref": "AppSecrets"}, {"Ref": "OriginVerifySecret"}],
        },
        public_url_read(),
    ]
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-auth-api"},
            "Handler": "auth_api.handler",
            "Description": "Auth: Better Auth's endpoints under /api/auth (Starlette through Mangum).",
            "MemorySize": 512,
            "Timeout": 15,
            "Environment": {
                "Variables": {
                    "ONE_GITHUB_CLIENT_ID": {"Ref": "GithubClientId"},
                    "ONE_GOOGLE_CLIENT_ID": {"Ref": "GoogleClientId"},
                    "ONE_ORIGIN_SECRET_ARN": {"Ref": "OriginVerifySecret"},
                    "ONE_PUBLIC_URL_PARAMETER": public_url_parameter_name(),
                }
            },
            "Events": {
                "Auth": {
                    "Type": "HttpApi",
                    "Properties": {
                        "ApiId": {"Ref": "HttpApi"},
                        "Method": "ANY",
                        "Path": "/api/auth/{proxy+}",
                        "Auth": {"Authorizer": "NONE"},
                    },
                }
            },
            "Policies": [{"Version": "2012-10-17", "Statement": statements}],
        },
    }


def authorizer() -> dict[str, Any]:
    """The HTTP API's authorizer: it reads sessions from the table, and verifies a signed bearer token
    (``<token>.<signature>``, what ``set-auth-token`` hands out) with the auth secret."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Handler": "authorizer.handler",
            "Description": "API Gateway Lambda authorizer: resolves a session token to an identity.",
            "MemorySize": 256,
            "Timeout": 5,
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": READ_ACTIONS,
                            "Resource": [TABLE_ARN, TABLE_INDEXES_ARN],
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["secretsmanager:GetSecretValue"],
                            "Resource": {"Ref": "AppSecrets"},
                        },
                    ],
                }
            ],
        },
    }
