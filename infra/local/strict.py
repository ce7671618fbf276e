"""AWS-strict mode: AWS behaviours the local stack hides by default, because they cost speed.

``ONE_LOCAL_STRICT=1`` turns every facet on; a comma list (``ONE_LOCAL_STRICT=gsi-lag,conflicts``)
only those. ``make dev`` leaves them off. Each facet makes something observable locally that AWS
does and a fast local stack would not:

- ``gsi-lag``: a Query on a GSI sees a write only ``ONE_LOCAL_GSI_LAG_MS`` (1000) after it committed
  (GSIs are eventually consistent); base-table reads stay immediate
  (:mod:`infra.local.query_index`);
- ``conflicts``: a transaction holds its items for ``ONE_LOCAL_TRANSACTION_MS`` (50) after it is
  accepted, as DynamoDB's two-phase commit does; another transaction on one of them meanwhile is
  cancelled with ``TransactionConflict``, a single-item write with ``TransactionConflictException``
  (:mod:`infra.local.moto_patches`);
- ``memory``: every invocation's peak allocation is measured and one past its function's
  ``MemorySize`` (less the runtime's own ``ONE_LOCAL_MEMORY_BASELINE_MB``, 64) fails with Lambda's
  ``Runtime.OutOfMemory`` (:mod:`infra.local.memory`);
- ``vectors``: S3 Vectors' ``QueryVectors`` answers as an approximate index does, missing some true
  neighbours (``ONE_LOCAL_VECTOR_RECALL``, 0.9, deterministic per query) (:mod:`infra.local.vectors`);
- ``ttl``: expired items are deleted days after their expiry, as DynamoDB's TTL may, instead of
  within a minute (in practice never during a run).

What is no slower in AWS's way is always on, strict or not: the WebSocket idle and lifetime limits,
the stage's throttling, ``GoneException``, Lambda's retries of failed asynchronous invocations (the
crons).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["ENV", "FACETS", "Strict", "configure", "current"]

ENV = "ONE_LOCAL_STRICT"
FACETS = ("gsi-lag", "conflicts", "memory", "vectors", "ttl")


def _number(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: not negative")
    return value


@dataclass(frozen=True)
class Strict:
    """Which facets are on, and their settings (read once, at the stack's start)."""

    facets: frozenset[str] = field(default_factory=frozenset)
    gsi_lag_ms: float = 1000.0
    transaction_ms: float = 50.0
    memory_baseline_mb: float = 64.0
    vector_recall: float = 0.9

    def on(self, facet: str) -> bool:
        return facet in self.facets

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Strict:
        e = dict(os.environ if env is None else env)
        raw = e.get(ENV, "").strip().lower()
        if raw in ("", "0", "false", "no", "off"):
            facets: frozenset[str] = frozenset()
        elif raw in ("1", "true", "yes", "on", "all"):
            facets = frozenset(FACETS)
        else:
            names = {n.strip() for n in raw.split(",") if n.strip()}
            unknown = names - set(FACETS)
            if unknown:
                raise ValueError(
                    f"{ENV}: unknown facet(s) {', '.join(sorted(unknown))}; known: {', '.join(FACETS)}"
                )
            facets = frozenset(names)
        recall = _number(e, "ONE_LOCAL_VECTOR_RECALL", 0.9)
        if not 0 < recall <= 1:
            raise ValueError("ONE_LOCAL_VECTOR_RECALL: above 0, at most 1")
        return cls(
            facets=facets,
            gsi_lag_ms=_number(e, "ONE_LOCAL_GSI_LAG_MS", 1000.0),
            transaction_ms=_number(e, "ONE_LOCAL_TRANSACTION_MS", 50.0),
            memory_baseline_mb=_number(e, "ONE_LOCAL_MEMORY_BASELINE_MB", 64.0),
            vector_recall=recall,
        )

    def describe(self) -> str:
        """One line for the stack's banner."""
        if not self.facets:
            return "off   (ONE_LOCAL_STRICT=1: GSI lag, conflicts, memory, … as in AWS; docs/local-stack.md)"
        parts = []
        for facet in FACETS:
            if facet not in self.facets:
                continue
            parts.append(
                {
                    "gsi-lag": f"gsi-lag {self.gsi_lag_ms:g} ms",
                    "conflicts": f"conflicts {self.transaction_ms:g} ms",
                    "memory": f"memory (baseline {self.memory_baseline_mb:g} MB)",
                    "vectors": f"vectors recall {self.vector_recall:g}",
                    "ttl": "ttl after days",
                }[facet]
            )
        return ", ".join(parts)


_current = Strict()


def current() -> Strict:
    """The facets in force in this process (none until :func:`configure`)."""
    return _current


def configure(strict: Strict | None = None) -> Strict:
    """Set the facets in force (from the environment when ``strict`` is None); returns them."""
    global _current  # noqa: PLW0603
    _current = Strict.from_env() if strict is None else strict
    return _current
