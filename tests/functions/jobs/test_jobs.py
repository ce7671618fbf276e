"""The reference's four jobs on small seeded data sets: exact effects, and idempotency per window
(the same window twice, or three times at once, changes nothing more). A cron over the
organizations schedules a job per organization (``ontology.services.fanout``): ``run`` fires it as
EventBridge does, then runs what it scheduled as the scheduler would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ontology import run_mutation, run_query
from ontology.runtime.context import invoke
from ontology.runtime.registry import resolve
from tests.functions.jobs.conftest import connect, creator, entity, insert, make_org

NOW = int(time.time() * 1000)


def fire(path: str, when: str) -> Any:
    """The cron's run, as EventBridge's event invokes it: what it answers."""
    return invoke(resolve(path), {"time": when}, None)


def run(path: str, when: str) -> Any:
    """The cron's run, then every job it scheduled (and they scheduled) that is due, each once."""
    from ontology.runtime.jobs import run_due

    fired = fire(path, when)
    states = run_due()
    assert set(states.values()) <= {"success"}, states
    return fired


def jobs_of(name: str) -> list[dict[str, Any]]:
    """The scheduled jobs of ``name``, in the order they were scheduled (but the next attempts a
    worker scheduled and cancelled once done)."""
    return run_query(
        lambda db: [
            j
            for j in db.query("scheduledFunctions").collect()
            if j["name"] == name and j["state"] != "canceled"
        ],
        org=None,
        platform=True,
    )


def three_at_once(fn: Callable[[], Any]) -> list[Any]:
    out: list[Any] = []
    barrier = threading.Barrier(3)

    def go() -> None:
        barrier.wait()
        out.append(fn())

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def count(org: str | None, table: str, index: str | None = None, **eq: Any) -> int:
    def q(db: Any) -> int:
        query = db.query(table)
        if index:
            query = query.with_index(
                index, lambda r: [r := r.eq(k, v) for k, v in eq.items()][-1] if eq else r
            )
        return len(query.collect())

    return run_query(q, org=org, platform=org is None)


