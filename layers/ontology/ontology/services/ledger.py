"""The token ledger: who holds how many of a creator token, as ``holds_tokens`` connections
(``metadata.balance``), read through their unique guard so a mutation's reads are consistent."""

from __future__ import annotations

from typing import Any

from ontology.data.db import DatabaseReader, DatabaseWriter, Doc
from ontology.errors import InsufficientTokensError
from ontology.services.ontology_ops import now_ms

__all__ = ["balance_of", "credit", "holding", "move_tokens"]


def holding(db: DatabaseReader, holder: str, token_id: str) -> Doc | None:
    return db.lookup_unique(
        "connections",
        "triple",
        {"fromEntityId": holder, "toEntityId": token_id, "relationshipType": "holds_tokens"},
    )


def balance_of(doc: Doc | None) -> int:
    return int(((doc or {}).get("metadata") or {}).get("balance", 0))


def credit(db: DatabaseWriter, holder: str, token_id: str, amount: int, **metadata: Any) -> tuple[int, bool]:
    """Add ``amount`` to a holder's balance (creating the connection); returns the new balance and
    whether the holder is new."""
    doc = holding(db, holder, token_id)
    now = now_ms()
    if doc is None:
        db.insert(
            "connections",
            {
                "fromEntityId": holder,
                "toEntityId": token_id,
                "relationshipType": "holds_tokens",
                "metadata": {**metadata, "balance": amount},
                "createdAt": now,
            },
        )
        return amount, True
    new = balance_of(doc) + amount
    db.patch(
        doc["_id"],
        {"metadata": {**(doc.get("metadata") or {}), "balance": new}},
        "connections",
    )
    return new, False


def move_tokens(
    db: DatabaseWriter, token_id: str, sender: str, receiver: str, amount: int
) -> tuple[int, int]:
    """Move ``amount`` from one holder to another; INSUFFICIENT_TOKENS (nothing written) when the
    sender holds fewer. Returns both new balances."""
    source = holding(db, sender, token_id)
    have = balance_of(source)
    if source is None or have < amount:
        raise InsufficientTokensError(
            f"You need {amount} tokens but only have {have}", required=amount, available=have
        )
    meta = {**(source.get("metadata") or {}), "balance": have - amount}
    db.patch(source["_id"], {"metadata": meta}, "connections")
    received, _ = credit(db, receiver, token_id, amount, blockchain=meta.get("blockchain", "base"))
    return have - amount, received
