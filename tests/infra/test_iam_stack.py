"""The local stack refuses what AWS refuses: every function runs with only its own role's permissions,
S3 answers a principal without ``s3:ListBucket`` 403 for a missing key, and a presigned upload must
be what was signed, before it expires."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.infra.localstack import Stack, running_stack, signed_in, until

STACK = "one-local"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: Any) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "iam")


def aws(stack: Stack, service: str, credentials: dict[str, str] | None = None, **config: Any) -> Any:
    """A client of the stack's AWS port: as the account (the stack's own keys), or with
    ``credentials`` (an STS session's)."""
    keys = (
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        if credentials
        else {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    )
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{stack.aws_port}",
        region_name="us-east-1",
        config=botocore.config.Config(**config),
        **keys,
    )


def role_of(stack: Stack, function: str) -> str:
    """The role name of a deployed function (``files-save-file``, ``AuthorizerFunction``)."""
    arn = aws(stack, "lambda").get_function_configuration(FunctionName=f"{STACK}-{function}")["Role"]
    return str(arn.rsplit("/", 1)[1])


def session_of(stack: Stack, function: str) -> dict[str, str]:
    """Credentials of the function's role, as Lambda hands them to the function."""
    role = aws(stack, "iam").get_role(RoleName=role_of(stack, function))["Role"]["Arn"]
    issued: dict[str, str] = aws(stack, "sts").assume_role(RoleArn=role, RoleSessionName="test")[
        "Credentials"
    ]
    return issued


class role_policy:
    """Replace a role's inline policy for the block (``edit`` gets its document), then put it back."""

    def __init__(self, stack: Stack, role: str, edit: Any) -> None:
        self.iam, self.role, self.edit = aws(stack, "iam"), role, edit

    def __enter__(self) -> None:
        (self.name,) = self.iam.list_role_policies(RoleName=self.role)["PolicyNames"]
        self.original = self.iam.get_role_policy(RoleName=self.role, PolicyName=self.name)["PolicyDocument"]
        edited = self.edit(json.loads(json.dumps(self.original)))
        self.iam.put_role_policy(RoleName=self.role, PolicyName=self.name, PolicyDocument=json.dumps(edited))

    def __exit__(self, *_: Any) -> None:
        self.iam.put_role_policy(
            RoleName=self.role, PolicyName=self.name, PolicyDocument=json.dumps(self.original)
        )


def without_action(action: str) -> Any:
    def edit(document: dict[str, Any]) -> dict[str, Any]:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != action] or ["sts:GetCallerIdentity"]
        return document

    return edit


def signed_bearer(stack: Stack, email: str) -> tuple[str, str]:
    """(raw session token, the signed form ``set-auth-token`` hands bearer clients)."""
    signed_in(stack, email)
    r = httpx.post(
        f"{stack.url}/api/auth/sign-in/email",
        json={"email": email, "password": "correct horse battery staple"},
    )
    return r.json()["token"], r.headers["set-auth-token"]


