"""Crons over every organization in bounded pieces (``ontology.services.fanout``): a run reads one
page of organizations and schedules a job per organization and the next page; a job whose budget
is spent continues in a job of its own; every piece is scheduled once, however often its run is
delivered, and the results are those of one pass over everything."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ontology import run_mutation, run_query
from ontology.runtime.context import invoke
from ontology.runtime.jobs import execute_job, run_due
from ontology.runtime.registry import resolve
from tests.functions.jobs.conftest import connect, creator, entity, insert, make_org

WEEK = "2026-11-23T09:00:05Z"


def fire(path: str, when: str) -> Any:
    return invoke(resolve(path), {"time": when}, None)


def every_job() -> list[dict[str, Any]]:
    return run_query(lambda db: db.query("scheduledFunctions").collect(), org=None, platform=True)


def jobs() -> list[dict[str, Any]]:
    """The jobs but the watchdogs a worker cancelled once done (its next attempt, scheduled first)."""
    return [j for j in every_job() if j["state"] != "canceled"]


def names(of: list[dict[str, Any]]) -> Counter[str]:
    return Counter(j["name"] for j in of)


def reports(org: str) -> list[dict[str, Any]]:
    return run_query(
        lambda db: db.query("entities").with_index("by_type", lambda q: q.eq("type", "report")).collect(),
        org=org,
    )


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two organizations, and workers whose budget is spent after their first page."""
    import ontology.services.fanout as fanout

    monkeypatch.setattr(fanout, "ORGANIZATIONS_PER_PAGE", 2)
    monkeypatch.setattr(fanout, "WORK_SECONDS", 0.0)


def test_a_cron_over_n_organizations_schedules_n_jobs_a_page_at_a_time(table: str, small_pages: None) -> None:
    orgs = [make_org(f"Org{i}") for i in range(5)]
    first = fire("analytics:generate_weekly_report", WEEK)
    assert first == {"window": "2026-11-23T09:00:00Z", "organizations": 2, "scheduled": 2, "more": True}
    assert names(jobs()) == {"analytics:report_organization": 2, "fanout:page": 1}
    states = run_due()
    assert set(states.values()) == {"success"}
    assert names(jobs()) == {"analytics:report_organization": 5, "fanout:page": 2}
    workers = [j for j in jobs() if j["name"] == "analytics:report_organization"]
    assert sorted(j["args"]["organizationIds"][0] for j in workers) == sorted(orgs), "one job each"
    assert all(len(j["args"]["organizationIds"]) == 1 for j in workers)
    assert all("organizationId" not in j for j in workers), "the platform's jobs, not an organization's"
    assert [len(reports(org)) for org in orgs] == [1] * 5
    watchdogs = [j for j in every_job() if j["state"] == "canceled"]
    assert sorted(j["args"]["organizationIds"][0] for j in watchdogs) == sorted(orgs)
    assert {j["args"]["attempt"] for j in watchdogs} == {1}, "each worker's next attempt, cancelled"

    # AWS delivers the event again (and again at once): nothing more is scheduled, nothing is redone
    assert fire("analytics:generate_weekly_report", WEEK)["scheduled"] == 0
    page = next(j for j in jobs() if j["name"] == "fanout:page")
    assert execute_job(page["_id"]) == "skipped", "a page job runs once"
    again = invoke(resolve("fanout:page"), page["args"], None)
    assert again["scheduled"] == 0
    assert run_due() == {}
    assert names(jobs()) == {"analytics:report_organization": 5, "fanout:page": 2}
    assert [len(reports(org)) for org in orgs] == [1] * 5


def test_an_organization_whose_budget_is_spent_continues_where_it_stopped(
    table: str, small_pages: None, monkeypatch: pytest.MonkeyPatch, fake_ai: Any
) -> None:
    import functions.content as content

    monkeypatch.setattr(content, "CREATORS_PAGE", 1)
    org = make_org("Busy")
    for name in ("Ann", "Ben", "Cat"):
        made = creator(org, name)
        connect(org, made, entity(org, "ai_clone", f"{name} clone", systemPrompt=f"You are {name}."), "owns")
    fire("content:generate_daily_content", "2026-11-26T00:00:03Z")
    run_due()
    pieces = [j for j in jobs() if j["name"] == "content:generate_for_organization"]
    # the first page of creators, then a job for each page left (one creator a page)
    parts = [j["args"].get("part", 0) for j in sorted(pieces, key=lambda j: j["_creationTime"])]
    assert len(parts) >= 3 and parts == list(range(len(parts)))
    assert {j["state"] for j in pieces} == {"success"}
    drafts = run_query(
        lambda db: (
            db.query("entities")
            .with_index("by_type_status", lambda q: q.eq("type", "blog_post").eq("status", "draft"))
            .collect()
        ),
        org=org,
    )
    assert len(drafts) == 3 and fake_ai.calls == 3, "each creator's draft once"
    # a continuation delivered again changes nothing
    for piece in pieces:
        assert execute_job(piece["_id"]) == "skipped"
        invoke(resolve("content:generate_for_organization"), piece["args"], None)
    run_due()
    assert fake_ai.calls == 3


