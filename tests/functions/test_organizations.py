"""Organizations and people: create, invite by email, accept, list, change role, remove, switch."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ontology import run_query
from ontology.auth import accounts as auth
from ontology.auth.identity import Identity
from ontology.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ontology.runtime.context import invoke
from ontology.runtime.registry import resolve


def person(deliver: Any, email: str) -> Identity:
    auth.sign_up(
        email=email,
        password="correct horse battery staple",
        name=email.split("@", maxsplit=1)[0],
        base_url="http://x",
    )
    mail = next(m for m in deliver() if m["to"] == email)
    auth.verify_email(re.search(r"token=([A-Za-z0-9_-]+)", mail["text"]).group(1))
    info = auth.sign_in(email=email, password="correct horse battery staple")
    from ontology.auth.identity import resolve_session

    identity = resolve_session(info.token)
    assert identity is not None
    return identity


def fn(path: str) -> Any:
    return resolve(path)


def test_invite_accept_roles_and_removal(bucket: str, deliver: Any) -> None:
    ada = person(deliver, "ada@example.com")
    grace = person(deliver, "grace@example.com")
    assert [m["role"] for m in invoke(fn("organizations:list_members"), {}, ada)] == ["org_owner"]
    invoke(fn("organizations:invite"), {"email": "Grace@Example.com", "role": "org_user"}, ada)
    mail = next(m for m in deliver() if m["subject"].startswith("Invitation to join"))
    token = re.search(r"token=([A-Za-z0-9_-]+)", mail["text"]).group(1)
    eve = person(deliver, "eve@example.com")
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:accept"), {"token": token}, eve)
    joined = invoke(fn("organizations:accept"), {"token": token}, grace)
    assert joined == {"organizationId": ada.organizationId}
    with pytest.raises(ValidationError):
        invoke(fn("organizations:accept"), {"token": token}, grace)
    members = {m["email"]: m["role"] for m in invoke(fn("organizations:list_members"), {}, ada)}
    assert members == {"ada@example.com": "org_owner", "grace@example.com": "org_user"}

    invoke(fn("organizations:switch_active"), {"organizationId": ada.organizationId}, grace)
    from ontology.auth.identity import resolve_session

    session = run_query(lambda db: db.get(grace.sessionId, "sessions"), org=None, platform=True)
    assert session["activeOrganizationId"] == ada.organizationId
    grace_in_ada = Identity(grace.userId, ada.organizationId, "org_user", None, grace.sessionId, grace.email)
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:invite"), {"email": "x@example.com"}, grace_in_ada)
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:change_role"), {"userId": ada.userId, "role": "customer"}, grace_in_ada)
    with pytest.raises(ConflictError):
        invoke(fn("organizations:change_role"), {"userId": ada.userId, "role": "customer"}, ada)
    invoke(fn("organizations:change_role"), {"userId": grace.userId, "role": "customer"}, ada)
    assert {m["email"]: m["role"] for m in invoke(fn("organizations:list_members"), {}, ada)}[
        "grace@example.com"
    ] == "customer"
    with pytest.raises(NotFoundError):
        invoke(fn("organizations:switch_active"), {"organizationId": eve.organizationId}, grace)
    invoke(fn("organizations:remove_member"), {"userId": grace.userId}, ada)
    assert resolve_session(
        auth.sign_in(email="grace@example.com", password="correct horse battery staple").token
    )
    with pytest.raises(ConflictError):
        invoke(fn("organizations:remove_member"), {"userId": ada.userId}, ada)


def test_create_organization_makes_the_caller_its_owner(bucket: str, deliver: Any) -> None:
    ada = person(deliver, "ada@example.com")
    made = invoke(fn("organizations:create"), {"name": "Second studio"}, ada)
    memberships = run_query(
        lambda db: (
            db.query("memberships").with_index("by_user", lambda q: q.eq("userId", ada.userId)).collect()
        ),
        org=None,
        platform=True,
    )
    assert {m["organizationId"]: m["role"] for m in memberships}[made["organizationId"]] == "org_owner"


def _count(table: str) -> int:
    return len(run_query(lambda db: db.query(table).collect(), org=None, platform=True))


def test_fans_join_an_open_organization_as_customers(bucket: str, deliver: Any) -> None:
    from ontology.auth.identity import resolve_session

    ada = person(deliver, "ada@example.com")
    fan = person(deliver, "fan@example.com")
    org = run_query(lambda db: db.get(ada.organizationId, "organizations"), org=None, platform=True)
    # Closed (invitation only, the default): refused, and nothing is written.
    before = _count("memberships")
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:join"), {"organizationId": ada.organizationId}, fan)
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:join"), {"slug": org["slug"]}, fan)
    assert _count("memberships") == before
    invoke(fn("organizations:update"), {"joinPolicy": "open"}, ada)
    joined = invoke(fn("organizations:join"), {"slug": org["slug"]}, fan)
    assert joined == {"organizationId": ada.organizationId}
    assert invoke(fn("organizations:join"), {"organizationId": ada.organizationId}, fan) == joined  # again
    roles = {m["email"]: m["role"] for m in invoke(fn("organizations:list_members"), {}, ada)}
    assert roles == {"ada@example.com": "org_owner", "fan@example.com": "customer"}
    # ...and can switch to it at once: the same token acts there from the very next call.
    token = auth.sign_in(email="fan@example.com", password="correct horse battery staple").token
    me = resolve_session(token)
    assert me is not None and me.organizationId == fan.organizationId
    switched = invoke(fn("organizations:switch_active"), {"organizationId": ada.organizationId}, me)
    assert switched["organizationId"] == ada.organizationId
    now = resolve_session(token)
    assert now is not None and now.organizationId == ada.organizationId and now.role == "customer"
    assert now.sessionId == me.sessionId and now.entityId != me.entityId
    with pytest.raises(ForbiddenError):  # only an owner changes who may join
        invoke(fn("organizations:update"), {"joinPolicy": "invitation"}, now)
    with pytest.raises(ValidationError):
        invoke(fn("organizations:join"), {}, fan)
    with pytest.raises(NotFoundError):
        invoke(fn("organizations:join"), {"slug": "no-such-org"}, fan)


def test_organizations_are_created_closed_or_open(bucket: str, deliver: Any) -> None:
    ada = person(deliver, "ada@example.com")
    fan = person(deliver, "fan@example.com")
    open_org = invoke(fn("organizations:create"), {"name": "Fan club", "joinPolicy": "open"}, ada)
    closed = invoke(fn("organizations:create"), {"name": "Staff"}, ada)
    assert invoke(fn("organizations:join"), open_org, fan) == open_org
    with pytest.raises(ForbiddenError):
        invoke(fn("organizations:join"), closed, fan)
    with pytest.raises(ValidationError):
        invoke(fn("organizations:create"), {"name": "X", "joinPolicy": "anyone"}, ada)
