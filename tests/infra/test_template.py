"""template.yaml is generated from the declarations, agrees with the PynamoDB model, and lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from infra import docs, template
from ontology.data.models import GSI_COUNT, Item
from ontology.data.schema import TABLES
from ontology.runtime.registry import function_name, load_all
from tests.conftest import ROOT


def test_committed_template_is_what_the_declarations_generate() -> None:
    assert (ROOT / "template.yaml").read_text() == template.render(), "run `make template` and commit"


def test_every_function_is_deployed_under_the_name_the_runtime_invokes() -> None:
    # the scheduler's runner and Convex's calls invoke registry.function_name(path, ONE_FUNCTION_PREFIX)
    tpl = template.load_template()
    prefix = tpl["Globals"]["Function"]["Environment"]["Variables"]["ONE_FUNCTION_PREFIX"]["Fn::Sub"]
    assert prefix == "${AWS::StackName}-"
    resources = tpl["Resources"]
    for fn in load_all().values():
        deployed = resources[fn.spec.logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
        assert deployed == function_name(fn.spec.path, prefix), fn.spec.path
    assert function_name("creators:get_with_content", "one-dev-") == "one-dev-creators-get-with-content"


def test_template_table_agrees_with_the_pynamodb_model() -> None:
    props = template.load_template()["Resources"]["Table"]["Properties"]
    schema = Item._get_schema()
    assert props["KeySchema"] == [
        {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema["key_schema"]
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    in_template = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    in_model = {g["index_name"]: g for g in schema["global_secondary_indexes"]}
    assert set(in_template) == set(in_model)
    assert len(in_model) == GSI_COUNT <= 10
    for name, g in in_model.items():
        assert in_template[name]["KeySchema"] == [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in g["key_schema"]
        ]
        assert in_template[name]["Projection"] == {"ProjectionType": "ALL"}
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_every_declared_index_has_its_gsi() -> None:
    gsis = {
        g["IndexName"]
        for g in template.load_template()["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
    }
    for t in TABLES.values():
        for idx in t.indexes:
            assert idx.gsi_name in gsis, f"{t.name}.{idx.name}"
            assert hasattr(Item, idx.pk_attr) and hasattr(Item, idx.sk_attr)


@pytest.mark.parametrize("document", sorted(docs.SECTIONS))
def test_generated_tables_in_docs_are_current(document: str) -> None:
    text = (ROOT / "docs" / document).read_text()
    assert "<!--" in text and docs.render(document, text) == text, "run `make docs`"


def test_docs_are_linked_from_the_readme_and_cite_only_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{doc.name}" in readme, f"README.md does not link docs/{doc.name}"
    # The code and the docs cite the repository's own documents, never one outside it.
    cited = [
        str(p.relative_to(ROOT))
        for folder in ("layers", "functions", "infra", "bench", "docs")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".md", ".json", ".yaml") and "DESIGN" in p.read_text(errors="ignore")
    ]
    assert not cited, cited


def test_sample_events_are_current_and_valid() -> None:
    from infra import events
    from ontology.runtime.registry import load_all

    assert events.main(["--check"]) == 0, "run `make events`"
    for path, fn in load_all().items():
        module, name = path.split(":")
        event = json.loads((ROOT / "events" / module / f"{name}.json").read_text())
        if fn.spec.internal and event.get("source") == "aws.events":
            assert event["detail-type"] == "Scheduled Event"
        elif fn.spec.internal:
            fn.spec.args.model_validate({k: v for k, v in event.items() if k != "_auth"})
        elif fn.spec.system:  # no route: the sync worker's call
            fn.spec.args.model_validate(event["_sync"]["args"])
        else:
            assert event["version"] == "2.0"
            if fn.spec.request:  # the request itself, as the runtime hands it over
                from ontology.runtime.handler import request_args

                fn.spec.args.model_validate(request_args(event))
            elif fn.spec.method == "POST" and fn.spec.route != "$default":
                fn.spec.args.model_validate(json.loads(event["body"]))


def test_one_function_per_registered_function_with_least_privilege() -> None:
    from ontology.runtime.registry import load_all

    tpl = template.load_template()
    resources = tpl["Resources"]
    for fn in load_all().values():
        spec = fn.spec
        res = resources[spec.logical_id]
        assert res["Type"] == "AWS::Serverless::Function"
        props = res["Properties"]
        assert props["Handler"] == spec.handler
        role = resources[props["Role"]["Fn::GetAtt"][0]]  # the function's access profile, shared
        assert role["Type"] == "AWS::IAM::Role" and "Policies" not in props
        statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        actions = {a for s in statements for a in s["Action"]}
        assert "dynamodb:Scan" not in actions
        assert not any(a.endswith("*") for a in actions)
        if spec.kind == "query":
            # a query writes nothing but its session's call counter (an UpdateItem on rate items only)
            unconditional = {a for s in statements if "Condition" not in s for a in s["Action"]}
            assert not unconditional & {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"}
            (counters,) = [s for s in statements if "dynamodb:UpdateItem" in s["Action"]]
            assert counters["Action"] == ["dynamodb:UpdateItem"]
            assert counters["Condition"] == {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["platform#rate#*"]}
            }
        else:
            assert {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"} <= actions
        assert any(a.startswith("s3:") for a in actions) == ("storage" in spec.uses)
        routes = [e for e in (props.get("Events") or {}).values() if e["Type"] == "HttpApi"]
        if spec.internal or spec.system:
            assert not routes
        else:
            (event,) = routes
            assert event["Properties"]["Path"] == spec.route
            assert ("Auth" in event["Properties"]) == (spec.auth == "public")
    paths = [
        e["Properties"]["Path"]
        for r in resources.values()
        for e in (r.get("Properties", {}).get("Events") or {}).values()
        if e["Type"] == "HttpApi"
    ]
    assert not any(p.startswith("/_local") for p in paths), "dev-only routes never deploy"


def _statements(resources: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    """A function's policy statements: its role's (``Role``) or its own (SAM's ``Policies``)."""
    props = function["Properties"]
    if "Role" in props:
        role = resources[props["Role"]["Fn::GetAtt"][0]]
        documents = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
    else:
        documents = props.get("Policies") or []
    return [s for d in documents for s in d["Statement"]]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_of_the_template_has_least_privilege() -> None:
    """Every function, the authorizer and the infrastructure's own included (each runs locally with
    exactly these permissions, enforced: tests/infra/test_iam_stack.py): named actions on named
    resources, never a scan."""
    resources = template.load_template()["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert "AuthorizerFunction" in functions and len(functions) > len(load_all())
    for logical, function in functions.items():
        statements = _statements(resources, function)
        assert statements, f"{logical} has no permissions at all"
        for statement in statements:
            actions = _listed(statement["Action"])
            assert statement["Effect"] == "Allow", logical
            assert not any("*" in a for a in actions), (logical, actions)
            assert "dynamodb:Scan" not in actions, logical
            assert "*" not in _listed(statement["Resource"]), (logical, statement)
    # The authorizer reads sessions, and verifies a signed bearer token with the auth secret.
    authorizer = _statements(resources, functions["AuthorizerFunction"])
    assert {a for s in authorizer for a in s["Action"]} == set(template.READ_ACTIONS) | {
        "secretsmanager:GetSecretValue"
    }
    secret = [s for s in authorizer if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert [s["Resource"] for s in secret] == [{"Ref": "AppSecrets"}]


def test_secrets_are_typed_noecho_parameters() -> None:
    params = template.load_template()["Parameters"]
    assert params["CursorSecret"]["NoEcho"] is True and params["CursorSecret"]["MinLength"] >= 32


def test_samconfig_has_dev_and_prod() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert {"default", "prod"} <= set(config)
    assert "Stage=prod" in str(config["prod"]["deploy"]["parameters"]["parameter_overrides"])


def test_template_stands_up_in_moto_cloudformation(aws: None) -> None:
    import boto3

    from infra.local.cloudformation import stand_up, translate_cached, with_s3_code
    from ontology.runtime.registry import load_all

    cf, s3 = boto3.client("cloudformation"), boto3.client("s3")
    physical = stand_up(cf, s3, "one-test-stack")
    table = boto3.client("dynamodb").describe_table(TableName=physical["Table"])["Table"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {
        f"gsi{n}" for n in range(1, GSI_COUNT + 1)
    }
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    s3.head_bucket(Bucket=physical["FilesBucket"])
    functions = {f["FunctionName"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    for fn in load_all().values():
        name = physical[fn.spec.logical_id]
        assert name in functions
        assert functions[name]["Handler"] == fn.spec.handler
        assert functions[name]["Runtime"] == "python3.11"
    # After the SAM transform, the stack stays well within CloudFormation's 500 resources.
    cfn = translate_cached(with_s3_code(template.load_template(), s3), {}, {"CursorSecret": "x" * 32})
    assert len(cfn["Resources"]) <= 400, len(cfn["Resources"])


def test_a_kept_translation_is_the_translation_of_its_values(aws: None, tmp_path: Path) -> None:
    """The local stack translates the template once, with placeholders for what differs from one
    start to the next, and puts the values in: exactly what translating with the values gives."""
    import boto3

    from infra.local.cloudformation import (
        LOCAL_PARAMETER_VALUES,
        LOCAL_SECRET_VALUES,
        translate,
        translate_cached,
        with_s3_code,
        without,
    )

    source = with_s3_code(template.load_template(), boto3.client("s3"))
    outside = {"AWS::SecretsManager::Secret", "AWS::Scheduler::ScheduleGroup", "AWS::ApiGatewayV2::Api"}
    made = {
        logical: f"arn:aws:made:us-east-1:123456789012:{logical.lower()}/a1b2c3"
        for logical, r in source["Resources"].items()
        if r["Type"] in outside or r["Type"].startswith("AWS::S3Vectors::")
    }
    assert {"SyncApi", "AppSecrets", "JobsScheduleGroup"} <= set(made), sorted(made)
    values = {**LOCAL_SECRET_VALUES, **LOCAL_PARAMETER_VALUES, "AuthBaseUrl": "http://127.0.0.1:54321"}
    expected = translate(without(source, made), values)
    assert translate_cached(source, made, values, cache=tmp_path) == expected
    assert len(list(tmp_path.iterdir())) == 1
    # kept: the next start, with other values, reads it back
    other = {**values, "AuthBaseUrl": "https://one.example.com"}
    again = translate_cached(
        source, {k: v.replace("a1b2c3", "d4e5f6") for k, v in made.items()}, other, tmp_path
    )
    assert len(list(tmp_path.iterdir())) == 1
    assert "d4e5f6" in json.dumps(again) and "a1b2c3" not in json.dumps(again)
    assert "one0made0" not in json.dumps(again) and "one0param0" not in json.dumps(again)


def test_moto_lambda_invokes_run_our_handlers_in_process(aws: None) -> None:
    import boto3

    from infra.local.cloudformation import stand_up
    from infra.local.runner import LambdaRunner, install_moto_lambda

    physical = stand_up(boto3.client("cloudformation"), boto3.client("s3"), "one-invoke-stack")
    install_moto_lambda(LambdaRunner(), {v: k for k, v in physical.items()})
    client = boto3.client("lambda")
    ok = client.invoke(FunctionName=physical["MetaOpenapiFunction"], Payload=json.dumps({}))
    assert json.loads(ok["Payload"].read())["openapi"] == "3.1.0"
    anonymous = client.invoke(FunctionName=physical["EntitiesListFunction"], Payload=json.dumps({}))
    assert json.loads(anonymous["Payload"].read())["errorType"] == "UnauthenticatedError"
    auth = {
        "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
        "organizationId": "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R",
        "role": "org_user",
    }
    failed = client.invoke(
        FunctionName=physical["CreatorsGetFunction"], Payload=json.dumps({"id": 5, "_auth": auth})
    )
    assert failed.get("FunctionError")
    assert json.loads(failed["Payload"].read())["errorType"] == "ValidationError"


def test_purchase_state_machine_is_wired_from_its_asl_file() -> None:
    """The saga's ASL: every step a Lambda of functions/purchases.py through DefinitionSubstitutions,
    Retry (three attempts, transient errors only) and Catch on every Task, 900 s (the buyer's 3-D Secure
    waits up to the execution's authenticationSeconds, the rest within 300 s), tracing on; only the
    state machine may invoke the steps and only tokens:start_purchase (scheduled by tokens:purchase) may
    start it; only the waiting step and Stripe's webhook may resume a waiting execution."""
    import re

    resources = template.load_template()["Resources"]
    machine = resources["TokenPurchaseStateMachine"]["Properties"]
    assert machine["DefinitionUri"] == "infra/statemachines/token_purchase.asl.json"
    assert machine["Tracing"] == {"Enabled": True}
    text = (ROOT / machine["DefinitionUri"]).read_text()
    asl = json.loads(text)
    assert asl["TimeoutSeconds"] == 900
    subs = machine["DefinitionSubstitutions"]
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(subs)
    for name, value in subs.items():
        handler = resources[value["Fn::GetAtt"][0]]["Properties"]["Handler"]
        step = re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("FunctionArn")).lower()
        assert handler == f"purchases.{step}", name
    tasks = {n: s for n, s in asl["States"].items() if s["Type"] == "Task"}
    assert set(tasks) == {
        "Charge",
        "AwaitAuthentication",
        "Mint",
        "Capture",
        "Record",
        "Refund",
        "Burn",
        "Finalise",
    }
    wait = tasks.pop("AwaitAuthentication")
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    assert wait["TimeoutSecondsPath"] == "$.authenticationSeconds" and wait["Catch"][0]["Next"] == "Refund"
    assert "States.Timeout" not in wait["Retry"][0]["ErrorEquals"]  # the buyer's time is up: compensate
    for name, state in tasks.items():
        (retry,) = state["Retry"]
        assert retry["MaxAttempts"] == 3 and retry["BackoffRate"] > 1, name
        assert "States.ALL" not in retry["ErrorEquals"] and "PaymentFailedError" not in retry["ErrorEquals"]
        assert "UpstreamError" in retry["ErrorEquals"] and "ChainRevertedError" not in retry["ErrorEquals"]
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"], name
        assert state["TimeoutSeconds"] <= 300
    forward = ("Charge", "Mint", "Capture", "Record")
    assert {tasks[n]["Catch"][0]["Next"] for n in forward} == {"Refund"}
    invoke = [
        s for p in machine["Policies"] for s in p["Statement"] if "lambda:InvokeFunction" in s["Action"]
    ]
    targets = {r["Fn::GetAtt"][0] for s in invoke for r in s["Resource"] if "Fn::GetAtt" in r}
    assert targets == {v["Fn::GetAtt"][0] for v in subs.values()}

    def policies(res: dict) -> list[dict]:
        """A function's policy documents: its own, or its shared role's."""
        props = res.get("Properties", {})
        own = [p for p in props.get("Policies", []) or [] if isinstance(p, dict)]
        role = props.get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            own += [p["PolicyDocument"] for p in resources[role["Fn::GetAtt"][0]]["Properties"]["Policies"]]
        return own

    starters = [
        logical
        for logical, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function"
        for p in policies(res)
        for s in p.get("Statement", [])
        if "states:StartExecution" in s["Action"]
    ]
    assert starters == ["TokensStartPurchaseFunction"]
    env = resources["TokensStartPurchaseFunction"]["Properties"]["Environment"]["Variables"]
    assert env["ONE_PURCHASE_STATE_MACHINE_ARN"] == {"Ref": "TokenPurchaseStateMachine"}
    resumers = sorted(
        logical
        for logical, res in resources.items()
        if res["Type"] == "AWS::Serverless::Function"
        for p in policies(res)
        for s in p.get("Statement", [])
        if "states:SendTaskSuccess" in s["Action"]
    )
    assert resumers == ["BillingStripeWebhookFunction", "PurchasesAwaitAuthenticationFunction"]


def test_every_function_keeps_its_logs_and_every_checkov_skip_says_why() -> None:
    resources = template.build_template()["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    group = resources["FunctionLogs"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for logical_id, res in functions.items():
        assert res["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogs"}, logical_id
        crons = any(e["Type"] == "Schedule" for e in (res["Properties"].get("Events") or {}).values())
        # EventBridge invokes crons asynchronously: their failures go to the dead-letter queue.
        assert ("DeadLetterQueue" in res["Properties"]) is crons, logical_id
    api = resources["HttpApi"]["Properties"]["AccessLogSettings"]
    assert api["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]}
    for logical_id, res in resources.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV") and len(skip["comment"]) > 40, (logical_id, skip)


def test_sam_build_compiles_functions_to_bytecode_the_runtime_loads_as_is(tmp_path: Path) -> None:
    resources = template.build_template()["Resources"]
    assert resources["OntologyLayer"]["Metadata"]["BuildMethod"] == "makefile"
    assert all(
        r["Metadata"]["BuildMethod"] == "makefile"
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    )
    # The target sam build runs for a function, here into a temporary folder.
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            "functions",
            "build-CreatorsGetFunction",
            f"ARTIFACTS_DIR={tmp_path}",
            f"PYTHON={sys.executable}",
        ],
        cwd=ROOT,
        check=True,
    )
    sources = sorted(p.stem for p in tmp_path.glob("*.py"))
    compiled = sorted(p.name.split(".")[0] for p in (tmp_path / "__pycache__").glob("*.cpython-311.pyc"))
    assert sources == compiled and "creators" in sources
    header = (tmp_path / "__pycache__" / "creators.cpython-311.pyc").read_bytes()[:8]
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: used whatever the mtimes


def test_functions_that_need_the_public_url_read_it_from_the_stack() -> None:
    """Behind CloudFront a function sees execute-api's Host, so the public URL comes from the stack:
    one SSM parameter (AuthBaseUrl, else the distribution's own https URL). The functions that build
    absolute URLs or check a cookie's origin get the parameter's name (naming the distribution would be
    a cycle: it fronts the API that invokes them) and may read exactly that parameter; no other
    function may read any."""
    from ontology.runtime.registry import load_all

    tpl = template.load_template()
    resources = tpl["Resources"]
    parameter = resources["PublicUrlParameter"]
    assert parameter["Type"] == "AWS::SSM::Parameter"
    assert parameter["Properties"]["Value"] == {
        "Fn::If": [
            "HasAuthBaseUrl",
            {"Ref": "AuthBaseUrl"},
            {"Fn::Sub": "https://${Distribution.DomainName}"},
        ]
    }
    assert tpl["Conditions"]["HasAuthBaseUrl"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AuthBaseUrl"}, ""]}]}
    name = parameter["Properties"]["Name"]
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/public-url"
    assert name == {"Fn::Sub": "/${AWS::StackName}/public-url"}
    readers = set()
    for logical, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        variables = (props.get("Environment") or {}).get("Variables", {})
        assert "Distribution" not in json.dumps(variables), logical
        if "Role" in props:
            role = resources[props["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
        else:
            role = [{"PolicyDocument": p} for p in props.get("Policies", []) if isinstance(p, dict)]
        ssm = [
            s
            for p in role
            for s in p["PolicyDocument"]["Statement"]
            if any(a.startswith("ssm:") for a in s["Action"])
        ]
        if "ONE_PUBLIC_URL_PARAMETER" in variables:
            readers.add(logical)
            assert variables["ONE_PUBLIC_URL_PARAMETER"] == name
            assert ssm == [{"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": {"Fn::Sub": arn}}]
        else:
            assert not ssm, logical
    # the auth endpoints, the invitation (links), and every route without the authorizer (a cookie's
    # origin): Convex's HTTP API, the dashboard and the public functions
    declared = {fn.spec.logical_id for fn in load_all().values() if "public_url" in template.uses_of(fn.spec)}
    assert {"OrganizationsInviteFunction", "MetaOpenapiFunction"} <= declared
    assert readers == {"AuthApiFunction", "ConvexHttpFunction", "DashboardFunction"} | declared
    output = tpl["Outputs"]["PublicUrl"]["Value"]
    assert output == parameter["Properties"]["Value"]


def _functions(resources: dict[str, Any]) -> dict[str, Any]:
    return {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def _events(resources: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(function, event properties) of every event of that type."""
    return [
        (logical, event["Properties"])
        for logical, function in _functions(resources).items()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == kind
    ]


def test_every_stream_mapping_has_a_failure_destination_and_bounded_retries() -> None:
    resources = template.load_template()["Resources"]
    mappings = _events(resources, "DynamoDB")
    assert {logical for logical, _ in mappings} == {
        "SchedulerDispatcherFunction",
        "SyncInvalidatorFunction",
        "KnowledgeIndexerFunction",
        "SearchAggregatorFunction",
    }
    for logical, p in mappings:
        destination = p["DestinationConfig"]["OnFailure"]
        assert destination["Type"] == "SQS", logical  # SAM grants sqs:SendMessage on exactly this queue
        queue = resources[destination["Destination"]["Fn::GetAtt"][0]]
        # Lambda takes a standard queue (or topic) for a stream's failures, never a FIFO queue
        assert queue["Type"] == "AWS::SQS::Queue" and "FifoQueue" not in queue["Properties"], logical
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        # the search aggregator's retries start where its report says: a bisected batch would start
        # inside a chunk its receipts cover (ontology.data.search_aggregates)
        bisects = logical != "SearchAggregatorFunction"
        assert p["MaximumRetryAttempts"] == 10 and p["BisectBatchOnFunctionError"] is bisects, logical
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical
        # Lambda's bounds, and below the stream's 24 hours (else -1 would be the same)
        assert 60 <= p["MaximumRecordAgeInSeconds"] < 24 * 3600, logical
        assert 1 <= p["ParallelizationFactor"] <= 10, logical
    writes = dict(mappings)["SyncInvalidatorFunction"]
    assert writes["ParallelizationFactor"] > 1  # every client's updates: a failure holds back a share
    postings = dict(mappings)["SearchAggregatorFunction"]
    assert postings["ParallelizationFactor"] == 1  # a shard's batches one at a time, in order


def _dead_letter_queues(resources: dict[str, Any]) -> set[str]:
    found = set()
    for res in resources.values():
        props = res.get("Properties") or {}
        if "RedrivePolicy" in props:
            found.add(props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
        if "DeadLetterQueue" in props:
            found.add(props["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0])
    for _, p in _events(resources, "DynamoDB"):
        found.add(p["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])
    return found


def test_every_queue_gives_up_into_a_dead_letter_queue_and_every_one_has_an_alarm() -> None:
    tpl = template.load_template()
    resources = tpl["Resources"]
    consumed = {p["Queue"]["Fn::GetAtt"][0] for _, p in _events(resources, "SQS")}
    assert consumed == {"JobsQueue", "SyncQueue", "SyncRecheckQueue", "BackupQueue"}
    for queue in consumed:
        assert resources[queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 1, queue
    dead_letters = _dead_letter_queues(resources)
    assert dead_letters == {
        "JobsDeadLetterQueue",
        "BackupDeadLetterQueue",
        "SyncDeadLetterQueue",
        "SyncRecheckDeadLetterQueue",
        "StreamFailureQueue",
    }
    alarms = {}
    for res in resources.values():
        if res["Type"] == "AWS::CloudWatch::Alarm" and res["Properties"]["Namespace"] == "AWS/SQS":
            (dimension,) = res["Properties"]["Dimensions"]
            alarms[dimension["Value"]["Fn::GetAtt"][0]] = res["Properties"]
    assert set(alarms) == dead_letters
    for queue, alarm in alarms.items():
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible", queue
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0), queue
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], queue
    lagging = {
        res["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for res in resources.values()
        if res["Type"] == "AWS::CloudWatch::Alarm" and res["Properties"]["MetricName"] == "IteratorAge"
    }
    assert lagging == {logical for logical, _ in _events(resources, "DynamoDB")}
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert tpl["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    # the backups' queues, and their alarm, exist only when backups are scheduled
    for logical in ("BackupQueue", "BackupDeadLetterQueue", "BackupDeadLetterQueueAlarm"):
        assert resources[logical]["Condition"] == "BackupsEnabled", logical


def test_scheduled_backups_are_off_by_default_and_least_privileged() -> None:
    tpl = template.load_template()
    resources = tpl["Resources"]
    assert tpl["Parameters"]["BackupSchedule"]["Default"] == ""
    assert tpl["Conditions"]["BackupsEnabled"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "BackupSchedule"}, ""]}]
    }
    backups = {k: r for k, r in resources.items() if r.get("Condition") == "BackupsEnabled"}
    assert set(backups) == {
        "BackupPlanFunction",
        "BackupExportFunction",
        "BackupQueue",
        "BackupDeadLetterQueue",
        "BackupDeadLetterQueueAlarm",
    }
    plan = resources["BackupPlanFunction"]["Properties"]
    assert plan["Events"]["Schedule"]["Properties"]["Schedule"] == {"Ref": "BackupSchedule"}
    export = resources["BackupExportFunction"]["Properties"]
    assert export["Events"]["Jobs"]["Properties"]["BatchSize"] == 1  # one organization a job

    def actions(props: dict[str, Any]) -> dict[str, Any]:
        return {a: st["Resource"] for st in props["Policies"][0]["Statement"] for a in st["Action"]}

    assert actions(plan) == {"dynamodb:Query": [{"Fn::Sub": "${Table.Arn}/index/*"}], "sqs:SendMessage": ANY}
    granted = actions(export)
    assert set(granted) == {"dynamodb:Query", "s3:PutObject"}  # no Scan, no read of the files
    assert granted["s3:PutObject"] == {"Fn::Sub": "${FilesBucket.Arn}/backups/*"}
    (rule,) = [
        r for r in resources["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"] if "Fn::If" in r
    ]
    on, off = rule["Fn::If"][1:]
    assert rule["Fn::If"][0] == "BackupsEnabled" and off == {"Ref": "AWS::NoValue"}
    assert (on["Prefix"], on["ExpirationInDays"]) == ("backups/", {"Ref": "BackupRetentionDays"})
    table = resources["Table"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_sqs_timings_are_lambdas_and_a_failed_sync_record_does_not_freeze_its_connection() -> None:
    from ontology.sync import queue

    resources = template.load_template()["Resources"]
    for logical, p in _events(resources, "SQS"):
        visibility = resources[p["Queue"]["Fn::GetAtt"][0]]["Properties"]["VisibilityTimeout"]
        # Lambda refuses a mapping whose queue's visibility timeout is shorter than the function's
        assert visibility >= resources[logical]["Properties"]["Timeout"], logical
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical
    sync = resources["SyncQueue"]["Properties"]
    worker = resources["SyncWorkerFunction"]["Properties"]
    # a crash holds a connection's updates for the visibility timeout: under two minutes
    assert sync["VisibilityTimeout"] == queue.VISIBILITY_TIMEOUT <= 120
    assert worker["Timeout"] == queue.WORKER_TIMEOUT <= queue.VISIBILITY_TIMEOUT
    # the worker starts no item it could not finish: the longest (an action) fits in what is left
    assert queue.WORKER_TIMEOUT > queue.ITEM_SECONDS > template.TIMEOUT["action"]
    assert sync["RedrivePolicy"]["maxReceiveCount"] == queue.MAX_RECEIVES
    # a record failing to its last receive has its connection closed within a minute
    assert len(queue.RETRY_SECONDS) == queue.MAX_RECEIVES - 1 and sum(queue.RETRY_SECONDS) < 60
    statements = [s for d in worker["Policies"] for s in d["Statement"]]
    assert {
        "Effect": "Allow",
        "Action": ["sqs:ChangeMessageVisibility"],
        "Resource": template.SYNC_QUEUE_ARN,
    } in (statements)
