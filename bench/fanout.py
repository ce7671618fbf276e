"""Reactive fan-out under load: one newest-first listing, its subscribers, and 200 inserts a second
for a minute, on the same handlers, in process, in virtual time.

Every second of the minute, 200 blog posts are inserted (through the write path, ten to a
transaction) and the table's stream hands their records to the invalidator four times a second (Lambda
polls a stream's shard four times a second; a batch takes what came since, up to the template's 1,000
records); the sync queue's messages go to the worker, one connection's group at a time; the recheck
queue's messages come back after their delay. The queues are simulated in memory so
that their delays run in the virtual clock, which also drives the pending re-runs' second
(:mod:`ontology.sync.pending`) and the shared reads' (:mod:`ontology.data.read_cache`): a minute takes
a few of this machine's minutes, not one of the scenario's. Each connection's re-runs are given a
function container of their own (nothing another connection read is shared with them).

:data:`MEASURED` subscribers are real connections with real watches. A subscriber's load does not
depend on how many others there are (each has its own connection, pending re-run and watch items),
so the scenario's 1,000 are the measured figures per subscriber times 1,000. The invalidator's
requests are scaled the same way where they are per connection (its marks of pending re-runs and
rechecks, UpdateItems); its look-ups of the batch's keys are not (one Query of the listing's watch
partition reads 1,000 watch items as one page). What
the minute would have cost without pending re-runs (one re-run per subscriber per write, and one
more per write for the index's recheck) is printed beside it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import types
from collections.abc import Iterator
from typing import Any

from bench.harness import result

MEASURED = 5
SUBSCRIBERS = 1_000
INSERTS_PER_SECOND = 200
SECONDS = 60
#: Lambda polls a stream's shard this many times a second (each poll's records one batch).
POLLS_PER_SECOND = 4
#: Posts per transaction.
PER_MUTATION = 10


class Clock:
    """The virtual clock: ``time()`` for the modules that decide when to re-run."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now


class Queues:
    """The sync queue (FIFO, by connection) and the recheck queue (delays in virtual time)."""

    def __init__(self, clock: Clock, recheck_url: str) -> None:
        self.clock, self.recheck_url = clock, recheck_url
        self.fifo: dict[str, list[dict[str, Any]]] = {}
        self.delayed: list[tuple[float, int, str]] = []
        self.seq = itertools.count()
        self.dedup: set[str] = set()
        self.sent = 0

    def enqueue(self, entries: list[dict[str, Any]], url: str = "") -> None:
        for e in entries:
            self.sent += 1
            if url == self.recheck_url:
                due = self.clock.now + float(e.get("DelaySeconds", 0))
                heapq.heappush(self.delayed, (due, next(self.seq), e["MessageBody"]))
                continue
            dedup = str(e.get("MessageDeduplicationId", ""))
            if dedup and dedup in self.dedup:
                continue
            self.dedup.add(dedup)
            body = {"messageId": f"m{next(self.seq)}", "body": e["MessageBody"]}
            self.fifo.setdefault(str(e["MessageGroupId"]), []).append(body)

    def due(self) -> list[dict[str, Any]]:
        out = []
        while self.delayed and self.delayed[0][0] <= self.clock.now:
            _, n, body = heapq.heappop(self.delayed)
            out.append({"eventSource": "aws:sqs", "messageId": f"d{n}", "body": body})
        return out

    def depth(self) -> int:
        return sum(len(g) for g in self.fifo.values()) + len(self.delayed)


@contextlib.contextmanager
def _virtual(clock: Clock, queues: Queues) -> Iterator[None]:
    """The pending re-runs, the worker and the shared reads on the virtual clock; the queues in
    memory."""
    import time

    from ontology.data import read_cache
    from ontology.sync import invalidator, pending, worker

    fake = types.SimpleNamespace(**{k: getattr(time, k) for k in ("sleep", "monotonic", "time_ns")})
    fake.time = clock.time
    saved = [(m, "time", m.time) for m in (pending, worker, read_cache, invalidator)]  # type: ignore[attr-defined]
    saved += [(m, "enqueue", m.enqueue) for m in (pending, invalidator)]
    try:
        for m in (pending, worker, read_cache, invalidator):
            m.time = fake  # type: ignore[attr-defined]
        for m in (pending, invalidator):
            m.enqueue = queues.enqueue  # type: ignore[attr-defined]
        yield
    finally:
        for m, name, value in saved:
            setattr(m, name, value)


def _insert(org: str, second: int, poll: int) -> None:
    """The posts of one quarter of a second."""
    from ontology import run_mutation

    per_poll = INSERTS_PER_SECOND // PER_MUTATION // POLLS_PER_SECOND
    for chunk in range(poll * per_poll, (poll + 1) * per_poll):

        def insert(db: Any, chunk: int = chunk) -> None:
            for n in range(PER_MUTATION):
                now = 1_800_000_000_000 + second * 1000 + chunk * PER_MUTATION + n
                db.insert(
                    "entities",
                    {
                        "type": "blog_post",
                        "name": f"Post {second}-{chunk}-{n}",
                        "status": "draft",
                        "createdAt": now,
                        "updatedAt": now,
                        "properties": {},
                    },
                )

        run_mutation(insert, org=org)


