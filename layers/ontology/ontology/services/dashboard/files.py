"""The Files page's stored files: the organization's ``media_asset`` entities (the records
``files:save_file`` makes, each naming its object in the files bucket), latest first, a page at a
time, through the entities' ``by_type`` index (never a Scan), each with who uploaded it: the actor
of its ``content_uploaded`` event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ontology.errors import ValidationError

__all__ = ["FILES_PAGE_SIZE", "files"]

#: Files per page.
FILES_PAGE_SIZE = 20


def _owners(organization: str, assets: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """File id → who uploaded it: the actor of its ``content_uploaded`` event (the member's own
    entity), by the events' ``by_target_type`` index."""
    from ontology.data.db import DatabaseReader

    db = DatabaseReader(organization)
    actors: dict[str, str] = {}
    for asset in assets:
        target: str = asset["_id"]

        def uploaded(q: Any, target: str = target) -> Any:
            return q.eq("targetId", target).eq("type", "content_uploaded")

        event = db.query("events").with_index("by_target_type", uploaded).first()
        if event is not None and event["actorId"] != target:
            actors[target] = event["actorId"]
    ids = sorted(set(actors.values()))
    entities = {e["_id"]: e for e in db.get_many(ids, "entities") if e is not None} if ids else {}
    owners = {}
    for file_id, actor in actors.items():
        entity = entities.get(actor) or {}
        owners[file_id] = {"id": actor, "name": entity.get("name"), "type": entity.get("type")}
    return owners


def files(organization: str, cursor: str | None) -> dict[str, Any]:
    """One page of the organization's stored files (``cursor``: where the last page ended);
    VALIDATION_ERROR for a bad cursor."""
    from ontology.data.db import DatabaseReader

    assets = (
        DatabaseReader(organization)
        .query("entities")
        .with_index("by_type", lambda q: q.eq("type", "media_asset"))
        .order("desc")
    )
    try:
        page: dict[str, Any] = assets.paginate({"numItems": FILES_PAGE_SIZE, "cursor": cursor})
    except ValidationError:
        raise ValidationError("cursor is the continueCursor of a page", field="cursor") from None
    owners = _owners(organization, page["page"])
    rows = []
    for asset in page["page"]:
        props = asset.get("properties") or {}
        rows.append(
            {
                "fileId": asset["_id"],
                "storageId": props.get("storageId"),
                "name": asset.get("name"),
                "contentType": props.get("fileType"),
                "size": props.get("fileSize"),
                "owner": owners.get(asset["_id"]),
                "createdTime": asset["_creationTime"],
            }
        )
    return {**page, "page": rows}
