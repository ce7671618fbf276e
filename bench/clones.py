"""AI flows: what one ``clones:chat`` turn, one generated course lesson and one livestream co-host reply
ask of DynamoDB, the model and S3 Vectors, counted in process on moto as their Lambdas run them (a
clone trained on 10 posts)."""

from __future__ import annotations

from typing import Any

from bench.harness import ORG, index_knowledge_vectors, local_table, result, seed_creator, vectors_and_ai


def _seed() -> tuple[str, str]:
    """A creator with 10 authored posts (one per transaction: their search postings make them large)
    and a fan; their ids."""
    from ontology import run_mutation

    creator = seed_creator(
        10,
        post=lambda i: {
            "name": f"Post {i} about marathon pacing",
            "status": "published",
            "properties": {"body": f"Lesson {i}: run the first half slower than the second."},
        },
        per_transaction=1,
    )
    fan = run_mutation(
        lambda db: db.insert(
            "entities",
            {
                "type": "audience_member",
                "name": "Fan",
                "status": "active",
                "createdAt": 1,
                "updatedAt": 1,
                "properties": {},
            },
        ),
        org=ORG,
    )
    return creator, str(fan)


def run() -> list[dict[str, Any]]:
    import time

    from ontology.auth.identity import Identity
    from ontology.runtime import jobs
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    def due_jobs() -> None:
        """Run the jobs that are due (not the generation's watchdog) until none is, as the scheduler
        would; the requests spent finding them are not counted (the scheduler's queue delivers them)."""
        while True:
            mark = len(counter.requests)
            due = jobs.due_jobs()
            del counter.requests[mark:]
            if not due:
                return
            for job in due:
                jobs.execute_job(job["_id"])

    out: list[dict[str, Any]] = []
    with local_table() as counter, vectors_and_ai() as (ai, vector_calls):
        creator, fan = _seed()
        owner = Identity(userId="usr_bench", organizationId=ORG, role="org_owner", entityId=fan)
        clone = invoke(resolve("clones:create"), {"creatorId": creator}, owner)["cloneId"]
        due_jobs()
        index_knowledge_vectors()

        # a chat turn (the second of a conversation)
        first = invoke(resolve("clones:chat"), {"cloneId": clone, "message": "How do I pace?"}, owner)
        counter.reset()
        ai.reset()
        vector_calls.clear()
        turn = {
            "cloneId": clone,
            "message": "And the second half?",
            "conversationId": first["conversationId"],
        }
        assert invoke(resolve("clones:chat"), turn, owner)["sources"], "the chat found no knowledge"
        out += [
            result("clones:chat (a second turn): DynamoDB requests", len(counter.requests), "report", True),
            result("clones:chat (a second turn): model calls (embedding + chat)", ai.calls, "report", True),
            result("clones:chat (a second turn): S3 Vectors requests", len(vector_calls), "report", True),
        ]

        # a generated course of 12 lessons, from courses:generate to published
        lessons = 12
        counter.reset()
        ai.reset()
        vector_calls.clear()
        course = invoke(
            resolve("courses:generate"),
            {"creatorId": creator, "topic": "Marathon pacing", "lessons": lessons},
            owner,
        )["courseId"]
        due_jobs()
        assert (
            invoke(resolve("courses:get"), {"courseId": course}, owner)["generation"]["state"] == "complete"
        )
        out += [
            result(
                "courses:generate, per lesson (12): DynamoDB requests",
                len(counter.requests) / lessons,
                "report",
                True,
            ),
            result("courses:generate, per lesson (12): model calls", ai.calls / lessons, "report", True),
            result(
                "courses:generate, per lesson (12): S3 Vectors requests",
                len(vector_calls) / lessons,
                "report",
                True,
            ),
        ]

        # a livestream co-host reply to a viewer's question (send_message, then the reply step)
        stream = invoke(
            resolve("livestreams:schedule"),
            {
                "creatorId": creator,
                "title": "Pacing live",
                "scheduledFor": int(time.time() * 1000),
                "cloneId": clone,
            },
            owner,
        )["livestreamId"]
        invoke(resolve("livestreams:start"), {"livestreamId": stream}, owner)
        invoke(resolve("livestreams:join"), {"livestreamId": stream}, owner)
        counter.reset()
        ai.reset()
        vector_calls.clear()
        sent = invoke(
            resolve("livestreams:send_message"), {"livestreamId": stream, "text": "How slow is slow?"}, owner
        )
        asked = len(counter.requests)
        due_jobs()
        assert sent["cohostReplying"]
        out += [
            result("livestreams:send_message (a question): DynamoDB requests", asked, "report", True),
            result(
                "livestreams co-host reply: DynamoDB requests", len(counter.requests) - asked, "report", True
            ),
            result("livestreams co-host reply: model calls (embedding + chat)", ai.calls, "report", True),
            result("livestreams co-host reply: S3 Vectors requests", len(vector_calls), "report", True),
        ]
    return out
