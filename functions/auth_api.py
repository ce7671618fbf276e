"""Better Auth's endpoints (``/api/auth/*``): one Starlette app (ontology.authapp) in one Lambda,
through Mangum. The local stack's front door serves the same handler."""

from __future__ import annotations

from mangum import Mangum

from ontology.authapp import app

handler = Mangum(app, lifespan="off")

__all__ = ["handler"]
