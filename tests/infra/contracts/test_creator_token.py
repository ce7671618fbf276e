"""The CreatorToken contract: the committed artifact is what the pinned Vyper compiles, and on an
in-process EVM (eth-tester + py-evm, through web3) the owner and the minters it was deployed with
mint, holders burn, the owner and its minters can undo their mint, and nobody else mints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError

#: A revert reaches the caller as web3's error or eth-tester's, depending on the call.
REVERTED: tuple[type[Exception], ...] = (ContractLogicError, TransactionFailed)

ARTIFACT = Path(__file__).resolve().parents[3] / "infra" / "contracts" / "CreatorToken.json"


@pytest.mark.slow
def test_committed_artifact_matches_a_fresh_compile() -> None:
    from infra.contracts import build

    assert build.main(["--check"]) == 0, "run `make contracts`"


@pytest.fixture(scope="module")
def chain() -> Any:
    from web3 import EthereumTesterProvider, Web3

    w3 = Web3(EthereumTesterProvider())
    artifact = json.loads(ARTIFACT.read_text())
    owner, buyer, stranger, minter = w3.eth.accounts[:4]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("Ada Coin", "ADA", 1_000, [minter]).transact({"from": owner})
    )
    token = w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])
    return w3, token, owner, buyer, stranger, minter


def test_metadata(chain: Any) -> None:
    _, token, owner, _, _, _ = chain
    assert token.functions.name().call() == "Ada Coin"
    assert token.functions.symbol().call() == "ADA"
    assert token.functions.owner().call() == owner
    assert token.functions.maxSupply().call() == 1_000


def test_owner_mints_others_cannot(chain: Any) -> None:
    w3, token, owner, buyer, stranger, _ = chain
    before = token.functions.totalSupply().call()
    w3.eth.wait_for_transaction_receipt(token.functions.mint(buyer, 100).transact({"from": owner}))
    assert token.functions.balanceOf(buyer).call() == 100
    assert token.functions.totalSupply().call() == before + 100
    with pytest.raises(REVERTED, match="only the owner mints"):
        token.functions.mint(stranger, 1).transact({"from": stranger})
    with pytest.raises(REVERTED, match="maximum supply"):
        token.functions.mint(buyer, 10_000).transact({"from": owner})


def test_burns(chain: Any) -> None:
    w3, token, owner, buyer, stranger, _ = chain
    w3.eth.wait_for_transaction_receipt(token.functions.mint(buyer, 50).transact({"from": owner}))
    held = token.functions.balanceOf(buyer).call()
    supply = token.functions.totalSupply().call()
    w3.eth.wait_for_transaction_receipt(token.functions.burn(10).transact({"from": buyer}))
    w3.eth.wait_for_transaction_receipt(token.functions.burnFrom(buyer, 20).transact({"from": owner}))
    assert token.functions.balanceOf(buyer).call() == held - 30
    assert token.functions.totalSupply().call() == supply - 30
    with pytest.raises(REVERTED):
        token.functions.burnFrom(buyer, 1).transact({"from": stranger})


def test_minters_mint_and_burn_as_the_owner_does_and_only_the_owner_names_them(chain: Any) -> None:
    w3, token, owner, buyer, stranger, minter = chain
    assert token.functions.minters(minter).call() is True
    assert token.functions.minters(stranger).call() is False
    supply = token.functions.totalSupply().call()
    w3.eth.wait_for_transaction_receipt(token.functions.mint(buyer, 7).transact({"from": minter}))
    w3.eth.wait_for_transaction_receipt(token.functions.burnFrom(buyer, 3).transact({"from": minter}))
    assert token.functions.totalSupply().call() == supply + 4
    with pytest.raises(REVERTED, match="only the owner"):
        token.functions.setMinter(stranger, True).transact({"from": minter})
    w3.eth.wait_for_transaction_receipt(token.functions.setMinter(minter, False).transact({"from": owner}))
    with pytest.raises(REVERTED, match="only the owner mints"):
        token.functions.mint(buyer, 1).transact({"from": minter})
    w3.eth.wait_for_transaction_receipt(token.functions.setMinter(minter, True).transact({"from": owner}))
