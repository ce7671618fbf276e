"""S3's checks of a presigned request, which moto skips: expiry and the signature itself.

A presigned URL carries its signature in the query (``X-Amz-Algorithm``, ``X-Amz-Credential``,
``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``). S3 refuses the
request once ``X-Amz-Date + X-Amz-Expires`` has passed (403 ``AccessDenied``, "Request has
expired"), and recomputes the signature over the request as it arrives: the method, the path, every
query parameter but the signature and the value of every header named in ``X-Amz-SignedHeaders``.
The platform's upload URLs sign ``content-type`` and ``content-length``, so an upload of another
type or size does not match (403 ``SignatureDoesNotMatch``). The signature is recomputed with
botocore's own SigV4 code, the signer's secret being that of moto's STS session (a function's role)
or this process's own credentials; a URL signed with credentials the stack does not know (moto
accepts any), or with the legacy SigV2, is checked for expiry only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from moto.core.exceptions import _RESTError

__all__ = ["S3Error", "is_presigned", "own_secret", "verify"]

MAX_EXPIRES_SECONDS = 7 * 24 * 3600


class S3Error(_RESTError):
    """An S3 error as S3 writes it: ``<Error><Code>…</Code><Message>…</Message>…</Error>``."""

    def __init__(self, code: str, message: str, status: int = 403, **fields: str) -> None:
        super().__init__(code, message)
        self.code = status
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
        self.description = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>local</HostId></Error>"
        )


def own_secret(access_key: str | None) -> str | None:
    """This process's own secret key, when ``access_key`` is this process's (the stack's)."""
    if access_key and access_key == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


def is_presigned(query: Mapping[str, str]) -> bool:
    """Whether a request carries its signature in its query (SigV4's or the legacy SigV2's)."""
    return "X-Amz-Signature" in query or ("Signature" in query and "Expires" in query)


def _expired(expires_at: float, now: float, **fields: str) -> S3Error:
    return S3Error(
        "AccessDenied",
        "Request has expired",
        403,
        **fields,
        Expires=datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ServerTime=datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def verify(response: Any, query: Mapping[str, str], secret: str | None, now: float | None = None) -> None:
    """Raise S3's error for a presigned request that has expired or does not match its signature
    (``response``: moto's request handler; ``secret``: the signer's secret key, None if unknown). A
    legacy SigV2 URL (``Signature``, ``Expires``: what boto3 makes without ``s3v4``) is checked for
    expiry only."""
    current = time.time() if now is None else now
    if "X-Amz-Signature" not in query:
        try:
            expires_at = float(query["Expires"])
        except (KeyError, ValueError):
            raise S3Error("AccessDenied", "Query-string authentication requires Expires") from None
        if current > expires_at:
            raise _expired(expires_at, current)
        return
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise S3Error(
            "AuthorizationQueryParametersError",
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            status=400,
        )
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"])
        scope = query["X-Amz-Credential"].split("/")
        access_key, day, region, service = scope[0], scope[1], scope[2], scope[3]
        signed_headers = query["X-Amz-SignedHeaders"].split(";")
        signature = query["X-Amz-Signature"]
    except (KeyError, ValueError, IndexError):
        raise S3Error(
            "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            status=400,
        ) from None
    if not 1 <= expires <= MAX_EXPIRES_SECONDS:
        raise S3Error(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            status=400,
        )
    if current > signed_at.timestamp() + expires:
        raise _expired(signed_at.timestamp() + expires, current, **{"X-Amz-Expires": str(expires)})
    if secret is None:
        return
    expected = signature_of(
        method=response.method,
        path=response.raw_path,
        query={k: v for k, v in query.items() if k != "X-Amz-Signature"},
        headers={h: response.headers.get(h) for h in signed_headers},
        secret=secret,
        access_key=access_key,
        token=query.get("X-Amz-Security-Token"),
        region=region,
        service=service,
        amz_date=query["X-Amz-Date"],
        day=day,
    )
    if expected != signature:
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key,
            SignatureProvided=signature,
        )


def signature_of(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str | None],
    secret: str,
    access_key: str,
    token: str | None,
    region: str,
    service: str,
    amz_date: str,
    day: str,
) -> str | None:
    """The SigV4 query signature of a request (botocore's canonical request and signing key); None
    when a signed header is missing from the request (nothing it could match)."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if any(v is None for v in headers.values()) or amz_date[:8] != day:
        return None
    host = headers.get("host") or "localhost"
    request = AWSRequest(
        method=method,
        url=f"http://{host}{path}",
        headers={k: str(v) for k, v in headers.items()},
        params=dict(query),
    )
    request.context["timestamp"] = amz_date
    auth = S3SigV4QueryAuth(Credentials(access_key, secret, token), service, region)
    canonical = auth.canonical_request(request)
    result: str = auth.signature(auth.string_to_sign(request, canonical), request)
    return result
