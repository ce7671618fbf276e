"""What every event source of a function's Lambda is: a resolver that recognises its own events and
answers them.

A resolver's :meth:`~EventResolver.parse` looks at an event and returns it as the source's typed event,
or None when the event is not one of its own; :meth:`~EventResolver.answer` runs the function for it and
gives back what that source expects. The handler asks the resolvers in a fixed order
(:data:`ontology.runtime.resolvers.RESOLVERS`).

Example::

    resolver = SyncResolver()
    call = resolver.parse(event)          # a SyncCall, or None
    if call is not None:
        return resolver.answer(fn, call, context)
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from ontology.runtime.registry import RegisteredFunction

__all__ = ["EventResolver", "json_value", "to_json"]

E = TypeVar("E")


class EventResolver(ABC, Generic[E]):
    """One source of a function's events: which events are its own, and how each is answered."""

    #: The source's name (logs and traces say which source an invocation came from).
    source: ClassVar[str]

    def parse(self, event: Any) -> E | None:
        """The event as this source's typed event; None when it is not one of this source's (every
        source's event is a JSON object)."""
        if not isinstance(event, Mapping):
            return None
        return self._parse(event)

    def answer(self, fn: RegisteredFunction, event: E, context: Any) -> Any:
        """Run ``fn`` for the event; the answer this source expects (an error is raised or answered
        as data, as the source expects it)."""
        return self._answer(fn, event, context)

    @abstractmethod
    def _parse(self, event: Mapping[str, Any]) -> E | None: ...

    @abstractmethod
    def _answer(self, fn: RegisteredFunction, event: E, context: Any) -> Any: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json(value: Any) -> str:
    """A function's value as compact JSON text (sets and tuples as arrays, models as their JSON;
    bytes, NaN and ±Infinity, which an imported document may hold, in Convex's JSON encoding:
    ``{"$bytes": …}``, ``{"$float": …}``, as :mod:`ontology.data.typed` stores them)."""
    try:
        return json.dumps(
            value, default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        )
    except (TypeError, ValueError):
        from ontology.data.typed import wrap

        return json.dumps(
            wrap(value), default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        )


def json_value(value: Any) -> Any:
    """A function's value as the JSON it is sent as: what a caller invoking the Lambda receives."""
    return json.loads(to_json(value))