def list_creators(stack: Stack, token: str) -> httpx.Response:
    """A call of a function behind the authorizer (members only), made with ``token``."""
    return httpx.post(
        f"{stack.url}/api/entities/list",
        json={"paginationOpts": {"numItems": 5, "cursor": None}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def call(stack: Stack, path: str, args: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/api/{path.replace(':', '/')}",
        json=args,
        headers={"Authorization": f"Bearer {stack.token()}"},
        timeout=30,
    )


def test_the_authorizer_verifies_signed_tokens_with_its_own_roles_permission(stack: Stack) -> None:
    """A signed bearer token makes the authorizer read the auth secret: without
    ``secretsmanager:GetSecretValue`` on it, every protected route answers 500, as in AWS."""
    raw, signed = signed_bearer(stack, "signed@example.com")
    assert "." in signed and signed.startswith(raw)
    role = role_of(stack, "AuthorizerFunction")
    secret = aws(stack, "secretsmanager").list_secrets()["SecretList"][0]["ARN"]
    (name,) = aws(stack, "iam").list_role_policies(RoleName=role)["PolicyNames"]
    document = aws(stack, "iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    assert {
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"],
        "Resource": secret,
    } in document["Statement"], "the template gives the authorizer the secret"

    with role_policy(stack, role, without_action("secretsmanager:GetSecretValue")):
        refused = list_creators(stack, signed)
        assert refused.status_code == 500, "AWS: the authorizer cannot verify it"
        assert refused.json() == {"message": "Internal Server Error"}  # API Gateway's own answer
        assert list_creators(stack, raw).status_code == 200, "a raw token needs only the table"
    assert list_creators(stack, signed).status_code == 200


def test_a_function_runs_with_only_its_roles_permissions(stack: Stack) -> None:
    role = role_of(stack, "creators-list")
    assert call(stack, "creators:list", {}).status_code == 200
    with role_policy(stack, role, without_action("dynamodb:Query")):
        assert call(stack, "creators:list", {}).status_code == 500, "its role may not Query the table"
    assert call(stack, "creators:list", {}).status_code == 200

    # the same role, as the account sees it: reads, but never writes
    ddb = aws(stack, "dynamodb", session_of(stack, "creators-list"))
    table = aws(stack, "dynamodb").list_tables()["TableNames"][0]
    ddb.get_item(TableName=table, Key={"pk": {"S": "x"}, "sk": {"S": "D"}})
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=table, Item={"pk": {"S": "x"}, "sk": {"S": "D"}})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:PutItem" in refused.value.response["Error"]["Message"]


def test_a_missing_object_is_403_to_a_role_that_may_not_list_the_bucket(stack: Stack) -> None:
    bucket = next(b["Name"] for b in aws(stack, "s3").list_buckets()["Buckets"] if "filesbucket" in b["Name"])
    s3 = aws(stack, "s3", session_of(stack, "files-save-file"))
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="org_nothing/sto_nothing")
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as get:
        s3.get_object(Bucket=bucket, Key="org_nothing/sto_nothing")
    assert get.value.response["Error"]["Code"] == "AccessDenied"
    aws(stack, "s3").put_object(Bucket=bucket, Key="org_nothing/sto_there", Body=b"here")
    assert s3.head_object(Bucket=bucket, Key="org_nothing/sto_there")["ContentLength"] == 4
    # the account itself may list the bucket: 404
    with pytest.raises(ClientError) as listed:
        aws(stack, "s3").head_object(Bucket=bucket, Key="org_nothing/sto_nothing")
    assert listed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def upload(stack: Stack, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    r = call(stack, "files:generate_upload_url", {"contentType": content_type, "size": len(data)})
    assert r.status_code == 200, r.text
    up: dict[str, Any] = r.json()["value"]
    return up


def test_a_deleted_or_unknown_file_is_not_found(stack: Stack) -> None:
    data = b"\x89PNG a picture"
    up = upload(stack, data)
    assert httpx.put(up["uploadUrl"], content=data, headers=up["headers"]).status_code == 200
    save = {"storageId": up["storageId"], "name": "a.png", "type": "image/png", "size": len(data)}
    saved = call(stack, "files:save_file", save)
    assert saved.status_code == 200, saved.text
    assert call(stack, "files:get_file_url", {"storageId": up["storageId"]}).json()["value"]
    assert call(stack, "files:delete_file", {"fileId": saved.json()["value"]["fileId"]}).status_code == 200

    again = call(stack, "files:save_file", save)
    assert (again.status_code, again.json()["errorData"]["code"]) == (404, "NOT_FOUND"), again.text
    assert call(stack, "files:get_file_url", {"storageId": up["storageId"]}).json() == {
        "status": "success",
        "value": None,
    }
    unknown = call(stack, "files:save_file", {**save, "storageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"})
    assert unknown.json()["errorData"]["code"] == "NOT_FOUND"


def s3_error(response: httpx.Response) -> tuple[int, str, str]:
    import re

    code = re.search(r"<Code>([^<]*)</Code>", response.text)
    message = re.search(r"<Message>([^<]*)</Message>", response.text)
    return response.status_code, code.group(1) if code else "", message.group(1) if message else ""


def test_a_presigned_upload_must_be_what_was_signed(stack: Stack) -> None:
    data = b"\x89PNG exactly"
    up = upload(stack, data)
    url, headers = up["uploadUrl"], up["headers"]
    assert "X-Amz-Credential=ASIA" in url, "signed by the function's role session"

    other_type = httpx.put(url, content=data, headers={**headers, "Content-Type": "image/jpeg"})
    assert s3_error(other_type)[:2] == (403, "SignatureDoesNotMatch")
    longer = httpx.put(url, content=data + b"!", headers={"Content-Type": "image/png"})
    assert s3_error(longer)[:2] == (403, "SignatureDoesNotMatch")
    shorter = httpx.put(url, content=data[:-1], headers={"Content-Type": "image/png"})
    assert s3_error(shorter)[:2] == (403, "SignatureDoesNotMatch")
    prolonged = httpx.put(
        url.replace("X-Amz-Expires=900", "X-Amz-Expires=3600"), content=data, headers=headers
    )
    assert s3_error(prolonged)[:2] == (403, "SignatureDoesNotMatch")
    assert httpx.put(url, content=data, headers=headers).status_code == 200

    bucket = url.split("/")[3]
    s3 = aws(stack, "s3", session_of(stack, "files-generate-upload-url"), signature_version="s3v4")
    short = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "org_x/sto_late", "ContentType": "image/png", "ContentLength": 4},
        ExpiresIn=1,
    )
    time.sleep(2.5)
    late = httpx.put(short, content=b"late", headers={"Content-Type": "image/png"})
    assert s3_error(late) == (403, "AccessDenied", "Request has expired")


