"""Runs ``localstripe`` (the stateful fake Stripe server from PyPI) on loopback only, keeping its
data in the local stack's state folder (its own default is every interface and /tmp).

localstripe ignores ``Idempotency-Key``; Stripe does not: a POST repeated with the same key (per API
key, for 24 hours) gets the first answer again without acting twice, and the same key with another
request is refused (400, ``idempotency_error``). :func:`idempotency` adds exactly that in front of it,
so the local stack behaves like Stripe when a step is retried after a crash."""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import time
from pathlib import Path
from typing import Any

IDEMPOTENCY_SECONDS = 24 * 3600


def idempotency_middleware() -> Any:
    from aiohttp import web

    answers: dict[tuple[str, str], dict[str, Any]] = {}
    locks: dict[tuple[str, str], asyncio.Lock] = {}

    @web.middleware
    async def idempotency(request: web.Request, handler: Any) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        slot = (request.headers.get("Authorization", ""), key)
        body = await request.read()
        async with locks.setdefault(slot, asyncio.Lock()):
            seen = answers.get(slot)
            if seen is not None and time.time() - seen["at"] < IDEMPOTENCY_SECONDS:
                if seen["path"] != request.path or seen["body"] != body:
                    error = {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        }
                    }
                    return web.json_response(error, status=400)
                return web.Response(
                    status=seen["status"],
                    body=seen["response"],
                    content_type="application/json",
                    headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
                )
            response = await handler(request)
            if isinstance(response, web.Response) and response.status < 500:
                answers[slot] = {
                    "at": time.time(),
                    "path": request.path,
                    "body": body,
                    "status": response.status,
                    "response": response.body
                    if isinstance(response.body, bytes)
                    else json.dumps({}).encode(),
                }
            return response

    return idempotency


def _exit_with_parent(parent: int) -> None:
    """A stack killed outright (SIGKILL) cannot stop its children: this one notices and exits."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args()
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)

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
    server.app.middlewares.insert(0, idempotency_middleware())
    web.run_app(server.app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
