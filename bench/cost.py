"""The write path priced in AWS's own units: what each representative call costs, and which partition
keys run hot at scale.

Every call runs through the handlers the platform's Lambdas run (:mod:`bench.cost_calls`), on moto in
process, metered by :mod:`bench.meter` in DynamoDB's units. Two tables:

1. **Cost per call**: write and read request units, DynamoDB requests, and dollars per million calls
   at the list prices of :data:`PRICES`, itemised by service, beside Convex's price per function call
   (:data:`CONVEX`). Lambda's duration is an assumption (:data:`LAMBDA_MS`, :data:`WAIT_MS`), not a
   measurement, so every figure is a function of counts and the table is the same on every machine.
2. **Hot keys**: the peak WCU/s and RCU/s of each partition-key class and the conditional writes per
   second of its hottest item, in the scenario of :data:`SCENARIO` (:mod:`bench.hotkeys`).

Budgets: the write units of the calls in :data:`WRU_BUDGET`, the read units of the reads in
:data:`READ_BASELINE` (today's figure: no read may get dearer), and every key class within
:data:`bench.hotkeys.MAX_WCU`, :data:`~bench.hotkeys.MAX_RCU` and
:data:`~bench.hotkeys.MAX_CONDITIONAL`.

``python -m bench.cost`` prints both tables; ``--explain CALL`` every item a call wrote and read (its
key's shape, size, units, each index copy); ``--markdown`` writes the tables into docs/cost.md;
``--check`` fails when docs/cost.md's units and requests are not what the bench counts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cost_calls import (
    CALLS,
    OTHER_ORG,
    AggregatorBatch,
    Invocation,
    Usage,
    World,
    aggregator_batch,
    amortize,
    authorizer_miss,
    platform_invocation,
    purchase,
    reactive,
    reactive_parts,
    sale_world,
    seed_org,
    seed_sale,
    session,
    subscriber,
    user_id,
    warm_signing_pool,
    world,
)
from bench.harness import ORG, result
from bench.hotkeys import MAX_CONDITIONAL, MAX_RCU, MAX_WCU, PeakRow, Stream, shape, table
from ontology.runtime.prices import CHECKED, CONVEX, PRICES, Price

DOC = Path(__file__).resolve().parent.parent / "docs" / "cost.md"


#: Lambda duration priced per invocation, by kind (an assumption, not a measurement: a handler's
#: in-process time on moto says nothing of its time in AWS).
LAMBDA_MS = {"query": 30, "mutation": 50, "action": 50, "platform": 30, "waits": 0}
#: Time an invocation waits on a service outside AWS, per call to it (priced at its memory).
WAIT_MS = {"model": 700, "stripe": 300, "chain": 100}

#: Write request units a call may take (the layout's redesign targets them).
WRU_BUDGET = {
    "creators:create": 20,
    "creators:update (one field)": 12,
    "connections:create": 14.1,  # 14 its own, and its share of the aggregator's ADD to the follower counter
    "entities:create (blog post, six-word name)": 26,
    "tags:add": 10,
}
#: Read request units of each read call as the key design was first measured: none may get dearer.
#: A page of entities reads the counts of the counted documents on it (a livestream, a clone, a
#: token) from their folds, not their counters (docs/data-model.md, "Counts").
READ_BASELINE = {
    "creators:get (10 authored items)": 4.0,
    "entities:list (50)": 7.5,
    "entities:search": 46.0,
}
#: Read calls whose read units may not exceed another row's: a creator's count reads the same at
#: 100,000 authored items as at 10 (docs/data-model.md, "Counts").
READ_SAME_AS = {"creators:get (100,000 authored items)": "creators:get (10 authored items)"}

#: Subscribers of the reactive rows (each a connection watching one document, patched once).
REACTIVE_K = (1, 10, 100)


@dataclass(frozen=True)
class Scenario:
    """The load the hot-key table assumes."""

    users: int = 1_000_000
    organizations: int = 10_000
    #: the largest organization's mutations per second, and their mix
    mutations: float = 200.0
    mix: tuple[tuple[str, float], ...] = (
        ("creators:create", 0.10),
        ("creators:update (one field)", 0.30),
        ("entities:create (blog post, six-word name)", 0.30),
        ("connections:create", 0.20),
        ("tags:add", 0.10),
    )
    #: every other organization's mutations per second (the same mix), chat messages and purchases
    other_mutations: float = 0.5
    other_messages: float = 0.01
    other_purchases: float = 0.005
    #: the largest organization's 1,000 subscriptions: members on one entity each (a write touches
    #: one of them) and members on its newest-entities page (every new entity touches all of them)
    point_subscriptions: int = 900
    list_subscriptions: int = 100
    #: one livestream in it: viewers subscribed to its chat, and its messages per second
    viewers: int = 10_000
    messages: float = 100.0
    #: one token on sale in it
    purchases: float = 50.0
    #: its AI clone: chat turns per second
    clone_chats: float = 100.0
    #: sign-ins per user and day (each writes a session)
    sign_ins_per_day: float = 1.0

    def rate(self, call: str) -> float:
        return self.mutations * dict(self.mix).get(call, 0.0)

    def platform_rate(self, call: str) -> float:
        return self.rate(call) + (self.organizations - 1) * self.other_mutations * dict(self.mix).get(
            call, 0.0
        )


SCENARIO = Scenario()


# ------------------------------------------------------------------------------------- pricing


def invocation_cost(i: Invocation) -> float:
    """Dollars of one invocation: its request and its GB-seconds at the assumed duration."""
    ms = LAMBDA_MS[i.kind] + sum(WAIT_MS[k] * n for k, n in i.waits.items())
    gb_s = i.memory_mb / 1024 * ms / 1000
    return i.requests * _usd("lambda_request", 1) + _usd("lambda_gb_s", gb_s)


def _usd(price: str, amount: float) -> float:
    p = PRICES[price]
    return p.usd * amount / p.per


#: The itemised columns of the cost table.
ITEMS = (
    "DynamoDB writes",
    "DynamoDB reads",
    "Lambda",
    "HTTP API",
    "WebSocket",
    "SQS",
    "Step Functions",
    "S3 Vectors",
)


def dollars(u: Usage) -> dict[str, float]:
    """Dollars per million calls, by item."""
    million = 1e6
    aggregator = invocation_cost(platform_invocation("SearchAggregatorFunction")) * u.aggregator_share
    return {
        "DynamoDB writes": _usd("dynamodb_wru", u.wru) * million,
        "DynamoDB reads": _usd("dynamodb_rru", u.meter.rru) * million,
        "Lambda": (sum(invocation_cost(i) for i in u.lambdas) + aggregator) * million,
        "HTTP API": _usd("http_api", u.http_requests) * million,
        "WebSocket": _usd("websocket_message", u.ws_messages) * million,
        "SQS": (_usd("sqs_standard", u.sqs_standard) + _usd("sqs_fifo", u.sqs_fifo)) * million,
        "Step Functions": _usd("state_transition", u.transitions) * million,
        "S3 Vectors": (_usd("vector_query", u.vector_queries) + _usd("vector_put", u.vector_put_bytes))
        * million,
    }


def convex_calls(u: Usage) -> int:
    """What Convex would count as function calls: each of the platform's functions that ran (a client
    call, a scheduled execution, a query re-run for a subscription), not its own plumbing."""
    return sum(1 for i in u.lambdas if i.kind in ("query", "mutation", "action") and i.requests)


# ------------------------------------------------------------------------------------ measuring


@dataclass
class Results:
    """Everything the bench measured."""

    usage: dict[str, Usage] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)
    #: the stream aggregator's measured batch (what its cost per call is amortized over)
    aggregator: AggregatorBatch | None = None

    def rows(self) -> list[Usage]:
        return list(self.usage.values())


def _mix_and_calls(w: World, a: Any, b: Any, r: Results, only: set[str] | None) -> None:
    """Each call three times: twice in the largest organization (the cost table's figure is the
    first), once in the other (the clone's chat only in the largest); the mix's, the chat's and the
    clone's runs are scenario streams."""
    for name, call in CALLS.items():
        if only is not None and name not in only:
            continue
        runs = []
        for org in (a, a, b):
            if org is None or (org is b and name.startswith("clones:")):
                continue
            with w.measure(name) as usage:
                call.run(w, org, org.next())  # each run by a member (or viewer) of its own
            runs.append(usage)
        r.usage[name] = runs[0]
        if name in dict(SCENARIO.mix):
            rate, platform = SCENARIO.rate(name), SCENARIO.platform_rate(name)
        elif name == "livestreams:send_message":
            rate = SCENARIO.messages
            platform = rate + (SCENARIO.organizations - 1) * SCENARIO.other_messages
        elif name.startswith("clones:chat"):
            rate = platform = SCENARIO.clone_chats  # the largest organization's clone alone
        else:
            continue
        if b is not None and len(runs) >= 2:
            other = runs[2].meter if len(runs) > 2 else None
            r.streams.append(Stream(name, rate, platform, (runs[0].meter, runs[1].meter), other))


def _sign_ins(w: World, r: Results) -> None:
    """Sign-in's session document, twice in the largest organization and once in the other: all of it
    is in the platform's scope, so what it shares is shared platform-wide."""
    runs = []
    for n, org in ((1, ORG), (2, ORG), (3, OTHER_ORG)):
        with w.measure("sign-in (its session)") as usage:
            session(org, user_id(700_000 + n))
        runs.append(usage.meter)
    per_second = SCENARIO.users * SCENARIO.sign_ins_per_day / 86_400
    r.streams.append(Stream("sign-ins", 0.0, per_second, (runs[0], runs[1]), runs[2]))


def _reactive(w: World, o: Any, r: Results) -> None:
    """The reactive rows (k subscribers to one document) and the scenario's three subscription
    streams, each in its parts (:func:`bench.cost_calls.reactive_parts`): the invalidator's passes
    at the rate of the writes, the subscribers' re-runs at most once a second each
    (:data:`ontology.sync.pending.RERUN_SECONDS`)."""
    from bench.cost_calls import entity
    from ontology.sync.pending import RERUN_SECONDS
    from ontology.sync.queue import WORKER_CONCURRENCY

    def streams(name: str, rate: float, runs: tuple[dict[str, Usage], dict[str, Usage]], base: Any) -> None:
        for part in ("invalidate", "recheck", "rerun"):
            if part not in runs[0] or part not in runs[1]:
                continue
            # a subscriber re-runs once a second, has its recheck twice a second at most, and is
            # marked by every write (at most once a stream batch)
            per_second = {"rerun": min(rate, 1 / RERUN_SECONDS), "recheck": min(rate, 2.0)}.get(part, rate)
            # a key the re-runs share is read once a second per container (each subscriber's re-run
            # was measured in a container of its own), and the worker's concurrency bounds those
            count = base_count[0]
            containers = min(count, WORKER_CONCURRENCY)
            label = {"invalidate": "invalidation", "recheck": "recheck", "rerun": "re-runs"}[part]
            scale = (1, 3, containers if part == "rerun" else count) if base is not None else (1, 1, 1)
            r.streams.append(
                Stream(
                    f"{name}: {label}",
                    per_second,
                    per_second,
                    (runs[0][part].meter, runs[1][part].meter),
                    base=base[part].meter if base is not None and part in base else None,
                    measured=scale,
                )
            )

    base_count = [1]
    watched, other = (
        entity(o.id, "blog_post", "Watched post"),
        entity(o.id, "blog_post", "Other watched post"),
    )
    subscriber(w, o, "point", 0, watched)
    subscriber(w, o, "point", 0, other)
    point_runs = (reactive_parts(w, o, "point", watched, 1), reactive_parts(w, o, "point", other, 2))
    updates = SCENARIO.rate("creators:update (one field)")
    streams("reactive update (entity subscription)", updates, point_runs, None)
    have = 1
    for k in REACTIVE_K:
        while have < k:
            subscriber(w, o, "point", have, watched)
            have += 1
        usage = reactive(w, o, "point", watched, 10 + k)
        usage.call = f"reactive update, k = {k}"
        r.usage[usage.call] = usage
    # the chat's subscribers before the newest-entities page's: every message is an entity too
    for kind, target, count, rate in (
        ("chat", o.livestream, SCENARIO.viewers, SCENARIO.messages),
        (
            "list",
            "newest",
            SCENARIO.list_subscriptions,
            SCENARIO.rate("creators:create")
            + SCENARIO.rate("entities:create (blog post, six-word name)")
            + SCENARIO.messages,
        ),
    ):
        subscriber(w, o, kind, 0, target)
        base = reactive_parts(w, o, kind, o.livestream, 0)
        for n in (1, 2):
            subscriber(w, o, kind, n, target)
        runs = (reactive_parts(w, o, kind, o.livestream, 1), reactive_parts(w, o, kind, o.livestream, 2))
        name = {
            "chat": "reactive update (chat subscriptions)",
            "list": "reactive update (newest-entities page)",
        }[kind]
        base_count[0] = count
        streams(name, rate, runs, base)


def _sale(r: Results) -> None:
    """The completed token purchase: four times on the largest organization's token, once on
    another's."""
    with sale_world() as (w, rig, payments):
        with w.meter.pause():
            a, b = seed_sale(ORG), seed_sale(OTHER_ORG)
            warm_signing_pool()
        runs = []
        for n, sale in ((0, a), (1, a), (2, b), (3, a), (4, a)):
            with w.measure("token purchase (the whole saga)") as usage:
                purchase(w, rig, payments, sale, n)
            runs.append(usage)
        # the row is the median of three warm purchases: the first in a new rig also pays its
        # processes' first look-ups (which migrations are done, read once a process), and on a busy
        # machine a step could read once more (a retried step, a job due meanwhile)
        warm = sorted((runs[1], runs[3], runs[4]), key=lambda u: (u.dynamodb_requests, u.meter.rru, u.wru))
        r.usage["token purchase (the whole saga)"] = warm[1]
        platform = SCENARIO.purchases + (SCENARIO.organizations - 1) * SCENARIO.other_purchases
        r.streams.append(
            Stream("token sale", SCENARIO.purchases, platform, (runs[0].meter, runs[1].meter), runs[2].meter)
        )


def _aggregator(w: Any, o: Any, r: Results) -> None:
    """The search aggregator's batch of one second of the largest organization (its posts, its
    creators, its chat, its follows), measured; a stream of the scenario at one batch a second."""
    s = SCENARIO
    r.aggregator = aggregator_batch(
        w,
        o,
        posts=round(s.rate("entities:create (blog post, six-word name)")),
        creators=round(s.rate("creators:create")),
        messages=round(s.messages),
        follows=round(s.rate("connections:create")),
    )
    batch = r.aggregator.meter
    r.streams.append(Stream("search aggregator (a batch a second)", 1.0, 1.0, (batch, batch)))


SALE = "token purchase (the whole saga)"
AUTHORIZER = "authorizer (cache miss)"


def collect(only: set[str] | None = None) -> Results:
    """Run the calls (``only`` those named: what ``--explain`` needs) and the scenario's streams."""
    r = Results()

    def wanted(name: str) -> bool:
        return only is None or name in only

    main = [n for n in CALLS if wanted(n)]
    reactive_rows = only is None or any(n.startswith("reactive") for n in only)
    if main or reactive_rows or wanted(AUTHORIZER):
        with world() as w:
            with w.meter.pause():
                a = seed_org(ORG, clone=wanted("clones:chat (local model)"))
                b = seed_org(OTHER_ORG, posts=5) if only is None else None
            _mix_and_calls(w, a, b, r, set(main))
            if wanted(AUTHORIZER):
                r.usage[AUTHORIZER] = authorizer_miss(w, a)
            if only is None:
                _sign_ins(w, r)
            if reactive_rows:
                _reactive(w, a, r)
            if any(u.postings for u in r.usage.values()):
                _aggregator(w, a, r)
    if wanted(SALE):
        _sale(r)
    if r.aggregator is not None:
        for u in r.usage.values():
            amortize(u, r.aggregator)
    order = [*CALLS, SALE, *(f"reactive update, k = {k}" for k in REACTIVE_K), AUTHORIZER]
    r.usage = {name: r.usage[name] for name in order if name in r.usage}
    return r


# -------------------------------------------------------------------------------------- tables


def _money(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:,.2f}" if x >= 0.1 else f"{x:.3f}"


def _units(x: float) -> str:
    return f"{x:g}"


COST_HEADER = ("call", "WRU", "RRU", "DynamoDB requests", *ITEMS, "total $/M", "Convex $/M")


def cost_rows(r: Results) -> list[tuple[str, ...]]:
    out = []
    for u in r.rows():
        d = dollars(u)
        out.append(
            (
                u.call,
                _units(u.wru),
                _units(u.meter.rru),
                str(u.dynamodb_requests),
                *(_money(d[i]) for i in ITEMS),
                _money(sum(d.values())),
                _money(convex_calls(u) * CONVEX.usd / CONVEX.per * 1e6),
            )
        )
    return out


HOT_HEADER = (
    "index",
    "key class",
    "scales",
    "peak WCU/s",
    "peak RCU/s",
    "cond. writes/s per item",
    "hottest from",
    "ok",
)


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"


def hot_rows(rows: list[PeakRow], *, markdown: bool = False) -> list[tuple[str, ...]]:
    """The hot-key table's rows (in markdown a key class is code: its placeholders are not tags)."""
    return [
        (
            r.index,
            f"`{r.key}`" if markdown else r.key,
            r.scale,
            _rate(r.wcu),
            _rate(r.rcu),
            _rate(r.conditional),
            r.top,
            "OK" if r.ok else "NO",
        )
        for r in rows
    ]


def budget_rows(r: Results) -> list[dict[str, Any]]:
    """The bench's rows: write budgets, read baselines, hot keys."""
    out = []
    for name, budget in WRU_BUDGET.items():
        if name in r.usage:
            wru = r.usage[name].wru
            out.append(result(f"cost: WRU per call, {name}", wru, f"<= {budget}", wru <= budget))
    for name, baseline in READ_BASELINE.items():
        if name in r.usage:
            rru = r.usage[name].meter.rru
            out.append(result(f"cost: RRU per call, {name}", rru, f"<= {baseline:g}", rru <= baseline))
    for name, other in READ_SAME_AS.items():
        if name in r.usage and other in r.usage:
            rru, budget = r.usage[name].meter.rru, r.usage[other].meter.rru
            out.append(result(f"cost: RRU per call, {name}", rru, f"<= {budget:g} ({other})", rru <= budget))
    for u in r.rows():
        out.append(
            result(f"cost: $ per million calls, {u.call}", round(sum(dollars(u).values()), 2), "report", True)
        )
    if r.streams:
        rows = table(r.streams)
        for what, over in (
            (f"WCU/s over {MAX_WCU:g}", [x for x in rows if x.wcu > MAX_WCU]),
            (f"RCU/s over {MAX_RCU:g}", [x for x in rows if x.rcu > MAX_RCU]),
            (
                f"conditional writes/s per item over {MAX_CONDITIONAL:g}",
                [x for x in rows if x.conditional > MAX_CONDITIONAL],
            ),
        ):
            out.append(result(f"hot keys: key classes at {what}", len(over), "== 0", not over))
    return out


def _text(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _markdown(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_tables(r: Results) -> None:
    print("Cost per call ($ per million calls at us-east-1 list prices; Lambda duration assumed)")
    print(_text(COST_HEADER, cost_rows(r)))
    if r.streams:
        print()
        budget = f"{MAX_WCU:g} WCU/s, {MAX_RCU:g} RCU/s, {MAX_CONDITIONAL:g} conditional writes/s per item"
        print(f"Hot keys (peak per key class in the scenario; budget {budget})")
        print(_text(HOT_HEADER, hot_rows(table(r.streams))))


# ------------------------------------------------------------------------------------- explain


def explain(u: Usage) -> str:
    """Every item a call wrote and read: its key's shape, size, units, each index copy."""
    m = u.meter
    requests = ", ".join(m.requests)
    lines = [f"{u.call}: {u.wru:g} WRU, {m.rru:g} RRU, {u.dynamodb_requests} DynamoDB requests ({requests})"]
    lines.append("writes (table item: bytes before -> after, WRU; then each index copy):")
    for w in sorted(m.writes, key=lambda w: -w.total):
        tx = " x2 (transaction)" if w.transactional else ""
        cond = " conditional" if w.conditional and not w.transactional else ""
        lines.append(
            f"  {w.total:>4} WRU  {w.operation:<14} {shape(w.pk)} / {shape(w.sk)}  [{w.tb}]  "
            f"{w.size_before} -> {w.size_after} B: {w.units} WRU{tx}{cond}"
        )
        for iw in w.indexes:
            where = shape(iw.pk, index=True)
            lines.append(f"{'':17}{iw.index:<6} {iw.kind:<6} {iw.size:>5} B  {iw.units} WRU  {where}")
    by_class: dict[str, int] = {}
    for w in m.writes:
        by_class[w.tb or "?"] = by_class.get(w.tb or "?", 0) + w.total
    lines.append(
        "WRU by kind of item: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items(), key=lambda kv: -kv[1]))
    )
    table_units = sum(w.units for w in m.writes)
    lines.append(f"WRU on the table {table_units}, on the indexes {m.wru - table_units}")
    if u.postings:
        lines.append(
            f"stream aggregates (search statistics, counts): {len(u.postings)} changes; "
            f"{u.aggregated:g} WRU, amortized over the aggregator's batch (alone in a batch: "
            f"{u.aggregated_alone} WRU); the call: {u.wru:g} WRU"
        )
    if u.limited:
        lines.append(
            f"the function-call limiter: {u.limited:g} WRU, the call's share of the batch it adds to "
            "the session's count (ontology.auth.ratelimit.hit_batched)"
        )
    lines.append("reads:")
    for rd in m.reads:
        where = rd.index or "table"
        consistency = "strong" if rd.consistent else "eventual"
        key = shape(rd.pk, index=rd.index is not None)
        read = f"{rd.items} items, {rd.size} B, {consistency}"
        lines.append(f"  {rd.units:>5g} RRU  {rd.operation:<12} {where:<6} {key}  {read}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- the doc

_MARKERS = {
    name: (f"<!-- {name}:start -->", f"<!-- {name}:end -->")
    for name in ("cost", "prices", "assumptions", "hotkeys")
}


def prices_markdown() -> str:
    """The price list, its sources and when they were read."""

    def price(p: Price) -> str:
        usd = f"${p.usd:.10f}".rstrip("0").rstrip(".")
        per = {1: "each", 1024**3: "per GB"}.get(int(p.per), f"per {p.per:,.0f}")
        return f"{usd} {per}"

    rows = [(p.unit, price(p), p.source) for p in (*PRICES.values(), CONVEX)]
    body = _markdown(("what", "list price (us-east-1)", "source"), rows)
    return f"{body}\n\nRead from the sources on {CHECKED}."


def assumptions_markdown() -> str:
    """What the figures assume beyond the counts: Lambda's durations and the scenario."""
    from ontology.sync.queue import WORKER_CONCURRENCY

    s = SCENARIO
    kinds = ", ".join(f"{k} {ms} ms" for k, ms in LAMBDA_MS.items() if k != "waits")
    waits = ", ".join(f"{k} {ms} ms" for k, ms in WAIT_MS.items())
    mix = ", ".join(f"`{call}` {share:.0%}" for call, share in s.mix)
    lines = [
        f"- **Lambda duration** per invocation, by kind: {kinds} (the platform's own functions: "
        f"authorizer, scheduler, sync); plus, per call the invocation makes outside AWS: {waits}. "
        "Memory: each function's `MemorySize` in `template.yaml`; arm64.",
        f"- **Platform**: {s.users:,} users, {s.organizations:,} organizations; each user signs in "
        f"{s.sign_ins_per_day:g} time(s) a day (a session written per sign-in).",
        f"- **The largest organization**: {s.mutations:g} mutations/s: {mix}. Its updates go to "
        "different creators, its follows to one (popular) creator, its tags share one key and value "
        "(`topic: running`); each call by a member of its own.",
        f"- **Its subscriptions**: {s.point_subscriptions + s.list_subscriptions:,}: "
        f"{s.point_subscriptions} members with one entity open (`entities:get`; each update touches "
        f"one of them) and {s.list_subscriptions} on its newest-entities page (`entities:list`, 50 "
        "a page; every entity created touches all of them, chat messages included: they are "
        "entities).",
        f"- **Its livestream**: {s.viewers:,} viewers subscribed to its chat (`livestreams:chat`, 50 "
        f"a page), {s.messages:g} messages/s, each from a viewer of its own.",
        f"- **Its token sale**: {s.purchases:g} completed purchases/s of one token, each by a buyer of "
        "their own.",
        f"- **Its AI clone**: {s.clone_chats:g} chat turns/s (`clones:chat`), each by a member in a "
        "conversation of their own.",
        "- **Reactive updates** (`ontology.sync.pending`, `ontology.data.read_cache`): a "
        "subscription has at most one pending re-run and re-runs at most once a second, however many "
        "writes touch it; each write costs its subscribers only the invalidator's mark (measured: a "
        "write that finds the re-run pending, as all but a second's first do), the re-run is priced "
        "once a second a subscriber and the index recheck twice at most. A key every subscriber's "
        "re-run reads is read once a second per function container, and the sync worker runs at "
        f"most {WORKER_CONCURRENCY} at once (the queue mapping's `MaximumConcurrency`): such a key "
        f"takes at most {WORKER_CONCURRENCY} subscribers' reads a second (each subscriber measured "
        "in containers of its own). A connection's own items take its own load, whatever the "
        "subscribers.",
        f"- **Every other organization**: {s.other_mutations:g} mutations/s of the same mix, "
        f"{s.other_messages:g} chat messages/s and {s.other_purchases:g} purchases/s (what reaches "
        "keys the whole platform shares).",
    ]
    return "\n".join(lines)


def sections(r: Results) -> dict[str, str]:
    return {
        "cost": _markdown(COST_HEADER, cost_rows(r)),
        "prices": prices_markdown(),
        "assumptions": assumptions_markdown(),
        "hotkeys": _markdown(HOT_HEADER, hot_rows(table(r.streams), markdown=True)),
    }


def write_doc(r: Results, path: Path = DOC) -> None:
    """Put the tables between their markers in docs/cost.md."""
    text = path.read_text()
    for name, body in sections(r).items():
        start, end = _MARKERS[name]
        before, rest = text.split(start, 1)
        text = f"{before}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"
    path.write_text(text)


def doc_counts(path: Path = DOC) -> dict[str, tuple[str, str, str]]:
    """The call → (WRU, RRU, DynamoDB requests) of docs/cost.md's cost table."""
    start, end = _MARKERS["cost"]
    text = path.read_text()
    body = text[text.index(start) + len(start) : text.index(end)]
    out = {}
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        out[cells[0]] = (cells[1], cells[2], cells[3])
    return out


def counts(r: Results) -> dict[str, tuple[str, str, str]]:
    return {row[0]: (row[1], row[2], row[3]) for row in cost_rows(r)}


# ----------------------------------------------------------------------------------------- main


def _quiet() -> None:
    """Functions run in this process: no metrics or request logs on stdout between the tables."""
    import os

    from bench.functions import FUNCTION_ENV

    os.environ.update(
        FUNCTION_ENV | {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from infra.local import moto_patches

    moto_patches.SIZE_CAPACITY = False  # the meter sizes every request itself


def run() -> list[dict[str, Any]]:
    """``make bench``'s rows (and both tables, printed)."""
    _quiet()
    r = collect()
    print_tables(r)
    return budget_rows(r)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--explain", metavar="CALL", help="every item CALL writes and reads (a call's name or its start)"
    )
    parser.add_argument("--markdown", action="store_true", help=f"write the tables into {DOC.name}")
    parser.add_argument(
        "--check", action="store_true", help=f"fail when {DOC.name}'s units and requests are stale"
    )
    args = parser.parse_args(argv)
    _quiet()
    if args.explain:
        names = [
            n
            for n in (*CALLS, SALE, *(f"reactive update, k = {k}" for k in REACTIVE_K), AUTHORIZER)
            if n.startswith(args.explain)
        ]
        if not names:
            print(f"no call named {args.explain!r}", file=sys.stderr)
            return 2
        r = collect(set(names))
        for name in names:
            print(explain(r.usage[name]))
        if r.aggregator is not None:
            b = r.aggregator
            print(
                f"the search aggregator's batch: {b.changes} changes of one second of the largest "
                f"organization, {b.meter.wru} WRU ({len(b.per_item)} items, one transaction each 2 WRU a KB)"
            )
        return 0
    r = collect()
    if args.check:
        stale = {k: (v, counts(r).get(k)) for k, v in doc_counts().items() if counts(r).get(k) != v}
        missing = set(counts(r)) - set(doc_counts())
        for name, (doc, now) in stale.items():
            print(f"{name}: docs say {doc}, the bench counts {now}", file=sys.stderr)
        for name in sorted(missing):
            print(f"{name}: not in {DOC.name}", file=sys.stderr)
        return 1 if stale or missing else 0
    print_tables(r)
    if args.markdown:
        write_doc(r)
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
