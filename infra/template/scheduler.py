"""Scheduled functions and crons (docs/scheduler.md): the jobs queue and its dead-letter queue, the
dispatcher that reads new jobs from the table's stream, the runner that invokes each due job's own
function, the group and role of one-time EventBridge schedules, and the registered crons."""

from __future__ import annotations

import json
from typing import Any

from infra.template.base import TABLE_ARN, table_stream
from ontology.runtime.crons import REGISTERED
from ontology.runtime.registry import code_module, load_all

JOBS_QUEUE_ARN = {"Fn::GetAtt": ["JobsQueue", "Arn"]}
#: Every one-time schedule of the stack's group: the dispatcher creates them, a function that uses the
#: scheduler may delete one (cancelling its job).
SCHEDULES_ARN = {
    "Fn::Sub": (
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${JobsScheduleGroup}/*"
    )
}

#: Only new scheduledFunctions documents invoke the dispatcher (a filter on the stream, not in code).
OUTBOX_FILTER = json.dumps(
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"tb": {"S": ["scheduledFunctions"]}}}},
    separators=(",", ":"),
)


def _scheduler_role() -> dict[str, Any]:
    """The role one-time schedules assume to send a due job."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": "Lets one-time EventBridge schedules put due jobs on the jobs queue.",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "send-due-jobs",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": JOBS_QUEUE_ARN}
                        ],
                    },
                }
            ],
        },
    }


def _dispatcher() -> dict[str, Any]:
    """New jobs, from the table's stream, onto the jobs queue or into a one-time schedule."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-scheduler-dispatcher"},
            "Handler": "jobs.dispatch",
            "Description": "Scheduler: new jobs (table stream) -> jobs queue or one-time schedule.",
            "MemorySize": 256,
            "Timeout": 30,
            "Events": {
                # jobs are independent: a job that cannot be dispatched holds back half the shard
                "Outbox": table_stream(patterns=[OUTBOX_FILTER], parallelization=2),
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": JOBS_QUEUE_ARN},
                        {
                            "Effect": "Allow",
                            "Action": ["scheduler:CreateSchedule"],
                            "Resource": SCHEDULES_ARN,
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["iam:PassRole"],
                            "Resource": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        },
                    ],
                }
            ],
        },
    }


def _runner() -> dict[str, Any]:
    """Due jobs, from the jobs queue, to each job's own function (invoked by its deployed name)."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": "${AWS::StackName}-scheduler-runner"},
            "Handler": "jobs.run",
            "Description": "Scheduler: due jobs (queue) -> the job's own function.",
            "MemorySize": 256,
            "Timeout": 60,
            "Events": {
                "Jobs": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": JOBS_QUEUE_ARN,
                        "BatchSize": 10,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    },
                }
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [TABLE_ARN]},
                        {
                            "Effect": "Allow",
                            "Action": ["lambda:InvokeFunction"],
                            "Resource": {
                                "Fn::Sub": (
                                    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*"
                                )
                            },
                        },
                    ],
                }
            ],
        },
    }


def scheduler_resources() -> dict[str, Any]:
    """The jobs queue, the stream dispatcher, the queue runner and one-time schedules' role."""
    return {
        "JobsDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        "JobsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 360,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 5,
                },
            },
        },
        "JobsScheduleGroup": {
            "Type": "AWS::Scheduler::ScheduleGroup",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-jobs"}},
        },
        "SchedulerRole": _scheduler_role(),
        "SchedulerDispatcherFunction": _dispatcher(),
        "SchedulerRunnerFunction": _runner(),
    }


def load_crons() -> list[Any]:
    """The crons ``functions/crons.py`` declares; one naming a function that is not registered fails
    here."""
    code_module("crons")
    for job in REGISTERED.jobs.values():
        if job.function not in load_all():
            raise ValueError(f"cron {job.name!r} runs {job.function}, which is not a registered function")
    return list(REGISTERED.jobs.values())
