"""The platform's public URL: the origin of every absolute URL it hands out (verification, reset and
invitation links, the OAuth ``redirect_uri``) and the origin it trusts for cookie requests.

``ONE_AUTH_BASE_URL`` when set (a custom domain, or the local stack's address); else the SSM parameter
``ONE_PUBLIC_URL_PARAMETER`` names, read once per cold start (in AWS the template keeps the CloudFront
distribution's URL there, since no function's environment can name the distribution that fronts the
API invoking it); else, in a local process, the local stack's default address. Never a request's
``Host`` or ``X-Forwarded-*``: those are the caller's to choose.

Example::

    from ontology.public_url import public_url
    link = f"{public_url()}/accept-invitation?token={token}"
"""

from __future__ import annotations

import threading

from ontology.aws import client
from ontology.errors import InternalError
from ontology.settings import get_settings

__all__ = ["LOCAL_PUBLIC_URL", "public_url"]

#: The local stack's front door at its default port: the public URL when nothing else names one.
LOCAL_PUBLIC_URL = "http://127.0.0.1:3210"

_read: dict[str, str] = {}
_lock = threading.Lock()


def public_url() -> str:
    """The public base URL, without a trailing slash."""
    settings = get_settings()
    if settings.public_base_url:
        return settings.public_base_url
    name = settings.public_url_parameter
    if name:
        with _lock:
            if name not in _read:
                value = client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
                _read[name] = str(value).strip().rstrip("/")
            return _read[name]
    if settings.local:
        return LOCAL_PUBLIC_URL
    raise InternalError("The public URL is not configured: set ONE_AUTH_BASE_URL or ONE_PUBLIC_URL_PARAMETER")
