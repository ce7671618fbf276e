"""Tokens: read a creator token, the caller's balance, and a holder's tokens."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ontology.db import Doc
from ontology.registry import Args, query
from ontology.relations import connected
from ontology.runtime import QueryCtx
from ontology.schema import EntityId
from ontology.services.ontology_ops import entity_of_type
from ontology.types import EntityOut


class GetArgs(Args):
    id: EntityId


@query(args=GetArgs, returns=EntityOut | None)
def get(ctx: QueryCtx, args: GetArgs) -> Doc | None:
    """A token entity, or null."""
    return entity_of_type(ctx.db, args.id, "token")


class Balance(BaseModel):
    tokenId: str
    amount: int | float


class GetBalanceArgs(Args):
    tokenId: EntityId


@query(args=GetBalanceArgs, returns=Balance)
def get_balance(ctx: QueryCtx, args: GetBalanceArgs) -> dict[str, Any]:
    """The caller's balance of a token (0 when they hold none): a consistent read of the
    ``holds_tokens`` connection through its unique guard."""
    holder = ctx.auth.require_identity().entityId
    amount: int | float = 0
    if holder:
        held = ctx.db.lookup_unique(
            "connections",
            "triple",
            {"fromEntityId": holder, "toEntityId": args.tokenId, "relationshipType": "holds_tokens"},
        )
        amount = ((held or {}).get("metadata") or {}).get("balance", 0)
    return {"tokenId": args.tokenId, "amount": amount}


class Holding(BaseModel):
    token: EntityOut
    balance: int | float


class GetUserHoldingsArgs(Args):
    userId: EntityId


@query(args=GetUserHoldingsArgs, returns=list[Holding])
def get_user_holdings(ctx: QueryCtx, args: GetUserHoldingsArgs) -> list[dict[str, Any]]:
    """Every token an entity holds, with its balance (one Query and one BatchGetItem)."""
    connections, tokens = connected(ctx.db, args.userId, "holds_tokens")
    by_id = {t["_id"]: t for t in tokens}
    return [
        {"token": by_id[c["toEntityId"]], "balance": (c.get("metadata") or {}).get("balance", 0)}
        for c in connections
        if c["toEntityId"] in by_id
    ]
