"""Dev-only routes of the local front door (never in template.yaml): ``/_local/...``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse


def dev_routes(stack: Any) -> dict[str, Callable[[Request], Any]]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "api": stack.api_url,
                "aws": stack.aws_endpoint,
                # where `one migrate` finds the table it migrates
                "table": stack.physical.get("Table"),
                # where `one import` and `one export` find the organizations' files
                "bucket": stack.physical.get("FilesBucket"),
                # where `one logs` reads the functions' lines (FilterLogEvents, as in AWS)
                "logGroup": getattr(stack, "log_group", None),
                "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
        )

    async def run(request: Request) -> JSONResponse:
        """``{"path": "creators:get", "args": {...}}``: run any function (internal ones too) as the
        developer, like ``npx convex run``."""
        from ontology.auth.identity import resolve_session
        from ontology.errors import error_envelope
        from ontology.runtime.context import invoke
        from ontology.runtime.registry import resolve

        try:
            body = await request.json()
            fn = resolve(body.get("path", ""))
            token = (request.headers.get("authorization") or "")[7:] or stack.dev_token
            identity = await run_in_threadpool(resolve_session, token)
            value = await run_in_threadpool(invoke, fn, body.get("args") or {}, identity)
            return JSONResponse({"status": "success", "value": value})
        except Exception as exc:
            status, envelope = error_envelope(exc)
            return JSONResponse(envelope, status_code=status)

    async def cron_run(request: Request) -> JSONResponse:
        """``{"name": "monthly billing"}``: fire one cron now."""
        body = await request.json()
        try:
            result = await run_in_threadpool(stack.cron_poller.fire, str(body.get("name", "")))
        except KeyError as exc:
            return JSONResponse(
                {"status": "error", "errorMessage": str(exc.args[0]), "errorData": {"code": "NOT_FOUND"}},
                status_code=404,
            )
        return JSONResponse({"status": "success", "value": result})

    async def crons(request: Request) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "name": n,
                    "function": j.function,
                    "schedule": j.expression,
                    "next": stack.cron_poller._next[n].isoformat(),
                }
                for _, n, j in stack.cron_poller.crons
            ]
        )

    async def scheduled(request: Request) -> JSONResponse:
        """Every scheduled function of the stack, newest first, with its state."""
        from ontology.data.db import DatabaseReader

        def read() -> list[dict[str, Any]]:
            db = DatabaseReader(None, platform=True)
            return db.query("scheduledFunctions").order("desc").take(200)

        jobs = await run_in_threadpool(read)
        keep = (
            "_id",
            "_creationTime",
            "name",
            "args",
            "scheduledTime",
            "state",
            "completedTime",
            "error",
            "organizationId",
        )
        return JSONResponse([{k: j[k] for k in keep if k in j} for j in jobs])

    async def outbox(request: Request) -> JSONResponse:
        """The emails the platform sent, newest first: ``[{from, to, subject, text, html, sentAt}]``."""
        from ontology.providers.email import FileOutbox

        keep = ("from", "to", "subject", "text", "html", "sentAt")
        messages = await run_in_threadpool(FileOutbox(stack.outbox_dir).messages)
        return JSONResponse([{k: m[k] for k in keep if k in m} for m in messages])

    from infra.local.media_standins import ElevenLabsStandIn, HeyGenStandIn
    from infra.local.openai_stub import ROUTES

    stack.elevenlabs = ElevenLabsStandIn(stack.state_dir / "elevenlabs.json")
    stack.heygen = HeyGenStandIn(stack.state_dir / "heygen.json")
    routes = {
        **stack.elevenlabs.routes(),
        **stack.heygen.routes(),
        "/_local/outbox": outbox,
        "/_local/health": health,
        "/_local/run": run,
        "/_local/cron/run": cron_run,
        "/_local/crons": crons,
        "/_local/scheduled": scheduled,
        **ROUTES,
    }
    return {path: local_only(endpoint) for path, endpoint in routes.items()}


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def local_only(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """The dev routes act as the developer (``/_local/run`` runs any function, internal ones too, as the
    dev session's owner), so only the developer's own tools may reach them: a request addressed to a
    loopback host (a page on a rebound DNS name is not), and no browser request from another page (a
    browser always says where a cross-site request comes from: any ``Origin`` but the front door's
    own is refused). The CLI, the stack's own functions and tests send no ``Origin``."""

    async def guarded(request: Request) -> Any:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0] if request.headers.get("host") else ""
        if host not in LOOPBACK_HOSTS:
            return JSONResponse(
                {
                    "status": "error",
                    "errorMessage": "The dev routes answer on a loopback address only",
                    "errorData": {"code": "FORBIDDEN", "reason": "INVALID_HOST"},
                },
                status_code=403,
            )
        origin = request.headers.get("origin")
        if origin is not None and origin.rstrip("/") != f"{request.url.scheme}://{request.headers['host']}":
            return JSONResponse(
                {
                    "status": "error",
                    "errorMessage": "The dev routes are not for other pages",
                    "errorData": {"code": "FORBIDDEN", "reason": "INVALID_ORIGIN"},
                },
                status_code=403,
            )
        return await endpoint(request)

    return guarded