def test_the_search_aggregator_keeps_the_statistics_with_only_its_roles_permissions(stack: Stack) -> None:
    """The stream's aggregator (SearchAggregatorFunction) follows the postings of entities created
    through the front door: BM25 weighs a rarer term more once it has counted them; the follows,
    counted in the creator's follower count; and a chat message's count, folded into its
    livestream, which a page lists with it. Its role reaches the search index's items, the
    counters and the entities it folds them into, and nothing else."""
    made = [
        call(stack, "entities:create", {"type": "blog_post", "name": name}).json()["value"]["id"]
        for name in ("Zephyr alpha", "Quokka alpha", "Quokka gamma")
    ]

    # "zephyr" is in one document, "quokka" in two: the oldest, and rarest, comes first once counted
    # (before, every term weighs the same and the newest comes first)
    def first() -> bool:
        found = call(stack, "entities:search", {"query": "zephyr quokka", "limit": 3}).json()["value"]
        return [e["_id"] for e in found][:1] == made[:1]

    assert until(first)

    health = httpx.get(f"{stack.url}/_local/health").json()
    org = stack.dev_session()["organizationId"]
    ddb = aws(stack, "dynamodb", session_of(stack, "search-aggregator"))
    search_key = {"pk": {"S": f"{org}#search#entities.search_entities#totals"}, "sk": {"S": "T"}}
    assert int(ddb.get_item(TableName=health["table"], Key=search_key)["Item"]["n"]["N"]) >= 3
    # a follow is counted by it too: its role reaches the counters' shards
    creator = call(stack, "creators:create", {"email": "iam@example.com", "name": "Ada", "niche": []})
    cid = creator.json()["value"]["creatorId"]
    fan = call(stack, "entities:create", {"type": "audience_member", "name": "Fan"}).json()["value"]["id"]
    follow = {"fromEntityId": fan, "toEntityId": cid, "relationshipType": "following"}
    made_follow = call(stack, "connections:create", follow)
    assert made_follow.status_code == 200
    # an entity it may fold counts into; a connection (any other document) it may not read
    assert ddb.get_item(TableName=health["table"], Key={"pk": {"S": f"{org}#{made[0]}"}, "sk": {"S": "D"}})
    connection = made_follow.json()["value"]["id"]
    with pytest.raises(ClientError) as refused:
        ddb.get_item(TableName=health["table"], Key={"pk": {"S": f"{org}#{connection}"}, "sk": {"S": "D"}})
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"

    def followers() -> int:
        got = call(stack, "creators:get_with_content", {"creatorId": cid}).json()["value"]
        return int(got["followerCount"])

    assert until(lambda: followers() == 1)

    # a chat message's count is folded into its livestream, which a page then lists with it
    scheduled = {"creatorId": cid, "title": "Fold live", "scheduledFor": int(time.time() * 1000)}
    stream = call(stack, "livestreams:schedule", scheduled).json()["value"]["livestreamId"]
    assert call(stack, "livestreams:start", {"livestreamId": stream}).status_code == 200
    said = call(stack, "livestreams:send_message", {"livestreamId": stream, "text": "Hello"})
    assert said.status_code == 200, said.text
    doc_key = {"pk": {"S": f"{org}#{stream}"}, "sk": {"S": "D"}}

    def folded() -> int:
        fold = ddb.get_item(TableName=health["table"], Key=doc_key)["Item"]["cnt"]["M"]["messageCount"]["M"]
        return sum(int(v["N"]) for v in fold.values())

    assert until(lambda: folded() == 1)
    page = call(stack, "entities:list", {"paginationOpts": {"numItems": 50, "cursor": None}}).json()["value"]
    (listed,) = [d for d in page["page"] if d["_id"] == stream]
    assert listed["properties"]["messageCount"] == 1
