"""The chain: creator tokens (infra/contracts/CreatorToken) through web3, signed by a pool of accounts.

Transactions are signed locally and sent raw. The deployer's key (``deployerPrivateKey`` from the
deployment's secret; the local stack's chain gives a test key) is the first of the pool's signing
accounts (``ONE_CHAIN_SIGNERS``, :data:`SIGNERS` by default); the others' keys are derived from it
(:func:`signer_keys`), so a deployment keeps one secret, and each needs gas (``one signers`` lists
their addresses). An account's nonces are taken one after another, each recorded in the table with
the transaction that takes it (``ontology.services.chain_txs``), so one account serializes every
transaction it signs; the pool spreads them: a purchase's mint is signed by the account its id hashes
to (:meth:`Web3Chain.signers_for`), among those the token's contract accepts. The deployer deploys
every contract (owning it) and holds the platform's custody; a contract names the pool's other
accounts its minters when it is deployed (one deployed before the pool accepts its owner only).
Nonces come from the node's pending count under a process lock, so concurrent sends from one process
do not collide; every send waits for its receipt and fails with UPSTREAM_ERROR when it reverted.

Example::

    chain = get_chain()
    address, tx = chain.deploy_token("Ada Coin", "ADA", 1_000_000)
    tx = chain.mint(address, "0x…", 100)
"""

from __future__ import annotations

import hashlib
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

__all__ = [
    "MAX_SIGNERS",
    "SIGNERS",
    "Chain",
    "SignedTx",
    "TxState",
    "Web3Chain",
    "get_chain",
    "set_chain",
    "signer_count",
    "signer_keys",
]

ARTIFACT_ENV = "ONE_TOKEN_ARTIFACT"
SIGNERS_ENV = "ONE_CHAIN_SIGNERS"
#: The pool's size: the platform's chain transactions a second at the busiest the platform plans
#: for (a token sale of 50 purchases a second, and the other organizations' as many again) over 16
#: accounts is about 6 a second on each account's nonce item.
SIGNERS = 16
#: The most accounts a pool has (a contract's list of minters holds this many but its owner).
MAX_SIGNERS = 64
#: secp256k1's group order: a private key is a number below it.
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def signer_count() -> int:
    """The pool's size: ``ONE_CHAIN_SIGNERS`` (1 to :data:`MAX_SIGNERS`), else :data:`SIGNERS`."""
    raw = os.environ.get(SIGNERS_ENV, "").strip()
    return min(max(int(raw), 1), MAX_SIGNERS) if raw.isdigit() else SIGNERS


def signer_keys(deployer_key: str, count: int) -> list[str]:
    """The pool's private keys: the deployer's first, then ``count - 1`` derived from it (SHA-256 of
    the deployer's key and the account's number)."""
    raw = bytes.fromhex(deployer_key.removeprefix("0x"))
    keys = ["0x" + raw.hex()]
    for n in range(1, count):
        digest = hashlib.sha256(raw + b"one-signer" + n.to_bytes(2, "big")).digest()
        while not 0 < int.from_bytes(digest, "big") < _CURVE_ORDER:  # not in practice: 1 in 2**128
            digest = hashlib.sha256(digest).digest()
        keys.append("0x" + digest.hex())
    return keys


@dataclass(frozen=True)
class SignedTx:
    """A transaction signed but perhaps not yet sent: its hash is known before it reaches the chain,
    so a caller can record it first and, after a crash, find out what became of it."""

    hash: str
    raw: str
    nonce: int
    #: the signing account ("": the deployer, as for every transaction recorded before the pool)
    signer: str = ""


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
    def nonce_account_of(self, signer: str) -> str: ...
    def signers_for(self, key: str, contract: str) -> list[str]: ...
    def sign_mint(
        self, contract: str, to: str, amount: int, *, min_nonce: int = 0, signer: str = ""
    ) -> SignedTx: ...
    def sign_burn(
        self, contract: str, holder: str, amount: int, *, min_nonce: int = 0, signer: str = ""
    ) -> SignedTx: ...
    def sign_deploy(self, name: str, symbol: str, max_supply: int, *, min_nonce: int = 0) -> SignedTx: ...
    def contract_address(self, tx_hash: str) -> str: ...
    def deploy_address(self, nonce: int) -> str: ...
    def send(self, tx: SignedTx) -> None: ...
    def sequenced(self) -> Any: ...
    def tx_state(self, tx_hash: str, *, wait_seconds: float = 0) -> TxState: ...
    def nonce_spent(self, nonce: int, signer: str = "") -> bool: ...
    def cancel_nonce(self, nonce: int, signer: str = "") -> None: ...
    def total_supply(self, contract: str) -> int: ...
    def balance_of(self, contract: str, holder: str) -> int: ...


def _artifact() -> dict[str, Any]:
    path = os.environ.get(ARTIFACT_ENV) or str(Path(__file__).with_name("CreatorToken.json"))
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


