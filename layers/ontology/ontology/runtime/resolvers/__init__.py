"""The sources of a function's events, one resolver each, in the order the handler asks them: the first
that recognises an event answers it (an event none recognises is UnrecognizedEventError).

- :class:`~ontology.runtime.resolvers.http.HttpApiResolver` — API Gateway's HTTP API, payload 2.0;
- :class:`~ontology.runtime.resolvers.sync.SyncResolver` — the sync protocol's ``_sync`` call;
- :class:`~ontology.runtime.resolvers.jobs.ScheduledJobResolver` — a ``_scheduledJob`` delivery;
- :class:`~ontology.runtime.resolvers.schedule.ScheduleResolver` — EventBridge's cron;
- :class:`~ontology.runtime.resolvers.internal.InternalCallResolver` — a plain object of arguments,
  with ``_auth``.

Example::

    resolver, event = recognise(raw_event)
    resolver.answer(fn, event, context)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ontology.errors import UnrecognizedEventError
from ontology.runtime.resolvers.base import EventResolver, json_value, to_json
from ontology.runtime.resolvers.http import HttpApiEvent, HttpApiResolver
from ontology.runtime.resolvers.internal import OTHER_SOURCES_KEYS, InternalCall, InternalCallResolver
from ontology.runtime.resolvers.jobs import ScheduledJobEvent, ScheduledJobResolver
from ontology.runtime.resolvers.schedule import ScheduleResolver
from ontology.runtime.resolvers.sync import SyncCall, SyncResolver

__all__ = [
    "RESOLVERS",
    "EventResolver",
    "HttpApiEvent",
    "HttpApiResolver",
    "InternalCall",
    "InternalCallResolver",
    "ScheduleResolver",
    "ScheduledJobEvent",
    "ScheduledJobResolver",
    "SyncCall",
    "SyncResolver",
    "json_value",
    "recognise",
    "to_json",
]

#: Asked in this order; the internal call comes last, since it takes any object the others left.
RESOLVERS: tuple[EventResolver[Any], ...] = (
    HttpApiResolver(),
    SyncResolver(),
    ScheduledJobResolver(),
    ScheduleResolver(),
    InternalCallResolver(),
)


def recognise(event: Any) -> tuple[EventResolver[Any], Any]:
    """The first resolver that recognises ``event`` and the event as its typed event;
    UnrecognizedEventError (VALIDATION_ERROR) when none does."""
    for resolver in RESOLVERS:
        parsed = resolver.parse(event)
        if parsed is not None:
            return resolver, parsed
    if isinstance(event, Mapping):
        found = ", ".join(key for key in OTHER_SOURCES_KEYS if key in event)
        what = f"an object with {found}, another AWS source's event"
    else:
        what = f"a {type(event).__name__}"
    raise UnrecognizedEventError(
        "The event is not an HTTP API request, a sync call, a scheduled job, a cron or an object of "
        f"arguments: it is {what}"
    )
