"""The limiter's rules: the client address it trusts, Better Auth's defaults and their settings, the
fixed windows counted in DynamoDB, the backoff, and the function runtime's per-session count."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ontology.auth import ratelimit
from ontology.auth.ratelimit import Rule
from ontology.errors import RateLimitedError
from ontology.settings import configure

VERIFY = "origin-verify-value-0123456789abcdefghijklmnop"


@pytest.fixture(autouse=True)
def _settings_as_they_were() -> Any:
    yield
    configure(None)


@pytest.fixture
def distribution() -> None:
    configure(origin_verify=VERIFY)


def cloudfront(forwarded_for: str, verify: str = VERIFY) -> dict[str, str]:
    return {"x-forwarded-for": forwarded_for, "x-one-origin-verify": verify}


def test_a_direct_request_is_its_source_ip_whatever_it_forwards(distribution: None) -> None:
    assert ratelimit.client_address("198.51.100.4", {"x-forwarded-for": "192.0.2.1"}) == "198.51.100.4"
    wrong = cloudfront("192.0.2.1", verify="not-the-value-0123456789abcdefghijklmnop")
    assert ratelimit.client_address("198.51.100.4", wrong) == "198.51.100.4"
    assert ratelimit.client_address("not an address", {}) is None


def test_through_the_distribution_the_viewer_is_cloudfront_s_entry(distribution: None) -> None:
    edge = "130.176.1.1"
    # what the viewer sent, then the viewer as CloudFront appends it
    assert ratelimit.client_address(edge, cloudfront("10.0.0.1, 203.0.113.5")) == "203.0.113.5"
    # API Gateway's own entry (the CloudFront server) after it is not the viewer
    assert ratelimit.client_address(edge, cloudfront(f"10.0.0.1, 203.0.113.5, {edge}")) == "203.0.113.5"
    # an entry that is not an address: the source, never a guess
    assert ratelimit.client_address(edge, cloudfront("203.0.113.5, junk")) == edge
    assert ratelimit.client_address(edge, cloudfront("")) == edge


def test_without_a_configured_value_nothing_is_taken_as_the_distribution_s() -> None:
    configure(origin_verify="")
    assert ratelimit.client_address("198.51.100.4", cloudfront("203.0.113.5", verify="")) == "198.51.100.4"
    assert ratelimit.client_address("198.51.100.4", cloudfront("203.0.113.5")) == "198.51.100.4"


def test_ipv6_is_keyed_by_its_64_and_mapped_ipv4_by_the_ipv4() -> None:
    assert ratelimit.client_address("2001:db8:1:2:aaaa::1", {}) == "2001:db8:1:2::/64"
    assert ratelimit.client_address("2001:DB8:1:2:bbbb::9", {}) == "2001:db8:1:2::/64"
    assert ratelimit.client_address("::ffff:192.0.2.7", {}) == "192.0.2.7"


def test_the_origin_value_is_read_from_its_secret_in_aws(aws: None) -> None:
    import boto3

    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="origin-verify", SecretString=VERIFY
    )["ARN"]
    configure(None)
    configure(origin_verify="", origin_secret_arn=arn)
    assert ratelimit.client_address("130.176.1.1", cloudfront("203.0.113.5")) == "203.0.113.5"
    assert ratelimit.client_address("130.176.1.1", cloudfront("203.0.113.5", "x" * 48)) == "130.176.1.1"


def test_better_auth_s_defaults() -> None:
    configure(None)
    for path in ("/sign-in/email", "/sign-in/social", "/sign-up/email", "/change-password", "/change-email"):
        assert ratelimit.auth_rule(path) == Rule(10, 3), path
    for path in ("/request-password-reset", "/forget-password", "/send-verification-email"):
        assert ratelimit.auth_rule(path) == Rule(60, 3), path
    for path in (
        "/get-session",
        "/sign-out",
        "/verify-email",
        "/reset-password/{token}",
        "/callback/{provider}",
    ):
        assert ratelimit.auth_rule(path) == Rule(10, 100), path


def test_the_limits_are_settable_as_better_auth_s_options() -> None:
    configure(
        rate_limit='{"window": 60, "max": 30, "customRules": {"/sign-in/email": {"window": 30, "max": 5},'
        ' "/get-session": false, "/callback/*": {"window": 5, "max": 2}}}'
    )
    assert ratelimit.auth_rule("/sign-in/email") == Rule(30, 5)
    assert ratelimit.auth_rule("/sign-in/social") == Rule(10, 3)  # Better Auth's special rule stays
    assert ratelimit.auth_rule("/get-session") is None
    assert ratelimit.auth_rule("/callback/{provider}") == Rule(5, 2)
    assert ratelimit.auth_rule("/sign-out") == Rule(60, 30)
    configure(rate_limit='{"enabled": false}')
    assert ratelimit.auth_rule("/sign-in/email") is None
    configure(rate_limit="{not json")  # a typo never turns the limits off
    assert ratelimit.auth_rule("/sign-in/email") == Rule(10, 3)


def test_the_function_call_limit_setting() -> None:
    configure(None)
    assert ratelimit.function_call_rule() == Rule(60, 1000)  # the default
    configure(function_call_limit="5/3600")
    assert ratelimit.function_call_rule() == Rule(3600, 5)
    configure(function_call_limit="off")
    assert ratelimit.function_call_rule() is None
    configure(function_call_limit="many")
    assert ratelimit.function_call_rule() == Rule(60, 1000)


def test_a_fixed_window_counted_in_the_table(table: str) -> None:
    from ontology.data.dynamodb import default_store

    rule = Rule(10, 3)
    assert [ratelimit.hit("auth", "k", rule, "slow down", now=1003.5) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(RateLimitedError) as err:
        ratelimit.hit("auth", "k", rule, "slow down", now=1007.2)
    assert err.value.data["retryAfter"] == 3 and err.value.message == "slow down"
    assert ratelimit.hit("auth", "other", rule, "slow down", now=1007.2) == 1  # another key
    assert ratelimit.hit("auth", "k", rule, "slow down", now=1010.0) == 1  # the next window
    item = default_store().get(ratelimit._pk("auth", "k", 10, 1000), "R")
    assert item is not None and item["tb"] == "_rate" and item["ttl"] == 1070
    assert item["pk"].startswith("platform#rate#auth#") and "k" not in item["pk"].split("#")[-2]


def test_backoff_waits_double_from_the_free_failures_on() -> None:
    policy = ratelimit.Backoff(free=5, base=60, cap=3600)
    assert [policy.delay(n) for n in range(1, 13)] == [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_backoff_forgets_failures_after_its_memory_though_ttl_has_not_deleted_them(table: str) -> None:
    """DynamoDB's TTL deletes an expired item days later, not at its expiry: failures older than the
    policy's memory are forgotten by the read itself, and counting starts again."""
    from ontology.data.dynamodb import default_store

    policy = ratelimit.Backoff(free=10, base=60, cap=3600, memory=100)
    for i in range(4):  # four failures in a row, 10 s apart
        state = ratelimit.backoff_check("signin", "k", "wait", now=1000 + 10 * i)
        ratelimit.backoff_failed("signin", "k", state, policy, now=1000 + 10 * i)
    assert default_store().get(ratelimit._backoff_pk("signin", "k"), "R")["n"] == 4
    later = 1030 + policy.memory + 1  # past the memory of the last failure; the item is still there
    assert default_store().get(ratelimit._backoff_pk("signin", "k"), "R") is not None
    assert ratelimit.backoff_check("signin", "k", "wait", now=later) is None
    ratelimit.backoff_failed("signin", "k", None, policy, now=later)
    again = ratelimit.backoff_check("signin", "k", "wait", now=later + 1)
    assert again is not None and again["n"] == 1


