"""The API Gateway Lambda authorizer in front of every function route
(see :func:`ontology.auth.identity.authorize`)."""

from __future__ import annotations

from ontology.auth.identity import authorize as handler

__all__ = ["handler"]
