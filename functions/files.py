"""Files: presigned uploads into the organization's prefix, media_asset entities, download URLs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from ontology.data.fields import EntityId, Timestamp
from ontology.data.storage import MAX_UPLOAD_BYTES, check_storage_id
from ontology.errors import NotFoundError, ValidationError
from ontology.runtime.context import MutationCtx, QueryCtx
from ontology.runtime.examples import ENTITY_ID, STORAGE_ID
from ontology.runtime.functions import mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result, SuccessResult, id_result
from ontology.services.ontology_ops import actor_for, log_event, now_ms, require_entity

StorageId = Annotated[StrictStr, Field(pattern=r"^sto_[0-9A-HJKMNP-TV-Z]{26}$")]


class GenerateUploadUrlArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"contentType": "image/png", "size": 1024}]})

    contentType: Annotated[StrictStr, Field(min_length=3, max_length=100)]
    size: Annotated[StrictInt, Field(ge=1, le=MAX_UPLOAD_BYTES)]


class UploadUrl(Result):
    uploadUrl: str
    storageId: str
    method: str
    headers: dict[str, str]
    expiresAt: Timestamp


@mutation(args=GenerateUploadUrlArgs, returns=UploadUrl, uses=("storage",))
def generate_upload_url(ctx: MutationCtx, args: GenerateUploadUrlArgs) -> dict[str, Any]:
    """A presigned PUT (valid 15 minutes) for one file of the given type and exact size; the key is
    chosen by the server under the organization's prefix."""
    ctx.auth.require_identity()
    return ctx.storage.generate_upload_url(content_type=args.contentType, size=args.size)


class SaveFileArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"storageId": STORAGE_ID, "name": "avatar.png", "type": "image/png", "size": 1024}]
        }
    )

    storageId: StorageId
    name: Annotated[StrictStr, Field(min_length=1, max_length=512)]
    type: Annotated[StrictStr, Field(min_length=3, max_length=100)]
    size: Annotated[StrictInt, Field(ge=0, le=MAX_UPLOAD_BYTES)]


@mutation(args=SaveFileArgs, returns=id_result("fileId"), uses=("storage",))
def save_file(ctx: MutationCtx, args: SaveFileArgs) -> dict[str, str]:
    """Record an uploaded file as a ``media_asset`` entity (the upload must exist and match)."""
    identity = ctx.auth.require_identity()
    stored = ctx.storage.head(args.storageId)
    if stored is None:
        raise NotFoundError("No uploaded file with this storage id", storageId=args.storageId)
    if stored["size"] != args.size:
        raise ValidationError(f"size is {args.size} but the upload has {stored['size']} bytes", field="size")
    now = now_ms()
    file_id = ctx.db.insert(
        "entities",
        {
            "type": "media_asset",
            "name": args.name,
            "properties": {"storageId": args.storageId, "fileType": args.type, "fileSize": args.size},
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
        },
    )
    metadata = {"storageId": args.storageId, "fileType": args.type, "fileSize": args.size}
    log_event(
        ctx.db,
        "content_uploaded",
        actor_id=actor_for(identity, file_id),
        target_id=file_id,
        timestamp=now,
        metadata=metadata,
    )
    return {"fileId": file_id}


class GetFileUrlArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"storageId": STORAGE_ID}]})

    storageId: StorageId


@query(args=GetFileUrlArgs, returns=str | None, uses=("storage",))
def get_file_url(ctx: QueryCtx, args: GetFileUrlArgs) -> str | None:
    """A presigned download URL (15 minutes), or null when there is no such file."""
    ctx.auth.require_identity()
    return ctx.storage.get_url(check_storage_id(args.storageId))


class DeleteFileArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"fileId": ENTITY_ID}]})

    fileId: EntityId


@mutation(args=DeleteFileArgs, returns=SuccessResult, uses=("storage",), auth="org_user")
def delete_file(ctx: MutationCtx, args: DeleteFileArgs) -> dict[str, bool]:
    """Delete a ``media_asset`` and its stored bytes (the bytes once the deletion has committed)."""
    identity = ctx.auth.require_identity()
    asset = require_entity(ctx.db, args.fileId, field="fileId", kind="media_asset")
    storage_id = asset["properties"]["storageId"]
    ctx.db.delete(args.fileId, "entities")
    log_event(
        ctx.db,
        "content_changed",
        actor_id=actor_for(identity, args.fileId),
        target_id=args.fileId,
        metadata={"action": "deleted", "storageId": storage_id},
    )
    storage = ctx.storage

    def drop_object() -> None:
        if storage.head(storage_id) is not None:
            storage.delete(storage_id)

    ctx.after_commit(drop_object)
    return {"success": True}
