"""A clone's appearance: ``clones:clone_appearance`` makes one from an uploaded portrait through the
appearance provider (HeyGen's talking photo)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictStr

from ontology.data.fields import EntityId
from ontology.errors import ValidationError
from ontology.runtime.context import ActionCtx, MutationCtx, QueryCtx
from ontology.runtime.examples import OTHER_ENTITY_ID, STORAGE_ID
from ontology.runtime.functions import action, mutation, query
from ontology.runtime.registry import Args
from ontology.runtime.results import Result
from ontology.services import clones, media
from ontology.services.ontology_ops import require_entity


class CloneAppearanceArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID, "imageStorageId": STORAGE_ID}]}
    )

    cloneId: EntityId
    imageStorageId: Annotated[StrictStr, Field(max_length=40)]


class AppearanceResult(Result):
    cloneId: EntityId
    appearanceId: str
    appearanceProvider: str


class CloneArgs(Args):
    model_config = ConfigDict(json_schema_extra={"examples": [{"cloneId": OTHER_ENTITY_ID}]})

    cloneId: EntityId


@query(args=CloneArgs, internal=True)
def appearances_of(ctx: QueryCtx, args: CloneArgs) -> list[dict[str, Any]]:
    """The clone's appearance_cloned events' metadata, latest first (NOT_FOUND: no such clone)."""
    require_entity(ctx.db, args.cloneId, field="cloneId", kind="ai_clone")
    return clones.recent_events(ctx.db, args.cloneId, "appearance_cloned")


@action(args=CloneAppearanceArgs, returns=AppearanceResult, auth="org_user", uses=("storage",))
def clone_appearance(ctx: ActionCtx, args: CloneAppearanceArgs) -> dict[str, Any]:
    """An appearance clone from an uploaded portrait (JPEG or PNG) through the appearance provider
    (HeyGen's talking photo): ``appearanceId`` and ``appearanceProvider`` on the clone,
    ``appearance_cloned`` logged. The same image again answers the appearance it made."""
    from ontology.data.storage import check_storage_id
    from ontology.providers.appearance import get_appearance

    check_storage_id(args.imageStorageId, field="imageStorageId")
    provider = get_appearance()
    for earlier in ctx.run_query(appearances_of, {"cloneId": args.cloneId}):
        if earlier.get("imageStorageId") == args.imageStorageId and earlier.get("provider") == provider.name:
            return {
                "cloneId": args.cloneId,
                "appearanceId": earlier["appearanceId"],
                "appearanceProvider": provider.name,
            }
    data, _ = ctx.storage.read(args.imageStorageId, max_bytes=media.MAX_IMAGE_BYTES)
    kind = media.image_kind(data)
    if kind is None:
        raise ValidationError("imageStorageId is not a JPEG or PNG image", field="imageStorageId")
    appearance_id = provider.create_appearance(data, kind)
    ctx.run_mutation(
        record_appearance,
        {
            "cloneId": args.cloneId,
            "appearanceId": appearance_id,
            "provider": provider.name,
            "imageStorageId": args.imageStorageId,
        },
    )
    return {"cloneId": args.cloneId, "appearanceId": appearance_id, "appearanceProvider": provider.name}


class RecordAppearanceArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cloneId": OTHER_ENTITY_ID,
                    "appearanceId": "tp123",
                    "provider": "heygen",
                    "imageStorageId": STORAGE_ID,
                }
            ]
        }
    )

    cloneId: EntityId
    appearanceId: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    provider: Annotated[StrictStr, Field(pattern="^(d-id|heygen|custom)$")]
    imageStorageId: Annotated[StrictStr, Field(max_length=40)]


@mutation(args=RecordAppearanceArgs, internal=True)
def record_appearance(ctx: MutationCtx, args: RecordAppearanceArgs) -> dict[str, str]:
    clones.record_on_clone(
        ctx.db,
        args.cloneId,
        {"appearanceId": args.appearanceId, "appearanceProvider": args.provider},
        "appearance_cloned",
        {"appearanceId": args.appearanceId, "provider": args.provider, "imageStorageId": args.imageStorageId},
    )
    return {"cloneId": args.cloneId}
