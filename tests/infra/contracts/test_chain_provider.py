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
