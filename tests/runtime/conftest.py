"""The scheduler end to end, in-process: template.yaml stood up in moto's CloudFormation, moto's
Lambda running our handlers, and the local stack's pollers driven step by step. As in the local
stack (and AWS), every function the runner invokes (the stream's dispatcher, the queue's runner, the
job's own function) signs its calls as its own role, and moto refuses what that role may not do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

STACK = "one-sched"


@dataclass
class Stack:
    physical: dict[str, str]
    runner: Any
    #: The schedule group one-time schedules go to (the template's, which the roles name).
    group: str
    stream: Any
    queue: Any
    schedules: Any
    scheduler_client: Any

    def drain(self, rounds: int = 10) -> int:
        """Deliver everything deliverable now: stream → dispatcher → queue → runner → functions."""
        moved = 0
        for _ in range(rounds):
            step = self.stream.poll_once() + self.schedules.poll_once() + self.queue.poll_once()
            self.queue.runner.wait_async()  # the runner queues jobs; they run asynchronously
            moved += step
            if not step:
                return moved
        return moved


@pytest.fixture(scope="module")
def module_aws() -> Iterator[None]:
    """moto in-process for a whole module (a test's own ``aws`` nests inside it: nothing is reset)."""
    from moto import mock_aws

    from infra.local.aws import install_moto_lock
    from infra.local.moto_patches import install_moto_patches

    install_moto_lock()
    install_moto_patches()
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def stack(module_aws: None) -> Iterator[Stack]:
    """The template stood up once per module; each test works in an organization of its own."""
    import os

    import boto3
    from botocore.credentials import ReadOnlyCredentials

    from infra.local import iam
    from infra.local.cloudformation import stand_up
    from infra.local.credentials import ActingCredentials, FunctionRoles
    from infra.local.pollers import QueuePoller, SchedulePoller, StreamPoller, stream_mappings
    from infra.local.runner import LambdaRunner, install_moto_lambda
    from infra.template.document import load_template
    from ontology.aws import reset_clients, use_credentials
    from ontology.data.dynamodb import reset_default_store
    from ontology.data.storage import reset_client
    from ontology.settings import configure

    template = load_template()
    physical = stand_up(boto3.client("cloudformation"), boto3.client("s3"), STACK, template)
    sqs = boto3.client("sqs")
    queue_url = physical["JobsQueue"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    role_arn = boto3.client("iam").get_role(RoleName=physical["SchedulerRole"])["Role"]["Arn"]
    group = physical["JobsScheduleGroup"]
    iam.install()
    use_credentials(
        ActingCredentials(
            ReadOnlyCredentials(
                os.environ["AWS_ACCESS_KEY_ID"],
                os.environ["AWS_SECRET_ACCESS_KEY"],
                os.environ.get("AWS_SESSION_TOKEN"),
            )
        )
    )
    configure(None)
    configure(
        table_name=physical["Table"],
        files_bucket=physical["FilesBucket"],
        jobs_queue_url=queue_url,
        jobs_queue_arn=queue_arn,
        scheduler_role_arn=role_arn,
        schedule_group=group,
        function_prefix=f"{STACK}-",
        dynamodb_endpoint=None,
        aws_endpoint=None,
    )
    reset_default_store()
    reset_clients()
    reset_client()
    runner = LambdaRunner(template, FunctionRoles(physical, boto3.client("lambda"), boto3.client("sts")))
    install_moto_lambda(runner, {v: k for k, v in physical.items()})
    ddb = boto3.client("dynamodb")
    stream_arn = ddb.describe_table(TableName=physical["Table"])["Table"]["LatestStreamArn"]
    scheduler_client = boto3.client("scheduler")
    yield Stack(
        physical=physical,
        runner=runner,
        group=group,
        stream=StreamPoller(
            runner,
            boto3.client("dynamodbstreams"),
            stream_arn,
            [m for m in stream_mappings(template, physical) if m.target == "SchedulerDispatcherFunction"],
        ),
        queue=QueuePoller(runner, sqs, queue_url, queue_arn, "SchedulerRunnerFunction"),
        schedules=SchedulePoller(scheduler_client, sqs, group, {queue_arn: queue_url}),
        scheduler_client=scheduler_client,
    )
    use_credentials(None)
    reset_clients()
    reset_client()
    reset_default_store()
