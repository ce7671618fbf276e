"""IAM as AWS enforces it, for the local stack's functions.

In AWS every call a function makes is signed with its execution role's credentials and refused
unless the role's policies allow it. moto checks nothing by default, and switched on it matches a
policy's ``Resource`` only for a few services (a DynamoDB statement scoped to the table's ARN never
matches there). So, locally:

- :mod:`infra.local.credentials` signs each invocation's calls with credentials moto's STS issued
  for the function's own role (the role the template gives it, as moto's CloudFormation made it);
- :func:`install` puts an authorization step in front of every moto request signed with such
  credentials: the request becomes the IAM checks AWS makes for it (:func:`checks_for`: a
  ``TransactWriteItems`` is one ``PutItem`` / ``UpdateItem`` / ``DeleteItem`` / ``ConditionCheckItem``
  per item on its table, a ``SendMessageBatch`` is ``sqs:SendMessage``, an ``Invoke`` is
  ``lambda:InvokeFunction`` on the function's ARN, a ``CreateSchedule`` also needs ``iam:PassRole``
  on its target's role, an S3 request its object's or bucket's ARN), each with the condition keys
  the platform's policies use (``dynamodb:LeadingKeys``), and the role's policies as moto holds them
  decide (:func:`evaluate`). A refusal is the service's own ``AccessDenied`` error with AWS's message.
- S3 as AWS: a GET or HEAD of a missing key answers 403, not 404, to a principal without
  ``s3:ListBucket`` on the bucket; a presigned request is refused when it has expired or does not
  match what was signed (:mod:`infra.local.presigned`).
- Requests signed with any other credentials (the stack's own: creating the stack, its pollers'
  reads of streams and queues, which in AWS are Lambda's service role's; an AWS CLI pointed at the
  port) act for the account and pass, as moto's default.

Not modelled: resource-based policies (bucket policies, Lambda permissions), permission boundaries,
session policies and the signature of header-signed requests (botocore's signatures are always
right; a presigned URL's is checked, since it carries the signed conditions).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALLOW", "DENY", "IMPLICIT_DENY", "Check", "checks_for", "evaluate", "install"]

ALLOW, DENY, IMPLICIT_DENY = "allow", "explicit deny", "implicit deny"

#: Every refusal is logged here (a missing permission shows in the stack's output as AWS would log it).
log = logging.getLogger("one.local.iam")


@dataclass(frozen=True)
class Check:
    """One question IAM answers for a request: may the principal do ``action`` on ``resource``, given
    the request's condition keys (lowercase names, each with its values)?"""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# ------------------------------------------------------------------------------ policy evaluation


def evaluate(policies: Iterable[Any], check: Check) -> str:
    """:data:`ALLOW`, :data:`DENY` (a statement denies it) or :data:`IMPLICIT_DENY` (none allows it),
    as IAM decides for identity-based policies: an explicit Deny wins, else an Allow is needed."""
    allowed = False
    for policy in policies:
        document = _document(policy)
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not _applies(statement, check):
                continue
            if statement.get("Effect") == "Deny":
                return DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return ALLOW if allowed else IMPLICIT_DENY


def _document(policy: Any) -> Mapping[str, Any]:
    if isinstance(policy, Mapping):
        return policy
    return _parsed(policy)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Mapping[str, Any]:
    value: Mapping[str, Any] = json.loads(urllib.parse.unquote(text) if text.startswith("%7B") else text)
    return value


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(globs: Any, value: str, *, ignore_case: bool = False) -> bool:
    return any(_pattern(g, ignore_case).match(value) for g in _listed(globs))


def _applies(statement: Mapping[str, Any], check: Check) -> bool:
    if "Action" in statement:
        if not _matches(statement["Action"], check.action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _matches(statement["NotAction"], check.action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _matches(statement["Resource"], check.resource):
            return False
    elif "NotResource" in statement:
        if _matches(statement["NotResource"], check.resource):
            return False
    else:
        return False  # IAM refuses such an identity policy; it never allows anything
    return all(
        _condition(operator, key, expected, check.context)
        for operator, tests in (statement.get("Condition") or {}).items()
        for key, expected in tests.items()
    )


def _string_like(actual: str, expected: list[str]) -> bool:
    return _matches(expected, actual)


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, list[str]], bool]:
    def test(actual: str, expected: list[str]) -> bool:
        try:
            return any(compare(float(actual), float(e)) for e in expected)
        except ValueError:
            return False

    return test


