"""A cron: EventBridge's ``Scheduled Event`` on the schedule the template gives a function
(:mod:`ontology.runtime.crons`). The function runs as the platform (no caller); one that takes a
``time`` argument learns which time window the run is for. Its value is the answer, and its errors
are raised, so that EventBridge retries the run and finally sends it to the dead-letter queue. Each
run logs the call's summary line (source ``schedule``, with its DynamoDB units), as a call over HTTP
does.

The event is Powertools' :class:`~aws_lambda_powertools.utilities.data_classes.EventBridgeEvent`,
imported when a cron's event arrives: Powertools' event classes load together, which every cold start
of a function's Lambda need not pay for.

Example::

    ScheduleResolver().parse({"source": "aws.events", "detail-type": "Scheduled Event", "time": "…"})
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ontology.errors import status_and_code
from ontology.runtime.context import invoke
from ontology.runtime.observability import log_call
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers.base import EventResolver, json_value

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

__all__ = ["ScheduleResolver"]


class ScheduleResolver(EventResolver["EventBridgeEvent"]):
    """EventBridge's scheduled event (``source: aws.events``, ``detail-type: Scheduled Event``)."""

    source = "schedule"

    def _parse(self, event: Mapping[str, Any]) -> EventBridgeEvent | None:
        if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
            return None
        from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

        return EventBridgeEvent(dict(event))

    def _answer(self, fn: RegisteredFunction, event: EventBridgeEvent, context: Any) -> Any:
        from ontology.data.dynamodb import consumed

        args = {"time": event.get("time")} if "time" in fn.spec.args.model_fields else {}
        started = time.perf_counter()
        status, code = 200, None
        with consumed() as units:
            try:
                return json_value(invoke(fn, args, None))
            except Exception as exc:
                status, code = status_and_code(exc)
                raise
            finally:
                log_call(
                    fn.spec.path,
                    source=self.source,
                    request_id=getattr(context, "aws_request_id", None),
                    identity=None,
                    http_status=status,
                    code=code,
                    started=started,
                    units=units,
                )
