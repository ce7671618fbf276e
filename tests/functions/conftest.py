"""Calling functions the way API Gateway does: the sample event of events/, with a body and an
authorizer identity, through the function's real Lambda handler, on moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import load_event


@dataclass
class Member:
    userId: str
    organizationId: str
    entityId: str
    role: str
    #: A live session of the member in the organization: what the authorizer names for a request.
    sessionId: str = ""

    def context(self) -> dict[str, str]:
        """The identity an internal call (``_auth``) carries."""
        return {
            "userId": self.userId,
            "organizationId": self.organizationId,
            "role": self.role,
            "entityId": self.entityId,
        }

    def authorizer(self) -> dict[str, str]:
        """The authorizer's answer for a request made with the member's session."""
        return {"sessionId": self.sessionId, "userId": self.userId}


def _open_session(user_id: str, org_id: str) -> str:
    from ontology import run_mutation
    from ontology.auth.people import create_session

    return run_mutation(
        lambda db: create_session(db, user_id=user_id, org_id=org_id), org=None, platform=True
    )[1]


def member_of(owner: Member, email: str, role: str) -> Member:
    """Another user, a member of ``owner``'s organization with ``role``, signed in there."""
    from ontology import run_mutation
    from ontology.auth.people import add_member

    org = owner.organizationId

    def body(db: Any) -> tuple[str, str]:
        user_id = db.insert("users", {"email": email, "emailVerified": True, "createdAt": 1, "updatedAt": 1})
        return user_id, add_member(
            db.view(org=org), org_id=org, user_id=user_id, role=role, display_name=email
        )

    user_id, entity_id = run_mutation(body, org=org, platform=True)
    return Member(user_id, org, entity_id, role, _open_session(user_id, org))


@dataclass
class Response:
    status: int
    body: Any

    @property
    def value(self) -> Any:
        assert self.status == 200, self.body
        return self.body["value"]

    @property
    def code(self) -> str:
        return str(self.body["errorData"]["code"])


def _make_org(email: str, name: str) -> Member:
    from ontology import run_mutation
    from ontology.auth.people import create_user_with_organization, new_organization_id

    org_id = new_organization_id()
    created = run_mutation(
        lambda db: create_user_with_organization(
            db, org_id=org_id, email=email, name=name, email_verified=True, organization_name=name
        ),
        org=org_id,
        platform=True,
    )
    return Member(
        created["userId"], org_id, created["entityId"], "org_owner", _open_session(created["userId"], org_id)
    )


@pytest.fixture
def bucket(table: str) -> Iterator[str]:
    import boto3

    from ontology.data.storage import reset_client
    from ontology.settings import configure

    name = "one-test-files"
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=name)
    configure(files_bucket=name, s3_endpoint=None)
    reset_client()
    yield name
    reset_client()


@pytest.fixture
def alice(bucket: str) -> Member:
    return _make_org("alice@example.com", "Alice Studio")


@pytest.fixture
def bob(bucket: str) -> Member:
    return _make_org("bob@example.com", "Bob Media")


@pytest.fixture
def call(alice: Member) -> Callable[..., Response]:
    from ontology.runtime.registry import resolve

    def _call(
        path: str,
        args: Any = None,
        *,
        as_: Member | None = alice,
        body: str | None = None,
        method: str | None = None,
        base64_body: bool = False,
    ) -> Response:
        module, name = path.split(":")
        event = load_event(f"{module}/{name}.json")
        if body is not None:
            event["body"] = body
        elif args is not None:
            event["body"] = json.dumps(args)
        event["isBase64Encoded"] = base64_body
        if method:
            event["requestContext"]["http"]["method"] = method
        if as_ is None:
            event["requestContext"].pop("authorizer", None)
        else:
            event["requestContext"]["authorizer"] = {"lambda": as_.authorizer()}
        result = resolve(path)(event, None)
        return Response(result["statusCode"], json.loads(result["body"]))

    return _call


@contextmanager
def local_ai(ai: Any, dimensions: int) -> Iterator[Any]:
    """``ai`` (the local model in process, ``LocalAI`` or a test's subclass) as the AI port, and the
    template's vector indexes in moto with ``dimensions``, for the block."""
    from infra.local.vectors import local_vectors
    from ontology.providers.ai import set_ai

    with local_vectors(dimensions, "one-test"):
        set_ai(ai)
        try:
            yield ai
        finally:
            set_ai(None)


def run_as_owner(path: str, args: dict[str, Any], entity: str | None = None) -> Any:
    """Run a function in process as the organization's owner (``entity``: the owner's own entity)."""
    from ontology.auth.identity import Identity
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve
    from tests.data.helpers import ORG

    identity = Identity(userId="usr_test", organizationId=ORG, role="org_owner", entityId=entity)
    return invoke(resolve(path), args, identity)
