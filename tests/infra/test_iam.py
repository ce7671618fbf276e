"""The local stack's IAM: policy evaluation as IAM does it, the checks AWS makes for each request,
presigned conditions, and functions running as their own roles (in process, on moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from infra.local.iam import ALLOW, DENY, IMPLICIT_DENY, Check, Where, checks_for, evaluate
from infra.local.presigned import S3Error, verify

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_an_explicit_deny_wins_and_nothing_is_allowed_unless_a_statement_says_so() -> None:
    read = {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": [TABLE]}
    assert evaluate([policy(read)], Check("dynamodb:GetItem", TABLE)) == ALLOW
    assert evaluate([policy(read)], Check("dynamodb:PutItem", TABLE)) == IMPLICIT_DENY
    assert evaluate([policy(read)], Check("dynamodb:GetItem", TABLE + "2")) == IMPLICIT_DENY
    deny = {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
    assert evaluate([policy(read), json.dumps(policy(deny))], Check("dynamodb:GetItem", TABLE)) == DENY
    assert (
        evaluate(
            [policy({"Effect": "Allow", "Action": "dynamodb:getitem", "Resource": "*"})],
            Check("dynamodb:GetItem", TABLE),
        )
        == ALLOW
    ), "actions match without regard to case"
    assert (
        evaluate(
            [policy({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})],
            Check("dynamodb:PutItem", TABLE),
        )
        == ALLOW
    )
    no_resource = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue"}
    assert evaluate([policy(no_resource)], Check("secretsmanager:GetSecretValue", "arn:x")) == IMPLICIT_DENY
    index = {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": TABLE + "/index/*"}
    assert evaluate([policy(index)], Check("dynamodb:Query", TABLE + "/index/gsi1")) == ALLOW
    assert evaluate([policy(index)], Check("dynamodb:Query", TABLE)) == IMPLICIT_DENY


def test_conditions_are_read_as_iam_reads_them() -> None:
    sync = {
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": TABLE,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["platform#sync*"]}},
    }

    def put(*keys: str) -> str:
        return evaluate([policy(sync)], Check("dynamodb:PutItem", TABLE, {"dynamodb:leadingkeys": keys}))

    assert put("platform#sync#c1") == ALLOW
    assert put("platform#sync#c1", "org_1#x") == IMPLICIT_DENY
    assert put() == ALLOW, "ForAllValues holds for no values at all, as in AWS"
    equals = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    passed = {"iam:passedtoservice": ("scheduler.amazonaws.com",)}
    only = {**equals, "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}}
    assert evaluate([policy(only)], Check("iam:PassRole", "arn:r", passed)) == ALLOW
    assert evaluate([policy(only)], Check("iam:PassRole", "arn:r")) == IMPLICIT_DENY, "a missing key fails"
    unless = {**equals, "Condition": {"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    assert evaluate([policy(unless)], Check("iam:PassRole", "arn:r")) == ALLOW, "…but passes a negation"
    exists = {**equals, "Condition": {"StringEqualsIfExists": {"iam:PassedToService": "x"}}}
    assert evaluate([policy(exists)], Check("iam:PassRole", "arn:r")) == ALLOW
    unknown = {**equals, "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}
    with pytest.raises(NotImplementedError):
        evaluate([policy(unknown)], Check("iam:PassRole", "arn:r"))


def where(path: str = "/", query: dict[str, str] | None = None) -> Where:
    return Where("us-east-1", "123456789012", path, query or {}, lambda table: "pk", lambda secret: None)


def test_each_request_is_checked_as_aws_checks_it() -> None:
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "D"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}, "sk": {"S": "D"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "c"}, "sk": {"S": "G"}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "d"}, "sk": {"S": "T"}}}},
        ]
    }
    checks = checks_for("dynamodb", "TransactWriteItems", transaction, where())
    assert [(c.action, c.resource, c.context["dynamodb:leadingkeys"]) for c in checks] == [
        ("dynamodb:PutItem", TABLE, ("a",)),
        ("dynamodb:UpdateItem", TABLE, ("b",)),
        ("dynamodb:ConditionCheckItem", TABLE, ("c",)),
        ("dynamodb:DeleteItem", TABLE, ("d",)),
    ]
    query = {
        "TableName": "t",
        "KeyConditionExpression": "#p = :p AND begins_with(sk, :s)",
        "ExpressionAttributeNames": {"#p": "pk"},
        "ExpressionAttributeValues": {":p": {"S": "platform#sync#1"}, ":s": {"S": "x"}},
    }
    (q,) = checks_for("dynamodb", "Query", query, where())
    assert q.context == {"dynamodb:leadingkeys": ("platform#sync#1",)}
    (i,) = checks_for("dynamodb", "Query", {**query, "IndexName": "gsi2"}, where())
    assert i.resource == TABLE + "/index/gsi2"
    (batch,) = checks_for(
        "sqs", "SendMessageBatch", {"QueueUrl": "http://127.0.0.1:4566/123456789012/q.fifo"}, where()
    )
    assert (batch.action, batch.resource) == ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q.fifo")
    (invoke,) = checks_for("lambda", "Invoke", {}, where("/2015-03-31/functions/one-local-x/invocations"))
    assert (invoke.action, invoke.resource) == (
        "lambda:InvokeFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:one-local-x",
    )
    schedule = {"GroupName": "jobs", "Target": {"Arn": "arn:q", "RoleArn": "arn:aws:iam::1:role/r"}}
    create, pass_role = checks_for("scheduler", "CreateSchedule", schedule, where("/schedules/one-job-1"))
    assert create.resource == "arn:aws:scheduler:us-east-1:123456789012:schedule/jobs/one-job-1"
    assert (pass_role.action, pass_role.resource) == ("iam:PassRole", "arn:aws:iam::1:role/r")
    assert checks_for("sts", "GetCallerIdentity", {}, where()) == []


def presigned_put(expires: int = 900, **params: Any) -> tuple[str, dict[str, str]]:
    import botocore.session
    from botocore.config import Config

    s3 = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "org/sto", **params}, ExpiresIn=expires
    )
    return url, {"host": "127.0.0.1:4566"}


def arriving(url: str, headers: dict[str, str], method: str = "PUT") -> tuple[Any, dict[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    request = SimpleNamespace(
        method=method, raw_path=parts.path, headers={k.lower(): v for k, v in headers.items()}
    )
    request.headers = _Headers(request.headers)
    return request, dict(parse_qsl(parts.query, keep_blank_values=True))


class _Headers(dict[str, str]):
    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


def test_a_presigned_request_must_match_what_was_signed_and_be_in_time() -> None:
    url, host = presigned_put(ContentType="image/png", ContentLength=5)
    good = {**host, "content-type": "image/png", "content-length": "5"}
    verify(*arriving(url, good), secret="secret")
    for wrong in ({**good, "content-type": "image/gif"}, {**good, "content-length": "6"}, host):
        with pytest.raises(S3Error) as refused:
            verify(*arriving(url, wrong), secret="secret")
        assert (refused.value.code, refused.value.error_type) == (403, "SignatureDoesNotMatch")
    with pytest.raises(S3Error):
        verify(*arriving(url, good), secret="another secret")
    with pytest.raises(S3Error):
        verify(*arriving(url, good, method="GET"), secret="secret")
    request, query = arriving(url, good)
    import time

    with pytest.raises(S3Error) as late:
        verify(request, query, secret="secret", now=time.time() + 901)
    assert (late.value.code, late.value.message) == (403, "Request has expired")
    verify(request, query, secret=None)  # a signer the stack does not know: expiry only


# --------------------------------------------------------------------------- in process, on moto


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """template.yaml in moto with IAM enforced, and the layer signing as the running function."""
    import os

    import boto3
    from botocore.credentials import ReadOnlyCredentials

    from infra.local import iam
    from infra.local.cloudformation import stand_up
    from infra.local.credentials import ActingCredentials, FunctionRoles
    from ontology.aws import use_credentials
    from ontology.secrets import reset_secrets

    iam.install()
    physical = stand_up(boto3.client("cloudformation"), boto3.client("s3"), "one-iam")
    monkeypatch.setenv("ONE_SECRETS_ARN", physical["AppSecrets"])
    monkeypatch.delenv("ONE_AUTH_SECRET", raising=False)
    own = ReadOnlyCredentials(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]
    )
    use_credentials(ActingCredentials(own))
    reset_secrets()
    try:
        yield {
            "physical": physical,
            "roles": FunctionRoles(physical, boto3.client("lambda"), boto3.client("sts")),
        }
    finally:
        use_credentials(None)
        reset_secrets()


def test_every_function_of_the_template_runs_as_its_own_role(deployed: dict[str, Any]) -> None:
    import boto3

    from infra.local.runner import function_defs

    roles, iam = deployed["roles"], boto3.client("iam")
    for logical in function_defs():
        role = roles.role_arn(logical).rsplit("/", 1)[1]
        assert iam.list_role_policies(RoleName=role)["PolicyNames"], logical
        assert roles.credentials(logical) is not None, logical
    assert roles.credentials("NoSuchFunction") is None


def test_a_secret_one_function_read_is_never_handed_to_another(deployed: dict[str, Any]) -> None:
    """Every function runs in one process locally, but a secret read with one role's credentials is
    kept for that role only: a role that may not read it still fails, as it would in AWS."""
    import boto3
    from botocore.exceptions import ClientError

    from infra.local.credentials import acting_as
    from ontology.secrets import get_secret

    roles = deployed["roles"]
    iam = boto3.client("iam")
    role = roles.role_arn("AuthorizerFunction").rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document["Statement"] = [s for s in document["Statement"] if s["Action"][0].startswith("dynamodb:")]
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))

    with acting_as(roles.credentials("CreatorsListFunction")):
        assert get_secret("authSecret")
    with acting_as(roles.credentials("AuthorizerFunction")), pytest.raises(ClientError) as refused:
        get_secret("authSecret")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert get_secret("authSecret"), "outside any function: the stack's own credentials"
