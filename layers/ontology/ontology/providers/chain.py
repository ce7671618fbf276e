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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ontology.errors import ChainRevertedError, UpstreamError

logger = logging.getLogger(__name__)

__all__ = ["Chain", "SignedTx", "TxState", "Web3Chain", "get_chain", "set_chain"]

ARTIFACT_ENV = "ONE_TOKEN_ARTIFACT"


@dataclass(frozen=True)
class SignedTx:
    """A transaction signed but perhaps not yet sent: its hash is known before it reaches the chain,
    so a caller can record it first and, after a crash, find out what became of it."""

    hash: str
    raw: str
    nonce: int


#: What became of a recorded transaction.
TxState = Literal["succeeded", "reverted", "pending", "unknown"]


class Chain(Protocol):
    @property
    def custody_address(self) -> str: ...
    def deploy_token(self, name: str, symbol: str, max_supply: int) -> tuple[str, str]: ...
    def mint(self, contract: str, to: str, amount: int) -> str: ...
    def burn_from(self, contract: str, holder: str, amount: int) -> str: ...
    @property
    def nonce_account(self) -> str: ...
    def sign_mint(self, contract: str, to: str, amount: int, *, min_nonce: int = 0) -> SignedTx: ...
    def sign_burn(self, contract: str, holder: str, amount: int, *, min_nonce: int = 0) -> SignedTx: ...
    def sign_deploy(self, name: str, symbol: str, max_supply: int, *, min_nonce: int = 0) -> SignedTx: ...
    def contract_address(self, tx_hash: str) -> str: ...
    def deploy_address(self, nonce: int) -> str: ...
    def send(self, tx: SignedTx) -> None: ...
    def sequenced(self) -> Any: ...
    def tx_state(self, tx_hash: str, *, wait_seconds: float = 0) -> TxState: ...
    def nonce_spent(self, nonce: int) -> bool: ...
    def cancel_nonce(self, nonce: int) -> None: ...
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
        self._nonce_lock = threading.RLock()
        self._account_key: str | None = None

    def _send(self, call: Any) -> Any:
        """Sign, send and wait for one contract call or deploy whose hash nothing records (deploys,
        the direct mint/burn): the same signing, sending and error mapping as recorded ones."""
        with self._nonce_lock:
            tx: SignedTx = self._guarded(lambda: self._sign(call))
            self.send(tx)
        state = self.tx_state(tx.hash, wait_seconds=120)
        if state == "reverted":
            raise ChainRevertedError("The chain reverted the transaction")
        if state != "succeeded":
            raise UpstreamError("chain: the transaction was not mined in time")
        return self._guarded(lambda: self.w3.eth.get_transaction_receipt(tx.hash))

    def sequenced(self) -> Any:
        """Hold this while signing, recording and sending one transaction: sends from this process
        then never race for a nonce (other processes' races end in a spent nonce and a re-sign)."""
        return self._nonce_lock

    @property
    def custody_address(self) -> str:
        """The platform's custody address (the deployer, owner of every token contract): purchased
        tokens are minted here and holders' balances are the ledger's ``holds_tokens`` connections."""
        return str(self.account.address)

    @property
    def nonce_account(self) -> str:
        """Whose nonces these are: ``<chain id>:<address>``."""
        if self._account_key is None:
            self._account_key = f"{self._guarded(lambda: self.w3.eth.chain_id)}:{self.account.address}"
        return self._account_key

    def _sign(self, call: Any, min_nonce: int = 0) -> SignedTx:
        nonce = max(min_nonce, self.w3.eth.get_transaction_count(self.account.address, "pending"))
        tx = call.build_transaction({"from": self.account.address, "nonce": nonce})
        signed = self.account.sign_transaction(tx)
        return SignedTx(hash=signed.hash.to_0x_hex(), raw=signed.raw_transaction.to_0x_hex(), nonce=nonce)

    def sign_mint(self, contract: str, to: str, amount: int, *, min_nonce: int = 0) -> SignedTx:
        """Sign (do not send) a mint with the account's next pending nonce, or ``min_nonce`` if
        that is higher (nonces other processes have taken but not yet sent)."""
        call = self._token(contract).functions.mint(self.w3.to_checksum_address(to), amount)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce))
        return signed

    def sign_burn(self, contract: str, holder: str, amount: int, *, min_nonce: int = 0) -> SignedTx:
        call = self._token(contract).functions.burnFrom(self.w3.to_checksum_address(holder), amount)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce))
        return signed

    def sign_deploy(self, name: str, symbol: str, max_supply: int, *, min_nonce: int = 0) -> SignedTx:
        """Sign (do not send) the deploy of a new CreatorToken: recorded first, like a mint, so that a
        retried deploy finds its contract instead of deploying a second one."""
        factory = self.w3.eth.contract(abi=self._abi, bytecode=self._bytecode)
        call = factory.constructor(name, symbol, max_supply)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce))
        return signed

    def deploy_address(self, nonce: int) -> str:
        """Where a deploy signed with ``nonce`` puts its contract (fixed by the deployer and the nonce)."""
        from web3.utils.address import get_create_address

        return str(get_create_address(self.account.address, nonce))  # type: ignore[arg-type]

    def contract_address(self, tx_hash: str) -> str:
        """The address of the contract a mined deploy transaction created."""
        receipt = self._guarded(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        return str(receipt["contractAddress"])

    def send(self, tx: SignedTx) -> None:
        """Send a signed transaction (the caller recorded its hash first); UPSTREAM_ERROR if the node
        refuses it (a spent nonce, a network error)."""
        self._guarded(lambda: self.w3.eth.send_raw_transaction(tx.raw))

    def tx_state(self, tx_hash: str, *, wait_seconds: float = 0) -> TxState:
        """``succeeded``/``reverted`` once mined, ``pending`` while the node holds it, ``unknown`` if the
        node never saw it; waits up to ``wait_seconds`` for a pending one to be mined."""
        from web3.exceptions import TransactionNotFound

        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                receipt = self._guarded(
                    lambda: self.w3.eth.get_transaction_receipt(tx_hash), TransactionNotFound
                )
                return "succeeded" if receipt["status"] == 1 else "reverted"
            except TransactionNotFound:
                pass
            try:
                self._guarded(lambda: self.w3.eth.get_transaction(tx_hash), TransactionNotFound)
            except TransactionNotFound:
                return "unknown"
            if time.monotonic() >= deadline:
                return "pending"
            time.sleep(0.5)

    def nonce_spent(self, nonce: int) -> bool:
        """Whether a mined transaction already used this nonce (then no other one with it ever can)."""
        return int(self._guarded(lambda: self.w3.eth.get_transaction_count(self.account.address))) > nonce

    def cancel_nonce(self, nonce: int) -> None:
        """Spend ``nonce`` on a transfer of nothing to ourselves, so that a transaction signed with it
        (recorded, perhaps never sent) can never be mined; waits until it is. A nonce already spent
        is fine: then nothing else can be mined with it either."""

        def send() -> Any:
            tx = {
                "to": self.account.address,
                "value": 0,
                "gas": 21_000,
                "gasPrice": int(self.w3.eth.gas_price * 1.25) + 1,
                "nonce": nonce,
                "chainId": self.w3.eth.chain_id,
            }
            return self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)

        with self._nonce_lock:
            if self.nonce_spent(nonce):
                return
            try:
                tx_hash = self._guarded(send)
            except UpstreamError:
                if self.nonce_spent(nonce):  # spent meanwhile, by the transaction itself or another
                    return
                raise
        from ontology import deadline

        waits = deadline.budget(120.0)
        self._guarded(lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=waits))

    def _guarded(self, fn: Any, *passthrough: type[BaseException]) -> Any:
        from web3.exceptions import ContractLogicError

        try:
            with self._nonce_lock:
                return fn()
        except passthrough:
            raise
        except ContractLogicError as exc:  # the contract refuses (estimating gas, or a call): final
            logger.warning("chain call reverted: %s", exc)
            raise ChainRevertedError(f"The contract refused: {_revert_reason(exc)}") from None
        except Exception as exc:
            logger.warning("chain call failed: %s", exc)
            raise UpstreamError(f"chain: {type(exc).__name__}") from None

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


def _revert_reason(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.removeprefix("execution reverted: ")[:200]


_instance: Chain | None = None


def get_chain() -> Chain:
    global _instance  # noqa: PLW0603
    if _instance is None:
        _instance = Web3Chain()
    return _instance


def set_chain(chain: Chain | None) -> None:
    global _instance  # noqa: PLW0603
    _instance = chain
