"""The local stack: ``python -m infra.local`` (what ``make dev`` runs). Ctrl-C stops it cleanly."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType

from infra import ROOT
from infra.local.stack import LocalStack

#: How long saving the state at Ctrl-C may take before the stack prints every thread's stack and exits.
STOP_SECONDS = 120


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("ONE_AWS_PORT", "4566")))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("ONE_API_PORT", "3210")))
    parser.add_argument("--stripe-port", type=int, default=int(os.environ.get("ONE_STRIPE_PORT", "8420")))
    parser.add_argument("--chain-port", type=int, default=int(os.environ.get("ONE_CHAIN_PORT", "8545")))
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("ONE_STATE_DIR", ROOT / ".one" / "state"))
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=ROOT / ".env",
        help="the reference's variables (BETTER_AUTH_SECRET, STRIPE_SECRET_KEY, …); the environment wins",
    )
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    parser.add_argument(
        "--no-demo-token",
        dest="demo_token",
        action="store_false",
        help="deploy no demo token at first start (a state folder that has one keeps it)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="reload a saved file of functions/ or the layer in the running stack (`make dev`)",
    )
    parser.add_argument(
        "--codegen",
        type=Path,
        metavar="DIR",
        help="keep Convex's _generated in DIR current as functions change (`make dev`: convex/_generated)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="  %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # moto names each template resource its CloudFormation skips (API Gateway v2: the front door
    # serves those routes; the stack makes the secret, the schedule group and the WebSocket API itself).
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse .* moto's CloudFormation")

    stack = LocalStack(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        stripe_port=args.stripe_port,
        chain_port=args.chain_port,
        state_dir=args.state_dir,
        env_file=args.env_file,
        demo=args.demo_token,
    )
    print("ONE platform local stack: starting…", flush=True)
    stack.start()
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    loop = None
    if args.watch or args.codegen:
        from infra.local.devloop import DevLoop

        loop = DevLoop(stack, reload=args.watch, codegen=args.codegen, log=_say)
    functions = len(stack.runner.defs)
    routes = sum(len(d.routes) for d in stack.runner.defs.values())
    restored = ", ".join(f"{n} {k}" for k, n in stack.restored.items()) or "nothing (first start)"
    served = f"{routes} routes of template.yaml -> {functions} functions, in-process"
    print(f"  API         {stack.api_url}   {served}")
    print(f"  OpenAPI     {stack.api_url}/api/openapi.json")
    print(f"  dashboard   {stack.api_url}/dashboard/   (owners; the functions' logs: one logs)")
    print(f"  public URL  {stack.public_url}   (auth and invitation links, the OAuth redirect URI)")
    sync_url = stack.api_url.replace("http", "ws", 1)
    print(f"  sync        {sync_url}/api/sync   (Convex's clients: this socket, /api/query|mutation|action)")
    print(f"  AWS (moto)  {stack.aws_endpoint}   stack one-local created from template.yaml")
    print(f"  table       {stack.physical['Table']}")
    print(f"  saga        {stack.state_machine_arn}   (moto's Step Functions interpreter)")
    print(f"  Stripe      {stack.stripe_url}   (localstripe)")
    print(f"  chain       {stack.chain_url}   (local EVM; {stack.chain.replayed} journaled transactions)")
    if stack.demo_token:
        print(f"  demo token  {stack.demo_token}   (LOCAL, $0.50; buy with pm_card_visa)")
    else:
        print("  demo token  none   (--no-demo-token)")
    print(f"  bucket      {stack.physical['FilesBucket']}")
    print(
        f"  vectors     {stack.physical['VectorBucket']}   (S3 Vectors on moto, QueryVectors answered here;"
        f" {stack.vectors_rebuilt} re-indexed)"
    )
    print(f"  AI          {stack.api_url}/_local/openai/v1   (deterministic chat and embeddings)")
    print(f"  ElevenLabs  {stack.api_url}/_local/elevenlabs   (voices kept, speech as short WAVs)")
    print(f"  HeyGen      {stack.api_url}/_local/heygen   (talking photos from JPEG/PNG portraits)")
    print(f"  state       {args.state_dir}   restored: {restored}")
    print(
        f"  journal     {stack.replayed} writes replayed, {stack.redispatched} pending jobs sent again"
        f", in {stack.restore_seconds:.1f} s   (every acknowledged write is kept: docs/local-stack.md)"
    )
    print(f"  migrations  {stack.migrations}   (one migrate status)")
    print(f"  AWS-strict  {stack.strict.describe()}")
    read = ", ".join(stack.reference_env) or "none set"
    print(f"  env         {args.env_file.name} and the environment: {read}   (docs/deploying.md)")
    print(f"  dev session {args.state_dir / 'dev-session.json'}   (one run / Authorization: Bearer …)")
    if loop is not None:
        print(f"  watching    {loop.describe()}")
    if args.codegen:
        print(f"  codegen     {args.codegen}   (Convex's api and data model, kept current: docs/clients.md)")
    print("ready. Ctrl-C stops.", flush=True)
    if loop is not None:
        loop.start(stop)
    stop.wait()
    print("stopping… (saving state)", flush=True)
    import faulthandler

    # A stop that does not end says where every thread is, and exits, rather than hang the terminal.
    faulthandler.dump_traceback_later(STOP_SECONDS, exit=True, file=sys.stdout)
    stack.stop()
    faulthandler.cancel_dump_traceback_later()
    print("stopped.", flush=True)
    # The state is saved. A worker thread still busy with a delivery (a pool's invocation in its
    # function's retries) is not waited for, as a stopped Lambda's process is not.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _say(line: str) -> None:
    print(f"  {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
