"""The chain: creator tokens (infra/contracts/CreatorToken) through web3, signed with the deployer key.

Transactions are signed locally with the deployer's key (``deployerPrivateKey`` from the deployment's
secret; the local stack's chain gives a test key) and sent raw; nonces come from the node's pending
count under a process lock, so concurrent sends from one process do not collide; every send waits for
its receipt and fails with UPSTREAM_ERROR when the transaction reverted.

Example::

    chain = get_chain()
    address, tx = chain.deploy_token("Ada Coin", "ADA", 1_000_000)
    tx = chain.mint(address, "0x…", 100)
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from ontology.errors import UpstreamError

logger = logging.getLogger(__name__)

__all__ = ["Chain", "Web3Chain", "get_chain", "set_chain"]

ARTIFACT_ENV = "ONE_TOKEN_ARTIFACT"


class Chain(Protocol):
    def deploy_token(self, name: str, symbol: str, max_supply: int) -> tuple[str, str]: ...
    def mint(self, contract: str, to: str, amount: int) -> str: ...
    def burn_from(self, contract: str, holder: str, amount: int) -> str: ...
    def total_supply(self, contract: str) -> int: ...
    def balance_of(self, contract: str, holder: str) -> int: ...


def _artifact() -> dict[str, Any]:
    path = os.environ.get(ARTIFACT_ENV) or str(Path(__file__).with_name("CreatorToken.json"))
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


class Web3Chain:
    def __init__(
        self, web3: Any = None, *, private_key: str | None = None, rpc_url: str | None = None
    ) -> None:
        from web3 import HTTPProvider, Web3

        if web3 is None:
            url = rpc_url or os.environ.get("ONE_CHAIN_RPC_URL") or "http://127.0.0.1:8545"
            web3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.w3 = web3
        if private_key is None:
            from ontology.secrets import get_secret

            private_key = get_secret("deployerPrivateKey") or ""
        self.account = self.w3.eth.account.from_key(private_key)
        artifact = _artifact()
        self._abi = artifact["abi"]
        self._bytecode = artifact["bytecode"]
        self._nonce_lock = threading.Lock()

    def _send(self, call: Any) -> Any:
        """Build (gas and fees from the node), sign, send and wait for one contract call or deploy."""
        try:
            with self._nonce_lock:
                nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
                tx = call.build_transaction({"from": self.account.address, "nonce": nonce})
                signed = self.account.sign_transaction(tx)
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        except Exception as exc:
            logger.warning("chain transaction failed: %s", exc)
            raise UpstreamError(f"chain: {type(exc).__name__}") from None
        if receipt["status"] != 1:
            raise UpstreamError("chain: the transaction reverted")
        return receipt

    def _token(self, address: str) -> Any:
        return self.w3.eth.contract(address=self.w3.to_checksum_address(address), abi=self._abi)

    def deploy_token(self, name: str, symbol: str, max_supply: int) -> tuple[str, str]:
        factory = self.w3.eth.contract(abi=self._abi, bytecode=self._bytecode)
        receipt = self._send(factory.constructor(name, symbol, max_supply))
        return str(receipt["contractAddress"]), str(receipt["transactionHash"].to_0x_hex())

    def mint(self, contract: str, to: str, amount: int) -> str:
        receipt = self._send(self._token(contract).functions.mint(self.w3.to_checksum_address(to), amount))
        return str(receipt["transactionHash"].to_0x_hex())

    def burn_from(self, contract: str, holder: str, amount: int) -> str:
        call = self._token(contract).functions.burnFrom(self.w3.to_checksum_address(holder), amount)
        return str(self._send(call)["transactionHash"].to_0x_hex())

    def total_supply(self, contract: str) -> int:
        return int(self._token(contract).functions.totalSupply().call())

    def balance_of(self, contract: str, holder: str) -> int:
        return int(self._token(contract).functions.balanceOf(self.w3.to_checksum_address(holder)).call())


_instance: Chain | None = None


def get_chain() -> Chain:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = Web3Chain()
    return _instance


def set_chain(chain: Chain | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = chain
