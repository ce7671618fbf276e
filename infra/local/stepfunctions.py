"""The template's state machines on moto's Step Functions interpreter.

moto runs real ASL (Retry, Catch, timeouts) only for state machines created through the Step
Functions API with its ``execute_state_machine`` option on; the ones its CloudFormation creates are
stored but never run, and it ignores ``DefinitionSubstitutions``. So the local stack creates each
state machine again through the API, from the same ASL file with the same substitutions resolved to
this stack's functions; Lambda tasks then reach the in-process runner through moto's Lambda.
"""

from __future__ import annotations

import json
from typing import Any

from infra import ROOT

__all__ = ["create_state_machines", "enable_interpreter", "inline_definitions", "resolve_definition"]


def enable_interpreter() -> None:
    """Turn on moto's ASL interpreter (server mode: this process serves moto)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config({"stepfunctions": {"execute_state_machine": True}})


def inline_definitions(template: dict[str, Any]) -> dict[str, Any]:
    """The template with each ``DefinitionUri`` (a local file, which ``sam deploy`` uploads) inlined,
    for moto's CloudFormation, which cannot read local files."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(
            props.get("DefinitionUri"), str
        ):
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text())
    return template


def resolve_definition(resource: dict[str, Any], function_arn: dict[str, str]) -> str:
    """The ASL of a state machine resource with its ``${…}`` substitutions resolved: each
    ``Fn::GetAtt [<Function>, Arn]`` to that function's ARN in this stack."""
    props = resource["Properties"]
    text = (
        (ROOT / props["DefinitionUri"]).read_text()
        if "DefinitionUri" in props
        else json.dumps(props["Definition"])
    )
    for name, value in (props.get("DefinitionSubstitutions") or {}).items():
        logical = value["Fn::GetAtt"][0] if isinstance(value, dict) else None
        text = text.replace("${" + name + "}", function_arn[logical] if logical else str(value))
    json.loads(text)  # still JSON
    return text


def create_state_machines(
    *,
    sfn: Any,
    lambda_client: Any,
    iam: Any,
    template: dict[str, Any],
    physical: dict[str, str],
    stack_name: str,
) -> dict[str, str]:
    """Create (or update) every state machine of the template through the Step Functions API;
    returns logical id -> state machine ARN."""
    arns: dict[str, str] = {}
    role = _role(iam)
    for logical, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        steps = {
            v["Fn::GetAtt"][0]
            for v in (resource["Properties"].get("DefinitionSubstitutions") or {}).values()
            if isinstance(v, dict)
        }
        function_arn = {
            step: lambda_client.get_function(FunctionName=physical[step])["Configuration"]["FunctionArn"]
            for step in steps
        }
        definition = resolve_definition(resource, function_arn)
        name = str(resource["Properties"].get("Name", {}).get("Fn::Sub", logical)).replace(
            "${AWS::StackName}", stack_name
        )
        existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
        if name in existing:
            sfn.update_state_machine(stateMachineArn=existing[name], definition=definition, roleArn=role)
            arns[logical] = existing[name]
        else:
            arns[logical] = sfn.create_state_machine(
                name=name,
                definition=definition,
                roleArn=role,
                type="STANDARD",
                tracingConfiguration={"enabled": True},
            )["stateMachineArn"]
    return arns


def _role(iam: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return str(iam.get_role(RoleName="one-local-states")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(RoleName="one-local-states", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                "Arn"
            ]
        )
