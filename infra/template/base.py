"""The stack's foundation, which every other part names: the ontology layer, the single table and
its stream, the files bucket, the secrets, the HTTP API (its throttle, CORS and access log) and the
public URL parameter."""

from __future__ import annotations

from typing import Any

from infra.template.checkov import LOG_GROUP_SKIP, checkov_metadata
from infra.template.observability import STREAM_FAILURES
from infra.template.parameters import SECRET_PARAMETERS
from ontology.data.models import table_definition

#: The HTTP API answers 503 when its integration has not answered in 30 s: a routed function must
#: answer within that (a second less, so its own error is what the client reads).
ROUTED_TIMEOUT = 29

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}
TABLE_INDEXES_ARN = {"Fn::Sub": "${Table.Arn}/index/*"}
READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]

# UpdateItem: a transaction's ADD to a search term's dictionary entry and to a counter's shard
WRITE_ACTIONS = [
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
]

#: One JSON line per request in the HTTP API's access log.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status",'
    '"latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",'
    '"authorizerError":"$context.authorizer.error"}'
)

#: API Gateway caches the authorizer's answer per Authorization header this long. The answer is only
#: the session the token opens, which a token means for life; every call reads the session itself, so
#: a sign-out, a reset or a switch of organization applies to the very next call.
AUTHORIZER_CACHE_SECONDS = 60

#: The HTTP API's CORS, which API Gateway applies to every route (the local front door applies the same
#: settings): credentials included, so a listed origin may use Better Auth's cookie; Convex's HTTP
#: client sends ``Convex-Client``; bearer clients read ``set-auth-token`` and a limited caller
#: ``X-Retry-After``.
CORS = {
    "AllowOrigins": {"Ref": "AllowedOrigins"},
    "AllowMethods": ["GET", "POST", "OPTIONS"],
    "AllowHeaders": ["Authorization", "Content-Type", "Convex-Client"],
    "ExposeHeaders": ["set-auth-token", "X-Retry-After"],
    "AllowCredentials": True,
    "MaxAge": 600,
}

#: The platform's public URL (ontology.public_url) in one SSM parameter per stack: AuthBaseUrl when
#: given, else the CloudFront distribution's own https URL. A function's environment cannot name the
#: distribution (it fronts the HTTP API, which invokes the functions: a circular dependency), so the
#: functions that need the URL get the parameter's name and read it once per cold start.
PUBLIC_URL_PARAMETER = "PublicUrlParameter"


def public_url_parameter_name() -> dict[str, Any]:
    """The parameter's name, ``/<stack>/public-url`` (a function reads it as ONE_PUBLIC_URL_PARAMETER)."""
    return {"Fn::Sub": "/${AWS::StackName}/public-url"}


def public_url_read() -> dict[str, Any]:
    """Reading exactly the stack's public URL parameter."""
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/public-url"
    return {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": {"Fn::Sub": arn}}


def public_url_parameter() -> dict[str, Any]:
    """The parameter itself: AuthBaseUrl when given, else the distribution's own https URL."""
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {
            "Name": public_url_parameter_name(),
            "Type": "String",
            "Description": "The platform's public URL: links, the OAuth redirect URI, trusted origin.",
            "Value": {
                "Fn::If": [
                    "HasAuthBaseUrl",
                    {"Ref": "AuthBaseUrl"},
                    {"Fn::Sub": "https://${Distribution.DomainName}"},
                ]
            },
        },
    }


def table_stream(
    starting: str = "TRIM_HORIZON",
    patterns: list[str] | None = None,
    *,
    parallelization: int = 1,
    max_age: int = 3600,
    batch_size: int = 100,
    window: int = 0,
    bisect: bool = True,
) -> dict[str, Any]:
    """An event source on the table's stream, the platform's settings: batches of 100 at once, a
    failing batch bisected, failures reported per record (ontology.runtime.streams: a handler's answer
    isolates the failing record), 10 retries, then the record is skipped and its invocation record
    sent to :data:`STREAM_FAILURES`. ``patterns``: its filters; ``parallelization``: batches of one
    shard in flight at once (records of one partition key stay in order, and a failing record holds
    back only its own share of the shard); ``max_age``: seconds after which a record still not
    processed is skipped the same way (Lambda's default, -1, waits for the stream's 24 hours, and a
    record Lambda cannot even invoke the function for, throttled or refused, is never retried out);
    ``batch_size`` and ``window`` (seconds Lambda gathers records before it invokes): larger batches
    for a consumer that sums them; ``bisect``: False for a consumer whose retries must start where
    its own failure report says (ontology.data.search_aggregates)."""
    properties: dict[str, Any] = {
        "Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "StartingPosition": starting,
        "BatchSize": batch_size,
        "MaximumBatchingWindowInSeconds": window,
        "MaximumRetryAttempts": 10,
        "MaximumRecordAgeInSeconds": max_age,
        "BisectBatchOnFunctionError": bisect,
        "ParallelizationFactor": parallelization,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # Type SQS: SAM grants the function's role sqs:SendMessage on exactly this queue
        "DestinationConfig": {
            "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [STREAM_FAILURES, "Arn"]}}
        },
    }
    if patterns:
        properties["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in patterns]}
    return {"Type": "DynamoDB", "Properties": properties}


#: Each API stage's throttle (requests a second in steady state, and at once): past it, API Gateway
#: answers 429 before any function runs (the local front door too).
API_RATE_LIMIT = 1000
API_BURST_LIMIT = 500


def _layer() -> dict[str, Any]:
    """The ontology package, built once for every function."""
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "LayerName": {"Fn::Sub": "${AWS::StackName}-ontology"},
            "Description": "The ontology package: schema, data layer, runtime, errors, providers.",
            "ContentUri": "layers/ontology/",
            "CompatibleRuntimes": ["python3.11"],
            "CompatibleArchitectures": ["arm64"],
            "RetentionPolicy": "Delete",
        },
        # layers/ontology/Makefile: the runtime's wheels, compiled to bytecode (no compiling at
        # cold start); BuildArchitecture tells sam build which platform that is.
        "Metadata": {"BuildMethod": "makefile", "BuildArchitecture": "arm64"},
    }


