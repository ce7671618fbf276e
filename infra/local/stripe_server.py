"""Runs ``localstripe`` (the stateful fake Stripe server from PyPI) on loopback only, keeping its
data in the local stack's state folder (its own default is every interface and /tmp)."""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, required=True)
    args = parser.parse_args()

    from aiohttp import web
    from localstripe import resources, server

    store = resources.store
    state: Path = args.state_file

    def dump_to_disk() -> None:
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(state)

    store.dump_to_disk = dump_to_disk  # type: ignore[method-assign]
    if state.exists():
        with state.open("rb") as f:
            store.update(pickle.load(f))  # noqa: S301 - our own state file, written just above
    web.run_app(server.app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
