"""One POST to a provider's HTTP API with bounded retries (httpx and tenacity, both in the layer).

Timeouts, connection errors, 429 and 5xx are retried (``attempts``, jittered backoff), then
UPSTREAM_ERROR; any other error status is UPSTREAM_ERROR at once with the provider's own message (as
``message(response)`` reads it). Within an invocation every attempt waits at most what the invocation
has left (:mod:`ontology.deadline`), and no attempt starts without a second of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ontology import deadline
from ontology.errors import UpstreamError

__all__ = ["post"]


class _RetryableError(Exception):
    pass


def post(
    client: Any,
    url: str,
    *,
    provider: str,
    message: Callable[[Any], str],
    attempts: int = 3,
    **kwargs: Any,
) -> Any:
    import httpx
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

    def once() -> Any:
        left = deadline.remaining()
        if left is not None and left < 2 * deadline.MARGIN_SECONDS:
            raise UpstreamError(f"{provider}: no time left to wait for an answer")
        timeout = {} if left is None else {"timeout": deadline.budget(60.0)}
        try:
            resp = client.post(url, **{**kwargs, **timeout})
        except httpx.HTTPError as exc:
            raise _RetryableError(f"{provider}: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _RetryableError(f"{provider} answered {resp.status_code}")
        if resp.status_code >= 400:
            raise UpstreamError(f"{provider}: {message(resp)}", status=resp.status_code)
        return resp

    try:
        for attempt in Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception_type(_RetryableError),
            reraise=True,
        ):
            with attempt:
                return once()
    except _RetryableError as exc:
        raise UpstreamError(f"{exc} (after {attempts} attempts)") from None
    raise AssertionError("unreachable")  # pragma: no cover
