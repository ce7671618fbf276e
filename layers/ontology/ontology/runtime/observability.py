"""The function runtime's logs, metrics and traces, with Powertools: one :data:`logger`, one
:data:`metrics` and one :data:`tracer`, named by the environment the template gives every function
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``), never in the code.

Tracing: the template turns X-Ray on for every function (``Tracing: Active``). The tracer records each
invocation as a subsegment (``## lambda_handler``, annotated with the function's path and the event's
source) and patches botocore, so that each AWS call is a subsegment of its own.

The X-Ray SDK is not imported with this module: importing it and patching botocore costs a third to a
half of ``import boto3``, which a query Lambda's cold import cannot afford (``make bench``). Through
Powertools' own hook for it (``Tracer(provider=...)``) the tracer is given a provider that imports the
SDK and patches botocore on the first traced invocation instead (:class:`DeferredXRayProvider`);
botocore's clients made before then are traced too, since the patch is on their class. An on-demand
cold start pays the same either way (its first request waits for the import and the first invocation
alike); an environment initialised ahead of its requests (provisioned concurrency, SnapStart) loads
the SDK at import, where no request waits for it. Where tracing is off (``POWERTOOLS_TRACE_DISABLED``:
the local stack and the tests; or outside Lambda, as Powertools decides) the SDK is never imported
and nothing is sent anywhere.

Example::

    from ontology.runtime.observability import logger, metrics, tracer

    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event, context): ...
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

if TYPE_CHECKING:
    from ontology.auth.identity import Identity
    from ontology.data.dynamodb import Units

__all__ = ["CALL_MESSAGE", "DeferredXRayProvider", "bind_caller", "log_call", "logger", "metrics", "tracer"]

#: The AWS SDK the tracer patches: each botocore (and so boto3) call becomes a subsegment.
PATCHED_MODULES = ("botocore",)


class _NoSegment(BaseSegment):
    """The subsegment of an invocation that is not traced: it records nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


def _sdk_enabled() -> bool:
    # Powertools turns the SDK's global switch off for a disabled tracer (and AWS_XRAY_SDK_ENABLED
    # does too); that module is the SDK's configuration alone, without its recorder.
    from aws_xray_sdk import global_sdk_config

    return bool(global_sdk_config.sdk_enabled())


class DeferredXRayProvider(BaseProvider):
    """X-Ray's recorder for Powertools' :class:`~aws_lambda_powertools.Tracer`, imported, configured
    (subsegments streamed one by one, as Powertools configures its own) and patching the modules the
    tracer asked for on the first traced call rather than at import; while the SDK is switched off
    (a disabled tracer), every subsegment is a no-op and the SDK's recorder is never imported."""

    def __init__(self) -> None:
        self._recorder: Any = None
        #: The modules to patch once the SDK is loaded (None: every module the SDK supports).
        self._modules: tuple[str, ...] | None = ()
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the X-Ray SDK's recorder has been imported (by a traced call)."""
        return self._recorder is not None

    def _xray(self) -> Any:
        with self._lock:
            if self._recorder is None:
                from aws_xray_sdk.core import patch, patch_all, xray_recorder

                xray_recorder.configure(streaming_threshold=0)
                if self._modules is None:
                    patch_all()
                elif self._modules:
                    patch(self._modules)
                self._recorder = xray_recorder
            return self._recorder

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        if not _sdk_enabled():
            yield _NoSegment()
            return
        with self._xray().in_subsegment(name=name, **kwargs) as subsegment:
            yield subsegment

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        if not _sdk_enabled():
            yield _NoSegment()
            return
        async with self._xray().in_subsegment_async(name=name, **kwargs) as subsegment:
            yield subsegment

    def put_annotation(self, key: str, value: Any) -> None:
        if _sdk_enabled():
            self._xray().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        if _sdk_enabled():
            self._xray().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        self._modules = tuple(modules)
        self._load_if_ahead_of_requests()

    def patch_all(self) -> None:
        self._modules = None
        self._load_if_ahead_of_requests()

    def _load_if_ahead_of_requests(self) -> None:
        # The tracer patches only when tracing is on; Lambda names how this environment was started.
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand") != "on-demand":
            self._xray()


#: Structured JSON logs of the handler: the service from POWERTOOLS_SERVICE_NAME, the level from
#: POWERTOOLS_LOG_LEVEL.
logger = Logger()
#: CloudWatch metrics (EMF) in POWERTOOLS_METRICS_NAMESPACE, with the service as a dimension; published
#: by ``metrics.log_metrics`` at the end of an invocation.
metrics = Metrics()
#: X-Ray traces of every invocation, botocore's calls included (see the module's docstring).
tracer = Tracer(provider=DeferredXRayProvider(), patch_modules=PATCHED_MODULES)


#: The message of a call's summary line: one per call of a function, whatever its source.
CALL_MESSAGE = "call"


def _caller_keys(identity: Identity | None) -> dict[str, str | None]:
    if identity is None:
        return {"organization": None, "user_id": None, "role": None}
    return {"organization": identity.organizationId, "user_id": identity.userId, "role": identity.role}


def bind_caller(identity: Identity | None) -> None:
    """Every later line of the invocation names the caller: its organization, user id and role."""
    logger.append_keys(**_caller_keys(identity))


def log_call(
    function: str,
    *,
    source: str,
    request_id: str | None,
    identity: Identity | None,
    http_status: int,
    code: str | None,
    started: float,
    units: Units | None = None,
    organization: str | None = None,
) -> None:
    """A call's summary line (``"message": "call"``): the function, the caller, success or error with
    its code, the HTTP status it maps to, the time it took and the request id that the error envelope
    carries, and the DynamoDB read and write units the call consumed (``rcu``, ``wcu``: ``units``, as
    :func:`ontology.data.dynamodb.consumed` summed them). Every field is given here rather than taken
    from the appended keys, so that a line is whole even when invocations share a process (the local
    stack runs them on threads). ``organization``: the call's, where the caller has none (a job the
    platform scheduled for an organization)."""
    caller = _caller_keys(identity)
    if caller["organization"] is None:
        caller["organization"] = organization
    logger.info(
        CALL_MESSAGE,
        extra={
            "function": function,
            "source": source,
            "request_id": request_id,
            **caller,
            "status": "error" if http_status >= 400 else "success",
            "http_status": http_status,
            "code": code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "rcu": round(units.read, 2) if units is not None else 0,
            "wcu": round(units.write, 2) if units is not None else 0,
        },
    )
