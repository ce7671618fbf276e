"""The API Gateway Lambda authorizer in front of every function route (see ontology.auth.authorize)."""

from __future__ import annotations

from ontology.auth import authorize as handler

__all__ = ["handler"]
