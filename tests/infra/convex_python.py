"""Convex's own Python client (PyPI ``convex``: the Rust crate's sync protocol) making calls in order on
one connection, as a subprocess: its calls block in Rust without releasing the GIL, so a test can
only give up on one that never answers by killing the process.

    python -m tests.infra.convex_python '{"url", "token", "calls": [{"kind", "name", "args"}]}'

prints one JSON line per call as it answers: ``{"value": …}`` or ``{"error": message, "data": …}``.
``kind`` is ``query``, ``mutation``, ``action`` or ``subscribe`` (its first value; the subscription
stays open until the process ends).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main(config: dict[str, Any]) -> None:
    import convex

    client = convex.ConvexClient(config["url"])
    if config.get("token"):
        client.set_auth(config["token"])
    subscriptions = []
    for call in config["calls"]:
        try:
            if call["kind"] == "subscribe":
                subscriptions.append(client.subscribe(call["name"], call.get("args") or {}))
                value = next(iter(subscriptions[-1]))
            else:
                value = getattr(client, call["kind"])(call["name"], call.get("args") or {})
            out: dict[str, Any] = {"value": value}
        except convex.ConvexError as exc:
            out = {"error": str(exc), "data": exc.data}
        print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
