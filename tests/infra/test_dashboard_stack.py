"""The dashboard through the local stack as ``make dev`` starts it: every endpoint of its API refuses
anyone but an owner of the organization (anonymous: 401; a customer, an org_user, another
organization's owner: 403; a cookie sent from another origin: 403), each with the typed envelope; an
owner runs a function as a member and finds that call's log line by its request id; a failed
call's error envelope names a request id that ``one logs --request-id`` finds, from the command line;
an owner lists and cancels the organization's scheduled functions (and has the list pushed over the
sync protocol as it changes), sees the crons and (a platform owner) runs one now, and lists,
downloads and deletes the stored files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import MANY_SIGN_INS, Stack, one_cli, running_stack, signed_in, until

#: The password ``signed_in`` signs every account up with.
PASSWORD = "correct horse battery staple"
#: Every endpoint of the dashboard's API, with what a call to it sends.
ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "me", {}),
    ("GET", "functions", {}),
    ("GET", "members", {}),
    ("GET", "logs", {"since": "10m"}),
    ("POST", "run", {"path": "creators:list", "args": {}, "userId": "usr_x"}),
    ("GET", "tables", {}),
    ("GET", "documents", {"table": "entities"}),
    ("GET", "document", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
    ("POST", "document/create", {"table": "entities", "fields": {"type": "video", "name": "x"}}),
    ("POST", "document/update", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R", "fields": {"name": "x"}}),
    ("POST", "document/delete", {"id": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
    ("GET", "scheduled", {"state": "pending"}),
    ("POST", "scheduled/cancel", {"id": "job_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
    ("POST", "scheduled/cancel", {"all": True}),
    ("GET", "crons", {}),
    ("POST", "crons/run", {"name": "weekly analytics report"}),
    ("GET", "files", {}),
    ("GET", "files/url", {"storageId": "sto_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
    ("POST", "files/delete", {"fileId": "ent_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}),
    ("GET", "live", {}),
    ("GET", "sync-health", {"since": "10m"}),
    ("GET", "health", {"since": "1h"}),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "dashboard", env=MANY_SIGN_INS)


def _org_of(stack: Stack, token: str) -> str:
    session = httpx.get(f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {token}"})
    return str(session.json()["session"]["activeOrganizationId"])


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, Any]:
    """The dev session's owner and organization, a customer and an org_user of it, and the owner of
    another organization (each sign-up's own)."""
    owner = OneClient(stack.url, token=stack.token())
    owner.action("organizations:update", {"joinPolicy": "open"})
    org = _org_of(stack, stack.token())
    tokens, emails = {}, {}
    for role in ("customer", "org_user", "other"):
        emails[role] = f"{role}-{time.time_ns()}@example.com"
    for role in ("customer", "org_user"):
        token = signed_in(stack, emails[role])
        member = OneClient(stack.url, token=token)
        member.action("organizations:join", {"organizationId": org})
        member.action("organizations:switch_active", {"organizationId": org})
        tokens[role] = token
    members = owner.query("organizations:list_members", {})
    org_user = next(m for m in members if m["email"] and m["email"].startswith("org_user-"))
    owner.action("organizations:change_role", {"userId": org_user["userId"], "role": "org_user"})
    customer = next(m for m in members if m["email"] and m["email"].startswith("customer-"))
    other = signed_in(stack, emails["other"])
    return {
        "emails": emails,
        "org": org,
        "owner": stack.token(),
        "customer": tokens["customer"],
        "customer_id": customer["userId"],
        "org_user": tokens["org_user"],
        "other": other,
        "other_org": _org_of(stack, other),
    }


def _call(
    stack: Stack,
    method: str,
    name: str,
    params: dict[str, Any],
    *,
    token: str | None = None,
    cookie: str | None = None,
    origin: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if origin:
        headers["Origin"] = origin
    cookies = {"better-auth.session_token": cookie} if cookie else None
    url = f"{stack.url}/dashboard/api/{name}"
    with httpx.Client(cookies=cookies) as client:
        if method == "GET":
            return client.get(url, params=params, headers=headers)
        return client.post(url, json=params, headers=headers)


def _cookie(stack: Stack, email: str) -> str:
    """Better Auth's signed session cookie, as a browser gets it by signing in."""
    signed = httpx.post(f"{stack.url}/api/auth/sign-in/email", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return str(signed.cookies["better-auth.session_token"])


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorData"]["code"] == code, body
    assert body["errorData"]["requestId"]
    return dict(body["errorData"])


@pytest.mark.parametrize(("method", "name", "params"), ENDPOINTS)
def test_every_endpoint_refuses_anyone_but_an_owner(
    stack: Stack, people: dict[str, Any], method: str, name: str, params: dict[str, Any]
) -> None:
    _refused(_call(stack, method, name, params), 401, "UNAUTHENTICATED")
    _refused(_call(stack, method, name, params, token="not-a-session"), 401, "UNAUTHENTICATED")
    for role in ("customer", "org_user"):
        data = _refused(_call(stack, method, name, params, token=people[role]), 403, "FORBIDDEN")
        assert data["reason"] == "NOT_AN_OWNER"
    # another organization's owner, asking for this one; this one's owner, asking for the other
    across = {**params, "organization": people["org"]}
    data = _refused(_call(stack, method, name, across, token=people["other"]), 403, "FORBIDDEN")
    assert data["reason"] == "OTHER_ORGANIZATION"
    across = {**params, "organization": people["other_org"]}
    data = _refused(_call(stack, method, name, across, token=people["owner"]), 403, "FORBIDDEN")
    assert data["reason"] == "OTHER_ORGANIZATION"
    # the session cookie is the page's way in: a fresh sign-in is active in the account's own
    # organization, so the customer's cookie opens that one's dashboard, never this one's
    cookie = _cookie(stack, people["emails"]["customer"])
    across = {**params, "organization": people["org"]}
    refused = _call(stack, method, name, across, cookie=cookie, origin=stack.url)
    assert _refused(refused, 403, "FORBIDDEN")["reason"] == "OTHER_ORGANIZATION"


def test_the_owner_is_admitted_with_the_cookie_and_a_post_from_elsewhere_is_not(
    stack: Stack, people: dict[str, Any]
) -> None:
    # the other organization's owner (a sign-up owns its own organization), signed in as in a browser
    cookie = _cookie(stack, people["emails"]["other"])
    me = _call(stack, "GET", "me", {}, cookie=cookie)
    assert me.status_code == 200, me.text
    assert me.json()["value"]["organization"] == people["other_org"]
    assert [o["id"] for o in me.json()["value"]["organizations"]] == [people["other_org"]]
    run = {"path": "creators:list", "args": {}, "userId": me.json()["value"]["userId"]}
    refused = _call(stack, "POST", "run", run, cookie=cookie, origin="https://evil.example")
    _refused(refused, 403, "FORBIDDEN")
    _refused(_call(stack, "POST", "run", run, cookie=cookie), 403, "FORBIDDEN")  # no Origin at all
    ran = _call(stack, "POST", "run", run, cookie=cookie, origin=stack.url)
    assert ran.status_code == 200, ran.text
    assert ran.json()["value"]["result"]["status"] == "success"


def test_the_page_is_served_with_its_own_files_only(stack: Stack) -> None:
    assert f"  dashboard   {stack.url}/dashboard/   " in "\n".join(stack.lines)  # `make dev` says where
    for path in ("/dashboard", "/dashboard/", "/dashboard/index.html"):
        page = httpx.get(f"{stack.url}{path}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{stack.url}/dashboard/app.js").headers["content-type"].startswith("text/javascript")
    _refused(httpx.get(f"{stack.url}/dashboard/../template.yaml"), 404, "NOT_FOUND")
    _refused(httpx.get(f"{stack.url}/dashboard/nothing.js"), 404, "NOT_FOUND")


def test_an_owner_runs_a_function_as_a_member_and_finds_its_log_line(
    stack: Stack, people: dict[str, Any]
) -> None:
    functions = _call(stack, "GET", "functions", {}, token=people["owner"]).json()["value"]["functions"]
    listed = {f["path"]: f for f in functions}
    assert "creators:get" in listed and "meta:not_found" not in listed
    assert listed["creators:get"]["schema"]["properties"]["id"]
    assert not any(f["auth"] == "internal" for f in functions)
    args = {"path": "creators:get", "args": {"id": "nope"}, "userId": people["customer_id"]}
    run = _call(stack, "POST", "run", args, token=people["owner"]).json()["value"]
    assert run["result"]["status"] == "error"
    assert run["result"]["errorData"]["code"] == "VALIDATION_ERROR"
    assert run["result"]["errorData"]["requestId"] == run["requestId"]
    assert run["as"]["role"] == "customer"

    def found() -> list[dict[str, Any]]:
        answer = _call(stack, "GET", "logs", {"requestId": run["requestId"]}, token=people["owner"])
        return list(answer.json()["value"]["lines"])

    lines = until(found, timeout=20)
    calls = [line for line in lines if line["message"] == "call"]
    assert len(calls) == 1, lines
    assert calls[0]["function"] == "creators:get" and calls[0]["status"] == "error"
    assert calls[0]["code"] == "VALIDATION_ERROR" and calls[0]["user_id"] == people["customer_id"]
    assert calls[0]["organization"] == people["org"] and calls[0]["role"] == "customer"
    # a member without a membership here, or a function no client may call, is refused
    missing = {**args, "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"}
    _refused(_call(stack, "POST", "run", missing, token=people["owner"]), 404, "NOT_FOUND")
    internal = {**args, "path": "organizations:sweep_member_sessions"}
    _refused(_call(stack, "POST", "run", internal, token=people["owner"]), 404, "NOT_FOUND")


def test_a_query_run_as_a_member_stays_live(stack: Stack, people: dict[str, Any]) -> None:
    """``_system/dashboard:run``, the Functions page's run of a query: the query runs in its own Lambda
    as the chosen member, and the subscription is pushed again when what it read changes; a mutation,
    a function no client may call, a non-member and another organization's owner are refused."""
    from ontology.errors import ForbiddenError, NotFoundError, ValidationError

    owner = people["owner"]
    me = stack.dev_session()["userId"]
    listing = {"type": "blog_post", "paginationOpts": {"numItems": 50, "cursor": None}}
    path = "_system/dashboard:run"
    run = {"userId": me, "path": "entities:list", "args": listing}
    with OneClient(stack.url, token=owner) as client, client.subscribe(path, run) as sub:
        first = sub.get(timeout=20)
        assert first["result"]["status"] == "success" and first["as"]["userId"] == me
        assert first["path"] == "entities:list" and first["requestId"] and first["durationMs"] > 0
        made = client.mutation("entities:create", {"type": "blog_post", "name": "Live run"})["id"]
        pushed = sub.wait_for(lambda v: made in {d["_id"] for d in v["result"]["value"]["page"]}, timeout=30)
        assert pushed["requestId"] != first["requestId"]  # a run of its own, with its own log lines
        # as a customer: the same query, answered as the customer's client is answered
        as_customer = {**run, "userId": people["customer_id"], "args": {"id": "nope"}, "path": "creators:get"}
        with client.subscribe(path, as_customer) as theirs:
            answered = theirs.get(timeout=20)
        assert answered["as"]["role"] == "customer" and answered["result"]["status"] == "error"
        assert answered["result"]["errorData"]["code"] == "VALIDATION_ERROR"
    refusals = [
        (owner, {**run, "path": "entities:create", "args": {}}, ValidationError, "path"),
        (owner, {**run, "path": "organizations:sweep_member_sessions"}, NotFoundError, "path"),
        (owner, {**run, "path": "_system/dashboard:files"}, NotFoundError, "path"),
        (owner, {**run, "userId": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"}, NotFoundError, "userId"),
        (people["other"], {**run, "organization": people["org"]}, ForbiddenError, None),
        (people["customer"], run, ForbiddenError, None),
    ]
    for token, args, error, field in refusals:
        subscription = OneClient(stack.url, token=token).subscribe(path, args)
        with subscription as refused, pytest.raises(error) as raised:
            refused.get(timeout=20)
        assert raised.value.data.get("field") == field, (args, raised.value.data)


def test_an_owner_reads_only_their_organizations_lines(stack: Stack, people: dict[str, Any]) -> None:
    other = OneClient(stack.url, token=people["other"])
    marker = f"elsewhere-{time.time_ns()}"
    other.mutation("creators:create", {"email": f"{marker}@example.com", "name": marker, "niche": ["x"]})
    theirs = _call(stack, "GET", "logs", {"function": "creators:create"}, token=people["other"])
    assert any(line["organization"] == people["other_org"] for line in theirs.json()["value"]["lines"])
    mine = _call(stack, "GET", "logs", {"function": "creators:create"}, token=people["owner"])
    assert all(line["organization"] == people["org"] for line in mine.json()["value"]["lines"])
    bad = _call(stack, "GET", "logs", {"status": "maybe"}, token=people["owner"])
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "status"


def _changed(stack: Stack, token: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A change made from the Data page: the function's envelope (its value on success)."""
    answer = _call(stack, "POST", f"document/{action}", params, token=token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["value"]["result"])


def _ok(result: dict[str, Any]) -> Any:
    assert result["status"] == "success", result
    return result["value"]


def test_the_data_page_browses_through_the_indexes(stack: Stack, people: dict[str, Any]) -> None:
    owner = people["owner"]
    tables = {t["name"]: t for t in _call(stack, "GET", "tables", {}, token=owner).json()["value"]["tables"]}
    assert (
        "blog_post" in tables["entities"]["types"]
        and tables["entities"]["defaultIndex"] == "by_creation_time"
    )
    assert {"by_type", "by_type_status"} <= {i["name"] for i in tables["entities"]["indexes"]}
    assert tables["events"]["writes"] == {} and tables["events"]["readOnly"]
    assert not tables["sessions"]["browsable"]
    kind = f"k{time.time_ns()}"
    made = [
        _ok(_changed(stack, owner, "create", {"table": "entities", "fields": fields}))["id"]
        for fields in (
            {"type": "podcast", "name": f"{kind} one", "status": "draft", "properties": {"kind": kind}},
            {"type": "podcast", "name": f"{kind} two", "status": "published", "properties": {"kind": kind}},
            {"type": "podcast", "name": f"{kind} three", "status": "draft", "properties": {"kind": kind}},
        )
    ]

    def browse(**params: Any) -> httpx.Response:
        return _call(stack, "GET", "documents", {"table": "entities", **params}, token=owner)

    # newest first, two at a time, by the type's index; then by type and status
    first = browse(index="by_type", type="podcast", numItems="2").json()["value"]
    assert [d["_id"] for d in first["page"]] == [made[2], made[1]] and not first["isDone"]
    rest = browse(index="by_type", type="podcast", numItems="2", cursor=first["continueCursor"]).json()[
        "value"
    ]
    assert [d["_id"] for d in rest["page"]] == [made[0]]
    drafts = browse(index="by_type_status", type="podcast", status="draft").json()["value"]
    assert [d["_id"] for d in drafts["page"]] == [made[2], made[0]]
    everything = browse().json()["value"]
    assert everything["index"] == "by_creation_time" and everything["page"][0]["_id"] == made[2]
    # every bad input names its field
    for params, field in (
        ({"table": "spaceships"}, "table"),
        ({"table": "sessions"}, "table"),
        ({"index": "by_colour"}, "index"),
        ({"index": "search_entities"}, "index"),
        ({"index": "by_type"}, "type"),
        ({"index": "by_type", "colour": "red", "type": "podcast"}, "colour"),
        ({"index": "by_type_status", "status": "draft"}, "type"),
        ({"index": "by_type", "type": "podcast", "cursor": "forged"}, "cursor"),
        ({"index": "by_type", "type": "podcast", "cursor": rest["continueCursor"], "order": "asc"}, "cursor"),
        ({"numItems": "1000"}, "numItems"),
    ):
        assert _refused(browse(**params), 400, "VALIDATION_ERROR")["field"] == field, params


def test_the_data_page_changes_documents_through_the_functions(stack: Stack, people: dict[str, Any]) -> None:
    owner = people["owner"]
    me = _call(stack, "GET", "me", {}, token=owner).json()["value"]
    members = _call(stack, "GET", "members", {}, token=owner).json()["value"]
    operator = next(m for m in members if m["userId"] == me["userId"])
    assert operator["entityId"]
    post = {"table": "entities", "fields": {"type": "blog_post", "name": "Draft", "properties": {"words": 1}}}
    a = _ok(_changed(stack, owner, "create", post))["id"]
    b = _ok(_changed(stack, owner, "create", post))["id"]
    link = {"fromEntityId": a, "toEntityId": b, "relationshipType": "references"}
    connection = _ok(_changed(stack, owner, "create", {"table": "connections", "fields": link}))["id"]
    tag = _ok(
        _changed(
            stack, owner, "create", {"table": "tags", "fields": {"entityId": a, "key": "topic", "value": "x"}}
        )
    )
    opened = _call(stack, "GET", "document", {"id": a}, token=owner).json()["value"]
    assert opened["document"]["name"] == "Draft" and opened["table"] == "entities"
    related = opened["related"]
    assert [c["_id"] for c in related["connectionsFrom"]["page"]] == [connection]
    assert related["connectionsTo"]["page"] == []
    assert [t["_id"] for t in related["tags"]["page"]] == [tag["id"]]
    assert related["events"]["query"] == {"table": "events", "index": "by_target", "targetId": a}
    assert [e["metadata"].get("action") for e in related["events"]["page"]] == ["created"]

    # an edit, logged with the operator as its actor; an invalid one, refused with its field
    _ok(_changed(stack, owner, "update", {"id": a, "fields": {"name": "Final", "status": "published"}}))
    opened = _call(stack, "GET", "document", {"id": a}, token=owner).json()["value"]
    assert (opened["document"]["name"], opened["document"]["status"]) == ("Final", "published")
    event = opened["related"]["events"]["page"][0]
    assert (event["type"], event["metadata"]["action"]) == ("content_changed", "updated")
    assert event["actorId"] == operator["entityId"]
    refused = _changed(stack, owner, "update", {"id": a, "fields": {"name": ""}})
    assert refused["status"] == "error" and refused["errorData"]["field"] == "name", refused
    refused = _changed(stack, owner, "update", {"id": a, "fields": {"properties": {"ownerId": "me"}}})
    assert refused["errorData"]["code"] == "VALIDATION_ERROR" and refused["errorData"]["field"], refused
    assert (
        _call(stack, "GET", "document", {"id": a}, token=owner).json()["value"]["document"]["name"] == "Final"
    )
    # what no function does is refused by the page itself
    no_edit = _call(stack, "POST", "document/update", {"id": connection, "fields": {}}, token=owner)
    assert _refused(no_edit, 400, "VALIDATION_ERROR")["field"] == "id"
    no_event = _call(stack, "POST", "document/create", {"table": "events", "fields": {}}, token=owner)
    assert _refused(no_event, 400, "VALIDATION_ERROR")["field"] == "table"

    # deletes: the tag and the connection go, the entity is archived (the reference keeps it)
    _ok(_changed(stack, owner, "delete", {"id": tag["id"]}))
    _ok(_changed(stack, owner, "delete", {"id": connection}))
    _ok(_changed(stack, owner, "delete", {"id": a}))
    opened = _call(stack, "GET", "document", {"id": a}, token=owner).json()["value"]
    assert opened["document"]["status"] == "archived"
    assert opened["related"]["tags"]["page"] == [] and opened["related"]["connectionsFrom"]["page"] == []
    _refused(_call(stack, "GET", "document", {"id": tag["id"]}, token=owner), 404, "NOT_FOUND")
    gone = _call(stack, "GET", "document", {"id": "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"}, token=owner)
    assert _refused(gone, 400, "VALIDATION_ERROR")["field"] == "id"


def _one_logs(stack: Stack, *args: str) -> list[dict[str, Any]]:
    done = one_cli(stack, "logs", "--json", *args, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_one_logs_finds_the_line_of_an_error_envelopes_request_id(
    stack: Stack, people: dict[str, Any]
) -> None:
    failed = httpx.post(
        f"{stack.url}/api/creators/get",
        json={"id": "not-an-id"},
        headers={"Authorization": f"Bearer {people['customer']}"},
    )
    assert failed.status_code == 400
    request_id = failed.json()["errorData"]["requestId"]
    lines = _one_logs(stack, "--request-id", request_id)
    assert [(x["function"], x["status"], x["code"]) for x in lines if x["message"] == "call"] == [
        ("creators:get", "error", "VALIDATION_ERROR")
    ]
    assert lines[0]["user_id"] == people["customer_id"] and lines[0]["source"] == "http"
    errors = _one_logs(stack, "--function", "creators:get", "--status", "error", "--since", "1h")
    assert request_id in {x["request_id"] for x in errors}
    successes = _one_logs(stack, "--function", "creators:get", "--status", "success", "--since", "1h")
    assert request_id not in {x["request_id"] for x in successes}
    assert all(x["status"] == "success" for x in successes)
    env = {**os.environ, "ONE_STATE_DIR": str(stack.state_dir)}
    bad = subprocess.run(
        [sys.executable, "-m", "infra.cli", "logs", "--since", "ten minutes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "VALIDATION_ERROR" in bad.stderr


# ---------------------------------------------------------------- Schedules and Files


def _aws(stack: Stack) -> tuple[Any, dict[str, Any]]:
    """The stack's DynamoDB (its moto, as the developer's own tools reach it) and its health."""
    import boto3

    health = httpx.get(f"{stack.url}/_local/health").json()
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=health["aws"],
        region_name=health["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        aws_session_token="local",
    )
    return ddb, health


def scheduled_later(stack: Stack, org: str, user_id: str, count: int = 1, seconds: int = 3600) -> list[str]:
    """``count`` jobs of the organization due in ``seconds``, through the platform's own scheduler
    (``ctx.scheduler.run_after`` as a member's mutation calls it): their ids."""
    _, health = _aws(stack)
    env = {
        **os.environ,
        "ONE_TABLE_NAME": health["table"],
        "ONE_AWS_ENDPOINT": health["aws"],
        "ONE_DYNAMODB_ENDPOINT": health["aws"],
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": health["region"],
    }
    code = (
        "import sys\n"
        "from ontology.auth.identity import Identity\n"
        "from ontology.runtime.scheduler import Scheduler\n"
        "org, user, count, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])\n"
        "scheduler = Scheduler(Identity(userId=user, organizationId=org, role='org_owner'))\n"
        "args = {'organizationId': org, 'userId': user}\n"
        "for _ in range(count):\n"
        "    print(scheduler.run_after(seconds, 'organizations:sweep_member_sessions', args))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, org, user_id, str(count), str(seconds)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def platform_owner(stack: Stack, email: str) -> str:
    """A new account's session made a platform owner's (a session keeps its role: the operator's
    change, written into the stack's table)."""
    from ontology.data.keys import DOC_SK
    from ontology.data.schema import PLATFORM_SCOPE

    token = signed_in(stack, email)
    session = httpx.get(f"{stack.url}/api/auth/get-session", headers={"Authorization": f"Bearer {token}"})
    ddb, health = _aws(stack)
    key = {"pk": {"S": f"{PLATFORM_SCOPE}#{session.json()['session']['id']}"}, "sk": {"S": DOC_SK}}
    item = ddb.get_item(TableName=health["table"], Key=key, ConsistentRead=True)["Item"]
    doc = json.loads(item["doc"]["S"])
    doc["role"] = "platform_owner"
    ddb.update_item(
        TableName=health["table"],
        Key=key,
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "doc"},
        ExpressionAttributeValues={":d": {"S": json.dumps(doc)}},
    )
    return token


def _answered(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["value"]


def _listed(stack: Stack, token: str, state: str) -> dict[str, dict[str, Any]]:
    page = _answered(_call(stack, "GET", "scheduled", {"state": state}, token=token))
    assert all(job["state"] == state for job in page["page"]), page
    return {job["id"]: job for job in page["page"]}


def test_an_owner_cancels_scheduled_functions_one_and_all(stack: Stack, people: dict[str, Any]) -> None:
    owner, org = people["owner"], people["org"]
    # a job that ran (the members' change_role scheduled one, due 10 s later) cannot be canceled
    done = until(lambda: _listed(stack, owner, "success"), timeout=60)
    assert done, "no job of the organization ran"
    refused = _call(stack, "POST", "scheduled/cancel", {"id": next(iter(done))}, token=owner)
    data = _refused(refused, 409, "CONFLICT")
    assert data["field"] == "id" and data["state"] == "success"
    first, second, third = scheduled_later(stack, org, stack.dev_session()["userId"], count=3)
    pending = _listed(stack, owner, "pending")
    assert {first, second, third} <= set(pending)
    assert pending[first]["name"] == "organizations:sweep_member_sessions"
    assert pending[first]["scheduledTime"] > time.time() * 1000 + 3000 * 1000
    # another organization's owner finds no such job in theirs
    theirs = {"id": first, "organization": people["other_org"]}
    assert _refused(_call(stack, "POST", "scheduled/cancel", theirs, token=people["other"]), 404, "NOT_FOUND")
    # one, then the same again: it stays canceled
    for _ in range(2):
        job = _answered(_call(stack, "POST", "scheduled/cancel", {"id": first}, token=owner))["job"]
        assert job["id"] == first and job["state"] == "canceled" and job["completedTime"]
    assert first in _listed(stack, owner, "canceled") and first not in _listed(stack, owner, "pending")
    # every pending one of the organization
    every = _answered(_call(stack, "POST", "scheduled/cancel", {"all": True}, token=owner))
    assert every["canceled"] >= 2 and every["more"] is False
    assert not _listed(stack, owner, "pending")
    assert {second, third} <= set(_listed(stack, owner, "canceled"))
    bad = _call(stack, "GET", "scheduled", {"state": "done"}, token=owner)
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "state"
    bad = _call(stack, "POST", "scheduled/cancel", {"id": "nope"}, token=owner)
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "id"
    bad = _call(stack, "GET", "scheduled", {"cursor": "not-a-cursor"}, token=owner)
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "cursor"


def test_an_owner_subscribes_to_the_scheduled_functions_over_the_sync_protocol(
    stack: Stack, people: dict[str, Any]
) -> None:
    """``_system/dashboard:scheduled``, the Schedules page's subscription: a job scheduled, then
    canceled, is pushed to the owner's open subscription; anyone else's fails with the typed error."""
    from ontology.errors import ForbiddenError, UnauthenticatedError

    owner, org = people["owner"], people["org"]
    path = "_system/dashboard:scheduled"
    with OneClient(stack.url, token=owner).subscribe(path, {"state": "pending"}) as sub:
        assert all(job["state"] == "pending" for job in sub.get(timeout=20)["page"])
        (job,) = scheduled_later(stack, org, stack.dev_session()["userId"])
        shown = sub.wait_for(lambda v: job in {j["id"] for j in v["page"]}, timeout=30)
        assert (
            next(j for j in shown["page"] if j["id"] == job)["name"] == "organizations:sweep_member_sessions"
        )
        _answered(_call(stack, "POST", "scheduled/cancel", {"id": job}, token=owner))
        sub.wait_for(lambda v: job not in {j["id"] for j in v["page"]}, timeout=30)
    refusals = [
        (people["customer"], {}, ForbiddenError, "NOT_AN_OWNER"),
        (people["org_user"], {}, ForbiddenError, "NOT_AN_OWNER"),
        (people["other"], {"organization": org}, ForbiddenError, "OTHER_ORGANIZATION"),
        (None, {}, UnauthenticatedError, None),
    ]
    for token, args, error, reason in refusals:
        with (
            OneClient(stack.url, token=token).subscribe(path, args) as refused,
            pytest.raises(error) as raised,
        ):
            refused.get(timeout=20)
        assert raised.value.data.get("reason") == reason, (token, raised.value.data)


def test_crons_are_listed_and_a_platform_owner_runs_one_now(
    stack: Stack, people: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """The crons, their next runs and last runs, over HTTP and as the Schedules page's subscription
    (``_system/dashboard:crons``), which is pushed a run a platform owner starts."""
    owner, org = people["owner"], people["org"]
    listed = _answered(_call(stack, "GET", "crons", {}, token=owner))
    crons = {c["name"]: c for c in listed["crons"]}
    assert set(crons) >= {"weekly analytics report", "monthly billing", "reconcile token purchases"}
    weekly = crons["weekly analytics report"]
    assert weekly["function"] == "analytics:generate_weekly_report"
    assert weekly["schedule"] == "cron(0 9 ? * MON *)"
    next_run = time.gmtime(weekly["nextRun"] / 1000)
    assert (next_run.tm_wday, next_run.tm_hour, next_run.tm_min) == (0, 9, 0)
    assert time.time() * 1000 < weekly["nextRun"] <= (time.time() + 7 * 86400) * 1000
    assert listed["mayRun"] is False
    run = {"name": "weekly analytics report"}
    data = _refused(_call(stack, "POST", "crons/run", run, token=owner), 403, "FORBIDDEN")
    assert data["reason"] == "PLATFORM_OWNERS_ONLY"

    operator = platform_owner(stack, f"platform-{time.time_ns()}@example.com")
    assert _answered(_call(stack, "GET", "crons", {"organization": org}, token=operator))["mayRun"] is True
    before = next(c for c in listed["crons"] if c["name"] == run["name"])["runs"]
    sub = OneClient(stack.url, token=owner).subscribe("_system/dashboard:crons", {})
    request.addfinalizer(sub.close)
    first = sub.get(timeout=20)
    assert first["mayRun"] is False
    assert [c["name"] for c in first["crons"]] == [c["name"] for c in listed["crons"]]
    ran = _answered(_call(stack, "POST", "crons/run", {**run, "organization": org}, token=operator))
    assert ran["status"] == "started" and ran["name"] == run["name"], ran  # as EventBridge: asynchronously

    def shown() -> dict[str, Any] | None:
        answer = _answered(_call(stack, "GET", "crons", {}, token=owner))
        cron = next(c for c in answer["crons"] if c["name"] == run["name"])
        latest = cron["runs"][0] if cron["runs"] else None
        fresh = latest is not None and latest not in before
        return latest if fresh and latest["outcome"] == "success" else None

    latest = until(shown, timeout=90)
    assert latest, "the run did not show with its organization's job done"
    # the page's subscription (_system/dashboard:crons) was pushed the same run
    pushed = sub.wait_for(
        lambda v: next(c for c in v["crons"] if c["name"] == run["name"])["runs"][:1] == [latest], timeout=30
    )
    assert {c["name"]: c["schedule"] for c in pushed["crons"]} == {
        c["name"]: c["schedule"] for c in listed["crons"]
    }
    assert latest["jobs"] == {"success": 1}  # this organization's job only
    everyone = _answered(_call(stack, "GET", "crons", {"organization": org}, token=operator))
    theirs = next(c for c in everyone["crons"] if c["name"] == run["name"])["runs"][0]
    assert theirs["window"] == latest["window"] and sum(theirs["jobs"].values()) >= 2  # every organization's
    missing = _call(stack, "POST", "crons/run", {"name": "no such cron"}, token=operator)
    assert _refused(missing, 404, "NOT_FOUND")["field"] == "name"


def _upload(stack: Stack, token: str, data: bytes, content_type: str, name: str) -> dict[str, str]:
    with OneClient(stack.url, token=token) as client:
        up = client.mutation("files:generate_upload_url", {"contentType": content_type, "size": len(data)})
        put = httpx.put(up["uploadUrl"], content=data, headers=up["headers"])
        assert put.status_code == 200, put.text
        saved = client.mutation(
            "files:save_file",
            {"storageId": up["storageId"], "name": name, "type": content_type, "size": len(data)},
        )
    return {"storageId": up["storageId"], "fileId": saved["fileId"]}


def test_an_owner_lists_downloads_and_deletes_stored_files(stack: Stack, people: dict[str, Any]) -> None:
    owner = people["owner"]
    data = b"RIFF" + os.urandom(64)
    stored = _upload(stack, owner, data, "audio/wav", "greeting.wav")
    page = _answered(_call(stack, "GET", "files", {}, token=owner))
    row = next(f for f in page["page"] if f["fileId"] == stored["fileId"])
    assert row["storageId"] == stored["storageId"] and row["name"] == "greeting.wav"
    assert row["contentType"] == "audio/wav" and row["size"] == len(data)
    assert row["createdTime"] <= time.time() * 1000
    # who uploaded it: the member's own entity (the actor of its content_uploaded event)
    members = _answered(_call(stack, "GET", "members", {}, token=owner))
    me = next(m for m in members if m["userId"] == stack.dev_session()["userId"])
    assert me["entityId"] and row["owner"]["id"] == me["entityId"], (row, me)
    assert row["owner"]["name"] == "Local developer"
    url = _answered(_call(stack, "GET", "files/url", {"storageId": stored["storageId"]}, token=owner))["url"]
    downloaded = httpx.get(url)
    assert downloaded.status_code == 200 and downloaded.content == data
    # the page may show it: the bucket's origin, and no other, for images and media
    policy = httpx.get(f"{stack.url}/dashboard/").headers["content-security-policy"]
    origin = "/".join(url.split("/")[:3])
    assert f"img-src 'self' data: {origin};" in policy and f"media-src {origin};" in policy
    # another organization's owner deletes nothing here
    theirs = {"fileId": stored["fileId"], "organization": people["other_org"]}
    _refused(_call(stack, "POST", "files/delete", theirs, token=people["other"]), 404, "NOT_FOUND")
    deleted = _answered(_call(stack, "POST", "files/delete", {"fileId": stored["fileId"]}, token=owner))
    assert deleted == {"deleted": stored["fileId"]}
    page = _answered(_call(stack, "GET", "files", {}, token=owner))
    assert stored["fileId"] not in {f["fileId"] for f in page["page"]}
    # the object went with its record (S3 answers 403 for a missing key to a signer that may not
    # list the bucket, as the functions' roles may not)
    assert httpx.get(url).status_code in (403, 404)
    gone = _call(stack, "GET", "files/url", {"storageId": stored["storageId"]}, token=owner)
    assert _refused(gone, 404, "NOT_FOUND")["field"] == "storageId"
    again = _call(stack, "POST", "files/delete", {"fileId": stored["fileId"]}, token=owner)
    _refused(again, 404, "NOT_FOUND")
    bad = _call(stack, "GET", "files/url", {"storageId": "x"}, token=owner)
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "storageId"


def test_an_owner_subscribes_to_a_tables_documents_over_the_sync_protocol(
    stack: Stack, people: dict[str, Any]
) -> None:
    """``_system/dashboard:documents``, the Data page's list: an entity written while the
    subscription is open is pushed, as the endpoint lists it; a filter the index cannot take and
    another organization's owner are refused with their typed errors. The open document
    (``_system/dashboard:document``) is pushed as a tag is added and its name changes."""
    from ontology.errors import ForbiddenError, NotFoundError, ValidationError

    owner = people["owner"]
    path = "_system/dashboard:documents"
    args = {"table": "entities", "index": "by_type", "filters": {"type": "blog_post"}, "numItems": 5}
    with OneClient(stack.url, token=owner) as client, client.subscribe(path, args) as sub:
        sub.get(timeout=20)
        made = client.mutation("entities:create", {"type": "blog_post", "name": "Pushed post"})["id"]
        shown = sub.wait_for(lambda v: made in {d["_id"] for d in v["page"]}, timeout=30)
        assert shown["index"] == "by_type" and shown["filters"] == {"type": "blog_post"}
        listed = _answered(
            _call(
                stack,
                "GET",
                "documents",
                {"table": "entities", "index": "by_type", "type": "blog_post"},
                token=owner,
            )
        )
        assert shown["page"][0] == listed["page"][0]
        # the open document (_system/dashboard:document): a tag added to it and an edit are pushed
        with client.subscribe("_system/dashboard:document", {"id": made}) as doc:
            first = doc.get(timeout=20)
            assert first["document"]["name"] == "Pushed post" and first["related"]["tags"]["page"] == []
            client.mutation("tags:add", {"entityId": made, "key": "topic", "value": "pushed"})
            tagged = doc.wait_for(lambda v: v["related"]["tags"]["page"], timeout=30)
            tags = tagged["related"]["tags"]["page"]
            assert [(t["key"], t["value"]) for t in tags] == [("topic", "pushed")]
            client.mutation("entities:update", {"id": made, "name": "Pushed and renamed"})
            renamed = doc.wait_for(lambda v: v["document"]["name"] == "Pushed and renamed", timeout=30)
            assert renamed == _answered(_call(stack, "GET", "document", {"id": made}, token=owner))
        with (
            client.subscribe("_system/dashboard:document", {"id": "ent_01JD0000000000000000000000"}) as gone,
            pytest.raises(NotFoundError),
        ):
            gone.get(timeout=20)
    bad = {"table": "entities", "index": "by_type", "filters": {"status": "draft"}}
    with (
        OneClient(stack.url, token=owner).subscribe(path, bad) as refused,
        pytest.raises(ValidationError) as raised,
    ):
        refused.get(timeout=20)
    assert raised.value.data.get("field") == "status"
    theirs = OneClient(stack.url, token=people["other"]).subscribe(
        path, {**args, "organization": people["org"]}
    )
    with theirs as refused, pytest.raises(ForbiddenError):
        refused.get(timeout=20)


def test_an_owner_subscribes_to_the_stored_files_over_the_sync_protocol(
    stack: Stack, people: dict[str, Any]
) -> None:
    """``_system/dashboard:files``, the Files page's subscription: a file stored, then deleted, is
    pushed to the owner's open subscription, its row what the HTTP endpoint lists; another
    organization's owner is refused."""
    from ontology.errors import ForbiddenError

    owner = people["owner"]
    path = "_system/dashboard:files"
    with OneClient(stack.url, token=owner).subscribe(path, {}) as sub:
        sub.get(timeout=20)
        stored = _upload(stack, owner, b"RIFF" + os.urandom(32), "audio/wav", "pushed.wav")
        shown = sub.wait_for(lambda v: stored["fileId"] in {f["fileId"] for f in v["page"]}, timeout=30)
        listed = _answered(_call(stack, "GET", "files", {}, token=owner))
        assert next(f for f in shown["page"] if f["fileId"] == stored["fileId"]) == next(
            f for f in listed["page"] if f["fileId"] == stored["fileId"]
        )
        _answered(_call(stack, "POST", "files/delete", {"fileId": stored["fileId"]}, token=owner))
        sub.wait_for(lambda v: stored["fileId"] not in {f["fileId"] for f in v["page"]}, timeout=30)
    theirs = OneClient(stack.url, token=people["other"]).subscribe(path, {"organization": people["org"]})
    with theirs as refused, pytest.raises(ForbiddenError) as raised:
        refused.get(timeout=20)
    assert raised.value.data.get("reason") == "OTHER_ORGANIZATION"


def test_an_owner_sees_a_live_subscription_and_the_sync_paths_health(
    stack: Stack, people: dict[str, Any]
) -> None:
    owner = OneClient(stack.url, token=people["owner"])
    marker = f"live-{time.time_ns()}"
    created = owner.mutation(
        "creators:create", {"email": f"{marker}@example.com", "name": marker, "niche": ["x"]}
    )
    creator_id = str(created["creatorId"])

    def live(token: str) -> list[dict[str, Any]]:
        connections = _call(stack, "GET", "live", {}, token=token).json()["value"]["connections"]
        return [
            {**s, "userId": c["userId"]}
            for c in connections
            for s in c["subscriptions"]
            if s["path"] == "creators:get" and s["args"] == {"id": creator_id}
        ]

    with owner.subscribe("creators:get", {"id": creator_id}) as sub:
        assert sub.get(timeout=20)["_id"] == creator_id
        (shown,) = until(lambda: live(people["owner"]), timeout=20)
        assert shown["lastPushed"] > 0 and shown["pending"] is False
        assert (
            shown["userId"] == _call(stack, "GET", "me", {}, token=people["owner"]).json()["value"]["userId"]
        )
        assert live(people["other"]) == []  # another organization's owner sees their own connections only
        first = shown["lastPushed"]
        owner.mutation("creators:update", {"id": creator_id, "bio": marker})
        sub.wait_for(lambda v: v["properties"].get("bio") == marker, timeout=20)
        assert until(lambda: [s for s in live(people["owner"]) if s["lastPushed"] > first], timeout=20)

        def healthy() -> dict[str, Any] | None:
            answer = _call(stack, "GET", "sync-health", {"since": "10m"}, token=people["owner"]).json()[
                "value"
            ]
            return answer if answer["worker"]["invalidations"] >= 1 else None

        health = until(healthy, timeout=20)
    assert (
        health["worker"]["reruns"] >= 1 and health["worker"]["pushed"] >= 2 and health["worker"]["runs"] >= 2
    )
    assert isinstance(health["queue"]["waiting"], int) and isinstance(health["queue"]["inFlight"], int)
    assert health["invalidator"] is None  # the platform's stream batches are the platform owners'
    bad = _call(stack, "GET", "sync-health", {"since": "soon"}, token=people["owner"])
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "since"


def test_health_counts_an_organizations_calls_and_their_units(stack: Stack, people: dict[str, Any]) -> None:
    def health() -> dict[str, dict[str, Any]]:
        answer = _call(stack, "GET", "health", {"since": "1h"}, token=people["other"])
        assert answer.status_code == 200, answer.text
        return {f["function"]: f for f in answer.json()["value"]["functions"]}

    before = health()
    creates = before.get("creators:create", {}).get("calls", 0)
    gets = before.get("creators:get", {"calls": 0, "errors": 0})
    other = OneClient(stack.url, token=people["other"])
    for n in range(2):
        marker = f"health-{n}-{time.time_ns()}"
        other.mutation("creators:create", {"email": f"{marker}@example.com", "name": marker, "niche": ["x"]})
    failed = httpx.post(
        f"{stack.url}/api/creators/get",
        json={"id": "nope"},
        headers={"Authorization": f"Bearer {people['other']}"},
    )
    assert failed.status_code == 400

    def counted() -> dict[str, dict[str, Any]] | None:
        now = health()
        done = now.get("creators:create", {}).get("calls") == creates + 2
        return now if done and now.get("creators:get", {}).get("calls") == gets["calls"] + 1 else None

    after = until(counted, timeout=20)
    create, get = after["creators:create"], after["creators:get"]
    assert get["errors"] == gets["errors"] + 1 and create["errors"] == 0 and create["errorRate"] == 0
    assert create["wcu"] > 0 and create["rcu"] > 0 and create["kind"] == "mutation"
    assert 0 < create["p50Ms"] <= create["p99Ms"]
    price = create["usdPerMillion"]
    assert (
        price["dynamodb"] > 0
        and price["lambda"] > 0.2
        and price["total"] == pytest.approx(price["lambda"] + price["dynamodb"], abs=1e-3)
    )
    bad = _call(stack, "GET", "health", {"since": "2h"}, token=people["other"])
    assert _refused(bad, 400, "VALIDATION_ERROR")["field"] == "since"


def test_a_stack_started_without_the_demo_token_deploys_none(stack: Stack) -> None:
    """``--no-demo-token`` (this module's stack, as most test modules start theirs): no token is
    deployed at first start, and the banner says so."""
    assert "  demo token  none   (--no-demo-token)" in stack.lines
    assert "demoTokenId" not in stack.dev_session()