def test_a_session_s_calls_are_counted_and_the_platform_s_are_not(table: str) -> None:
    from ontology.auth.identity import Identity

    configure(function_call_limit="2/3600")
    signed = Identity("usr_1", "org_1", "org_owner", sessionId="ses_1")
    ratelimit.check_function_call(signed)
    ratelimit.check_function_call(signed)
    with pytest.raises(RateLimitedError) as err:
        ratelimit.check_function_call(signed)
    assert err.value.data["retryAfter"] >= 1
    ratelimit.check_function_call(Identity("usr_2", "org_1", "org_owner", sessionId="ses_2"))
    for _ in range(3):
        ratelimit.check_function_call(Identity("system", "org_1", "platform_owner"))
        ratelimit.check_function_call(None)


def test_the_runtime_counts_client_calls_not_subscription_re_runs(table: str) -> None:
    from ontology.auth.identity import Identity
    from ontology.runtime.handler import handle
    from ontology.runtime.registry import resolve

    configure(function_call_limit="2/3600")
    fn = resolve("entities:list")
    auth = Identity("usr_1", "org_1", "org_owner", sessionId="ses_9").to_context()
    args = {"paginationOpts": {"numItems": 1, "cursor": None}}

    def call(counted: bool) -> dict[str, Any]:
        result: dict[str, Any] = handle(
            fn, {"_sync": {"args": args, "auth": auth, "reads": True, "limit": counted}}
        )
        return result

    assert [call(True)["status"], call(True)["status"]] == ["success", "success"]
    refused = call(True)
    assert refused["status"] == "error" and refused["errorData"]["code"] == "RATE_LIMITED"
    assert call(False)["status"] == "success"  # a subscription's re-run is the platform's doing


