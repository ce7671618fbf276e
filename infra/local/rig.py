"""The token purchase saga, in one process: moto in-process (DynamoDB, Lambda, Step Functions with
its ASL interpreter on), the template's state machine created from its ASL file, its step functions
run by the in-process Lambda runner, ``localstripe`` on loopback behind the real ``stripe`` SDK, and
the local EVM served as JSON-RPC on loopback behind web3.

The tests (fault injection, concurrency) and ``make bench`` drive purchases through it; the local
stack (:mod:`infra.local.stack`) runs the same pieces as servers. ``retry_scale`` shortens the
state machine's Retry waits (tests only: the local stack waits as AWS does).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from infra.local.serving import free_port, serve, start_localstripe
from infra.template.document import load_template
from ontology.services.purchases import execution_arn

STRIPE_KEY = "sk_test_rig"


@dataclass
class Rig:
    state_machine_arn: str
    stripe_url: str
    chain_url: str
    deployer_key: str
    runner: Any
    chain: Any = None
    function_names: dict[str, str] = field(default_factory=dict)

    def sfn(self) -> Any:
        from ontology.aws import client

        return client("stepfunctions")

    def wait(self, purchase_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait for the purchase's execution to end; returns its description."""
        arn = execution_arn(self.state_machine_arn, purchase_id)
        deadline = time.monotonic() + timeout
        while True:
            found = self.sfn().describe_execution(executionArn=arn)
            if found["status"] != "RUNNING":
                return dict(found)
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {purchase_id} still running after {timeout} s")
            time.sleep(0.05)

    def outcome(self, purchase_id: str) -> str:
        """How the execution ended: ``SUCCEEDED``, or the error of its Fail state
        (``PurchaseFailed``, ``CompensationIncomplete``), or ``TIMED_OUT`` …"""
        found = self.wait(purchase_id)
        if found["status"] != "FAILED":
            return str(found["status"])
        failed = [e for e in self.history(purchase_id) if e["type"] == "ExecutionFailed"]
        return str(failed[-1]["executionFailedEventDetails"]["error"]) if failed else "FAILED"

    def task_attempts(self, purchase_id: str, state: str) -> int:
        """How many times a Task state invoked its Lambda in the execution (retries included)."""
        current, count = None, 0
        for event in self.history(purchase_id):
            if event["type"] == "TaskStateEntered":
                current = event["stateEnteredEventDetails"]["name"]
            elif event["type"] == "TaskScheduled" and current == state:
                count += 1
        return count

    def history(self, purchase_id: str) -> list[dict[str, Any]]:
        arn = execution_arn(self.state_machine_arn, purchase_id)
        found = self.sfn().get_execution_history(executionArn=arn, maxResults=1000)
        events: list[dict[str, Any]] = found["events"]
        return events

    def stripe(self) -> Any:
        import stripe

        return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": self.stripe_url})

    def intents_of(self, purchase_id: str) -> list[Any]:
        """Every PaymentIntent Stripe holds for a purchase (by its metadata)."""
        found = self.stripe().v1.payment_intents.list(params={"limit": 100})
        return [
            pi
            for pi in found.auto_paging_iter()
            if pi.metadata and pi.metadata.to_dict().get("purchaseId") == purchase_id
        ]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("handler.py", "# the in-process runner runs the real handler\n")
    return buffer.getvalue()


@contextlib.contextmanager
def localstripe(state_dir: Path) -> Iterator[str]:
    """localstripe on a free loopback port (with Stripe's idempotency in front); yields its URL."""
    port = free_port()
    proc = start_localstripe("127.0.0.1", port, state_dir / "stripe.pickle")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chain_server() -> Iterator[tuple[str, Any]]:
    """The local EVM as JSON-RPC on a free loopback port; yields (URL, the chain)."""
    from infra.local.chain import LocalChain

    chain = LocalChain()
    with serve(chain.app(), "the local chain") as url:
        yield url, chain


@contextlib.contextmanager
def scaled_retries(scale: float) -> Iterator[None]:
    """Multiply the interpreter's Retry waits by ``scale`` (tests only)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    # the module's own ``import time`` (moto does not re-export it): what its Retry waits call
    original: Any = vars(retrier_decl)["time"]

    class _Time:
        def __getattr__(self, name: str) -> Any:
            return getattr(original, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            original.sleep(seconds * scale)

    with mock.patch.object(retrier_decl, "time", _Time()):
        yield


@contextlib.contextmanager
def saga_rig(state_dir: Path, *, retry_scale: float = 1.0, table_name: str = "one-rig") -> Iterator[Rig]:
    """Everything the purchase saga needs, in this process (see the module's docstring)."""
    import boto3
    from moto import mock_aws

    from infra.local.aws import create_table, install_moto_lock
    from infra.local.moto_patches import install_moto_patches
    from infra.local.runner import LambdaRunner, install_moto_lambda
    from infra.local.stepfunctions import create_state_machines
    from ontology.aws import reset_clients
    from ontology.data.dynamodb import reset_default_store
    from ontology.data.models import configure_models
    from ontology.providers.chain import Web3Chain, set_chain
    from ontology.providers.payments import StripePayments, set_payments
    from ontology.settings import configure

    install_moto_lock()
    install_moto_patches()
    template = load_template()
    state_dir.mkdir(parents=True, exist_ok=True)
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        localstripe(state_dir) as stripe_url,
        chain_server() as (chain_url, chain),
        scaled_retries(retry_scale),
    ):
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        configure(None)
        configure(table_name=table_name, dynamodb_endpoint=None, aws_endpoint=None)
        configure_models(table_name=table_name, host="")
        reset_default_store()
        reset_clients()
        create_table(boto3.client("dynamodb", region_name=region), table_name)
        iam = boto3.client("iam", region_name=region)
        role = iam.create_role(
            RoleName="rig-lambda",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=region)
        runner = LambdaRunner(template)
        physical: dict[str, str] = {}
        code = _zip()
        steps = {
            value["Fn::GetAtt"][0]
            for res in template["Resources"].values()
            if res["Type"] == "AWS::Serverless::StateMachine"
            for value in res["Properties"]["DefinitionSubstitutions"].values()
        }
        for logical, d in runner.defs.items():
            if logical not in steps:
                continue
            lam.create_function(
                FunctionName=logical,
                Runtime="python3.11",
                Role=role,
                Handler=d.handler,
                Code={"ZipFile": code},
                Timeout=d.timeout,
            )
            physical[logical] = logical
        uninstall = install_moto_lambda(runner, {name: name for name in physical})
        machines = create_state_machines(
            sfn=boto3.client("stepfunctions", region_name=region),
            lambda_client=lam,
            iam=iam,
            template=template,
            physical=physical,
            stack_name="one-rig",
        )
        arn = machines["TokenPurchaseStateMachine"]
        configure(purchase_state_machine_arn=arn)
        set_payments(StripePayments(api_key=STRIPE_KEY, api_base=stripe_url))
        set_chain(Web3Chain(rpc_url=chain_url, private_key=chain.deployer_key))
        try:
            yield Rig(
                arn, stripe_url, chain_url, chain.deployer_key, runner, chain=chain, function_names=physical
            )
        finally:
            set_payments(None)
            set_chain(None)
            reset_clients()
            reset_default_store()
            configure(None)
            uninstall()