def test_cleanup_expired_tokens(table: str) -> None:
    from ontology.auth.people import create_session

    org = make_org("Acme")
    user = run_query(lambda db: db.query("users").collect(), org=None, platform=True)[0]["_id"]
    for ttl in (-60_000, -1, -3_600_000, 3_600_000, 60_000):
        run_mutation(
            lambda db, ttl=ttl: create_session(db, user_id=user, org_id=org, ttl_ms=ttl),
            org=None,
            platform=True,
        )
    for i, expires in enumerate((NOW - 1, NOW - 10, NOW + 3_600_000)):
        token = {
            "identifier": f"u{i}@x.io",
            "token": f"h{i}",
            "expires": expires,
            "type": "email_verification",
        }
        run_mutation(lambda db, token=token: db.insert("verificationTokens", token), org=None, platform=True)
    invitation = {
        "identifier": "x@x.io",
        "token": "inv",
        "expires": NOW - 5,
        "type": "invitation",
        "data": {"organizationId": org, "role": "org_user"},
    }
    run_mutation(lambda db: db.insert("verificationTokens", invitation), org=None, platform=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    assert run("auth:cleanup_expired_tokens", when) == {"deleted": {"sessions": 3, "verificationTokens": 3}}
    assert count(None, "sessions") == 2 and count(None, "verificationTokens") == 1
    assert run("auth:cleanup_expired_tokens", when) == {"deleted": {"sessions": 0, "verificationTokens": 0}}


def _content_world() -> dict[str, str]:
    a, b = make_org("Alpha"), make_org("Beta")
    x = creator(a, "Xena")
    clone_x = entity(a, "ai_clone", "Xena clone", systemPrompt="You are Xena.")
    connect(a, x, clone_x, "owns")
    creator(a, "Yuri")  # no clone
    z = creator(a, "Zoe", status="inactive")
    clone_z = entity(a, "ai_clone", "Zoe clone", systemPrompt="You are Zoe.")
    connect(a, z, clone_z, "owns")
    w = creator(b, "Wen")
    clone_w = entity(b, "ai_clone", "Wen clone", systemPrompt="You are Wen.")
    connect(b, w, clone_w, "owns")
    return {"a": a, "b": b, "x": x, "w": w}


def _posts(world: dict[str, str]) -> int:
    """Blog posts in both of the content world's organizations."""

    def posts(db: Any) -> int:
        return len(db.query("entities").with_index("by_type", lambda q: q.eq("type", "blog_post")).collect())

    return sum(run_query(posts, org=o) for o in (world["a"], world["b"]))


def test_daily_content(fake_ai) -> None:
    world = _content_world()
    result = run("content:generate_daily_content", "2026-11-26T00:00:03Z")
    assert result == {"window": "2026-11-26T00:00:00Z", "organizations": 2, "scheduled": 2, "more": False}
    workers = jobs_of("content:generate_for_organization")
    assert sorted(j["args"]["organizationIds"][0] for j in workers) == sorted([world["a"], world["b"]])
    assert {j["state"] for j in workers} == {"success"}
    for org, author in ((world["a"], world["x"]), (world["b"], world["w"])):
        drafts = run_query(
            lambda db: (
                db.query("entities")
                .with_index("by_type_status", lambda q: q.eq("type", "blog_post").eq("status", "draft"))
                .collect()
            ),
            org=org,
        )
        assert len(drafts) == 1
        authored = run_query(
            lambda db, a=author: (
                db.query("connections")
                .with_index("from_type", lambda q: q.eq("fromEntityId", a).eq("relationshipType", "authored"))
                .collect()
            ),
            org=org,
        )
        assert [c["toEntityId"] for c in authored] == [drafts[0]["_id"]]
        generated = run_query(
            lambda db, d=drafts[0]: (
                db.query("connections")
                .with_index(
                    "from_type",
                    lambda q: q.eq("fromEntityId", d["_id"]).eq("relationshipType", "generated_by"),
                )
                .collect()
            ),
            org=org,
        )
        assert len(generated) == 1
        events = run_query(
            lambda db: (
                db.query("events")
                .with_index("by_timestamp")
                .filter(lambda f: f.eq(f.field("type"), "clone_generated_content"))
                .collect()
            ),
            org=org,
        )
        assert len(events) == 1
    assert fake_ai.calls == 2
    assert run("content:generate_daily_content", "2026-11-26T00:00:09Z")["scheduled"] == 0
    outcomes = three_at_once(lambda: fire("content:generate_daily_content", "2026-11-26T00:01:00Z"))
    assert sum(o["scheduled"] for o in outcomes) == 0
    assert len(jobs_of("content:generate_for_organization")) == 2
    assert _posts(world) == 2 and fake_ai.calls == 2
    assert run("content:generate_daily_content", "2026-11-27T00:00:00Z")["scheduled"] == 2
    assert _posts(world) == 4, "the next day is a new window"


def test_daily_content_three_runs_at_once_on_a_fresh_window(fake_ai) -> None:
    world = _content_world()
    outcomes = three_at_once(lambda: fire("content:generate_daily_content", "2026-11-26T00:00:00Z"))
    assert sum(o["scheduled"] for o in outcomes) == 2, "each organization's job scheduled once"
    # the same job delivered three times at once: it runs once
    (job, _) = jobs_of("content:generate_for_organization")
    from ontology.runtime.jobs import execute_job, run_due

    states = three_at_once(lambda: execute_job(job["_id"]))
    assert sorted(states) == ["skipped", "skipped", "success"]
    run_due()
    assert _posts(world) == 2


def test_weekly_report(table: str) -> None:
    org, other = make_org("Gamma"), make_org("Delta")
    actor = creator(org, "Gia")
    week_end = int(datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp() * 1000)
    day = 86_400_000
    for t, kind, meta in (
        (week_end - 2 * day, "creator_created", {}),
        (week_end - 3 * day, "creator_created", {}),
        (week_end - day, "revenue_generated", {"amount": 1500}),
        (week_end - 1000, "revenue_generated", {"amount": 499}),
        (week_end - 8 * day, "revenue_generated", {"amount": 9999}),  # the week before
        (week_end + 1000, "creator_created", {}),  # after the window
    ):
        insert(org, "events", {"type": kind, "actorId": actor, "timestamp": t, "metadata": meta})
    fans = [entity(org, "audience_member", f"fan{i}") for i in range(3)]
    for fan, t in ((fans[0], week_end - day), (fans[1], week_end - 2 * day), (fans[2], week_end - 10 * day)):
        # a follow as connections:create makes it: the connection and its user_engaged event
        connection = connect(org, fan, actor, "following", t=t)
        meta = {"action": "followed", "relationshipType": "following", "connectionId": connection}
        insert(
            org,
            "events",
            {"type": "user_engaged", "actorId": fan, "targetId": actor, "timestamp": t, "metadata": meta},
        )
    connect(org, fans[2], actor, "member_of", t=week_end - day)
    result = run("analytics:generate_weekly_report", "2026-11-23T09:00:05Z")
    assert result == {"window": "2026-11-23T09:00:00Z", "organizations": 2, "scheduled": 2, "more": False}
    (report,) = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "report")).collect(),
        org=org,
    )
    props = report["properties"]
    assert props["eventCounts"] == {"creator_created": 2, "revenue_generated": 2, "user_engaged": 2}
    assert props["newFollowers"] == 2 and props["revenue"] == 1999
    (empty,) = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "report")).collect(),
        org=other,
    )
    assert empty["properties"]["eventCounts"].get("creator_created", 0) == 0
    logged = run_query(
        lambda db: (
            db.query("events")
            .with_index("by_timestamp")
            .filter(lambda f: f.eq(f.field("type"), "report_generated"))
            .collect()
        ),
        org=org,
    )
    assert len(logged) == 1
    assert run("analytics:generate_weekly_report", "2026-11-24T10:00:00Z") == {
        "window": "2026-11-23T09:00:00Z",
        "organizations": 2,
        "scheduled": 0,
        "more": False,
    }
    three_at_once(lambda: fire("analytics:generate_weekly_report", "2026-11-23T09:30:00Z"))
    assert len(jobs_of("analytics:report_organization")) == 2
    reports = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "report")).collect(),
        org=org,
    )
    assert len(reports) == 1


