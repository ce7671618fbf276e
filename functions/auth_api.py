"""Better Auth's endpoints (``/api/auth/*``): one Starlette app (ontology.auth.app) in one Lambda,
through Mangum. The local stack's front door serves the same handler."""

from __future__ import annotations

from mangum import Mangum

from ontology.auth.app import app

handler = Mangum(app, lifespan="off")

__all__ = ["handler"]
