"""Builders of valid documents for the functional tests."""

from __future__ import annotations

from typing import Any

ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
OTHER_ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T8S"


def creator(email: str, name: str = "Ada", **props: Any) -> dict[str, Any]:
    return {
        "type": "creator",
        "name": name,
        "status": "active",
        "createdAt": 1,
        "updatedAt": 1,
        "properties": {
            "email": email,
            "username": email.split("@", maxsplit=1)[0],
            "displayName": name,
            **props,
        },
    }


def entity(
    kind: str = "blog_post", name: str = "Post", status: str | None = "draft", t: int = 1, **props: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": kind, "name": name, "properties": props, "createdAt": t, "updatedAt": t}
    if status:
        doc["status"] = status
    return doc


def connection(src: str, dst: str, rel: str = "authored", t: int = 1, **meta: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"fromEntityId": src, "toEntityId": dst, "relationshipType": rel, "createdAt": t}
    if meta:
        doc["metadata"] = meta
    return doc


def organization(org: str) -> None:
    """``org`` as an organization's document, stored (the migrations' documents source goes through
    the organizations one by one)."""
    from ontology import run_mutation

    run_mutation(
        lambda db: db.insert(
            "organizations",
            {"name": org, "slug": org.lower().replace("_", "-"), "createdAt": 1, "updatedAt": 1},
            doc_id=org,
        ),
        org=None,
        platform=True,
    )
