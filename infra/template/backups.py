"""Scheduled backups (docs/deploying.md, "Backups"), deployed only when ``BackupSchedule`` is set: the
schedule's planner, the backup queue (one job per organization) and its dead-letter queue, and the
exporter that writes ``backups/<organization>/<time>.zip`` to the files bucket; the bucket's
lifecycle rule that deletes them after ``BackupRetentionDays`` is the bucket's own (``base``)."""

from __future__ import annotations

from typing import Any

from infra.template.base import TABLE_ARN, TABLE_INDEXES_ARN

#: The condition every backup resource carries.
BACKUPS_ON = "BackupsEnabled"
BACKUP_QUEUE_ARN = {"Fn::GetAtt": ["BackupQueue", "Arn"]}
#: The most a backup may take (Lambda's limit); the queue hides a job at least that long.
EXPORT_TIMEOUT = 900


def backup_lifecycle_rule() -> dict[str, Any]:
    """The files bucket's rule for backups (none when backups are off)."""
    return {
        "Fn::If": [
            BACKUPS_ON,
            {
                "Id": "expire-backups",
                "Status": "Enabled",
                "Prefix": "backups/",
                "ExpirationInDays": {"Ref": "BackupRetentionDays"},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            },
            {"Ref": "AWS::NoValue"},
        ]
    }


def _planner() -> dict[str, Any]:
    """On the schedule: one job per organization onto the backup queue (it reads only their ids)."""
    return {
        "Type": "AWS::Serverless::Function",
        "Condition": BACKUPS_ON,
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-backups-plan"},
            "Handler": "backups.plan",
            "Description": "Backups: on the schedule, one job per organization onto the backup queue.",
            "MemorySize": 256,
            "Timeout": 300,
            "Environment": {"Variables": {"ONE_BACKUP_QUEUE_URL": {"Ref": "BackupQueue"}}},
            "Events": {
                "Schedule": {
                    "Type": "Schedule",
                    "Properties": {
                        "Schedule": {"Ref": "BackupSchedule"},
                        "Description": "backups: every organization",
                    },
                }
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        # the organizations' creation-time index (organizations' ids, page by page)
                        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [TABLE_INDEXES_ARN]},
                        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": BACKUP_QUEUE_ARN},
                    ],
                }
            ],
        },
    }


def _exporter() -> dict[str, Any]:
    """One organization a job: its snapshot to ``backups/<organization>/<time>.zip``."""
    return {
        "Type": "AWS::Serverless::Function",
        "Condition": BACKUPS_ON,
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-backups-export"},
            "Handler": "backups.export",
            "Description": "Backups: one organization's snapshot ZIP to backups/ in the files bucket.",
            "MemorySize": 1024,
            "Timeout": EXPORT_TIMEOUT,
            "EphemeralStorage": {"Size": 4096},
            "Events": {
                "Jobs": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": BACKUP_QUEUE_ARN,
                        "BatchSize": 1,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    },
                }
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        # the organization's index partitions, and its counters (a consistent Query)
                        {
                            "Effect": "Allow",
                            "Action": ["dynamodb:Query"],
                            "Resource": [TABLE_ARN, TABLE_INDEXES_ARN],
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["s3:PutObject"],
                            "Resource": {"Fn::Sub": "${FilesBucket.Arn}/backups/*"},
                        },
                    ],
                }
            ],
        },
    }


def backup_resources() -> dict[str, Any]:
    """The planner, the queue and its dead-letter queue, the exporter (all under ``BackupsEnabled``)."""
    return {
        "BackupDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Condition": BACKUPS_ON,
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        "BackupQueue": {
            "Type": "AWS::SQS::Queue",
            "Condition": BACKUPS_ON,
            "Properties": {
                "VisibilityTimeout": EXPORT_TIMEOUT + 60,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["BackupDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 3,
                },
            },
        },
        "BackupPlanFunction": _planner(),
        "BackupExportFunction": _exporter(),
    }