def _table() -> dict[str, Any]:
    """The single table (docs/data-model.md), kept when the stack is deleted."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": table_definition(),
    }


def _files_bucket() -> dict[str, Any]:
    """Private, encrypted and versioned; browsers upload and download through presigned URLs, from
    the allowed origins; scheduled backups expire (``backups``)."""
    from infra.template.backups import backup_lifecycle_rule

    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "abort-incomplete-uploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                    },
                    backup_lifecycle_rule(),
                ]
            },
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "AllowedMethods": ["PUT", "GET", "HEAD"],
                        "AllowedOrigins": {"Ref": "AllowedOrigins"},
                        "AllowedHeaders": ["Content-Type", "Content-Length"],
                        "MaxAge": 3000,
                    }
                ]
            },
        },
    }


def _files_bucket_policy() -> dict[str, Any]:
    """Refuses every request to the files bucket that is not over TLS."""
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "FilesBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": ["FilesBucket", "Arn"]},
                            {"Fn::Sub": "${FilesBucket.Arn}/*"},
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def _app_secrets() -> dict[str, Any]:
    """The deployment's secrets, one JSON document from the NoEcho parameters."""
    return {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Description": "The deployment's secrets (from the template's NoEcho parameters).",
            "SecretString": {
                "Fn::Sub": "{"
                + ",".join(f'"{p["key"]}":"${{{name}}}"' for name, p in SECRET_PARAMETERS.items())
                + "}"
            },
        },
    }


def _origin_verify_secret() -> dict[str, Any]:
    """A generated value only the CloudFront distribution sends (the edge's proof of origin)."""
    return {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Description": (
                "The value the CloudFront distribution sends as X-One-Origin-Verify: the proof that a "
                "request came through it (only then is its X-Forwarded-For entry the client's address)."
            ),
            "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
        },
    }


def _http_api() -> dict[str, Any]:
    """The public API: its throttle, access log, CORS, and the session authorizer every route uses
    unless it opts out."""
    return {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            "Description": "The ONE platform's public API: POST /api/<module>/<function>.",
            # the stage's throttle (the account's, 10,000 a second, is shared by every API)
            "DefaultRouteSettings": {
                "ThrottlingBurstLimit": API_BURST_LIMIT,
                "ThrottlingRateLimit": API_RATE_LIMIT,
            },
            "AccessLogSettings": {
                "DestinationArn": {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]},
                "Format": ACCESS_LOG_FORMAT,
            },
            "CorsConfiguration": CORS,
            "Auth": {
                "Authorizers": {
                    "SessionAuthorizer": {
                        "FunctionArn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]},
                        "AuthorizerPayloadFormatVersion": "2.0",
                        "EnableSimpleResponses": True,
                        "EnableFunctionDefaultPermissions": True,
                        "Identity": {
                            "Headers": ["Authorization"],
                            "ReauthorizeEvery": AUTHORIZER_CACHE_SECONDS,
                        },
                    }
                },
                "DefaultAuthorizer": "SessionAuthorizer",
            },
        },
    }


def http_api_access_logs() -> dict[str, Any]:
    """The HTTP API's access log (one JSON line per request: :data:`ACCESS_LOG_FORMAT`)."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": checkov_metadata([LOG_GROUP_SKIP]),
        "Properties": {
            "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-http-api"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }


def core_resources() -> dict[str, Any]:
    """The layer, the table, the files bucket and its policy, the secrets and the HTTP API, in the
    template's order."""
    return {
        "OntologyLayer": _layer(),
        "Table": _table(),
        "FilesBucket": _files_bucket(),
        "FilesBucketPolicy": _files_bucket_policy(),
        "AppSecrets": _app_secrets(),
        "OriginVerifySecret": _origin_verify_secret(),
        "HttpApi": _http_api(),
    }
