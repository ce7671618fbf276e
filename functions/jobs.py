"""The scheduler's two Lambdas (see ontology.scheduler): the stream dispatcher and the queue runner."""

from __future__ import annotations

from ontology.scheduler import dispatch_handler as dispatch
from ontology.scheduler import runner_handler as run

__all__ = ["dispatch", "run"]
