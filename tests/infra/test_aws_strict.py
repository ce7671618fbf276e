"""AWS-strict mode (``ONE_LOCAL_STRICT``): each facet makes the local stack behave as AWS documents
where the default, faster stack does not. These check the local stack's side, in-process on moto;
the platform's side (that it copes) is checked where each behaviour matters."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local import strict

pytestmark = pytest.mark.aws_strict


@pytest.fixture
def strict_mode() -> Iterator[Callable[..., strict.Strict]]:
    """``strict_mode("gsi-lag", gsi_lag_ms=200)``: those facets in force until the test ends."""
    before = strict.current()

    def use(*facets: str, **settings: Any) -> strict.Strict:
        return strict.configure(strict.Strict(facets=frozenset(facets), **settings))

    try:
        yield use
    finally:
        strict.configure(before)


# --------------------------------------------------------------------------------------- settings


def test_strict_mode_is_off_unless_asked_for() -> None:
    assert strict.Strict.from_env({}).facets == frozenset()
    assert strict.Strict.from_env({"ONE_LOCAL_STRICT": "0"}).facets == frozenset()
    assert strict.Strict.from_env({"ONE_LOCAL_STRICT": "1"}).facets == frozenset(strict.FACETS)
    some = strict.Strict.from_env({"ONE_LOCAL_STRICT": "gsi-lag, ttl", "ONE_LOCAL_GSI_LAG_MS": "250"})
    assert some.facets == {"gsi-lag", "ttl"} and some.gsi_lag_ms == 250
    with pytest.raises(ValueError, match="unknown facet"):
        strict.Strict.from_env({"ONE_LOCAL_STRICT": "gsi-lag,latency"})


# -------------------------------------------------------------------------------------------- ttl


def _put_expiring(table: str, key: str, expired_seconds_ago: float) -> None:
    import boto3

    boto3.client("dynamodb", region_name="us-east-1").put_item(
        TableName=table,
        Item={
            "pk": {"S": key},
            "sk": {"S": "R"},
            "ttl": {"N": str(int(time.time() - expired_seconds_ago))},
        },
    )


def _present(table: str, key: str) -> bool:
    import boto3

    got = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=table, Key={"pk": {"S": key}, "sk": {"S": "R"}}
    )
    return "Item" in got


def test_by_default_expired_items_go_at_the_next_sweep(table: str) -> None:
    from infra.local.moto_patches import expire_ttl_items

    _put_expiring(table, "a", 60)
    assert expire_ttl_items() == 1 and not _present(table, "a")


def test_strict_ttl_keeps_expired_items_for_days(
    table: str, strict_mode: Callable[..., strict.Strict]
) -> None:
    from infra.local.moto_patches import STRICT_TTL_DELAY, expire_ttl_items

    strict_mode("ttl")
    for key in ("a", "b", "c"):
        _put_expiring(table, key, 3600)
    assert expire_ttl_items() == 0
    assert all(_present(table, k) for k in "abc")  # an hour past expiry: still read
    assert expire_ttl_items(now=time.time() + STRICT_TTL_DELAY[1]) == 3