#: Each operator's test of one request value against the policy's values, and whether the operator
#: is a negation (``StringNotEquals`` holds when the positive test fails).
_OPERATORS: dict[str, tuple[Callable[[str, list[str]], bool], bool]] = {
    "StringEquals": (lambda a, e: a in e, False),
    "StringNotEquals": (lambda a, e: a in e, True),
    "StringEqualsIgnoreCase": (lambda a, e: a.lower() in {x.lower() for x in e}, False),
    "StringNotEqualsIgnoreCase": (lambda a, e: a.lower() in {x.lower() for x in e}, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_like, False),
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Bool": (lambda a, e: a.lower() in {x.lower() for x in e}, False),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
}


def _condition(operator: str, key: str, expected: Any, context: Mapping[str, tuple[str, ...]]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed_any(expected)]
    actual = context.get(key.lower())
    if name == "Null":  # "true": the key is absent; "false": present
        return any((v.lower() == "true") == (not actual) for v in values)
    if name not in _OPERATORS:
        # An operator this evaluator does not know must not be read as "allowed": say so loudly.
        raise NotImplementedError(f"the local stack cannot evaluate the IAM condition operator {operator}")
    test, negated = _OPERATORS[name]
    if not actual:
        if qualifier == "ForAllValues":
            return True  # vacuously: every one of no values matches
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated  # AWS: a missing key fails a test, but passes a negated one
    hits = [test(a, values) for a in actual]
    if qualifier == "ForAllValues":
        return all(h != negated for h in hits)
    if qualifier == "ForAnyValue":
        return any(h != negated for h in hits)
    return not any(hits) if negated else any(hits)


