"""Rate limits, counted in DynamoDB so that every Lambda instance sees the same count.

Three limits (docs/auth.md: what each costs and how to set it):

- **Better Auth's, per client address and path** (:func:`check_auth_request`), with its defaults:
  100 requests per 10 s; ``/sign-in*``, ``/sign-up*``, ``/change-password*``, ``/change-email*``: 3 per
  10 s; ``/request-password-reset``, ``/send-verification-email``, ``/forget-password*``: 3 per 60 s.
  ``ONE_RATE_LIMIT`` takes Better Auth's ``rateLimit`` options as JSON (``enabled``, ``window``,
  ``max``, ``customRules``: a path, or a pattern with ``*``, to ``{"window", "max"}`` or ``false``).
- **Sign-in failures per client address and account**, with backoff (:func:`backoff_check`,
  :func:`backoff_failed`, used by ontology.auth.accounts): the address is refused for that account,
  never the account for everyone.
- **Function calls per session** (:func:`check_function_call`): ``ONE_FUNCTION_CALL_LIMIT``
  (``<max>/<window seconds>``, default ``1000/60``; ``off``), checked by the function runtime before a
  function runs. Counted in batches (:func:`hit_batched`): a Lambda instance adds a session's calls to
  the shared count every ``max // 100`` calls (1 for a limit under 200), and at once when its own
  view of the count would pass the limit, so a call costs a tenth of a write unit instead of one.

A limit is a fixed window: one item per (key, rule, window), ``pk`` =
``platform#rate#<kind>#<hash of key and rule>#<window start>``, ``sk`` = ``R``, counted by one atomic
``UpdateItem`` (``ADD n 1``, answering the new count: one write unit), expiring by TTL after its window.
A key is one client address, session or (address, account): no item is shared by many callers, so
there is no hot key; the hash keeps addresses and emails out of the table.

The client address (:func:`client_address`) is API Gateway's ``sourceIp`` (the TCP peer: nobody can
forge it), or, for a request that proves it came through the template's CloudFront distribution (the
origin-verify header the distribution adds, a generated secret), the entry CloudFront appended to
``X-Forwarded-For``. Every other entry of that header is whatever the client sent, and is never used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ontology.data.schema import PLATFORM_SCOPE
from ontology.errors import RateLimitedError, UpstreamError
from ontology.settings import get_settings

__all__ = [
    "DEFAULT_MAX",
    "DEFAULT_WINDOW",
    "ORIGIN_VERIFY_HEADER",
    "RATE_PREFIX",
    "Backoff",
    "Rule",
    "auth_rule",
    "backoff_check",
    "backoff_clear",
    "backoff_failed",
    "check_auth_request",
    "check_function_call",
    "client_address",
    "function_call_rule",
    "hit",
    "hit_batched",
]

log = logging.getLogger(__name__)

RATE_PREFIX = f"{PLATFORM_SCOPE}#rate#"
RATE_SK = "R"
RATE_TB = "_rate"
#: The header the CloudFront distribution adds to every request it forwards to the HTTP API.
ORIGIN_VERIFY_HEADER = "x-one-origin-verify"
#: The key of callers whose address is unknown: they share one bucket (Better Auth fails closed so).
NO_TRUSTED_IP = "no-trusted-ip"

#: Better Auth's defaults (``rateLimit.window`` and ``rateLimit.max``).
DEFAULT_WINDOW, DEFAULT_MAX = 10, 100


@dataclass(frozen=True)
class Rule:
    """At most ``max`` requests per ``window`` seconds."""

    window: int  # seconds
    max: int


def _sign_in_like(path: str) -> bool:
    return path.startswith(("/sign-in", "/sign-up", "/change-password", "/change-email"))


def _sends_email(path: str) -> bool:
    return path in (
        "/request-password-reset",
        "/send-verification-email",
        "/email-otp/send-verification-otp",
        "/email-otp/request-password-reset",
    ) or path.startswith("/forget-password")


#: Better Auth's special rules, in its order (the first that matches wins).
SPECIAL_RULES = ((_sign_in_like, Rule(10, 3)), (_sends_email, Rule(60, 3)))


# ------------------------------------------------------------------------------------ counting


def _store() -> Any:
    from ontology.data.dynamodb import default_store

    return default_store()


def _pk(kind: str, key: str, window: int, start: int) -> str:
    digest = hashlib.sha256(f"{kind}|{window}|{key}".encode()).hexdigest()[:32]
    return f"{RATE_PREFIX}{kind}#{digest}#{start}"


def hit(kind: str, key: str, rule: Rule, message: str, *, now: float | None = None) -> int:
    """Count one request of ``key`` in its current window of ``rule``: the count, or RATE_LIMITED
    (``retryAfter``: seconds until the window ends) past ``rule.max``. One UpdateItem."""
    now = time.time() if now is None else now
    return _refused_past(_add(kind, key, rule, now, 1), rule, message, now)


def _refused_past(count: int, rule: Rule, message: str, now: float) -> int:
    """``count``, or RATE_LIMITED (``retryAfter``: seconds until the window ends) past ``rule.max``."""
    if count > rule.max:
        end = int(now // rule.window) * rule.window + rule.window
        raise RateLimitedError(message, retryAfter=max(1, math.ceil(end - now)))
    return count


def _add(kind: str, key: str, rule: Rule, now: float, n: int) -> int:
    """Add ``n`` to ``key``'s count in its current window of ``rule``: the count. One UpdateItem."""
    from botocore.exceptions import BotoCoreError, ClientError

    start = int(now // rule.window) * rule.window
    end = start + rule.window
    try:
        item = _store().update(
            _pk(kind, key, rule.window, start),
            RATE_SK,
            "SET #tb = :tb, #ttl = :ttl ADD #n :n",
            {"#tb": "tb", "#ttl": "ttl", "#n": "n"},
            {":tb": {"S": RATE_TB}, ":ttl": {"N": str(end + 60)}, ":n": {"N": str(n)}},
        )
    except (BotoCoreError, ClientError) as exc:
        raise UpstreamError("The rate limiter could not count this request; try again") from exc
    return int(item.get("n", n))


#: A Lambda instance's view of each (kind, key, rule, window) it counts in batches: the shared count it
#: last read, and its calls not added to it yet.
_batched: dict[tuple[str, str, Rule, int], list[int]] = {}
_batched_lock = threading.Lock()


def batch_size(rule: Rule) -> int:
    """How many calls an instance adds to the shared count at once: a hundredth of the limit."""
    return max(1, rule.max // 100)


def hit_batched(kind: str, key: str, rule: Rule, message: str, *, now: float | None = None) -> int:
    """Count one request of ``key`` as :func:`hit` does, adding it to the shared count in batches of
    :func:`batch_size`: one UpdateItem per batch, and one whenever this instance's view of the count
    (the shared count it last read plus its own calls since) would pass ``rule.max``, so that a refusal
    is always the shared count's. What a batch leaves unadded when its window ends is not counted:
    ``n`` instances together admit at most ``n * (batch_size - 1)`` calls more than ``rule.max`` in a
    window. The count as this instance knows it; RATE_LIMITED past ``rule.max``."""
    now = time.time() if now is None else now
    start = int(now // rule.window) * rule.window
    slot = (kind, key, rule, start)
    with _batched_lock:
        if len(_batched) > 10_000:  # windows that ended, of keys gone quiet
            for old in [k for k in _batched if k[3] + k[2].window <= now]:
                del _batched[old]
        view = _batched.setdefault(slot, [0, 0])
        view[1] += 1
        known, pending = view
        if pending < batch_size(rule) and known + pending <= rule.max:
            return known + pending
        view[1] = 0
    try:
        count = _add(kind, key, rule, now, pending)
    except UpstreamError:
        with _batched_lock:
            view[1] += pending  # counted with the next batch
        raise
    with _batched_lock:
        view[0] = max(view[0], count)
    return _refused_past(count, rule, message, now)


# --------------------------------------------------------------------------- the client address


def _address(value: str | None) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def _normalized(address: Any) -> str:
    """IPv4 as is; an IPv4-mapped IPv6 address as its IPv4; other IPv6 as its /64 (one host's
    prefix, as Better Auth keys it: a host has a whole /64 to pick addresses from)."""
    import ipaddress

    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


_origin_lock = threading.Lock()
_origin_cache: dict[str, str] = {}


def _origin_secret() -> str:
    """The origin-verify value: the setting (local stack, tests), else the generated secret the
    template gives the auth function (read once per container)."""
    settings = get_settings()
    if settings.origin_verify or not settings.origin_secret_arn:
        return settings.origin_verify
    arn = settings.origin_secret_arn
    with _origin_lock:
        if arn not in _origin_cache:
            from ontology.aws import client

            try:
                _origin_cache[arn] = str(
                    client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
                )
            except Exception:  # the request is then taken as a direct one (keyed on its sourceIp)
                log.exception("the origin-verify secret could not be read")
                return ""
        return _origin_cache[arn]


def _through_distribution(headers: Mapping[str, str]) -> bool:
    presented = headers.get(ORIGIN_VERIFY_HEADER)
    if not presented:
        return False
    secret = _origin_secret()
    return bool(secret) and hmac.compare_digest(presented.encode(), secret.encode())


def client_address(source_ip: str | None, headers: Mapping[str, str]) -> str | None:
    """Who is calling, as far as the platform can tell without trusting the caller.

    ``source_ip`` is API Gateway's ``requestContext.http.sourceIp`` (Starlette's ``request.client``
    through Mangum): the TCP peer, which nobody can forge. A request straight to the HTTP API is
    keyed on it. Behind the template's CloudFront distribution the peer is a CloudFront server, and
    the viewer's address is the entry CloudFront *appended* to ``X-Forwarded-For``: the entries before
    it are whatever the client sent (anyone can prepend anything), and API Gateway may append the
    peer itself after it. So the viewer is the last entry once a trailing copy of ``source_ip`` is
    dropped, and only for a request carrying the distribution's origin-verify header (a secret a
    direct caller does not have): without it the header is the client's word and is ignored. IPv6
    is keyed by its /64. ``None``: no valid address at all.
    """
    source = _address(source_ip)
    if _through_distribution(headers):
        entries = [e.strip() for e in (headers.get("x-forwarded-for") or "").split(",") if e.strip()]
        if entries and source is not None and _address(entries[-1]) == source:
            entries.pop()  # API Gateway's own entry: the CloudFront server that connected to it
        viewer = _address(entries[-1]) if entries else None
        if viewer is not None:
            return _normalized(viewer)
    return _normalized(source) if source is not None else None


# --------------------------------------------------------------------------- Better Auth's limit


@dataclass(frozen=True)
class AuthLimits:
    """Better Auth's ``rateLimit`` options (``ONE_RATE_LIMIT``): the default rule and the custom ones."""

    enabled: bool = True
    window: int = DEFAULT_WINDOW
    max: int = DEFAULT_MAX
    #: (path or pattern, rule or None for no limit), in the order given
    custom: tuple[tuple[str, Rule | None], ...] = ()


_parsed: dict[str, AuthLimits] = {}


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _limits(raw: str) -> AuthLimits:
    if raw not in _parsed:
        limits = AuthLimits()
        if raw.strip():
            try:
                options = json.loads(raw)
                if not isinstance(options, dict):
                    raise ValueError("not a JSON object")
                custom: list[tuple[str, Rule | None]] = []
                for path, rule in (options.get("customRules") or {}).items():
                    if rule is False:
                        custom.append((str(path), None))
                    elif isinstance(rule, dict):
                        window = _positive(rule.get("window"), DEFAULT_WINDOW)
                        custom.append((str(path), Rule(window, _positive(rule.get("max"), DEFAULT_MAX))))
                limits = AuthLimits(
                    enabled=options.get("enabled", True) is not False,
                    window=_positive(options.get("window"), DEFAULT_WINDOW),
                    max=_positive(options.get("max"), DEFAULT_MAX),
                    custom=tuple(custom),
                )
            except (ValueError, AttributeError):
                # a typo never turns the limits off: Better Auth's defaults stand
                log.error("ONE_RATE_LIMIT is not valid JSON options; Better Auth's defaults apply")
        _parsed[raw] = limits
    return _parsed[raw]


def auth_rule(path: str) -> Rule | None:
    """The rule of an auth endpoint (``path`` below ``/api/auth``, as Better Auth names it), or None
    when it is not limited: the custom rule that matches, else Better Auth's special rule, else its
    default window and max."""
    limits = _limits(get_settings().rate_limit)
    if not limits.enabled:
        return None
    for pattern, custom in limits.custom:
        if fnmatchcase(path, pattern) if "*" in pattern else path == pattern:
            return custom
    for matches, special in SPECIAL_RULES:
        if matches(path):
            return special
    return Rule(limits.window, limits.max)


def check_auth_request(path: str, address: str | None) -> None:
    """Count a request to an auth endpoint from ``address``; RATE_LIMITED past its rule."""
    rule = auth_rule(path)
    if rule is not None:
        hit("auth", f"{address or NO_TRUSTED_IP}|{path}", rule, "Too many requests. Please try again later.")


# ----------------------------------------------------------------------------- function calls


def function_call_rule() -> Rule | None:
    """``ONE_FUNCTION_CALL_LIMIT`` as a rule (``<max>/<window seconds>``), or None when ``off``."""
    raw = get_settings().function_call_limit.strip().lower()
    if raw in ("off", "0", "false", "no"):
        return None
    calls, _, window = raw.partition("/")
    try:
        rule = Rule(int(window or "60"), int(calls))
    except ValueError:
        log.error("ONE_FUNCTION_CALL_LIMIT is not <max>/<window seconds>; 1000/60 applies")
        return Rule(60, 1000)
    return rule if rule.window > 0 and rule.max > 0 else None


def check_function_call(identity: Any) -> None:
    """Count one function call of a signed-in session; RATE_LIMITED past the session's limit. Calls
    without a session (public functions called anonymously, the platform's own) are not counted."""
    session = getattr(identity, "sessionId", None)
    if not session:
        return
    rule = function_call_rule()
    if rule is not None:
        message = "Too many function calls from this session; try again later"
        hit_batched("call", str(session), rule, message)


# ----------------------------------------------------------------------------------- backoff


@dataclass(frozen=True)
class Backoff:
    """A key may fail ``free`` times; from then on each failure makes it wait ``base`` seconds,
    doubling, at most ``cap``; its failures are forgotten ``memory`` seconds after the last one."""

    free: int = 5
    base: int = 60
    cap: int = 3600
    memory: int = 24 * 3600

    def delay(self, failures: int) -> int:
        """The wait after the key's ``failures``-th failure in a row."""
        if failures < self.free:
            return 0
        return int(min(self.cap, self.base * 2 ** min(failures - self.free, 32)))


def _backoff_pk(kind: str, key: str) -> str:
    return f"{RATE_PREFIX}{kind}#{hashlib.sha256(f'{kind}|{key}'.encode()).hexdigest()[:32]}"


def backoff_check(kind: str, key: str, message: str, *, now: float | None = None) -> dict[str, Any] | None:
    """The key's backoff state (None: no failures), or RATE_LIMITED while it must wait. One
    consistent GetItem."""
    now = time.time() if now is None else now
    item: dict[str, Any] | None = _store().get(_backoff_pk(kind, key), RATE_SK)
    if item and float(item.get("ttl", 0)) <= now:
        # Forgotten: DynamoDB's TTL deletes the item only some time (up to days) after this.
        return None
    if item and float(item.get("until", 0)) > now:
        raise RateLimitedError(message, retryAfter=max(1, math.ceil(float(item["until"]) - now)))
    return item


def backoff_failed(
    kind: str, key: str, state: dict[str, Any] | None, policy: Backoff, *, now: float | None = None
) -> None:
    """One more failure of the key (``state`` as :func:`backoff_check` read it). One UpdateItem."""
    now = time.time() if now is None else now
    failures = int((state or {}).get("n", 0)) + 1
    # After a forgotten run of failures the item may still be there (TTL deletes it days later):
    # the count starts again rather than adding to it.
    count = " ADD #n :one" if state else ", #n = :one"
    _store().update(
        _backoff_pk(kind, key),
        RATE_SK,
        f"SET #tb = :tb, #until = :until, #ttl = :ttl{count}",
        {"#tb": "tb", "#until": "until", "#ttl": "ttl", "#n": "n"},
        {
            ":tb": {"S": RATE_TB},
            ":until": {"N": str(int(now) + policy.delay(failures))},
            ":ttl": {"N": str(int(now) + policy.memory)},
            ":one": {"N": "1"},
        },
    )


def backoff_clear(kind: str, key: str, state: dict[str, Any] | None) -> None:
    """Forget the key's failures (after a success); nothing to do when it had none."""
    if state:
        _store().delete(_backoff_pk(kind, key), RATE_SK)
