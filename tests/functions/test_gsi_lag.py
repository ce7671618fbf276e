"""The platform under AWS-strict ``gsi-lag``: a GSI shows a write only after a delay, as DynamoDB's
do. Each flow here wrote something and then read it back through an index in the next step; on a
GSI that has not caught up it did the wrong thing (a course failed at publishing, a clone's
knowledge counted as empty, a second organization agent, a session opened in no organization, a
sign-out followed by a failed revocation). The clock of the lag stands still unless a test says
otherwise: an index never shows what was written after the lag began."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.openai_stub import LocalAI
from ontology import run_mutation, run_query
from tests.conftest import LagClock
from tests.data import helpers
from tests.data.helpers import ORG
from tests.functions.conftest import local_ai, run_as_owner

pytestmark = pytest.mark.aws_strict

DIMS = 16
PAGE = {"numItems": 50, "cursor": None}


@pytest.fixture
def ai(table: str) -> Iterator[LocalAI]:
    with local_ai(LocalAI(DIMS), DIMS) as fake:
        yield fake


def _creator_with_posts(posts: int = 3) -> str:
    def body(db: Any) -> str:
        made = db.insert("entities", helpers.creator("ada@example.com", "Ada"))
        for i in range(posts):
            text = {"body": f"Everything about sourdough topic {i}, in a few words."}
            post = db.insert("entities", helpers.entity(name=f"Post {i}", status="published", **text))
            db.insert("connections", helpers.connection(made, post))
        return str(made)

    return run_mutation(body, org=ORG)


def _lagging(strict_mode: Callable[..., Any], lag_clock: LagClock) -> None:
    strict_mode("gsi-lag", gsi_lag_ms=1000)


def test_a_clones_knowledge_counts_every_item_its_training_added(
    ai: LocalAI, strict_mode: Callable[..., Any], lag_clock: LagClock
) -> None:
    creator = _creator_with_posts(3)
    _lagging(strict_mode, lag_clock)
    clone = run_as_owner("clones:create", {"creatorId": creator})["cloneId"]
    trained = run_as_owner("clones:train", {"cloneId": clone})  # the job the create scheduled
    assert trained == {"cloneId": clone, "added": 3, "done": True}
    lag_clock.now += 10  # the index catches up: the clone's page reads its status tag through it
    got = run_as_owner("clones:get", {"cloneId": clone})
    assert got["knowledgeBaseSize"] == 3 and got["trainingStatus"] == "active"
    statuses = run_as_owner("tags:list", {"entityId": clone, "key": "status", "paginationOpts": PAGE})
    assert [t["value"] for t in statuses["page"]] == ["active"]  # the ``training`` tag went


def test_the_organization_agent_is_made_once(
    table: str, strict_mode: Callable[..., Any], lag_clock: LagClock
) -> None:
    from ontology.services.ontology_ops import first_of_type

    _lagging(strict_mode, lag_clock)

    def agent() -> str:
        return run_mutation(lambda db: first_of_type(db, "intelligence_agent", "Agent", {}), org=ORG)

    first = agent()
    assert agent() == first  # the index does not show the first one yet; its guard does
    lag_clock.now += 10
    agents = run_query(
        lambda db: (
            db.query("entities").with_index("by_type", lambda q: q.eq("type", "intelligence_agent")).collect()
        ),
        org=ORG,
    )
    assert [a["_id"] for a in agents] == [first]


def test_an_agent_made_before_the_guard_becomes_the_organizations_own(table: str) -> None:
    from ontology.services.ontology_ops import first_of_type

    legacy = run_mutation(
        lambda db: db.insert("entities", helpers.entity(kind="intelligence_agent", name="Old agent")), org=ORG
    )
    assert run_mutation(lambda db: first_of_type(db, "intelligence_agent", "Agent", {}), org=ORG) == legacy
    assert run_mutation(lambda db: first_of_type(db, "intelligence_agent", "Agent", {}), org=ORG) == legacy


def test_a_course_publishes_the_lesson_written_just_before(
    ai: LocalAI, strict_mode: Callable[..., Any], lag_clock: LagClock
) -> None:
    from ontology.runtime.jobs import run_pending

    lessons = 2
    creator = _creator_with_posts(2)
    run_as_owner("clones:create", {"creatorId": creator})
    run_pending()  # trained, with the index up to date
    _lagging(strict_mode, lag_clock)
    course = run_as_owner(
        "courses:generate", {"creatorId": creator, "topic": "Sourdough baking", "lessons": lessons}
    )["courseId"]
    # every step, one right after the other, as the scheduler delivers them
    steps = 1 + lessons + (lessons + 1) // 2 + 1
    for step in range(steps):
        done = run_as_owner("courses:write_step", {"courseId": course, "step": step})
        assert done["done"] == "yes", done
    got = run_as_owner("courses:get", {"courseId": course})
    assert got["status"] == "published" and got["generation"]["state"] == "complete"
    assert [lesson["lessonIndex"] for lesson in got["lessonList"]] == [1, 2]


def test_a_session_opens_in_the_organization_made_at_sign_up(
    table: str, strict_mode: Callable[..., Any], lag_clock: LagClock
) -> None:
    from ontology.auth import accounts
    from ontology.auth.identity import resolve_session

    _lagging(strict_mode, lag_clock)
    made = accounts.sign_up(
        email="new@example.com", password="correct horse battery staple", name="New", base_url="http://x"
    )
    run_mutation(lambda db: db.patch(made["id"], {"emailVerified": True}, "users"), org=None, platform=True)
    signed = accounts.sign_in(email="new@example.com", password="correct horse battery staple")
    assert signed.session["activeOrganizationId"]
    identity = resolve_session(signed.token)
    assert identity is not None and identity.role == "org_owner"


def test_sessions_are_revoked_right_after_a_sign_out(table: str, strict_mode: Callable[..., Any]) -> None:
    """The index still lists the session signed out a moment ago; revoking reads it again from the
    table, where it is gone, and runs again once the index has caught up (a real clock here)."""
    from ontology.auth import accounts
    from ontology.auth.people import create_session

    user = run_mutation(
        lambda db: db.insert(
            "users", {"email": "s@example.com", "emailVerified": True, "createdAt": 1, "updatedAt": 1}
        ),
        org=None,
        platform=True,
    )
    tokens = [
        run_mutation(lambda db: create_session(db, user_id=user, org_id=ORG)[0], org=None, platform=True)
        for _ in range(2)
    ]
    strict_mode("gsi-lag", gsi_lag_ms=300)
    assert accounts.sign_out(tokens[0]) is True
    assert accounts.revoke_sessions(user) == 1
    assert accounts.get_session(tokens[1]) is None