def _listed_any(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


# --------------------------------------------------------------- what AWS checks for each request


@dataclass(frozen=True)
class Where:
    """What a resolver needs to name a request's resources."""

    region: str
    account: str
    path: str
    query: Mapping[str, str]
    #: A DynamoDB table's partition key attribute (None: no such table).
    hash_key: Callable[[str], str | None]
    #: A Secrets Manager secret's ARN by any of its ids (None: no such secret).
    secret_arn: Callable[[str], str | None]
    #: The state machine whose running execution issued a task token (None: no such token).
    token_state_machine: Callable[[str], str | None] = lambda _token: None


def _arn(service: str, where: Where, resource: str) -> str:
    return f"arn:aws:{service}:{where.region}:{where.account}:{resource}"


def _typed_value(value: Any) -> str | None:
    """A DynamoDB attribute value's scalar (``{"S": "x"}`` → ``x``)."""
    if isinstance(value, Mapping):
        for kind in ("S", "N", "B"):
            if kind in value:
                return str(value[kind])
    return None


def _dynamodb(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    def table(name: str) -> str:
        return name if name.startswith("arn:") else _arn("dynamodb", where, f"table/{name}")

    def leading(name: str, items: Iterable[Any]) -> dict[str, tuple[str, ...]]:
        attribute = where.hash_key(name.rsplit("/", 1)[-1])
        if attribute is None:
            return {}
        values = tuple(
            v for v in (_typed_value((item or {}).get(attribute)) for item in items) if v is not None
        )
        return {"dynamodb:leadingkeys": values}

    def check(action: str, name: str, items: Iterable[Any] = ()) -> Check:
        return Check(f"dynamodb:{action}", table(name), leading(name, items))

    if operation == "TransactWriteItems":
        out = []
        for entry in p.get("TransactItems") or []:
            ((kind, op),) = entry.items()
            action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(
                kind, "ConditionCheckItem"
            )
            out.append(check(action, op["TableName"], [op.get("Item") if kind == "Put" else op.get("Key")]))
        return out
    if operation == "TransactGetItems":
        return [
            check("GetItem", e["Get"]["TableName"], [e["Get"].get("Key")])
            for e in p.get("TransactItems") or []
        ]
    if operation == "BatchGetItem":
        return [
            check(operation, t, spec.get("Keys") or []) for t, spec in (p.get("RequestItems") or {}).items()
        ]
    if operation == "BatchWriteItem":
        return [
            check(
                operation,
                t,
                [
                    (r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")
                    for r in reqs
                ],
            )
            for t, reqs in (p.get("RequestItems") or {}).items()
        ]
    name = p.get("TableName")
    if not name:
        return [Check(f"dynamodb:{operation}", "*")]
    if operation in ("Query", "Scan") and p.get("IndexName"):
        return [Check(f"dynamodb:{operation}", f"{table(name)}/index/{p['IndexName']}")]
    if operation == "Query":
        return [check(operation, name, [_query_key(p, where.hash_key(name.rsplit("/", 1)[-1]))])]
    item = p.get("Item") if operation == "PutItem" else p.get("Key")
    return [check(operation, name, [item] if item else [])]


def _query_key(p: Mapping[str, Any], attribute: str | None) -> dict[str, Any]:
    """The partition key a Query names (``pk = :v`` in its key condition), as an item's key."""
    if attribute is None:
        return {}
    names = p.get("ExpressionAttributeNames") or {}
    values = p.get("ExpressionAttributeValues") or {}
    for left, right in re.findall(
        r"([#:]?[\w.]+)\s*=\s*([#:]?[\w.]+)", p.get("KeyConditionExpression") or ""
    ):
        for name, value in ((left, right), (right, left)):
            if names.get(name, name) == attribute and value in values:
                return {attribute: values[value]}
    legacy = (p.get("KeyConditions") or {}).get(attribute) or {}
    if legacy.get("ComparisonOperator") == "EQ" and legacy.get("AttributeValueList"):
        return {attribute: legacy["AttributeValueList"][0]}
    return {}


def _sqs(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    # A batch is authorized as its single action (AWS documents no permission of its own for it).
    action = {
        "SendMessageBatch": "SendMessage",
        "DeleteMessageBatch": "DeleteMessage",
        "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    }.get(operation, operation)
    url = p.get("QueueUrl")
    if url:
        account, name = urllib.parse.urlsplit(url).path.strip("/").split("/")[-2:]
        return [Check(f"sqs:{action}", f"arn:aws:sqs:{where.region}:{account}:{name}")]
    if p.get("QueueName"):
        return [Check(f"sqs:{action}", _arn("sqs", where, p["QueueName"]))]
    return [Check(f"sqs:{action}", "*")]


def _secretsmanager(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    secret = p.get("SecretId")
    if not secret:
        return [Check(f"secretsmanager:{operation}", "*")]
    arn = where.secret_arn(secret) or (
        secret if secret.startswith("arn:") else _arn("secretsmanager", where, f"secret:{secret}")
    )
    return [Check(f"secretsmanager:{operation}", arn)]


def _lambda(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    action = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeFunction"}.get(operation, operation)
    found = re.search(r"/functions/([^/]+)", where.path)
    if not found:
        return [Check(f"lambda:{action}", "*")]
    name = urllib.parse.unquote(found.group(1))
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:  # a partial ARN: 123456789012:function:name
        arn = f"arn:aws:lambda:{where.region}:{name}"
    else:
        arn = _arn("lambda", where, f"function:{name}")
    qualifier = where.query.get("Qualifier")
    if qualifier and arn.count(":") == 6:
        arn += f":{qualifier}"
    return [Check(f"lambda:{action}", arn)]


def _states(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    arn = p.get("executionArn") or p.get("stateMachineArn") or "*"
    if operation.startswith("SendTask") and p.get("taskToken"):
        # a callback's token is authorized against the state machine that issued it (SAM's own
        # StepFunctionsCallbackPolicy names the state machine)
        arn = where.token_state_machine(str(p["taskToken"])) or "*"
    return [Check(f"states:{operation}", arn)]


def _scheduler(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    found = re.match(r"^/schedules/([^/]+)$", where.path)
    if not found:
        return [Check(f"scheduler:{operation}", "*")]
    group = p.get("GroupName") or where.query.get("groupName") or "default"
    name = urllib.parse.unquote(found.group(1))
    checks = [Check(f"scheduler:{operation}", _arn("scheduler", where, f"schedule/{group}/{name}"))]
    role = (p.get("Target") or {}).get("RoleArn")
    if role and operation in ("CreateSchedule", "UpdateSchedule"):
        passed = {"iam:passedtoservice": ("scheduler.amazonaws.com",)}
        checks.append(Check("iam:PassRole", role, passed))
    return checks


def _s3vectors(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    arn = p.get("indexArn")
    if not arn and p.get("vectorBucketName") and p.get("indexName"):
        arn = _arn("s3vectors", where, f"bucket/{p['vectorBucketName']}/index/{p['indexName']}")
    if not arn and p.get("vectorBucketName"):
        arn = _arn("s3vectors", where, f"bucket/{p['vectorBucketName']}")
    return [Check(f"s3vectors:{operation}", p.get("vectorBucketArn") or arn or "*")]


def _logs(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    """A log group's actions are authorized on ``…:log-group:<name>:*``, as CloudFormation's ``Arn``
    of a log group names it."""
    group = p.get("logGroupName")
    arn = _arn("logs", where, f"log-group:{group}:*") if group else "*"
    return [Check(f"logs:{operation}", arn)]


def _sts(operation: str, p: Mapping[str, Any], where: Where) -> list[Check]:
    if operation == "GetCallerIdentity":
        return []  # AWS allows it to everyone, whatever the policies say
    return [Check(f"sts:{operation}", p.get("RoleArn") or "*")]


_RESOLVERS: dict[str, Callable[[str, Mapping[str, Any], Where], list[Check]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "lambda": _lambda,
    "states": _states,
    "scheduler": _scheduler,
    "s3vectors": _s3vectors,
    "logs": _logs,
    "sts": _sts,
}


def checks_for(service: str, operation: str, params: Mapping[str, Any], where: Where) -> list[Check]:
    """The IAM checks AWS makes for one request (``service``: the signing name, IAM's prefix). An
    operation of a service not listed here is checked as ``<service>:<operation>`` on ``*``, which
    only a policy granting it on every resource allows (AWS's rule for actions without resources)."""
    resolver = _RESOLVERS.get(service)
    if resolver is None:
        return [Check(f"{service}:{operation}", "*")]
    return resolver(operation, params, where)


#: moto's S3 action names (its ACTION_MAP) whose IAM action differs.
_S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListBucketMultipartUploads": "ListBucketMultipartUploads",
    "ListMultipartUploadParts": "ListMultipartUploadParts",
}


def s3_check(moto_action: str, bucket: str | None, key: str | None) -> Check:
    action = _S3_ACTIONS.get(moto_action, moto_action)
    resource = f"arn:aws:s3:::{bucket}/{key}" if bucket and key else f"arn:aws:s3:::{bucket or '*'}"
    return Check(f"s3:{action}", resource)


# ------------------------------------------------------------------------------------ principals


@dataclass(frozen=True)
class Principal:
    """An STS session of a role (what a function's credentials are)."""

    access_key: str
    secret_key: str
    token: str
    role_name: str
    arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>


_principals: dict[str, Principal] = {}
_principals_lock = threading.Lock()


class UnknownSessionError(Exception):
    """Signed with the access key of a session moto issued, but not with that session's token."""


def principal(access_key: str | None, token: str | None, account: str) -> Principal | None:
    """The role session an access key belongs to; None for credentials that are no session moto's
    STS issued (the stack's own, a developer's CLI, whatever their form): those act for the account."""
    if not access_key:
        return None
    found = _principals.get(access_key)
    if found is None and access_key.startswith("ASIA"):
        from moto.sts.models import sts_backends

        with _principals_lock:
            for assumed in sts_backends[account]["aws"].assumed_roles:
                role = assumed.role_arn.split("/")[-1]
                _principals[assumed.access_key_id] = Principal(
                    assumed.access_key_id,
                    assumed.secret_access_key,
                    assumed.session_token,
                    role,
                    f"arn:aws:sts::{account}:assumed-role/{role}/{assumed.session_name}",
                )
        found = _principals.get(access_key)
    if found is not None and token != found.token:
        raise UnknownSessionError(access_key)
    return found


def policies_of(who: Principal, account: str) -> list[Any]:
    """The role's policies as moto holds them now: inline and attached managed ones."""
    from moto.iam.models import iam_backends

    role = iam_backends[account]["aws"].get_role(who.role_name)
    out: list[Any] = list(role.policies.values())
    for managed in role.managed_policies.values():
        out += [v.document for v in managed.versions if v.is_default]
    return out


def denial(who: Principal, check: Check, decision: str) -> str:
    """AWS's message for a refused request."""
    because = (
        "with an explicit deny in an identity-based policy"
        if decision == DENY
        else f"because no identity-based policy allows the {check.action} action"
    )
    return (
        f"User: {who.arn} is not authorized to perform: {check.action} on resource: {check.resource} "
        + because
    )


# ------------------------------------------------------------------------------- moto's requests

_installed = False


def _credential(headers: Any, query: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """(access key, token, signing service) of a request signed in its header or its query."""
    authorization = headers.get("Authorization") or ""
    scope, token = "", None
    if authorization.startswith("AWS4-HMAC-SHA256"):
        scope = authorization.partition("Credential=")[2].partition(",")[0]
        token = headers.get("X-Amz-Security-Token")
    elif "X-Amz-Credential" in query:
        scope = query["X-Amz-Credential"]
        token = query.get("X-Amz-Security-Token")
    elif "AWSAccessKeyId" in query:  # a legacy SigV2 presigned URL (S3's only)
        return query["AWSAccessKeyId"], query.get("x-amz-security-token"), "s3"
    parts = scope.split("/")
    if len(parts) < 4:
        return None, None, None
    return parts[0], token, parts[3]


def _query(uri: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query, keep_blank_values=True))


def _params(response: Any) -> Mapping[str, Any]:
    parsed = getattr(response, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        return parsed
    body = response.body if isinstance(response.body, str | bytes) else ""
    if body:
        try:
            value = json.loads(body)
            if isinstance(value, Mapping):
                return value
        except ValueError:
            pass
    return {k: v[0] if isinstance(v, list) and v else v for k, v in (response.querystring or {}).items()}


def _where(response: Any, region: str) -> Where:
    account = response.current_account

    def hash_key(table: str) -> str | None:
        from moto.dynamodb.models import dynamodb_backends

        found = dynamodb_backends[account][region].tables.get(table)
        return None if found is None else str(found.hash_key_attr)

    def secret_arn(secret_id: str) -> str | None:
        from moto.secretsmanager.models import secretsmanager_backends

        secrets = secretsmanager_backends[account][region].secrets
        return str(secrets[secret_id].arn) if secret_id in secrets else None

    def token_state_machine(token: str) -> str | None:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[account][region]  # the ASL interpreter's executions
        for machine in getattr(backend, "state_machines", []):
            for execution in getattr(machine, "executions", []):
                worker = getattr(execution, "exec_worker", None)
                pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
                if pool is not None and pool.get(token) is not None:
                    return str(machine.arn)
        return None

    return Where(
        region,
        account,
        urllib.parse.unquote(response.path),
        _query(response.uri),
        hash_key,
        secret_arn,
        token_state_machine,
    )


def _refusal(response: Any, message: str) -> Exception:
    """The service's own AccessDenied: JSON services answer ``AccessDeniedException`` (400 for the
    JSON protocol, 403 for REST-JSON), the XML ones ``AccessDenied`` (403)."""
    from moto.core.exceptions import JsonRESTError, _RESTError

    try:
        from moto.core.utils import get_service_model

        protocol = get_service_model(response.boto3_service_name).protocol
    except Exception:
        protocol = "query"
    if protocol in ("json", "rest-json"):
        error = JsonRESTError("AccessDeniedException", message)
        error.code = 400 if protocol == "json" else 403
        return error
    denied = _RESTError("AccessDenied", message)
    denied.code = 403
    return denied


def _invalid_token(response: Any) -> Exception:
    return _refusal(response, "The security token included in the request is invalid.")


def install() -> None:
    """Authorize every moto request signed by a role session (see the module's docstring). Idempotent."""
    global _installed  # noqa: PLW0603
    if _installed:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    from infra.local import presigned

    original_normal = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
    original_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def normal(self: Any, resource: str = "*") -> None:
        query = _query(self.uri)
        access_key, token, service = _credential(self.headers, query)
        try:
            who = principal(access_key, token, self.current_account)
        except UnknownSessionError:
            raise _invalid_token(self) from None
        if who is None or service is None:
            original_normal(self, resource)
            return
        where = _where(self, self.region)
        policies = policies_of(who, self.current_account)
        for check in checks_for(service, self._get_action(), _params(self), where):
            decision = evaluate(policies, check)
            if decision != ALLOW:
                message = denial(who, check, decision)
                log.warning("refused: %s", message)
                raise _refusal(self, message)

    def s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        query = _query(self.uri)
        access_key, token, _ = _credential(self.headers, query)
        try:
            who = principal(access_key, token, self.current_account)
        except UnknownSessionError:
            raise presigned.S3Error(
                "InvalidToken", "The provided token is malformed or otherwise invalid."
            ) from None
        if presigned.is_presigned(query):
            presigned.verify(self, query, who.secret_key if who else presigned.own_secret(access_key))
        if who is None:
            original_s3(self, bucket_name, key_name)
            return
        policies = policies_of(who, self.current_account)
        check = s3_check(self.data.get("Action") or self.method, bucket_name, key_name)
        decision = evaluate(policies, check)
        if decision != ALLOW:
            log.warning("refused: %s", denial(who, check, decision))
            raise presigned.S3Error("AccessDenied", "Access Denied")
        if check.action == "s3:GetObject" and bucket_name and key_name:
            # S3 tells a principal that may not list the bucket nothing about which keys exist: a
            # missing key is 403, as a forbidden one (AWS documents this for GET and HEAD).
            listing = evaluate(policies, Check("s3:ListBucket", f"arn:aws:s3:::{bucket_name}"))
            if listing != ALLOW and self.backend.get_object(bucket_name, key_name) is None:
                raise presigned.S3Error("AccessDenied", "Access Denied")

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = normal  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = s3  # type: ignore[method-assign]
    _installed = True
