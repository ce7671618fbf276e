"""``tokens:create`` is idempotent: a retried request answers the same token and never deploys a second
contract, whether it is retried after success, after a crash around the deploy, or races itself."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from ontology.errors import ConflictError
from tests.services.conftest import CrashError, Faults, Shop


def _create(shop: Shop, symbol: str = "IDEM", key: str | None = None, **extra: Any) -> str:
    args: dict[str, Any] = {
        "creatorId": shop.creator,
        "name": f"{symbol} coin",
        "symbol": symbol,
        "priceUsd": 1.0,
        "totalSupply": 1_000,
        **extra,
    }
    if key:
        args["idempotencyKey"] = key
    return str(shop.call("tokens:create", args)["tokenId"])


def _contracts(shop: Shop, token: str) -> list[dict[str, Any]]:
    from ontology import run_query

    return [
        c
        for c in run_query(
            lambda db: (
                db.query("entities").with_index("by_type", lambda q: q.eq("type", "token_contract")).collect()
            ),
            org=shop.org,
        )
        if c["properties"]["tokenId"] == token
    ]


def test_the_same_key_or_symbol_answers_the_same_token(shop: Shop, faults: Faults) -> None:
    chain = faults.chain  # type: ignore[attr-defined]
    before = chain.deploys_sent()
    first = _create(shop, key="launch-1")
    assert _create(shop, key="launch-1") == first
    assert _create(shop) == first  # the same creator and symbol, no key
    assert chain.deploys_sent() - before == 1 and len(_contracts(shop, first)) == 1
    token = shop.call("tokens:get", {"id": first})
    assert token["status"] == "active" and token["properties"]["contractAddress"].startswith("0x")


def test_the_same_key_or_symbol_with_other_arguments_is_a_conflict(shop: Shop) -> None:
    _create(shop, key="launch-2")
    with pytest.raises(ConflictError) as by_key:
        _create(shop, key="launch-2", priceUsd=2.0)
    assert by_key.value.code == "CONFLICT" and by_key.value.data["field"] == "idempotencyKey"
    with pytest.raises(ConflictError) as by_symbol:
        _create(shop, totalSupply=5)
    assert by_symbol.value.data["field"] == "symbol"


@pytest.mark.parametrize("mode", ["crash_before", "crash_after", "timeout_after"])
def test_a_retry_after_a_crash_around_the_deploy_finds_the_same_contract(
    shop: Shop, faults: Faults, mode: str
) -> None:
    chain = faults.chain  # type: ignore[attr-defined]
    signed, sent = chain.calls["sign_deploy"], chain.deploys_sent()
    faults.arm("deploy", mode)
    with pytest.raises(Exception) as crashed:
        _create(shop, symbol="CRSH", key=f"crash-{mode}")
    assert isinstance(crashed.value, CrashError) or "injected" in str(crashed.value)
    token = _create(shop, symbol="CRSH", key=f"crash-{mode}")
    assert chain.calls["sign_deploy"] - signed == 1  # the recorded deploy is settled, never signed again
    # Sent once; a crash after sending, before the step learned the outcome, re-sends the same
    # transaction at most once more (the node ignores a transaction it already has).
    assert chain.deploys_sent() - sent in ((1,) if mode == "crash_before" else (1, 2))
    assert len(_contracts(shop, token)) == 1
    assert shop.call("tokens:get", {"id": token})["status"] == "active"


def test_concurrent_requests_for_one_token_deploy_once(shop: Shop, faults: Faults) -> None:
    chain = faults.chain  # type: ignore[attr-defined]
    before = chain.deploys_received()
    ids: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            ids.append(_create(shop, symbol="RACE", key="race"))
        except ConflictError as exc:  # still being deployed by another request: a typed, retryable answer
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids.append(_create(shop, symbol="RACE", key="race"))
    assert len(set(ids)) == 1
    # One deploy transaction reached the node, and one contract. (A request that finds the deploy
    # recorded before its signer has sent it sends that same transaction too: the node keeps one.)
    assert len(chain.deploys_received() - before) == 1
    assert len(_contracts(shop, ids[0])) == 1
    assert all(e.code == "CONFLICT" for e in errors)


def test_a_request_that_read_before_another_finished_the_deploy_deploys_nothing(
    shop: Shop, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request reads no token, another deploys it to the end (the active token no longer keeps its
    deploy transaction), and only then does the first record its own deploy: it must find the token
    deployed, not record (and send) a second contract's deploy on it."""
    import functions.tokens as tokens

    chain = faults.chain  # type: ignore[attr-defined]
    token = _create(shop, symbol="LATE", key="late")
    before = chain.deploys_received()
    real, reads = tokens._existing_token, list[str]()

    def read_before_the_other_finished(db: Any, args: Any) -> Any:
        reads.append(args.symbol)
        return None if len(reads) == 1 else real(db, args)  # the first read: before the token existed

    monkeypatch.setattr(tokens, "_existing_token", read_before_the_other_finished)
    assert _create(shop, symbol="LATE", key="late") == token
    assert chain.deploys_received() == before
    assert len(_contracts(shop, token)) == 1
    assert shop.call("tokens:get", {"id": token})["status"] == "active"


def test_a_token_is_described_at_creation_and_changed_later_by_staff(shop: Shop) -> None:
    from ontology import run_query
    from ontology.errors import ForbiddenError, PriceChangedError, ValidationError

    token = _create(
        shop, "DESC", description="Early access to every drop.", image="https://example.com/desc.png"
    )
    stored = run_query(lambda db: db.get(token), org=shop.org)
    assert stored["properties"]["description"] == "Early access to every drop."
    assert stored["properties"]["image"] == "https://example.com/desc.png"
    assert "deployTx" not in stored["properties"]  # kept only while it was a draft
    assert len(json.dumps(stored)) < 1024
    assert _create(shop, "DESC", description="Another text") == token  # a retry may differ in them
    fan = shop.buyer("Fan")
    with pytest.raises(ForbiddenError):
        shop.call("tokens:update", {"id": token, "description": "Hijacked"}, fan)
    with pytest.raises(ValidationError):
        shop.call("tokens:update", {"id": token, "image": "javascript:alert(1)"})
    shop.call("tokens:update", {"id": token, "description": "Backstage passes.", "priceUsd": 2})
    seen = shop.call("tokens:get", {"id": token}, fan)
    assert seen["properties"]["description"] == "Backstage passes."
    assert seen["properties"]["priceUsd"] == seen["properties"]["price"] == 2
    with pytest.raises(PriceChangedError):  # a buyer shown the old price is charged nothing
        shop.call(
            "tokens:purchase",
            {"tokenId": token, "amount": 1, "usdAmount": 1.0, "paymentMethodId": "pm_card_visa"},
            fan,
        )
    shop.call("tokens:update", {"id": token, "description": ""})
    assert "description" not in shop.call("tokens:get", {"id": token})["properties"]
    changes = run_query(
        lambda db: (
            db.query("events")
            .with_index("by_target_type", lambda q: q.eq("targetId", token).eq("type", "content_changed"))
            .collect()
        ),
        org=shop.org,
    )
    assert [e["metadata"]["updatedFields"] for e in changes] == [
        ["description", "price", "priceUsd"],
        ["description"],
    ]
