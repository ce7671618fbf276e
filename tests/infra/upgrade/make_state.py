"""Regenerates the upgrade test's fixture: a local stack's state folder written by the platform as it
was before migration 0010 (commit :data:`COMMIT`, the last of ``main`` without it), and what that
stack answered about it.

    .venv/bin/python -m tests.infra.upgrade.make_state

It exports the commit (``git archive``) into a temporary folder, starts that code's local stack there
on a new state folder (as ``make dev`` did then), writes a representative set of data through its
HTTP API — creators, entities of several types, connections, tags, events, knowledge, searchable
names, a livestream with its chat, a token bought and transferred — asks it every read the test
repeats (each document by id, each list through its index, each search), stops it (Ctrl-C: a
snapshot, an empty journal) and writes:

- ``state.tar.gz``: the state folder (the table, the buckets, the Stripe stand-in's store, the
  chain's journal), without the developer session, which each start makes anew;
- ``answers.json``: each read, its arguments, who asked and what the old stack answered.

``tests/infra/test_upgrade_stack.py`` starts today's stack on a copy of that folder and asks the
same reads.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from ontology.client import OneClient
from tests.conftest import ROOT
from tests.infra.localstack import MANY_SIGN_INS, Stack, settled, signed_in

#: The last commit of ``main`` before ``0010-document-indexes`` (docs/migrations.md).
COMMIT = "9e15785"
HERE = Path(__file__).parent
FAN_EMAIL = "fan@upgrade.example"
PASSWORD = "correct horse battery staple"  # tests.infra.localstack.signed_in's
PAGE = {"numItems": 100, "cursor": None}


class Recorder:
    """Calls a function and keeps the call with its answer, for the test to repeat."""

    def __init__(self, clients: dict[str, OneClient]) -> None:
        self.clients = clients
        self.reads: list[dict[str, Any]] = []

    def read(self, who: str, kind: str, name: str, args: dict[str, Any], compare: str = "exact") -> Any:
        client = self.clients[who]
        answer = client.action(name, args) if kind == "action" else client.query(name, args)
        self.reads.append(
            {"as": who, "kind": kind, "name": name, "args": args, "compare": compare, "answer": answer}
        )
        return answer


def props(kind: str, name: str) -> dict[str, Any]:
    if kind == "course":
        return {"title": name, "description": "Dijkstra's discipline, lesson by lesson", "price": 900}
    return {"words": 1200}


def write(stack: Stack) -> dict[str, Any]:
    """The data, through the API, and every read of it the test repeats."""
    session = stack.dev_session()
    owner = OneClient(stack.url, token=stack.token())
    owner.action("organizations:update", {"joinPolicy": "open"})
    fan = OneClient(stack.url, token=signed_in(stack, FAN_EMAIL))
    fan.action("organizations:join", {"organizationId": session["organizationId"]})
    fan.action("organizations:switch_active", {"organizationId": session["organizationId"]})

    creators = [
        owner.mutation(
            "creators:create", {"email": f"{n.split()[0].lower()}@upgrade.example", "name": n, "niche": niche}
        )["creatorId"]
        for n, niche in (("Ada Lovelace", ["math"]), ("Grace Hopper", ["compilers"]), ("Alan Turing", []))
    ]
    ada, grace, alan = creators
    owner.mutation("creators:update", {"id": alan, "bio": "Computable numbers"})
    made: dict[str, str] = {}
    for kind, name, status in (
        ("blog_post", "Notes on the Analytical Engine", "published"),
        ("blog_post", "Bernoulli numbers by machine", "draft"),
        ("video", "Compilers explained", "published"),
        ("course", "Structured programming", "draft"),
        ("digital_product", "Engine poster", "active"),
    ):
        made[name] = owner.mutation(
            "entities:create", {"type": kind, "name": name, "status": status, "properties": props(kind, name)}
        )["id"]
    archived = owner.mutation(
        "entities:create", {"type": "blog_post", "name": "Old draft", "properties": {}}
    )["id"]
    owner.mutation("entities:archive", {"id": archived})
    for src, dst, rel in (
        (ada, made["Notes on the Analytical Engine"], "authored"),
        (ada, made["Bernoulli numbers by machine"], "authored"),
        (grace, made["Compilers explained"], "authored"),
        (grace, made["Structured programming"], "authored"),
        (alan, ada, "following"),
        (grace, ada, "following"),
    ):
        owner.mutation(
            "connections:create", {"fromEntityId": src, "toEntityId": dst, "relationshipType": rel}
        )
    gone = owner.mutation(
        "connections:create", {"fromEntityId": alan, "toEntityId": grace, "relationshipType": "following"}
    )["id"]
    owner.mutation("connections:delete", {"id": gone})
    for entity, key, value in (
        (ada, "skill", "math"),
        (ada, "industry", "science"),
        (grace, "skill", "compilers"),
        (made["Notes on the Analytical Engine"], "topic", "engines"),
    ):
        owner.mutation("tags:add", {"entityId": entity, "key": key, "value": value})
    knowledge = owner.action(
        "knowledge:add",
        {
            "sourceId": made["Notes on the Analytical Engine"],
            "text": "The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves "
            "flowers and leaves. " * 8,
            "labels": {"topic": "engines"},
        },
    )
    stream = owner.mutation(
        "livestreams:schedule",
        {
            "creatorId": ada,
            "title": "Engines live",
            "scheduledFor": int(time.time() * 1000) + 60_000,
            "topics": ["engines"],
        },
    )["livestreamId"]
    owner.mutation("livestreams:start", {"livestreamId": stream})
    fan.mutation("livestreams:join", {"livestreamId": stream})
    for text in ("Hello from the fan", "Great stream"):
        fan.mutation("livestreams:send_message", {"livestreamId": stream, "text": text})
    fan.mutation("livestreams:leave", {"livestreamId": stream})
    recording = owner.mutation("livestreams:end", {"livestreamId": stream})["recordingId"]
    token = owner.action(
        "tokens:create",
        {"creatorId": ada, "name": "Ada Coin", "symbol": "ADA", "priceUsd": 0.5, "totalSupply": 1000},
    )["tokenId"]
    bought = owner.action(
        "tokens:purchase", {"tokenId": token, "amount": 20, "paymentMethodId": "pm_card_visa"}
    )
    assert settled(owner, bought["purchaseId"])["status"] == "completed"
    owner.action("tokens:transfer", {"tokenId": token, "toEntityId": grace, "amount": 5})
    written = {
        "creators": creators,
        "made": made,
        "archived": archived,
        "stream": stream,
        "recording": recording,
        "token": token,
        "purchase": bought["purchaseId"],
    }
    rec = Recorder({"owner": owner, "fan": fan, "anonymous": OneClient(stack.url)})
    read(rec, written)
    return {
        "commit": COMMIT,
        "fan": {"email": FAN_EMAIL, "password": PASSWORD},
        "knowledge": knowledge["ids"],
        "reads": rec.reads,
    }


def read(rec: Recorder, written: dict[str, Any]) -> None:
    """Every read of what was written that the test repeats, with the older stack's answers."""
    creators, made, archived = written["creators"], written["made"], written["archived"]
    stream, token = written["stream"], written["token"]
    ada = creators[0]
    everything = [*creators, *made.values(), archived, written["recording"]]
    for entity in everything:
        rec.read("owner", "query", "entities:get", {"id": entity})
    for creator in creators:
        rec.read("owner", "query", "creators:get", {"id": creator})
        rec.read("owner", "query", "creators:get_with_content", {"creatorId": creator})
        following = {"entityId": creator, "direction": "to", "relationshipType": "following"}
        rec.read("owner", "query", "connections:list", {**following, "paginationOpts": PAGE})
        for direction in ("from", "to"):
            rec.read(
                "owner",
                "query",
                "connections:list",
                {"entityId": creator, "direction": direction, "paginationOpts": PAGE},
            )
        rec.read(
            "owner",
            "query",
            "connections:list",
            {
                "entityId": creator,
                "direction": "from",
                "relationshipType": "authored",
                "paginationOpts": PAGE,
            },
        )
        rec.read("owner", "query", "tags:list", {"entityId": creator, "paginationOpts": PAGE})
        rec.read("owner", "query", "events:list", {"actorId": creator, "paginationOpts": PAGE})
        rec.read("owner", "query", "events:list", {"targetId": creator, "paginationOpts": PAGE})
    rec.read("owner", "query", "creators:list", {})
    rec.read("owner", "query", "creators:list_paginated", {"paginationOpts": PAGE})
    rec.read("fan", "query", "creators:list", {})
    rec.read("anonymous", "query", "creators:list", {"limit": 100})
    rec.read("anonymous", "query", "creators:list_paginated", {"paginationOpts": PAGE})
    for entity in (ada, made["Notes on the Analytical Engine"], made["Bernoulli numbers by machine"]):
        rec.read("anonymous", "query", "entities:get", {"id": entity})
    for kind in ("creator", "blog_post", "video", "course", "digital_product", "token", "livestream", None):
        args: dict[str, Any] = {"paginationOpts": PAGE}
        if kind:
            args["type"] = kind
        rec.read("owner", "query", "entities:list", args)
        rec.read("owner", "query", "entities:list", {**args, "order": "asc"})
    for status in ("published", "draft", "archived", "active"):
        rec.read("owner", "query", "entities:list", {"status": status, "paginationOpts": PAGE})
    rec.read(
        "owner",
        "query",
        "entities:list",
        {"type": "blog_post", "status": "published", "paginationOpts": PAGE},
    )
    for key, value in (("skill", None), ("skill", "math"), ("topic", "engines")):
        args = {"key": key, "paginationOpts": PAGE}
        if value:
            args["value"] = value
        rec.read("owner", "query", "tags:list", args)
    for kind in (
        "creator_created",
        "content_changed",
        "user_engaged",
        "tokens_purchased",
        "livestream_interaction",
    ):
        rec.read("owner", "query", "events:list", {"type": kind, "paginationOpts": PAGE})
    rec.read("owner", "query", "events:list", {"paginationOpts": PAGE})
    for query, extra in (
        ("Analytical", {}),
        ("engine", {}),
        ("compil", {"type": "video"}),
        ("Ada Lovelace", {"type": "creator"}),
        ("Structured prog", {"status": "draft"}),
        ("Bernoulli numbers", {"type": "blog_post", "status": "draft"}),
    ):
        rec.read("owner", "query", "entities:search", {"query": query, **extra}, compare="ids")
    rec.read(
        "owner",
        "action",
        "knowledge:search",
        {"query": "Jacquard loom", "sourceId": made["Notes on the Analytical Engine"]},
        compare="ids",
    )
    rec.read("owner", "query", "livestreams:get", {"livestreamId": stream})
    rec.read("owner", "query", "livestreams:chat", {"livestreamId": stream, "paginationOpts": PAGE})
    rec.read("fan", "query", "livestreams:chat", {"livestreamId": stream, "paginationOpts": PAGE})
    rec.read("owner", "query", "tokens:get", {"id": token})
    rec.read("owner", "query", "tokens:get_balance", {"tokenId": token})
    rec.read("owner", "query", "tokens:get_purchase", {"purchaseId": written["purchase"]})
    rec.read("owner", "query", "scheduler:list", {"paginationOpts": PAGE})


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="one-upgrade-") as tmp:
        old = Path(tmp) / "code"
        old.mkdir()
        archive = subprocess.run(["git", "archive", COMMIT], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        state = Path(tmp) / "state"
        stack = Stack(
            state,
            env={"PYTHONPATH": f"{old}:{old / 'layers' / 'ontology'}", **MANY_SIGN_INS},
            cwd=old,
        )
        stack.start()
        try:
            answers = write(stack)
        finally:
            code, _ = stack.stop()
        assert code == 0, f"the old stack stopped with {code}"
        (HERE / "answers.json").write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
        with tarfile.open(HERE / "state.tar.gz", "w:gz", compresslevel=9) as tar:
            for path in sorted(state.rglob("*")):
                if path.is_file() and path.name != "dev-session.json":
                    tar.add(path, arcname=str(path.relative_to(state)))
        print(f"wrote {HERE / 'state.tar.gz'} ({(HERE / 'state.tar.gz').stat().st_size} bytes)")


if __name__ == "__main__":
    main()
