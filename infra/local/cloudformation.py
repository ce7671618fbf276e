"""Stands ``template.yaml`` up in moto's CloudFormation, as ``sam deploy`` would in AWS.

moto does not apply the SAM transform, so the template is translated with aws-sam-translator first
(with a managed-policy loader that makes no AWS call), after the code directories are zipped and
uploaded to moto's S3 (CloudFormation wants S3 URIs). moto silently skips the API Gateway v2
resources: the local front door serves the routes instead, read from the same template.

Resources moto's CloudFormation cannot create but that the functions' roles and environment name
(the S3 Vectors bucket and indexes, the Secrets Manager secret, the one-time schedules' group, the
WebSocket API) are created first through their own APIs and every reference to them (``Ref``,
``Fn::GetAtt`` and ``${…}`` in ``Fn::Sub``) replaced by what CloudFormation would resolve it to, so
the policies moto holds name the same resources as AWS's (:mod:`infra.local.iam` enforces them).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

from infra import ROOT
from infra.template.document import load_template
from infra.template.parameters import SECRET_PARAMETERS
from ontology.public_url import LOCAL_PUBLIC_URL

ARTIFACT_BUCKET = "one-local-artifacts"
LOCAL_SECRET_VALUES = {
    name: "local-" + name.lower() + "-0123456789abcdefghijklmnopqrstuvwxyz" for name in SECRET_PARAMETERS
}
# A well-formed placeholder (the local stack hands functions its local chain's own deployer key).
LOCAL_SECRET_VALUES["DeployerPrivateKey"] = "0x" + "11" * 32
# The local Stripe stand-in signs the events it posts to the stack with this endpoint secret.
LOCAL_SECRET_VALUES["StripeWebhookSecret"] = "whsec_local0123456789abcdefghijklmnopqrstuvwxyz"
#: moto has no CloudFront: locally the public URL is the front door's (or BETTER_AUTH_URL), given as
#: AuthBaseUrl, so the template's public URL parameter never names the distribution.
LOCAL_PARAMETER_VALUES = {"AuthBaseUrl": LOCAL_PUBLIC_URL}


class _NoAwsPolicyLoader:
    """samtranslator asks for AWS managed policies by name only when a template names them."""

    def load(self) -> dict[str, str]:
        return {}


def zip_directory(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(path.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                zf.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def _upload(s3: Any, directory: str) -> str:
    key = directory.strip("/").replace("/", "-") + ".zip"
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=zip_directory(ROOT / directory))
    return f"s3://{ARTIFACT_BUCKET}/{key}"


def with_s3_code(template: dict[str, Any], s3: Any) -> dict[str, Any]:
    """The template with every local CodeUri/ContentUri replaced by an uploaded zip (and each state
    machine's DefinitionUri inlined)."""
    from infra.local.stepfunctions import inline_definitions

    tpl = inline_definitions(copy.deepcopy(template))
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    uploaded: dict[str, str] = {}

    def uri(directory: str) -> str:
        if directory not in uploaded:
            uploaded[directory] = _upload(s3, directory)
        return uploaded[directory]

    globals_fn = tpl.get("Globals", {}).get("Function", {})
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = uri(globals_fn["CodeUri"])
    for resource in tpl["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = uri(props[key])
    return tpl


def translate(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    translated: dict[str, Any] = transform(template, parameters or {}, _NoAwsPolicyLoader())
    return translated


#: Translations already made, by what they were made from (``.one/cache``; ``make clean`` empties it).
TRANSLATIONS = ROOT / ".one" / "cache" / "sam"


def _placeholder(kind: str, name: str) -> str:
    # letters and digits only: valid wherever a name, an id or a piece of an ARN may stand
    return f"one0{kind}0{name}0end"


def translate_cached(
    template: dict[str, Any],
    made: dict[str, str],
    parameters: dict[str, str],
    cache: Path | None = TRANSLATIONS,
) -> dict[str, Any]:
    """``translate(without(template, made), parameters)``, made once per template: what changes from
    one stack to the next (the ids of the resources made outside CloudFormation, the parameters'
    values, such as the public URL with its port) is translated as placeholders, the translation kept
    under ``cache`` by a hash of its input and aws-sam-translator's version, and the values put in.
    The SAM transform takes seconds; the local stack starts once per test module."""
    from importlib.metadata import version

    made_marks = {logical: _placeholder("made", logical) for logical in made}
    param_marks = {name: _placeholder("param", name) for name in parameters}
    source = without(template, made_marks)
    key = hashlib.sha256(
        json.dumps([source, sorted(param_marks), version("aws-sam-translator")], sort_keys=True).encode()
    ).hexdigest()
    path = cache / f"{key}.json" if cache is not None else None
    if path is not None and path.exists():
        text = path.read_text()
    else:
        text = json.dumps(translate(source, param_marks))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(text)
            os.replace(partial, path)  # whole or not at all, whoever else writes it
    for logical, mark in made_marks.items():
        text = text.replace(mark, json.dumps(made[logical])[1:-1])
    for name, mark in param_marks.items():
        text = text.replace(mark, json.dumps(parameters[name])[1:-1])
    return dict(json.loads(text))


def without(template: dict[str, Any], made: dict[str, str]) -> dict[str, Any]:
    """The template without the resources made outside moto's CloudFormation (logical id → what a
    ``Ref`` to it resolves to: an ARN, a name, an id), every reference to them replaced by that."""
    if not made:
        return template

    def substituted(text: str, variables: Any) -> str:
        def one(m: re.Match[str]) -> str:
            logical = m.group(1).split(".", 1)[0]
            if logical in made and logical not in (variables or {}):
                return made[logical]
            return m.group(0)

        return re.sub(r"\$\{([A-Za-z0-9]+(?:\.[A-Za-z0-9.]+)?)\}", one, text)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in made:
                return made[value["Fn::GetAtt"][0]]
            if set(value) == {"Ref"} and value["Ref"] in made:
                return made[value["Ref"]]
            if set(value) == {"Fn::Sub"}:
                sub = value["Fn::Sub"]
                if isinstance(sub, str):
                    return {"Fn::Sub": substituted(sub, None)}
                return {"Fn::Sub": [substituted(sub[0], sub[1]), walk(sub[1])]}
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    tpl = walk(copy.deepcopy(template))
    for logical in made:
        tpl["Resources"].pop(logical, None)
    return dict(tpl)


def _named(value: Any, stack_name: str) -> str:
    """A resource's name property (``{"Fn::Sub": "${AWS::StackName}-…"}`` or a plain string)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return str(text).replace("${AWS::StackName}", stack_name)


def create_unsupported(
    template: dict[str, Any], stack_name: str, values: dict[str, str], client: Any
) -> dict[str, str]:
    """The template's resources moto's CloudFormation skips but roles and functions refer to, made
    through their own APIs (``client(service)`` gives a client): logical id → what ``Ref`` gives."""
    made: dict[str, str] = {}
    for logical, resource in template["Resources"].items():
        kind, props = resource.get("Type"), resource.get("Properties") or {}
        if kind == "AWS::SecretsManager::Secret":
            secrets = client("secretsmanager")
            name = f"{stack_name}-{logical}"
            if "GenerateSecretString" in props:  # generated once, as CloudFormation does; kept after
                spec = props["GenerateSecretString"]
                found = secrets.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
                if found:
                    made[logical] = found[0]["ARN"]
                    continue
                value = secrets.get_random_password(
                    PasswordLength=int(spec.get("PasswordLength", 32)),
                    ExcludePunctuation=bool(spec.get("ExcludePunctuation", False)),
                    ExcludeCharacters=str(spec.get("ExcludeCharacters", "")),
                )["RandomPassword"]
                made[logical] = secrets.create_secret(Name=name, SecretString=value)["ARN"]
                continue
            text = props["SecretString"]
            text = text["Fn::Sub"] if isinstance(text, dict) else text
            value = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), ""), text)
            try:
                made[logical] = secrets.create_secret(Name=name, SecretString=value)["ARN"]
            except secrets.exceptions.ResourceExistsException:
                made[logical] = secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"]
        elif kind == "AWS::Scheduler::ScheduleGroup":
            scheduler = client("scheduler")
            name = _named(props.get("Name") or f"{stack_name}-{logical}", stack_name)
            with contextlib.suppress(scheduler.exceptions.ConflictException):
                scheduler.create_schedule_group(Name=name)
            made[logical] = name
        elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
            apis = client("apigatewayv2")
            name = _named(props["Name"], stack_name)
            found = [a for a in apis.get_apis().get("Items", []) if a["Name"] == name]
            made[logical] = (
                found[0]["ApiId"]
                if found
                else apis.create_api(
                    Name=name,
                    ProtocolType="WEBSOCKET",
                    RouteSelectionExpression=props.get("RouteSelectionExpression", "$request.body.action"),
                )["ApiId"]
            )
    return made


def stand_up(
    cloudformation: Any,
    s3: Any,
    stack_name: str,
    template: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
    *,
    made: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create (or reuse) the stack; returns logical id → physical id of its resources (``made``: those
    created beforehand, outside moto's CloudFormation, by what a ``Ref`` to them gives; by default its
    S3 Vectors, secret, schedule group and WebSocket API, made here)."""
    template = template or load_template()
    values = {**LOCAL_SECRET_VALUES, **LOCAL_PARAMETER_VALUES, **(parameters or {})}
    if made is None:
        import boto3

        from infra.local.vectors import create_resources

        endpoint = cloudformation.meta.endpoint_url
        local = endpoint.startswith("http://")  # moto's server; otherwise moto in process

        def client(service: str) -> Any:
            return boto3.client(
                service, endpoint_url=endpoint if local else None, region_name=cloudformation.meta.region_name
            )

        made = {
            **create_resources(client("s3vectors"), template, stack_name),
            **create_unsupported(template, stack_name, values, client),
        }
    try:
        existing = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        existing = []
    if not existing or existing[0]["StackStatus"].endswith("FAILED"):
        cfn = translate_cached(with_s3_code(template, s3), made, values)
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("PhysicalResourceId")
    }
    return {**physical, **made}
