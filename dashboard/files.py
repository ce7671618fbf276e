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

from dashboard.schedules import call_as
from ontology.errors import NotFoundError, ValidationError
from ontology.services.dashboard import files

if TYPE_CHECKING:
    from dashboard.app import Request

__all__ = ["api_delete", "api_files", "api_url", "files_origin"]

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


def api_files(request: Request) -> dict[str, Any]:
    from dashboard.app import _caller

    _, organization = _caller(request)
    return files(organization, request.param("cursor"))


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
