"""The chain provider through web3's HTTPProvider against the local EVM served as JSON-RPC on
loopback: deploy a creator token, mint, burn, and read supplies, with signed raw transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ontology.errors import UpstreamError
from tests.servers import serve


@pytest.fixture(scope="module")
def rpc() -> Iterator[tuple[str, str]]:
    from infra.local.chain import LocalChain

    chain = LocalChain()
    with serve(chain.app()) as url:
        yield url, chain.deployer_key


def test_deploy_mint_burn_through_json_rpc(rpc: tuple[str, str]) -> None:
    from ontology.providers.chain import Web3Chain

    url, key = rpc
    chain = Web3Chain(rpc_url=url, private_key=key)
    address, deploy_tx = chain.deploy_token("Ada Coin", "ADA", 1_000)
    assert address.startswith("0x") and deploy_tx.startswith("0x")
    buyer = "0x000000000000000000000000000000000000bEEF"
    tx = chain.mint(address, buyer, 100)
    assert (
        tx.startswith("0x") and chain.balance_of(address, buyer) == 100 and chain.total_supply(address) == 100
    )
    chain.burn_from(address, buyer, 40)
    assert chain.balance_of(address, buyer) == 60 and chain.total_supply(address) == 60
    with pytest.raises(UpstreamError):
        chain.mint(address, buyer, 10_000)  # over the maximum supply: reverted
    with pytest.raises(UpstreamError):
        chain.burn_from(address, buyer, 1_000)


def test_concurrent_mints_from_one_process_get_distinct_nonces(rpc: tuple[str, str]) -> None:
    from ontology.providers.chain import Web3Chain

    url, key = rpc
    chain = Web3Chain(rpc_url=url, private_key=key)
    address, _ = chain.deploy_token("Grace Coin", "GRC", 0)
    results: list[Any] = []

    def mint(i: int) -> None:
        results.append(chain.mint(address, f"0x{i + 1:040x}", 5))

    threads = [threading.Thread(target=mint, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 6 and chain.total_supply(address) == 30


def test_mints_spread_over_the_signing_pool_and_a_contract_without_minters_takes_its_owner(
    rpc: tuple[str, str],
) -> None:
    """The pool's accounts (derived from the deployer's key, funded by the local chain) sign mints of
    a token deployed with them as minters, each with nonces of its own; a contract that names no
    minters (one deployed before the pool) is signed for by the deployer alone."""
    from eth_account import Account
    from web3 import HTTPProvider, Web3

    from ontology.providers.chain import SIGNERS, Web3Chain, signer_keys

    url, key = rpc
    chain = Web3Chain(rpc_url=url, private_key=key)
    assert chain.signers == [Account.from_key(k).address for k in signer_keys(key, SIGNERS)]
    address, _ = chain.deploy_token("Pool Coin", "POOL", 0)
    used: dict[str, list[int]] = {}
    for n in range(8):
        first = chain.signers_for(f"purchase-{n}", address)[0]
        tx = chain.sign_mint(address, chain.custody_address, 1, signer=first)
        chain.send(tx)
        assert chain.tx_state(tx.hash, wait_seconds=10) == "succeeded"
        used.setdefault(tx.signer, []).append(tx.nonce)
    assert len(used) > 1 and chain.total_supply(address) == 8
    assert all(nonces == list(range(len(nonces))) for nonces in used.values())  # each account its own
    # a contract without minters: any call reverts (PUSH1 0 PUSH1 0 REVERT)
    w3 = Web3(HTTPProvider(url))
    funded = Account.from_key("0x" + "00" * 31 + "02")
    create = {
        "data": "0x6005600c60003960056000f360006000fd",
        "gas": 100_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(funded.address),
        "chainId": w3.eth.chain_id,
    }
    sent = w3.eth.send_raw_transaction(funded.sign_transaction(create).raw_transaction)
    legacy = w3.eth.wait_for_transaction_receipt(sent)["contractAddress"]
    assert chain.signers_for("purchase-0", legacy) == [chain.custody_address]


def test_one_signers_lists_the_pool_an_operator_funds(
    rpc: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.cli import main
    from ontology.providers.chain import Web3Chain

    url, key = rpc
    monkeypatch.setenv("DEPLOYER_PRIVATE_KEY", key)
    assert main(["signers", "--count", "3"]) == 0
    listed = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert listed == Web3Chain(rpc_url=url, private_key=key, signers=3).signers
    monkeypatch.setenv("DEPLOYER_PRIVATE_KEY", "not-a-key")
    assert main(["signers"]) == 2
    assert capsys.readouterr().err.startswith("one signers: VALIDATION_ERROR")
