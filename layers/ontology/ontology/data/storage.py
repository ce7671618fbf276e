"""``ctx.storage``: files in the private S3 bucket, through presigned URLs.

Uploads go straight from the client to S3 with a presigned PUT whose signature covers the content
type and length, so S3 refuses any other; the key is chosen here, under the organization's prefix
(``<org>/<storageId>``), so a storage id from another organization names nothing. botocore (already
loaded by the data layer) is used rather than boto3, to keep cold starts small.

Example::

    upload = ctx.storage.generate_upload_url(content_type="image/png", size=1234)
    # PUT the bytes to upload["uploadUrl"] with upload["headers"], then files:save_file
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, BinaryIO

from ontology.data.keys import new_id
from ontology.errors import NotFoundError, ValidationError
from ontology.settings import get_settings

__all__ = ["ALLOWED_CONTENT_TYPES", "MAX_UPLOAD_BYTES", "UPLOAD_URL_TTL_SECONDS", "Storage"]

UPLOAD_URL_TTL_SECONDS = 15 * 60
DOWNLOAD_URL_TTL_SECONDS = 15 * 60
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: What :meth:`Storage.download` holds of a file at once.
DOWNLOAD_CHUNK = 1024 * 1024
ALLOWED_CONTENT_TYPES = re.compile(
    r"^(image/(png|jpeg|gif|webp|avif)|video/(mp4|webm|quicktime)|audio/(mpeg|mp4|wav|webm|ogg)"
    r"|application/(pdf|json|zip)|text/(plain|markdown|csv))$"
)
_STORAGE_ID = re.compile(r"^sto_[0-9A-HJKMNP-TV-Z]{26}$")

_client_lock = threading.Lock()
_client: Any = None


def _s3() -> Any:
    global _client  # noqa: PLW0603
    with _client_lock:
        if _client is None:
            import botocore.config

            from ontology.aws import session

            settings = get_settings()
            config = botocore.config.Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if settings.s3_endpoint else "virtual"},
                retries={"mode": "standard", "max_attempts": 3},
            )
            _client = session().create_client(
                "s3", region_name=settings.region, endpoint_url=settings.s3_endpoint, config=config
            )
        return _client


def reset_client() -> None:
    global _client  # noqa: PLW0603
    with _client_lock:
        _client = None


def _missing(exc: Any) -> bool:
    """Whether S3's error means "no such object". Functions may read and write objects but not list
    the bucket (``s3:ListBucket`` cannot be limited to one organization's prefix for this, so it would
    let every function that uses storage list every organization's files), and S3 answers a
    principal without it 403, not 404, for a key that does not exist (a HEAD's 403 has no body:
    its code is "403"). The key is always ours, under the organization's prefix, and the role may
    read every object of the bucket, so a 403 here means the object is not there."""
    code = exc.response.get("Error", {}).get("Code")
    return code in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied")


def check_storage_id(value: Any, field: str = "storageId") -> str:
    if not isinstance(value, str) or not _STORAGE_ID.match(value):
        raise ValidationError(f"{field} must be a storage id", field=field)
    return value


class Storage:
    """Files of one organization."""

    def __init__(self, org: str | None, bucket: str | None = None) -> None:
        self._org = org
        self._bucket = bucket or get_settings().files_bucket

    def _key(self, storage_id: str) -> str:
        if not self._org:
            raise ValidationError("files need an organization")
        return f"{self._org}/{check_storage_id(storage_id)}"

    def generate_upload_url(self, *, content_type: str, size: int) -> dict[str, Any]:
        """A presigned PUT for one file of exactly ``size`` bytes of ``content_type``."""
        if not ALLOWED_CONTENT_TYPES.match(content_type or ""):
            raise ValidationError(f"content type {content_type!r} is not accepted", field="contentType")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_UPLOAD_BYTES:
            raise ValidationError(f"size must be 1 to {MAX_UPLOAD_BYTES} bytes", field="size")
        storage_id = "sto_" + new_id("entities")[4:]
        url = _s3().generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": self._key(storage_id),
                "ContentType": content_type,
                "ContentLength": size,
            },
            ExpiresIn=UPLOAD_URL_TTL_SECONDS,
        )
        return {
            "uploadUrl": url,
            "storageId": storage_id,
            "method": "PUT",
            "headers": {"Content-Type": content_type, "Content-Length": str(size)},
            "expiresAt": int((time.time() + UPLOAD_URL_TTL_SECONDS) * 1000),
        }

    def head(self, storage_id: str) -> dict[str, Any] | None:
        """``{"size", "contentType"}`` of a stored file, or None."""
        try:
            resp = _s3().head_object(Bucket=self._bucket, Key=self._key(storage_id))
        except _s3().exceptions.ClientError as exc:
            if _missing(exc):
                return None
            raise
        return {"size": int(resp["ContentLength"]), "contentType": resp.get("ContentType", "")}

    def get_url(self, storage_id: str) -> str | None:
        """A presigned GET for a stored file, or None when there is no such file."""
        if self.head(storage_id) is None:
            return None
        url: str = _s3().generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": self._key(storage_id)},
            ExpiresIn=DOWNLOAD_URL_TTL_SECONDS,
        )
        return url

    def _get(self, storage_id: str, max_bytes: int) -> tuple[Any, dict[str, Any]]:
        """A stored file's GetObject answer and its HEAD (NOT_FOUND: none; VALIDATION_ERROR: larger
        than ``max_bytes``)."""
        stored = self.head(storage_id)
        if stored is None:
            raise NotFoundError("No such file", storageId=storage_id)
        if stored["size"] > max_bytes:
            raise ValidationError(f"the file is larger than {max_bytes} bytes", field="storageId")
        try:
            resp = _s3().get_object(Bucket=self._bucket, Key=self._key(storage_id))
        except _s3().exceptions.ClientError as exc:
            if _missing(exc):  # deleted since the HEAD
                raise NotFoundError("No such file", storageId=storage_id) from exc
            raise
        return resp, stored

    def read(self, storage_id: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[bytes, str]:
        """A stored file's bytes and content type (NOT_FOUND: no such file in this organization)."""
        resp, stored = self._get(storage_id, max_bytes)
        return resp["Body"].read(), str(stored["contentType"])

    def download(self, storage_id: str, into: BinaryIO, *, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
        """A stored file written into ``into`` a chunk at a time (never whole in memory); its content
        type (NOT_FOUND: no such file in this organization)."""
        resp, stored = self._get(storage_id, max_bytes)
        written = 0
        for chunk in resp["Body"].iter_chunks(DOWNLOAD_CHUNK):
            written += len(chunk)
            if written > max_bytes:  # replaced since the HEAD by a larger file
                raise ValidationError(f"the file is larger than {max_bytes} bytes", field="storageId")
            into.write(chunk)
        return str(stored["contentType"])

    def put(self, data: bytes, *, content_type: str) -> str:
        """Store bytes the platform made (a rendered voice): their new storage id."""
        if not ALLOWED_CONTENT_TYPES.match(content_type or ""):
            raise ValidationError(f"content type {content_type!r} is not accepted", field="contentType")
        if not 0 < len(data) <= MAX_UPLOAD_BYTES:
            raise ValidationError(f"a file holds 1 to {MAX_UPLOAD_BYTES} bytes", field="size")
        storage_id = "sto_" + new_id("entities")[4:]
        _s3().put_object(Bucket=self._bucket, Key=self._key(storage_id), Body=data, ContentType=content_type)
        return storage_id

    def delete(self, storage_id: str) -> None:
        if self.head(storage_id) is None:
            raise NotFoundError("No such file", storageId=storage_id)
        _s3().delete_object(Bucket=self._bucket, Key=self._key(storage_id))
