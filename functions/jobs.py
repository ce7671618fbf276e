"""The scheduler's two Lambdas (see :mod:`ontology.runtime.scheduler`): the stream dispatcher and the
queue runner."""

from __future__ import annotations

from ontology.runtime.scheduler import dispatch_handler as dispatch
from ontology.runtime.scheduler import runner_handler as run

__all__ = ["dispatch", "run"]