class Web3Chain:
    def __init__(
        self,
        web3: Any = None,
        *,
        private_key: str | None = None,
        rpc_url: str | None = None,
        signers: int | None = None,
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
        count = signer_count() if signers is None else min(max(signers, 1), MAX_SIGNERS)
        derived = signer_keys(private_key, count)[1:] if private_key else []
        #: the signing accounts, the deployer's first
        self.pool = [self.account, *(self.w3.eth.account.from_key(k) for k in derived)]
        self._by_address = {a.address.lower(): a for a in self.pool}
        artifact = _artifact()
        self._abi = artifact["abi"]
        self._bytecode = artifact["bytecode"]
        self._nonce_lock = threading.RLock()
        self._chain_id: int | None = None
        #: (contract, signer) → whether the contract names the signer a minter
        self._minters: dict[tuple[str, str], bool] = {}

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
    def signers(self) -> list[str]:
        """The pool's addresses, the deployer's first."""
        return [a.address for a in self.pool]

    def _signer(self, signer: str = "") -> Any:
        """The pool's account with this address ("": the deployer)."""
        if not signer:
            return self.account
        found = self._by_address.get(signer.lower())
        if found is None:
            raise UpstreamError(f"chain: {signer} is not one of the platform's signing accounts")
        return found

    @property
    def nonce_account(self) -> str:
        """Whose nonces the deployer's are: ``<chain id>:<address>``."""
        return self.nonce_account_of("")

    def nonce_account_of(self, signer: str) -> str:
        """Whose nonces a signer's are: ``<chain id>:<address>``, the key of its ``chainNonces`` item."""
        if self._chain_id is None:
            self._chain_id = int(self._guarded(lambda: self.w3.eth.chain_id))
        return f"{self._chain_id}:{self._signer(signer).address}"

    def signers_for(self, key: str, contract: str) -> list[str]:
        """The accounts to sign a transaction of ``contract`` with, in the order to try them: the
        one ``key`` (a purchase's id) hashes to, if the contract names it a minter, then its owner,
        the deployer (a contract deployed before the pool names no minters). One ``minters`` call
        per contract and account, once per process."""
        account = self.pool[int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % len(self.pool)]
        if account is self.account or not self._may_mint(contract, account.address):
            return [self.account.address]
        return [account.address, self.account.address]

    def _may_mint(self, contract: str, signer: str) -> bool:
        """Whether the contract names ``signer`` a minter, asked once per process."""
        key = (contract.lower(), signer.lower())
        cached = self._minters.get(key)
        if cached is None:
            try:
                cached = bool(self._guarded(lambda: self._token(contract).functions.minters(signer).call()))
            except ChainRevertedError:  # no such function: a contract deployed before the pool
                cached = False
            except UpstreamError:
                return False  # the node did not answer: the deployer signs; asked again next time
            self._minters[key] = cached
        return cached

    def _sign(self, call: Any, min_nonce: int = 0, signer: str = "") -> SignedTx:
        account = self._signer(signer)
        nonce = max(min_nonce, self.w3.eth.get_transaction_count(account.address, "pending"))
        tx = call.build_transaction({"from": account.address, "nonce": nonce})
        signed = account.sign_transaction(tx)
        return SignedTx(
            hash=signed.hash.to_0x_hex(),
            raw=signed.raw_transaction.to_0x_hex(),
            nonce=nonce,
            signer="" if account is self.account else str(account.address),
        )

    def sign_mint(
        self, contract: str, to: str, amount: int, *, min_nonce: int = 0, signer: str = ""
    ) -> SignedTx:
        """Sign (do not send) a mint with the signer's (default: the deployer's) next pending nonce,
        or ``min_nonce`` if that is higher (nonces other processes have taken but not yet sent)."""
        call = self._token(contract).functions.mint(self.w3.to_checksum_address(to), amount)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce, signer))
        return signed

    def sign_burn(
        self, contract: str, holder: str, amount: int, *, min_nonce: int = 0, signer: str = ""
    ) -> SignedTx:
        call = self._token(contract).functions.burnFrom(self.w3.to_checksum_address(holder), amount)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce, signer))
        return signed

    def sign_deploy(self, name: str, symbol: str, max_supply: int, *, min_nonce: int = 0) -> SignedTx:
        """Sign (do not send) the deploy of a new CreatorToken by the deployer, its owner, naming the
        pool's other accounts its minters: recorded first, like a mint, so that a retried deploy
        finds its contract instead of deploying a second one."""
        call = self._constructor(name, symbol, max_supply)
        signed: SignedTx = self._guarded(lambda: self._sign(call, min_nonce))
        return signed

    def _constructor(self, name: str, symbol: str, max_supply: int) -> Any:
        factory = self.w3.eth.contract(abi=self._abi, bytecode=self._bytecode)
        return factory.constructor(name, symbol, max_supply, [a.address for a in self.pool[1:]])

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

    def nonce_spent(self, nonce: int, signer: str = "") -> bool:
        """Whether a mined transaction of the signer (default: the deployer) already used this nonce
        (then no other one with it ever can)."""
        address = self._signer(signer).address
        return int(self._guarded(lambda: self.w3.eth.get_transaction_count(address))) > nonce

    def cancel_nonce(self, nonce: int, signer: str = "") -> None:
        """Spend the signer's ``nonce`` on a transfer of nothing to itself, so that a transaction
        signed with it (recorded, perhaps never sent) can never be mined; waits until it is. A nonce
        already spent is fine: then nothing else can be mined with it either."""
        account = self._signer(signer)

        def send() -> Any:
            tx = {
                "to": account.address,
                "value": 0,
                "gas": 21_000,
                "gasPrice": int(self.w3.eth.gas_price * 1.25) + 1,
                "nonce": nonce,
                "chainId": self.w3.eth.chain_id,
            }
            return self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)

        with self._nonce_lock:
            if self.nonce_spent(nonce, signer):
                return
            try:
                tx_hash = self._guarded(send)
            except UpstreamError:
                if self.nonce_spent(nonce, signer):  # spent meanwhile, by the transaction itself or another
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
        receipt = self._send(self._constructor(name, symbol, max_supply))
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
