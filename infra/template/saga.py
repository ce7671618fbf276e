"""The token purchase saga (docs/token-purchase.md): the Step Functions state machine from its ASL
file, its steps' functions substituted in, and its log group."""

from __future__ import annotations

import re
from typing import Any

from infra import ROOT
from infra.template.checkov import LOG_GROUP_SKIP, checkov_metadata
from ontology.runtime.registry import load_all

STATE_MACHINE = "TokenPurchaseStateMachine"
STATE_MACHINE_ASL = "infra/statemachines/token_purchase.asl.json"

#: The state machine's ARN by its name: a step's own role cannot Ref the state machine, whose
#: definition names the step (a circular dependency).
PURCHASE_STATE_MACHINE_ARN = {
    "Fn::Sub": (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-token-purchase"
    )
}
PURCHASE_EXECUTIONS_ARN = {
    "Fn::Sub": (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-token-purchase:*"
    )
}


def saga_steps() -> dict[str, str]:
    """The state machine's substitutions, from its ASL file: each ``${<Step>FunctionArn}`` names the
    function ``purchases:<step>`` (``AwaitAuthentication``: ``purchases:await_authentication``), by
    logical id; a placeholder without its function fails here."""
    registry = load_all()
    steps: dict[str, str] = {}
    for name in sorted(set(re.findall(r"\$\{(\w+)FunctionArn\}", (ROOT / STATE_MACHINE_ASL).read_text()))):
        path = "purchases:" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        if path not in registry:
            raise ValueError(f"{STATE_MACHINE_ASL}: ${{{name}FunctionArn}} has no function {path}")
        steps[f"{name}FunctionArn"] = registry[path].spec.logical_id
    return steps


def state_machine() -> dict[str, Any]:
    """The token purchase saga (docs/token-purchase.md): the ASL file, its steps' ARNs substituted in."""
    steps = saga_steps()
    invoke: list[dict[str, Any]] = [{"Fn::GetAtt": [logical, "Arn"]} for logical in steps.values()]
    invoke += [{"Fn::Sub": "${" + logical + ".Arn}:*"} for logical in steps.values()]
    return {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Name": {"Fn::Sub": "${AWS::StackName}-token-purchase"},
            "Type": "STANDARD",
            "DefinitionUri": STATE_MACHINE_ASL,
            "DefinitionSubstitutions": {
                name: {"Fn::GetAtt": [logical, "Arn"]} for name, logical in steps.items()
            },
            "Tracing": {"Enabled": True},
            "Logging": {
                "Level": "ERROR",
                "IncludeExecutionData": False,
                "Destinations": [
                    {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["TokenPurchaseLogs", "Arn"]}}}
                ],
            },
            "Policies": [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": invoke},
                        {
                            # What Step Functions needs to deliver its logs (AWS documents these as "*").
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogDelivery",
                                "logs:GetLogDelivery",
                                "logs:UpdateLogDelivery",
                                "logs:DeleteLogDelivery",
                                "logs:ListLogDeliveries",
                                "logs:PutResourcePolicy",
                                "logs:DescribeResourcePolicies",
                                "logs:DescribeLogGroups",
                            ],
                            "Resource": "*",
                        },
                    ],
                }
            ],
        },
    }


def _logs() -> dict[str, Any]:
    """Where the state machine logs its errors (without execution data), kept as long as the rest."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": {"Fn::Sub": "/aws/vendedlogs/states/${AWS::StackName}-token-purchase"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
        "Metadata": checkov_metadata([LOG_GROUP_SKIP]),
    }


def saga_resources() -> dict[str, Any]:
    """The state machine and its log group."""
    return {STATE_MACHINE: state_machine(), "TokenPurchaseLogs": _logs()}
