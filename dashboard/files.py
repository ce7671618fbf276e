"""The dashboard's Files page: the organization's stored files (the ``media_asset`` entities
``files:save_file`` records, each naming its object in the files bucket).

- ``GET  /dashboard/api/files?organization=&cursor=``: the files, latest first, a page at a time
  (the entities' ``by_type`` index, never a Scan): name, size, content type, who uploaded it (the
  actor of its ``content_uploaded`` event) and when;
- ``GET  /dashboard/api/files/url?organization=&storageId=``: a download URL valid 15 minutes, from
  ``files:get_file_url`` in its own Lambda (a presigned GET of the bucket);
- ``POST /dashboard/api/files/delete`` ``{fileId}``: ``files:delete_file`` in its own Lambda, which
  deletes the record and then its object.

The page previews images and audio from the download URL, so the page's Content-Security-Policy
admits the bucket's origin (:func:`files_origin`) for images and media, and nothing else.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dashboard.schedules import call_as, page_of
from ontology.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from dashboard.app import Request

__all__ = ["api_delete", "api_files", "api_url", "files_origin"]

#: Files per page.
PAGE_SIZE = 20
_STORAGE_ID = re.compile(r"^sto_[0-9A-HJKMNP-TV-Z]{26}$")
_ENTITY_ID = re.compile(r"^ent_[0-9A-HJKMNP-TV-Z]{26}$")


@functools.cache
def files_origin() -> str:
    """The origin of the bucket's presigned URLs (``https://<bucket>.s3.amazonaws.com``; locally the
    stack's S3 endpoint): a URL signed here for no object, of which only the origin is kept."""
    from ontology.data.storage import _s3
    from ontology.settings import get_settings

    url = _s3().generate_presigned_url(
        "get_object", Params={"Bucket": get_settings().files_bucket, "Key": "origin"}, ExpiresIn=60
    )
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _owners(organization: str, files: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """File id → who uploaded it: the actor of its ``content_uploaded`` event (the member's own
    entity), by the events' ``by_target_type`` index."""
    from ontology.data.db import DatabaseReader

    db = DatabaseReader(organization)
    actors: dict[str, str] = {}
    for f in files:
        target: str = f["_id"]

        def uploaded(q: Any, target: str = target) -> Any:
            return q.eq("targetId", target).eq("type", "content_uploaded")

        event = db.query("events").with_index("by_target_type", uploaded).first()
        if event is not None and event["actorId"] != f["_id"]:
            actors[f["_id"]] = event["actorId"]
    ids = sorted(set(actors.values()))
    entities = {e["_id"]: e for e in db.get_many(ids, "entities") if e is not None} if ids else {}
    owners = {}
    for file_id, actor in actors.items():
        entity = entities.get(actor) or {}
        owners[file_id] = {"id": actor, "name": entity.get("name"), "type": entity.get("type")}
    return owners


def api_files(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller
    from ontology.data.db import DatabaseReader

    _, organization = _caller(request)
    assets = (
        DatabaseReader(organization)
        .query("entities")
        .with_index("by_type", lambda q: q.eq("type", "media_asset"))
        .order("desc")
    )
    page = page_of(request, assets, PAGE_SIZE)
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


def api_url(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    identity, organization = _caller(request)
    storage_id = request.param("storageId")
    if storage_id is None or not _STORAGE_ID.match(storage_id):
        raise ValidationError("storageId is a stored file's id (sto_…)", field="storageId")
    url = call_as(identity, organization, "files:get_file_url", {"storageId": storage_id}, request)
    if not url:
        raise NotFoundError("No such file in the organization", field="storageId")
    return {"url": url}


def api_delete(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    identity, organization = _caller(request)
    file_id = request.param("fileId")
    if file_id is None or not _ENTITY_ID.match(file_id):
        raise ValidationError("fileId is a stored file's id (ent_…)", field="fileId")
    call_as(identity, organization, "files:delete_file", {"fileId": file_id}, request)
    return {"deleted": file_id}
