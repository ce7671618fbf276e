"""Dev-only routes of the local front door (never in template.yaml): ``/_local/...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse


def dev_routes(stack: Any) -> dict[str, Callable[[Request], Any]]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "api": stack.api_url, "aws": stack.aws_endpoint})

    async def run(request: Request) -> JSONResponse:
        """``{"path": "creators:get", "args": {...}}``: run any function (internal ones too) as the
        developer, like ``npx convex run``."""
        from ontology.auth import resolve_session
        from ontology.errors import error_envelope
        from ontology.registry import resolve
        from ontology.runtime import invoke

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

    return {"/_local/health": health, "/_local/run": run}
