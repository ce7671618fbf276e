"""The Lambda handler behind every function: an event in, what its source expects out.

Each source of events has its resolver (:mod:`ontology.runtime.resolvers`), asked in a fixed order:
API Gateway's HTTP API (the envelope of docs/architecture.md, "The HTTP contract", with its status),
the sync protocol's ``_sync`` call (the envelope as data), a scheduled job's ``_scheduledJob``
delivery, EventBridge's cron, and last a plain object of arguments with the caller under ``_auth``
(the value; errors raised, so that a state machine can Retry/Catch them by name). An event none of
them recognises is refused with UnrecognizedEventError.

Each invocation is traced (a subsegment annotated with the function and the source) and its logs carry
the function, the source and the request id (:mod:`ontology.runtime.observability`).

Example::

    handle(resolve("creators:get"), api_gateway_event, context)   # {"statusCode": 200, ...}
"""

from __future__ import annotations

from typing import Any

from ontology.runtime.observability import logger, tracer
from ontology.runtime.registry import RegisteredFunction
from ontology.runtime.resolvers import recognise
from ontology.runtime.resolvers.base import to_json
from ontology.runtime.resolvers.http import MAX_BODY_BYTES, http_response, parse_body, request_args

__all__ = [
    "MAX_BODY_BYTES",
    "handle",
    "http_response",
    "parse_body",
    "request_args",
    "to_json",
]


def handle(fn: RegisteredFunction, event: Any, context: Any = None) -> Any:
    """The Lambda entry point of every registered function."""
    from ontology import deadline

    with deadline.started(context):
        return lambda_handler(event, context, fn=fn)


@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: Any, fn: RegisteredFunction) -> Any:
    """``fn``'s answer to ``event``, from the first resolver that recognises it."""
    logger.append_keys(
        function=fn.spec.path, request_id=getattr(context, "aws_request_id", None), source=None
    )
    resolver, parsed = recognise(event)
    logger.append_keys(source=resolver.source)
    tracer.put_annotation(key="function", value=fn.spec.path)
    tracer.put_annotation(key="source", value=resolver.source)
    return resolver.answer(fn, parsed, context)