def _shared_count(session: str, rule: ratelimit.Rule) -> int:
    from ontology.data.dynamodb import default_store

    start = int(time.time() // rule.window) * rule.window
    item = default_store().get(ratelimit._pk("call", session, rule.window, start), "R")
    return int(item["n"]) if item else 0


def test_a_session_s_calls_are_added_to_the_shared_count_a_batch_at_a_time(table: str) -> None:
    """1000 a window: an instance adds its calls ten at a time (a tenth of a write unit a call)."""
    from ontology.auth.identity import Identity

    configure(function_call_limit="1000/3600")
    rule = ratelimit.function_call_rule()
    assert rule is not None and ratelimit.batch_size(rule) == 10
    signed = Identity("usr_1", "org_1", "org_owner", sessionId="ses_batch")
    for _ in range(9):
        ratelimit.check_function_call(signed)
    assert _shared_count("ses_batch", rule) == 0
    ratelimit.check_function_call(signed)
    assert _shared_count("ses_batch", rule) == 10
    for _ in range(15):
        ratelimit.check_function_call(signed)
    assert _shared_count("ses_batch", rule) == 20


def test_batched_counting_refuses_at_the_limit_and_instances_overshoot_by_a_batch_at_most(
    table: str,
) -> None:
    """One instance refuses the call past the limit exactly (it adds its calls at once when its view
    would pass it); two instances admit at most a batch less one each beyond it."""
    from ontology.auth.identity import Identity

    configure(function_call_limit="300/3600")
    rule = ratelimit.function_call_rule()
    assert rule is not None and ratelimit.batch_size(rule) == 3
    signed = Identity("usr_1", "org_1", "org_owner", sessionId="ses_exact")
    for _ in range(300):
        ratelimit.check_function_call(signed)
    with pytest.raises(RateLimitedError):
        ratelimit.check_function_call(signed)
    assert _shared_count("ses_exact", rule) == 301

    # two Lambda instances, each with its own view, taking turns at one session's calls
    views: list[dict[Any, Any]] = [{}, {}]
    other = Identity("usr_2", "org_1", "org_owner", sessionId="ses_two")
    admitted = refused = 0
    for turn in range(400):
        saved = dict(ratelimit._batched)
        ratelimit._batched.clear()
        ratelimit._batched.update(views[turn % 2])
        try:
            ratelimit.check_function_call(other)
            admitted += 1
        except RateLimitedError:
            refused += 1
        views[turn % 2] = dict(ratelimit._batched)
        ratelimit._batched.clear()
        ratelimit._batched.update(saved)
    assert 300 <= admitted <= 300 + 2 * (ratelimit.batch_size(rule) - 1) and refused == 400 - admitted
