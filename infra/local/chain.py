"""A local EVM chain: eth-tester (py-evm) behind JSON-RPC on loopback, for the local stack and tests.

The platform's chain provider talks to it with web3's ``HTTPProvider`` exactly as it talks to a real
node. Its first funded account's key is the local deployer key (a test key, worthless anywhere else);
the signing accounts derived from it (``ontology.providers.chain.signer_keys``, as many as a pool
may have) are funded in its genesis block too, so the provider's whole pool pays for gas and a
journal replays the same way whatever the pool's size.

With a journal file, every raw transaction the chain accepts is appended to it, and a new chain
replays the journal at start-up: the same key signs the same nonces, so contracts come back at the
same addresses with the same balances (a local stack restarted on its state folder keeps its tokens).

``python -m infra.local.chain --port 8545`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def _tester() -> Any:
    """eth-tester's chain with its ten funded accounts and the deployer's whole signing pool."""
    from eth_account import Account
    from eth_tester import EthereumTester, PyEVMBackend
    from eth_tester.backends.pyevm.main import (
        generate_genesis_state_for_keys,
        get_default_account_keys,
        get_default_account_state,
    )

    from ontology.providers.chain import MAX_SIGNERS, signer_keys

    keys = get_default_account_keys(10)
    if str(keys[0]) != DEPLOYER_KEY:  # eth-tester changed its default accounts
        raise RuntimeError(f"eth-tester's first account is not the local deployer's key {DEPLOYER_KEY}")
    state = dict(generate_genesis_state_for_keys(keys))
    for key in signer_keys(str(keys[0]), MAX_SIGNERS)[1:]:
        state[bytes.fromhex(Account.from_key(key).address[2:])] = get_default_account_state()
    return EthereumTester(PyEVMBackend(genesis_state=state))


#: eth-tester's first funded account (its keys are 1, 2, 3, …): the local deployer's key.
DEPLOYER_KEY = "0x" + "1".rjust(64, "0")


class LocalChain:
    """The chain is built at its first request (py-evm and web3 take over a second of CPU to load,
    and most runs of the local stack never touch the chain); its journal is replayed then."""

    def __init__(self, journal: Path | None = None) -> None:
        self._lock = threading.Lock()  # py-evm is not safe for concurrent blocks
        self._w3: Any = None
        self.journal = journal
        self.requests = 0  # JSON-RPC requests served (the bench counts them)
        #: The transactions its journal holds: the chain replays them before it answers anything.
        self.replayed = len(self._journaled()) if journal else 0

    @property
    def w3(self) -> Any:
        """web3 over the eth-tester chain, built (and its journal replayed) on first use."""
        with self._lock:
            if self._w3 is None:
                from web3 import EthereumTesterProvider, Web3

                # web3's own eth-tester middleware translates JSON-RPC requests and results for us
                w3 = Web3(EthereumTesterProvider(_tester()))
                self._replay(w3)
                self._w3 = w3
            return self._w3

    def _journaled(self) -> list[str]:
        assert self.journal is not None
        if not self.journal.exists():
            return []
        return [line.strip() for line in self.journal.read_text().splitlines() if line.strip()]

    def _replay(self, w3: Any) -> None:
        from web3.types import RPCEndpoint

        for raw in self._journaled() if self.journal else []:
            w3.manager.request_blocking(RPCEndpoint("eth_sendRawTransaction"), [raw])

    @property
    def deployer_key(self) -> str:
        return DEPLOYER_KEY

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        from web3 import Web3
        from web3.types import RPCEndpoint

        self.requests += 1
        try:
            w3 = self.w3
            with self._lock:
                method, params = payload.get("method"), payload.get("params") or []
                if not isinstance(method, str):
                    raise ValueError("the request names no method")
                result = w3.manager.request_blocking(RPCEndpoint(method), params)
                if method == "eth_sendRawTransaction" and self.journal is not None:
                    with self.journal.open("a") as f:
                        f.write(f"{params[0]}\n")
        except Exception as exc:  # a revert or a bad request: JSON-RPC's error object, as a node answers
            data = getattr(exc, "data", None)
            error = {"code": 3 if "revert" in str(exc).lower() else -32000, "message": str(exc)}
            if isinstance(data, str):
                error["data"] = data
            return {"jsonrpc": "2.0", "id": payload.get("id"), "error": error}
        return {"jsonrpc": "2.0", "id": payload.get("id"), "result": json.loads(Web3.to_json(result))}

    def app(self) -> Starlette:
        async def rpc(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                body = await request.json()
            except ValueError:
                return JSONResponse(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
                )
            if isinstance(body, list):
                return JSONResponse([await run_in_threadpool(self.call, item) for item in body])
            return JSONResponse(await run_in_threadpool(self.call, body))

        return Starlette(routes=[Route("/", rpc, methods=["POST"])])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8545)
    args = parser.parse_args()
    uvicorn.run(LocalChain().app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
