"""The local stack: ``python -m infra.local`` (what ``make dev`` runs).

Starts moto in server mode on loopback — every request under one lock, with the transaction and TTL
fixes of :mod:`infra.local.moto_patches` — and creates the single table from ``template.yaml``
itself. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

DEFAULT_AWS_PORT = 4566
TTL_SWEEP_SECONDS = 60


def _fake_credentials() -> None:
    # moto accepts any credentials; never let a developer's real ones reach it.
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("ONE_AWS_PORT", DEFAULT_AWS_PORT)))
    parser.add_argument("--table", default=os.environ.get("ONE_TABLE_NAME", "one-local"))
    args = parser.parse_args(argv)

    _fake_credentials()
    import boto3
    from moto.server import ThreadedMotoServer

    from infra.local.aws import create_table, install_moto_lock
    from infra.local.moto_patches import expire_ttl_items, install_moto_patches

    install_moto_lock()
    install_moto_patches()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request is noise here
    server = ThreadedMotoServer(ip_address=args.host, port=args.aws_port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{args.aws_port}"
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ["AWS_DEFAULT_REGION"])
    created = create_table(client, args.table)
    gsis = len(client.describe_table(TableName=args.table)["Table"].get("GlobalSecondaryIndexes", []))

    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    print("ONE platform local stack", flush=True)
    print(f"  AWS (moto)  {endpoint}   DynamoDB and the other AWS services, in memory", flush=True)
    state = "created" if created else "already present"
    print(f"  table       {args.table}   {state} from template.yaml, {gsis} GSIs", flush=True)
    print(
        "  use it:     ONE_DYNAMODB_ENDPOINT=" + endpoint + f" ONE_TABLE_NAME={args.table} ONE_LOCAL=1",
        flush=True,
    )
    print("ready. Ctrl-C stops.", flush=True)

    last_sweep = time.monotonic()
    while not stop.wait(1.0):
        if time.monotonic() - last_sweep >= TTL_SWEEP_SECONDS:
            expire_ttl_items()
            last_sweep = time.monotonic()
    print("stopping…", flush=True)
    server.stop()
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
