"""The running local stack, brought to the functions of reloaded code (its dev loop: ``make dev``).

After :mod:`infra.local.reload` the stack's template is built again from the code, in memory
(``template.yaml`` is written only by ``make template``), and what differs in its functions is done
to the running stack as ``sam deploy`` would do it to the deployed one, without restarting anything:

- a new function gets its Lambda in moto (so that Convex's calls and the jobs runner, which invoke a
  function by name, find it) with the role of its access profile, its routes and its crons; a new
  role is created with its policies;
- a removed function's Lambda, routes and crons go: its path answers 404, and Convex's calls
  NOT_FOUND, as for a function that never was;
- a changed function gets its new route, timeout, memory and role, and the policies that name
  functions (Convex's HTTP API and the sync worker invoke exactly the public ones) are put again.

Their intrinsic functions (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) are resolved by moto's own resolver
against the stack moto's CloudFormation made, so a policy names what it named at the start. The
template's other resources (the table and its indexes, queues, buckets, the state machine) are not
changed in a running stack: when they differ, :class:`Redeployed` says which, and they take effect
at the next start, after ``make template``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

log = logging.getLogger("one.local")

__all__ = ["Redeployed", "Redeployer"]

FUNCTION = "AWS::Serverless::Function"
ROLE = "AWS::IAM::Role"
#: moto's one account
ACCOUNT = "123456789012"


@dataclass
class Redeployed:
    """What changed in the running stack's functions."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    #: Functions the stack could not deploy, with why (a new one is not served).
    failed: dict[str, str] = field(default_factory=dict)
    #: The template's other parts that differ (their change takes effect at the next start).
    elsewhere: list[str] = field(default_factory=list)


@dataclass
class _Made:
    """A resource the dev loop (or the stack, outside moto's CloudFormation) made: what ``Ref`` gives
    and its attributes (any attribute of one made outside CloudFormation is its ``Ref``, as
    :func:`infra.local.cloudformation.without` resolves it)."""

    physical_resource_id: str
    attributes: dict[str, str] = field(default_factory=dict)

    def get_cfn_attribute(self, name: str) -> str:
        return self.attributes.get(name, self.physical_resource_id)


class _Resources:
    """The stack's resources by logical id, as moto's resolver (``clean_json``) reads them: those
    moto's CloudFormation made, those the stack made beside it, those the dev loop made since."""

    def __init__(self, moto: Any, made: dict[str, _Made]) -> None:
        self.moto = moto
        self.made = made

    def __getitem__(self, key: str) -> Any:
        if key in self.made:
            return self.made[key]
        return self.moto[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("handler.py", "# the in-process runner runs the real handler\n")
    return buffer.getvalue()


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r.get("Type") == FUNCTION}