def _subscriptions() -> tuple[str, dict[str, str]]:
    org = make_org("Epsilon")
    subs = {
        "good": entity(
            org, "subscription", "Pro plan", amount=1999, currency="usd", paymentMethod="pm_card_visa"
        ),
        "declined": entity(
            org,
            "subscription",
            "Pro plan (declining card)",
            amount=1999,
            currency="usd",
            paymentMethod="pm_card_chargeCustomerFail",
        ),
        "inactive": entity(
            org,
            "subscription",
            "Old plan",
            status="inactive",
            amount=999,
            currency="usd",
            paymentMethod="pm_card_visa",
        ),
    }
    return org, subs


def _invoices(org: str) -> dict[str, dict[str, Any]]:
    docs = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "invoice")).collect(),
        org=org,
    )
    return {d["properties"]["subscriptionId"]: d for d in docs}


def test_monthly_billing(fake_payments) -> None:
    org, subs = _subscriptions()
    result = run("billing:process_monthly_billing", "2026-12-01T10:00:02Z")
    assert result == {"window": "2026-12-01T10:00:00Z", "organizations": 1, "scheduled": 1, "more": False}
    invoices = _invoices(org)
    assert set(invoices) == {subs["good"], subs["declined"]}
    assert invoices[subs["good"]]["properties"]["status"] == "paid"
    assert invoices[subs["declined"]]["properties"]["status"] == "failed"
    assert len(fake_payments.charges) == 1
    events = run_query(lambda db: db.query("events").with_index("by_timestamp").collect(), org=org)
    processed = [e for e in events if e["type"] == "payment_processed"]
    assert sorted(e["metadata"]["status"] for e in processed) == ["failed", "succeeded"]
    assert len([e for e in events if e["type"] == "subscription_updated"]) == 2

    again = run("billing:process_monthly_billing", "2026-12-01T11:00:00Z")
    assert again["scheduled"] == 0, "the month's run delivered again schedules nothing"
    three_at_once(lambda: run("billing:process_monthly_billing", "2026-12-01T12:00:00Z"))
    assert len(fake_payments.charges) == 1 and len(_invoices(org)) == 2
    assert _invoices(org)[subs["declined"]]["properties"]["attempts"] == 1

    following = run("billing:process_monthly_billing", "2027-01-01T10:00:00Z")
    assert following["scheduled"] == 1
    invoices = run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "invoice")).collect(),
        org=org,
    )
    december = {
        i["properties"]["subscriptionId"]: i
        for i in invoices
        if i["properties"]["window"].startswith("2026-12")
    }
    assert december[subs["declined"]]["properties"]["attempts"] == 2, "the next month retries the failure"
    assert december[subs["good"]]["properties"]["status"] == "paid"
    assert len(invoices) == 4, "one invoice per subscription per month"
    assert len(fake_payments.charges) == 2, "December's paid one is never charged again"


def test_billing_recovers_a_charge_whose_recording_crashed(fake_payments) -> None:

    org, subs = _subscriptions()
    from ontology.runtime.jobs import execute_job

    fake_payments.crash_after_confirm = 1
    fire("billing:process_monthly_billing", "2026-12-01T10:00:00Z")
    (job,) = jobs_of("billing:bill_organization")
    assert execute_job(job["_id"]) == "failed"
    assert len(fake_payments.charges) == 1
    # the failed job was scheduled again (as Lambda retries a failed event), a minute later
    (_, retry) = jobs_of("billing:bill_organization")
    assert retry["args"]["attempt"] == 1 and retry["scheduledTime"] > job["scheduledTime"]
    assert execute_job(retry["_id"]) == "success"
    assert _invoices(org)[subs["good"]]["properties"]["status"] == "paid"
    assert len(fake_payments.charges) == 1, "the earlier charge was found, not repeated"
