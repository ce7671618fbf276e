"""The checkov checks that do not apply, each with its reason, written into the resource's
``Metadata`` (checkov runs in ``make validate``: any other failure breaks the build)."""

from __future__ import annotations

from typing import Any

#: Every function's.
LAMBDA_SKIPS = [
    (
        "CKV_AWS_117",
        "No VPC: functions reach only AWS APIs and public SaaS APIs (Stripe, OpenAI, the chain's RPC); a VPC "
        "would add NAT cost and cold-start latency and protect no private resource.",
    ),
    (
        "CKV_AWS_115",
        "No reserved concurrency per function: the account's concurrency and the HTTP API's throttling bound "
        "it, and reserving it for 70 functions would cap each one for nothing.",
    ),
    (
        "CKV_AWS_173",
        "The environment holds no secrets (those are in Secrets Manager, read at first use); Lambda encrypts "
        "environment variables at rest with its service key.",
    ),
]
#: A function's unless invoked asynchronously (a cron has its dead-letter queue).
DLQ_SKIP = (
    "CKV_AWS_116",
    "Invoked synchronously (API Gateway, Step Functions, the jobs runner, an event source mapping): the "
    "caller sees every error, so a dead-letter queue would never receive anything.",
)
#: Other resources', by logical id.
RESOURCE_SKIPS: dict[str, list[tuple[str, str]]] = {
    "JobsQueue": [
        (
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); this check only recognises a "
            "KMS key, which would need a key policy for the scheduler's role and a KMS request per message.",
        )
    ],
    "JobsDeadLetterQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the jobs queue.")
    ],
    "BackupQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the jobs queue.")
    ],
    "BackupDeadLetterQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the jobs queue.")
    ],
    "Table": [
        (
            "CKV_AWS_119",
            "Encrypted at rest with DynamoDB's AWS-owned key; a customer-managed key adds cost and key "
            "management, and no requirement here asks for one.",
        )
    ],
    "SyncQueue": [
        (
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the jobs queue; it holds "
            "protocol messages for at most an hour.",
        )
    ],
    "SyncRecheckQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the sync queue.")
    ],
    "SyncDeadLetterQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the sync queue.")
    ],
    "SyncRecheckDeadLetterQueue": [
        ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the sync queue.")
    ],
    "StreamFailureQueue": [
        (
            "CKV_AWS_27",
            "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), as the jobs queue; it holds "
            "Lambda's invocation records (sequence numbers, never the records themselves).",
        )
    ],
    "AlarmTopic": [
        (
            "CKV_AWS_26",
            "CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer "
            "key would need its own key policy and cost; the notifications name an alarm and a count.",
        )
    ],
    "Distribution": [
        (
            "CKV_AWS_68",
            "No WAF by default: the HTTP API throttles and the functions validate every input; a web ACL "
            "(billed per rule and request) is an operator's choice for a custom domain.",
        ),
        (
            "CKV_AWS_86",
            "The APIs behind it keep their own access logs (HTTP API and WebSocket stage); CloudFront's "
            "standard logs would need a bucket with ACLs enabled.",
        ),
        (
            "CKV_AWS_174",
            "The default *.cloudfront.net certificate cannot set a minimum protocol; a custom domain's "
            "certificate (TLSv1.2_2021) is configured with the domain.",
        ),
    ],
    "AppSecrets": [("CKV_AWS_149", "Encrypted with Secrets Manager's AWS-managed key (aws/secretsmanager).")],
    "OriginVerifySecret": [
        ("CKV_AWS_149", "Encrypted with Secrets Manager's AWS-managed key (aws/secretsmanager).")
    ],
    "FilesBucket": [
        (
            "CKV_AWS_18",
            "Uploads and downloads go through presigned URLs the platform signs and logs; S3 server access "
            "logs would need a second bucket and are best-effort. CloudTrail data events are the audit trail "
            "where one is required.",
        )
    ],
}
#: Every log group's.
LOG_GROUP_SKIP = (
    "CKV_AWS_158",
    "CloudWatch Logs encrypts every log group at rest; a KMS key would add cost and a key policy.",
)


def checkov_metadata(skips: list[tuple[str, str]]) -> dict[str, Any]:
    """A resource's ``Metadata`` that skips these checks, each with its reason."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in skips]}}
