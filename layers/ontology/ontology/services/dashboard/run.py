"""The Functions page's runs: a function run as a member of the organization, in the function's own
Lambda (with its own permissions), exactly as that member's client would call it.

- :func:`members`: the organization's members, whom a run may act as;
- :func:`member_identity`: the identity a run acts with (NOT_FOUND for anyone not a member);
- :func:`run_live`: a public query run as a member from the system query ``_system/dashboard:run``,
  which a page subscribes to: the query's Lambda answers with what it read, recorded as the system
  query's own reads, so the subscription is pushed again whenever the query's answer may change (a
  query stays live, as it would for the member's own client).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ontology.auth.identity import Identity
from ontology.errors import NotFoundError, ValidationError

__all__ = ["member_identity", "members", "run_live"]


def members(organization: str) -> list[dict[str, Any]]:
    """The organization's members: user id, role, entity, name and email."""
    from ontology.auth.people import memberships_of
    from ontology.data.db import DatabaseReader

    platform = DatabaseReader(None, platform=True)
    found = memberships_of(platform, organization)
    users = platform.get_many([m["userId"] for m in found], "users")
    return [
        {
            "userId": m["userId"],
            "role": m["role"],
            "entityId": m.get("entityId"),
            "name": (u or {}).get("name"),
            "email": (u or {}).get("email"),
        }
        for m, u in zip(found, users, strict=True)
    ]


def member_identity(organization: str, user_id: str | None) -> tuple[Identity, dict[str, Any]]:
    """The identity a run acts with, and the member's row; NOT_FOUND (``userId``) for a non-member."""
    member = next((m for m in members(organization) if m["userId"] == user_id), None)
    if member is None:
        raise NotFoundError("No such member of the organization", field="userId")
    identity = Identity(
        userId=member["userId"],
        organizationId=organization,
        role=member["role"],
        entityId=member["entityId"],
        email=member["email"],
    )
    return identity, member


def run_live(organization: str, user_id: str, path: str, args: dict[str, Any]) -> dict[str, Any]:
    """``path`` (a public query) run as the member ``user_id`` in its own Lambda: ``{result, requestId,
    durationMs, as}``, where ``result`` is the call's answer (its value, or its typed error as data)
    and ``requestId`` the id its log lines carry. What the query read is recorded as this call's reads.
    VALIDATION_ERROR (``path``) for a mutation or an action (they run once, by ``POST run``),
    NOT_FOUND for a function no client may call or a user who is not a member."""
    from ontology.data.tracking import ReadSet, record_reads
    from ontology.sync.calls import invoke_path
    from ontology.sync.paths import resolve_public

    try:
        fn = resolve_public(path)
    except NotFoundError:
        fn = None
    if fn is None or fn.spec.system:
        raise NotFoundError(f"No function {path!r} a client may call", field="path")
    if fn.spec.kind != "query":
        raise ValidationError(
            f"{fn.spec.path} is a {fn.spec.kind}: only a query stays live (run it once instead)", field="path"
        )
    identity, member = member_identity(organization, user_id)
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    call = {"args": args, "auth": identity.to_context(), "reads": True, "requestId": request_id}
    answer = invoke_path(fn.spec.path, {"_sync": call})
    duration = round((time.perf_counter() - started) * 1000, 2)
    if isinstance(answer.get("reads"), dict):
        record_reads(ReadSet.from_json(answer["reads"]))
    result = {k: answer[k] for k in ("status", "value", "errorMessage", "errorData") if k in answer}
    return {
        "path": fn.spec.path,
        "result": result,
        "requestId": request_id,
        "durationMs": duration,
        "as": member,
    }