def test_a_report_carried_over_pieces_counts_as_one_pass(
    table: str, small_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    import functions.analytics as analytics

    monkeypatch.setattr(analytics, "PAGE", 2)
    org = make_org("Counted")
    actor = creator(org, "Gia")
    week_end = int(datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp() * 1000)
    for i in range(7):
        insert(
            org,
            "events",
            {
                "type": "revenue_generated",
                "actorId": actor,
                "timestamp": week_end - 1000 - i,
                "metadata": {"amount": 100 + i},
            },
        )
    fire("analytics:generate_weekly_report", WEEK)
    run_due()
    pieces = [j for j in jobs() if j["name"] == "analytics:report_organization"]
    assert len(pieces) >= 4, "seven events two a page: the report took several pieces"
    (report,) = reports(org)
    props = report["properties"]
    assert props["revenue"] == sum(100 + i for i in range(7))
    assert props["eventCounts"] == {"revenue_generated": 7}


def test_a_failed_job_is_tried_again_later_and_at_most_twice(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.analytics as analytics

    org = make_org("Flaky")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the organization's job crashed")

    monkeypatch.setattr(analytics, "_report", crash)
    fire("analytics:generate_weekly_report", WEEK)
    for attempt in range(3):
        (due,) = [j for j in jobs() if j["state"] == "pending"]
        assert due["name"] == "analytics:report_organization" and due["args"].get("attempt", 0) == attempt
        assert execute_job(due["_id"]) == "failed"
    assert [j for j in jobs() if j["state"] == "pending"] == [], "two retries, then no more"
    monkeypatch.undo()
    assert reports(org) == []


def test_the_cleanup_continues_in_jobs_of_its_own(
    table: str, small_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import functions.auth as auth

    monkeypatch.setattr(auth, "CLEANUP_BATCH", 2)
    expired = int(time.time() * 1000) - 60_000
    for i in range(5):
        token = {
            "identifier": f"u{i}@x.io",
            "token": f"h{i}",
            "expires": expired,
            "type": "email_verification",
        }
        run_mutation(lambda db, token=token: db.insert("verificationTokens", token), org=None, platform=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    first = fire("auth:cleanup_expired_tokens", when)
    assert first["continued"] is True
    assert fire("auth:cleanup_expired_tokens", when)["continued"] is True
    assert names(jobs()) == {"auth:cleanup_expired_tokens": 1}, "the next piece scheduled once"
    run_due()
    left = run_query(lambda db: db.query("verificationTokens").collect(), org=None, platform=True)
    assert left == []


def test_the_reconciler_schedules_a_job_per_group_of_organizations(table: str) -> None:
    orgs = [make_org(f"Shop{i}") for i in range(3)]
    fire("purchases:reconcile", "2026-11-23T09:02:00Z")
    (job,) = jobs()
    assert job["name"] == "purchases:reconcile_organizations"
    assert sorted(job["args"]["organizationIds"]) == sorted(orgs), "one job looks through the group"
    assert fire("purchases:reconcile", "2026-11-23T09:04:59Z")["scheduled"] == 0, "the same five minutes"
    assert fire("purchases:reconcile", "2026-11-23T09:05:00Z")["scheduled"] == 1, "the next five"
    assert set(run_due().values()) == {"success"}


class InvocationDiedError(BaseException):
    """What a Lambda timeout looks like from inside: nothing of the function runs after it."""


def test_a_worker_whose_invocation_died_is_run_again_by_its_watchdog(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.analytics as analytics

    org = make_org("Stalled")

    def die(*args: Any, **kwargs: Any) -> Any:
        raise InvocationDiedError

    monkeypatch.setattr(analytics, "_report", die)
    fire("analytics:generate_weekly_report", WEEK)
    (first,) = jobs()
    with pytest.raises(InvocationDiedError):
        execute_job(first["_id"])
    monkeypatch.undo()
    by_state = {j["state"]: j for j in jobs()}
    assert set(by_state) == {"inProgress", "pending"}, "the job never finished; its next attempt waits"
    assert execute_job(first["_id"]) == "skipped", "Lambda's retry of the dead invocation does nothing"
    assert execute_job(by_state["pending"]["_id"]) == "success"
    assert len(reports(org)) == 1