def minute() -> dict[str, float]:
    """Run the minute; per-subscriber and invalidator figures."""
    import time as real_time

    from bench.cost_calls import Stream, seed_org, subscriber, world
    from bench.harness import ORG
    from ontology.data import read_cache
    from ontology.runtime.registry import resolve
    from ontology.settings import get_settings
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.websocket import worker_handler

    out: dict[str, float] = {"reruns": 0, "worker_requests": 0, "invalidator_requests": 0, "batches": 0}
    out["marks"] = 0
    with world() as w:
        with w.meter.pause():
            o = seed_org(ORG, posts=5)
            for n in range(MEASURED):
                subscriber(w, o, "list", n, "newest")
        clock = Clock(real_time.time() + 5)
        queues = Queues(clock, get_settings().sync_recheck_queue_url)
        stream = Stream()
        reruns_before = len(w.invocations)

        def invalidate(records: list[dict[str, Any]]) -> None:
            mark = len(w.meter.requests)
            invalidate_handler({"Records": records})
            made = w.meter.requests[mark:]
            out["invalidator_requests"] += len(made)
            out["marks"] += made.count("UpdateItem")

        with _virtual(clock, queues):
            for second in range(SECONDS):
                for poll in range(POLLS_PER_SECOND):
                    with w.meter.pause():
                        _insert(o.id, second, poll)
                    clock.now += 1 / POLLS_PER_SECOND
                    records = stream.records()
                    if records:
                        out["batches"] += 1
                        invalidate(records[:1000])
                    due = queues.due()
                    if due:
                        invalidate(due)
                    _work(w, queues, out, worker_handler, read_cache)
        listing = resolve("entities:list").spec.logical_id
        out["reruns"] = sum(1 for i in w.invocations[reruns_before:] if i.function == listing)
        out["depth"] = queues.depth()
        out["sent"] = queues.sent
    return out


def _work(w: Any, queues: Queues, out: dict[str, float], worker_handler: Any, read_cache: Any) -> None:
    """The worker on every connection's queued group (each in containers of its own)."""
    groups, queues.fifo = queues.fifo, {}
    for records in groups.values():
        read_cache.clear()
        mark = len(w.meter.requests)
        worker_handler({"Records": records})
        out["worker_requests"] += len(w.meter.requests) - mark


def run() -> list[dict[str, Any]]:
    from bench.cost import _quiet
    from ontology.runtime.observability import logger

    _quiet()
    logger.setLevel("WARNING")  # no line per re-run between the tables
    m = minute()
    scale = SUBSCRIBERS / MEASURED
    writes = INSERTS_PER_SECOND * SECONDS
    per_subscriber = m["reruns"] / MEASURED
    reruns = m["reruns"] * scale
    requests = (m["worker_requests"] + m["marks"]) * scale + (m["invalidator_requests"] - m["marks"])
    without = SUBSCRIBERS * writes * 2
    print(
        json.dumps(
            {
                "fan-out minute": {
                    "measured subscribers": MEASURED,
                    "invalidator batches": m["batches"],
                    "re-runs measured": m["reruns"],
                    "worker requests measured": m["worker_requests"],
                    "invalidator requests measured": m["invalidator_requests"],
                    "of which marks (per connection)": m["marks"],
                    "re-runs without pending re-runs (1,000 subscribers)": without,
                    "DynamoDB requests per subscriber and second": round(
                        (m["worker_requests"] + m["marks"]) / MEASURED / SECONDS, 1
                    ),
                }
            }
        )
    )
    # per subscriber and second: a mark per poll (4), the recheck's mark and due time (2 at most),
    # and one re-run (the connection and its pending re-run, the query's reads, the watch, the
    # save, the clear: about 9); the batch's look-ups besides, a few a poll
    request_budget = SUBSCRIBERS * SECONDS * 15 + POLLS_PER_SECOND * SECONDS * 4
    depth = m["depth"] * scale
    return [
        result(
            "fan-out: re-runs per subscriber, a minute of 200 inserts/s into its listing",
            round(per_subscriber, 1),
            f"<= {SECONDS + 2}",
            per_subscriber <= SECONDS + 2,
        ),
        result(
            "fan-out: re-runs, 1,000 subscribers of one listing, that minute",
            int(reruns),
            f"<= {SUBSCRIBERS * (SECONDS + 2)}",
            reruns <= SUBSCRIBERS * (SECONDS + 2),
        ),
        result(
            "fan-out: DynamoDB requests, 1,000 subscribers, that minute",
            int(requests),
            f"<= {request_budget}",
            requests <= request_budget,
        ),
        result(
            # at most a wake and a recheck per connection: nothing piles up
            "fan-out: messages queued after that minute, 1,000 subscribers",
            int(depth),
            f"<= {2 * SUBSCRIBERS}",
            depth <= 2 * SUBSCRIBERS,
        ),
    ]
