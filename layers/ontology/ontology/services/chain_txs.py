"""Chain transactions that survive a crash: signed, recorded in the table, and only then sent.

A step that sends a transaction (a purchase's mint or burn, a token's deploy) records the signed
transaction (hash, raw bytes, nonce, signing account) on its document first, taking the nonce for the
signing account in the same table transaction (its own ``chainNonces`` item: each account of the
pool has one, so transactions signed by different accounts never meet there), so two processes never
record two transactions with one nonce of one account. A retry of the step then asks the chain what
became of the recorded one instead of signing again: :func:`settle` waits for it, re-sends it if the
node never saw it, and signs anew only once its nonce is spent by something else (then it can never
be mined).

Example::

    state = settle(chain, doc["properties"].get("deployTx"),
                   sign=lambda floor, signer: chain.sign_deploy(...),
                   record=lambda tx, previous: record_on_token(tx, previous))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ontology.data.db import DatabaseWriter
from ontology.data.keys import now_ms
from ontology.errors import UpstreamError

__all__ = ["MINE_WAIT_SECONDS", "NonceTakenError", "mined", "settle", "spent_state", "take_nonce"]

#: How long a step waits for a sent transaction to be mined before it lets its caller retry.
MINE_WAIT_SECONDS = 20
NONCE_ATTEMPTS = 8
#: A node behind a load balancer may not have the block that spent a nonce yet: ask a few times.
SPENT_CHECKS = 3


class NonceTakenError(Exception):
    """Another process recorded a transaction with this nonce first: sign with the next one."""

    def __init__(self, next_nonce: int) -> None:
        super().__init__(f"nonce taken; next is {next_nonce}")
        self.next = next_nonce


def take_nonce(db: DatabaseWriter, account: str, tx: Any) -> None:
    """Take ``tx``'s nonce for ``account`` in ``db``'s transaction (any view; the nonces live in the
    platform partition); :class:`NonceTakenError` if a higher one is already taken."""
    platform = db.view(platform=True)
    taken = platform.lookup_unique("chainNonces", "account", {"account": account})
    if taken is not None and taken["next"] > tx.nonce:
        raise NonceTakenError(taken["next"])
    now = now_ms()
    if taken is None:
        platform.insert("chainNonces", {"account": account, "next": tx.nonce + 1, "updatedAt": now})
    else:
        platform.patch(taken["_id"], {"next": tx.nonce + 1, "updatedAt": now}, "chainNonces")


def spent_state(chain: Any, tx_hash: str) -> str:
    """The state of a transaction whose nonce is spent: mined (``succeeded``/``reverted``) or never
    (``unknown``), asked again briefly before concluding ``unknown``."""
    for attempt in range(SPENT_CHECKS):
        state = str(chain.tx_state(tx_hash))
        if state != "unknown":
            return state
        if attempt + 1 < SPENT_CHECKS:
            time.sleep(0.3)
    return "unknown"


def mined(chain: Any, tx_hash: str) -> str:
    """``succeeded`` or ``reverted`` once mined; UPSTREAM_ERROR (retry later) while it is not."""
    state = chain.tx_state(tx_hash, wait_seconds=MINE_WAIT_SECONDS)
    if state in ("succeeded", "reverted"):
        return str(state)
    raise UpstreamError("chain: the transaction is not mined yet")


def settle(
    chain: Any,
    recorded: dict[str, Any] | None,
    sign: Callable[[int, str], Any],
    record: Callable[[Any, dict[str, Any] | None], None],
    *,
    before_resend: Callable[[], None] | None = None,
    signers: Callable[[], Sequence[str]] | None = None,
) -> str:
    """Drive the recorded transaction (``recorded``: the caller's fresh read of it, or None) to
    ``succeeded`` or ``reverted``: wait for a pending one, re-send one the node never saw while its
    nonce is unspent, or — once its nonce is spent by something else — ``sign(min_nonce, signer)`` a
    new one, ``record(tx, recorded)`` it (taking its nonce with :func:`take_nonce`) and send it.
    ``signers()``: the accounts to sign with, in the order to try them (a nonce another process took
    first moves on to the next one, at its own floor); none, or ``""``: the deployer.
    ``before_resend`` may refuse (raise) before the same transaction is sent again."""
    from ontology.providers.chain import SignedTx

    if recorded:
        signer = str(recorded.get("signer") or "")
        spent = chain.nonce_spent(recorded["nonce"], signer)  # first: a spent nonce makes the state final
        state = (
            spent_state(chain, recorded["hash"])
            if spent
            else chain.tx_state(recorded["hash"], wait_seconds=MINE_WAIT_SECONDS)
        )
        if state in ("succeeded", "reverted"):
            return str(state)
        if not spent:
            if state == "pending":
                raise UpstreamError("chain: the transaction is not mined yet")
            if before_resend is not None:
                before_resend()
            chain.send(SignedTx(**recorded))  # it never reached the node: the same transaction again
            return mined(chain, recorded["hash"])
    accounts = list(signers() if signers is not None else ()) or [""]
    with chain.sequenced():
        floors: dict[str, int] = {}
        for attempt in range(NONCE_ATTEMPTS):
            signer = accounts[attempt % len(accounts)]
            tx = sign(floors.get(signer, 0), signer)
            try:
                record(tx, recorded)
                break
            except NonceTakenError as taken:  # another process took this nonce first: the next account
                floors[signer] = taken.next
        else:
            raise UpstreamError("chain: could not take a nonce")
        chain.send(tx)
    return mined(chain, tx.hash)