class Redeployer:
    """Applies new templates to one running :class:`~infra.local.stack.LocalStack`."""

    def __init__(self, stack: Any) -> None:
        import boto3
        from moto.cloudformation.models import cloudformation_backends

        from infra.local.stack import STACK_NAME

        self.stack = stack
        self.region = os.environ["AWS_DEFAULT_REGION"]
        endpoint = stack.aws_endpoint
        self.iam = boto3.client("iam", endpoint_url=endpoint, region_name=self.region)
        self.lam = boto3.client("lambda", endpoint_url=endpoint, region_name=self.region)
        backend = cloudformation_backends[ACCOUNT][self.region]
        ours = [s for s in backend.stacks.values() if s.name == STACK_NAME and s.status.endswith("_COMPLETE")]
        moto_map = ours[-1].resource_map
        in_moto = set(moto_map.resources)
        beside = {k: _Made(v) for k, v in stack.physical.items() if k not in in_moto}
        self.resources = _Resources(moto_map, beside)
        self.stack_name = STACK_NAME

    def resolve(self, value: Any) -> Any:
        """``value`` with its intrinsic functions resolved against the running stack."""
        from moto.cloudformation.parsing import clean_json

        return clean_json(value, cast(Any, self.resources))  # read by logical id, as a ResourceMap is

    def apply(self, template: dict[str, Any]) -> Redeployed:
        """Bring the running stack to ``template``'s functions (see the module's docstring)."""
        old = self.stack.template
        before, after = _functions(old), _functions(template)
        done = Redeployed()
        # roles first (a new function needs its role), their policies last (a policy may name a
        # function this redeploy adds: a role that may invoke every public query, say)
        policies = self._roles(old, template)
        steps: list[tuple[str, str, Callable[[str, Any], None], Any]] = [
            (k, "added", self._add, after[k]["Properties"])
            for k in sorted(after)
            if k not in self.stack.physical
        ]
        steps += [(k, "removed", self._remove, None) for k in sorted(set(before) - set(after))]
        steps += [
            (k, "changed", self._update, (before[k]["Properties"], after[k]["Properties"]))
            for k in sorted(set(before) & set(after))
            if before[k] != after[k] and k in self.stack.physical
        ]
        for logical, what, step, props in steps:
            try:
                step(logical, props)
            except Exception as exc:  # moto's refusal, a reference to nothing: this one is not deployed
                log.debug("could not deploy %s", logical, exc_info=True)
                done.failed[logical] = f"{type(exc).__name__}: {exc}"
            else:
                getattr(done, what).append(logical)
        for logical, role, documents in policies:
            try:
                self._put_policies(role, documents)
            except Exception as exc:  # a policy naming a function that could not be deployed
                log.debug("could not put the policies of %s", logical, exc_info=True)
                done.failed[logical] = f"{type(exc).__name__}: {exc}"
        self._serve(template, {k for k in done.failed if k not in self.stack.physical})
        done.elsewhere = _elsewhere(old, template)
        return done

    def _roles(
        self, old: dict[str, Any], template: dict[str, Any]
    ) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """The template's roles: a new one made; the policies of each new or changed role, to be put
        once the functions they may name exist (logical id, role name, its policies)."""
        pending: list[tuple[str, str, list[dict[str, Any]]]] = []
        for logical, resource in template["Resources"].items():
            if resource.get("Type") != ROLE or resource == old["Resources"].get(logical):
                continue
            if logical not in self.stack.physical:
                self._create_role(logical, {**resource["Properties"], "Policies": []})
            policies = resource["Properties"].get("Policies") or []
            pending.append((logical, self.stack.physical[logical], policies))
        return pending

    # ------------------------------------------------------------------------------------ roles

    def _create_role(self, logical: str, props: dict[str, Any]) -> str:
        """A role of the template that the running stack lacks (a new access profile), or SAM's role
        of a function that declares its own ``Policies``: made with its policies."""
        name = f"{self.stack_name}-{logical}"[:64]
        trust = props.get("AssumeRolePolicyDocument") or {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(self.resolve(trust)))[
            "Role"
        ]["Arn"]
        for managed in self.resolve(props.get("ManagedPolicyArns") or []):
            try:
                self.iam.attach_role_policy(RoleName=name, PolicyArn=managed)
            except self.iam.exceptions.ClientError:  # an AWS managed policy moto does not hold: logs, X-Ray
                log.debug("%s: %s not attached", logical, managed)
        self._put_policies(name, props.get("Policies") or [])
        self.stack.physical[logical] = name
        self.resources.made[logical] = _Made(name, {"Arn": arn})
        return str(arn)

    def _put_policies(self, role: str, policies: list[dict[str, Any]]) -> None:
        for policy in policies:
            document = self.resolve(policy["PolicyDocument"])
            self.iam.put_role_policy(
                RoleName=role, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document)
            )

    @staticmethod
    def _sam_policies(logical: str, props: dict[str, Any]) -> list[dict[str, Any]]:
        """A function's own ``Policies``, named as SAM names them in the role it makes for it."""
        return [
            {"PolicyName": f"{logical}RolePolicy{i}", "PolicyDocument": document}
            for i, document in enumerate(props.get("Policies") or [])
        ]

    def _role_of(self, logical: str, props: dict[str, Any]) -> str:
        """The ARN of a function's role: its access profile's, or the one SAM makes for its own
        ``Policies`` (made now when the stack lacks it)."""
        if "Role" in props:
            return str(self.resolve(props["Role"]))
        role = f"{logical}Role"
        if role in self.stack.physical:
            return str(self.iam.get_role(RoleName=self.stack.physical[role])["Role"]["Arn"])
        return self._create_role(role, {"Policies": self._sam_policies(logical, props)})

    # -------------------------------------------------------------------------------- functions

    def _add(self, logical: str, props: dict[str, Any]) -> None:
        name = self.stack._resolve(props["FunctionName"], {})
        arn = self.lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self._role_of(logical, props),
            Handler=props["Handler"],
            Code={"ZipFile": _code()},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
        )["FunctionArn"]
        self.stack.physical[logical] = name
        self.stack.physical_to_logical[name] = logical
        self.resources.made[logical] = _Made(name, {"Arn": arn})

    def _remove(self, logical: str, _props: None) -> None:
        name = self.stack.physical.pop(logical, None)
        if name is None:
            return
        self.stack.physical_to_logical.pop(name, None)
        self.resources.made.pop(logical, None)
        self.lam.delete_function(FunctionName=name)
        if self.stack.runner.roles is not None:
            self.stack.runner.roles.forget(logical)

    def _update(self, logical: str, props: tuple[dict[str, Any], dict[str, Any]]) -> None:
        before, after = props
        if before.get("Role") != after.get("Role") and "Role" in after:
            self.lam.update_function_configuration(
                FunctionName=self.stack.physical[logical], Role=self._role_of(logical, after)
            )
            if self.stack.runner.roles is not None:
                self.stack.runner.roles.forget(logical)
        if before.get("Policies") != after.get("Policies") and f"{logical}Role" in self.stack.physical:
            self._put_policies(self.stack.physical[f"{logical}Role"], self._sam_policies(logical, after))

    def _serve(self, template: dict[str, Any], skipped: set[str]) -> None:
        """The runner, the front door's routes and the crons: the template's functions from now on."""
        from infra.local.pollers import cron_events, dead_letter_queues, expose_crons
        from infra.local.runner import function_defs

        self.stack.runner.replace({k: d for k, d in function_defs(template).items() if k not in skipped})
        poller = getattr(self.stack, "cron_poller", None)
        if poller is not None:
            poller.dead_letters = dead_letter_queues(template, self.stack.physical)
            poller.replace([c for c in cron_events(template) if c[0] not in skipped])
        expose_crons(template)
        self.stack.template = template


def _elsewhere(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs in the two templates but their functions and roles."""
    sections = {k for k in {*old, *new} if k != "Resources" and old.get(k) != new.get(k)}
    before, after = old["Resources"], new["Resources"]
    resources = {
        k
        for k in {*before, *after}
        if before.get(k) != after.get(k) and (before.get(k) or after[k]).get("Type") not in (FUNCTION, ROLE)
    }
    return sorted(sections | resources)
