"""The calls the cost bench prices, run as the platform runs them, in process, on moto.

Each call goes through the handler its Lambda runs: an HTTP call is an API Gateway event given to the
function's handler (the caller's session read, its call counted, the function run); a scheduled job is
run by the jobs runner; the token purchase runs on the Step Functions interpreter with its step
Lambdas (:func:`infra.local.rig.saga_rig`); a reactive update is the table stream's records given to
the invalidator, its queue's messages to the sync worker, which re-runs each touched query in its own
function (:mod:`ontology.sync.calls`). While it runs, :class:`World` records:

- the DynamoDB units of every request (:class:`bench.meter.Meter`);
- every other AWS request (SQS, S3 Vectors) as botocore sends it;
- every Lambda invocation: the function, its ``MemorySize`` from ``template.yaml``, its kind (the
  duration it is priced at is an assumption of :mod:`bench.cost`), and the waits on services outside
  AWS it makes (model, Stripe, chain);
- every WebSocket message posted to a connection.

What a call costs is a :class:`Usage`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.harness import ORG, born_migrated, fake_aws_env, local_table, vectors_and_ai
from bench.meter import Meter, metered

#: The user of the bench's owner session (as :func:`bench.harness.seed_session`).
OWNER = "usr_01JD8Z6V7Q3M0N2W5X9Y4K1T8R"
#: The second organization: what touches the same keys from two organizations is platform-wide.
OTHER_ORG = "org_01JD8Z6V7Q3M0N2W5X9Y4K1T9S"
#: The SQS requests Lambda's event source mapping makes per batch it hands a function: one
#: ReceiveMessage and one DeleteMessageBatch (idle long polls are a fixed cost, not a call's).
ESM_REQUESTS_PER_BATCH = 2
#: A scheduled job in AWS (docs/scheduler.md): the table's stream invokes the dispatcher, which sends
#: the job to the jobs queue (standard), whose event source mapping invokes the runner, which invokes
#: the job's own function: two Lambdas beside the job's, and three SQS requests.
JOB_SQS_REQUESTS = 1 + ESM_REQUESTS_PER_BATCH


@dataclass
class Invocation:
    """One Lambda invocation: its function's logical id, memory, kind (what its duration is priced
    at) and the calls outside AWS it waits on (``model``, ``stripe``, ``chain``)."""

    function: str
    memory_mb: int
    kind: str
    waits: dict[str, int] = field(default_factory=dict)
    #: 0 for the waits of a multi-step flow priced apart from its steps' own invocations
    requests: int = 1


@dataclass
class Usage:
    """What one call cost."""

    call: str
    meter: Meter
    http_requests: int = 0
    ws_messages: int = 0
    sqs_standard: int = 0
    sqs_fifo: int = 0
    transitions: int = 0
    vector_queries: int = 0
    vector_put_bytes: int = 0
    lambdas: list[Invocation] = field(default_factory=list)
    #: what the call's writes change in the stream's aggregates: the search index's, the counts of
    #: connections (ontology.data.search_aggregates)
    postings: list[Any] = field(default_factory=list)
    #: the documents whose counters the call moved: their folds (ontology.data.count_folds), one
    #: key each, for every counter change the call made (a record of a counter's shard)
    folds: list[tuple[str, str]] = field(default_factory=list)
    #: the aggregator's write units for them: alone in a batch, and amortized (:func:`amortize`)
    aggregated_alone: int = 0
    aggregated: float = 0.0
    #: the call's share of one aggregator invocation
    aggregator_share: float = 0.0
    #: the call's share of the function-call limiter's batched UpdateItem (write units): a session's
    #: calls are added to its count a batch at a time (ontology.auth.ratelimit.hit_batched)
    limited: float = 0.0

    @property
    def dynamodb_requests(self) -> int:
        return len(self.meter.requests)

    @property
    def wru(self) -> float:
        """The call's write units: its own, its share of the aggregator's and of the limiter's."""
        return round(self.meter.wru + self.aggregated + self.limited, 2)


_memory: dict[str, int] = {}


def memory_of(logical_id: str) -> int:
    """A function's ``MemorySize`` in ``template.yaml``."""
    if not _memory:
        from infra.local.runner import function_defs

        _memory.update({k: d.memory for k, d in function_defs().items()})
    return _memory[logical_id]


def function_invocation(path: str, waits: dict[str, int] | None = None) -> Invocation:
    from ontology.runtime.registry import resolve

    spec = resolve(path).spec
    return Invocation(spec.logical_id, memory_of(spec.logical_id), spec.kind, dict(waits or {}))


def platform_invocation(logical_id: str) -> Invocation:
    """One of the platform's own Lambdas (authorizer, scheduler, sync)."""
    return Invocation(logical_id, memory_of(logical_id), "platform")


class Recorder:
    """Every AWS request other than DynamoDB's (whose units the meter counts), as botocore sends it."""

    def __init__(self, paused: Callable[[], bool] = lambda: False) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        #: whether the meter is paused (a call's setup): what is sent then is not the call's
        self.paused = paused

    @contextlib.contextmanager
    def installed(self) -> Iterator[Recorder]:
        import botocore.client

        original = botocore.client.BaseClient._make_api_call
        calls = self.calls

        def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            skipped = ("dynamodb", "dynamodbstreams", "stepfunctions", "lambda", "iam")
            if service not in skipped and not self.paused():
                calls.append((service, operation, params))
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = record
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original


def _sqs_requests(operation: str, params: dict[str, Any]) -> int:
    """Billed SQS requests of one call: each 64 KB of payload is one (ReceiveMessage and the rest: 1)."""
    if operation == "SendMessageBatch":
        size = sum(len(e["MessageBody"].encode()) for e in params["Entries"])
    elif operation == "SendMessage":
        size = len(params["MessageBody"].encode())
    else:
        return 1
    return max(1, -(-size // (64 * 1024)))


class StreamTail:
    """The table's stream, read on from where the last read ended (every shard)."""

    def __init__(self, client: Any, arn: str) -> None:
        self.client, self.arn = client, arn
        self.iterators: dict[str, str] = {}
        for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            self.iterators[shard["ShardId"]] = client.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]

    @classmethod
    def of_table(cls, table_name: str) -> StreamTail | None:
        import boto3

        try:
            arn = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=table_name)
        except Exception:  # no such table (yet): nothing to follow
            return None
        stream = arn["Table"].get("LatestStreamArn")
        client = boto3.client("dynamodbstreams", region_name="us-east-1")
        return cls(client, stream) if stream else None

    def read(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for shard in list(self.iterators):
            while True:
                resp = self.client.get_records(ShardIterator=self.iterators[shard], Limit=1000)
                self.iterators[shard] = resp["NextShardIterator"]
                out += resp["Records"]
                if not resp["Records"]:
                    break
        return out


def share_key(key: tuple[str, str]) -> tuple[str, str]:
    """What an aggregate item's write is shared by: the item, or for a counter every shard of it (a
    batch adds to one shard of each counter, whichever it picks)."""
    from ontology.data.counters import COUNT_MARK

    pk, sk = key
    return (pk, "") if COUNT_MARK in pk else (pk, sk)


def fold_keys(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The document item whose fold each counter change of ``records`` moves (one per change of a
    folded counter's shard: ontology.data.count_folds)."""
    from ontology.data.count_folds import FOLDED
    from ontology.data.counters import COUNT_MARK
    from ontology.data.keys import DOC_SK

    out: list[tuple[str, str]] = []
    for record in records:
        pk = ((record.get("dynamodb") or {}).get("Keys") or {}).get("pk", {}).get("S", "")
        if COUNT_MARK in pk:
            doc_pk, name = pk.split(COUNT_MARK, 1)
            if name in FOLDED:
                out.append((doc_pk, DOC_SK))
    return out


@dataclass
class AggregatorBatch:
    """One batch of the stream's aggregator, measured: what it wrote per item (a counter: per
    counter), and how many of the batch's changes each item sums (a document's fold: how many
    counter changes it folds)."""

    meter: Meter
    changes: int
    per_item: dict[tuple[str, str], int]
    shares: dict[tuple[str, str], int]
    receipts: int


def amortize(usage: Usage, batch: AggregatorBatch) -> None:
    """The call's share of a batch like ``batch``: each aggregate item's write split among the
    changes it sums (an item the batch did not write is the call's alone: one write), the receipts
    and the invocation among all of the batch's changes."""
    if not usage.postings and not usage.folds:
        return
    from collections import Counter

    mine = Counter(share_key(key) for c in usage.postings for key in c.keys)
    mine.update(usage.folds)
    share = 0.0
    for key, n in mine.items():
        if key in batch.shares:
            share += batch.per_item[key] * n / batch.shares[key]
        else:
            share += 2  # an item of a transaction: two write units
    part = (len(usage.postings) + len(usage.folds)) / batch.changes
    usage.aggregated = round(share + batch.receipts * part, 2)
    usage.aggregator_share = part


class World:
    """The meter, the recorder, the invocations, the posts and the counts of the calls run in it."""

    def __init__(self, ai: Any = None) -> None:
        self.meter = Meter()
        self.recorder = Recorder(lambda: self.meter.paused)
        self.invocations: list[Invocation] = []
        self.posts: list[tuple[str, Any]] = []
        self.ai = ai
        self.http = 0
        self.transitions = 0
        self.jobs = 0
        self.esm_fifo = 0
        self.esm_standard = 0
        self.tail: StreamTail | None = None
        #: seconds the sync protocol's clock runs ahead of this machine's (:func:`sync_clock`)
        self.ahead = 0.0
        #: the function-call limiter's shares of its batched writes, so far (:meth:`http_call`)
        self.limited = 0.0
        #: the write units of one batch the limiter adds (measured when the world is installed)
        self.limiter_wru = 0

    def settle(self) -> None:
        """The stream's aggregator on what the stream holds so far, not counted (what happened before
        or beside the call being measured)."""
        if self.tail is None:
            return
        from ontology.data.search_aggregates import aggregate

        with self.meter.pause():
            aggregate(self.tail.read())

    @contextlib.contextmanager
    def installed(self) -> Iterator[World]:
        """Posts to connections recorded, the sync protocol's functions invoked through
        :meth:`_invoke`, every request metered and recorded."""
        from ontology.sync import calls, push

        original_post = push.post
        push.post = lambda connection_id, message: self.posts.append((connection_id, message))
        calls.set_invoker(self._invoke)
        self.tail = StreamTail.of_table("one-bench")
        try:
            with metered(self.meter), self.recorder.installed():
                self.limiter_wru = self._limiter_batch_wru()
                yield self
        finally:
            push.post = original_post
            calls.set_invoker(None)

    def _aggregate(self, usage: Usage) -> None:
        """The call's changes of the stream's aggregates (postings, counted connections), given to
        the aggregator as a batch of their own: what it writes for them alone (the worst case;
        :func:`amortize` prices the usual one)."""
        if self.tail is None:
            return
        from ontology.data.search_aggregates import aggregate, changes

        records = self.tail.read()
        usage.postings = changes(records)
        usage.folds = fold_keys(records)
        mark = self.meter.mark()
        aggregate(records)
        usage.aggregated_alone = self.meter.since(mark).wru
        usage.aggregated = float(usage.aggregated_alone)
        usage.aggregator_share = 1.0 if usage.postings or usage.folds else 0.0

    def _limiter_batch_wru(self) -> int:
        """What one batch of the function-call limiter writes, metered (a session's count item)."""
        import time

        from ontology.auth import ratelimit

        mark = self.meter.mark()
        ratelimit._add("call", "ses_bench_sizing", ratelimit.Rule(60, 1000), time.time(), 10)
        return self.meter.since(mark).wru

    def _invoke(self, fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
        """The sync protocol's invoker: a function run in its own Lambda."""
        from ontology.sync.calls import in_process

        self.invocations.append(function_invocation(fn.spec.path))
        return self._limited(lambda: in_process(fn, payload))

    @contextlib.contextmanager
    def measure(self, call: str) -> Iterator[Usage]:
        """The usage of what runs in the block (filled in when it ends)."""
        self.settle()
        mark = self.meter.mark()
        calls, invocations, posts = len(self.recorder.calls), len(self.invocations), len(self.posts)
        counts = (self.http, self.transitions, self.jobs, self.esm_fifo, self.esm_standard)
        limited = self.limited
        usage = Usage(call, Meter(self.meter.source))
        yield usage
        usage.meter = self.meter.since(mark)
        usage.limited = round(self.limited - limited, 4)
        self._aggregate(usage)
        usage.lambdas = self.invocations[invocations:]
        usage.ws_messages = len(self.posts) - posts
        usage.http_requests = self.http - counts[0]
        usage.transitions = self.transitions - counts[1]
        usage.sqs_standard += (self.jobs - counts[2]) * JOB_SQS_REQUESTS + self.esm_standard - counts[4]
        usage.sqs_fifo += self.esm_fifo - counts[3]
        for service, operation, params in self.recorder.calls[calls:]:
            if service == "sqs" and operation in ("SendMessage", "SendMessageBatch"):
                n = _sqs_requests(operation, params)
                if params["QueueUrl"].endswith(".fifo"):
                    usage.sqs_fifo += n
                else:
                    usage.sqs_standard += n
            elif service == "s3vectors" and operation == "QueryVectors":
                usage.vector_queries += 1
            elif service == "s3vectors" and operation == "PutVectors":
                usage.vector_put_bytes += sum(_vector_bytes(v) for v in params.get("vectors", []))

    # --------------------------------------------------------------------------- calling

    def http_call(self, path: str, args: dict[str, Any], authorizer: dict[str, str]) -> Any:
        """``path`` called over the HTTP API: its handler given API Gateway's event, then the jobs it
        scheduled that are due."""
        from infra.events import api_event
        from ontology.runtime.handler import handle
        from ontology.runtime.registry import resolve

        fn = resolve(path)
        self.settle()  # what the call's set-up wrote is not the call's
        self.http += 1
        model = self.ai.calls if self.ai is not None else 0
        invocation = function_invocation(path)
        self.invocations.append(invocation)
        out = self._limited(lambda: handle(fn, api_event(fn.spec, args, identity=authorizer)))
        if self.ai is not None and self.ai.calls > model:
            invocation.waits["model"] = self.ai.calls - model
        body = json.loads(out["body"])
        if out["statusCode"] != 200:
            raise RuntimeError(f"{path} answered {out['statusCode']}: {body}")
        self.run_jobs()
        return body["value"]

    def _limited(self, run: Callable[[], Any]) -> Any:
        """``run()`` as the first call of its session in a fresh Lambda instance (so that no batch of
        the function-call limiter falls into it by chance), and its share of a batch counted."""
        from ontology.auth import ratelimit

        ratelimit._batched.clear()
        out = run()
        rule = ratelimit.function_call_rule()
        counted = sum(pending for _, pending in ratelimit._batched.values())
        if rule is not None:
            self.limited += self.limiter_wru * counted / ratelimit.batch_size(rule)
        return out

    def run_jobs(self) -> None:
        """Run the jobs that are due, as the scheduler delivers them, until none is (finding them is
        not counted: in AWS the table's stream hands each one over)."""
        from ontology.runtime import jobs

        while True:
            with self.meter.pause():
                due = jobs.due_jobs()
            if not due:
                return
            for job in due:
                self.jobs += 1
                model = self.ai.calls if self.ai is not None else 0
                invocation = function_invocation(job["name"])
                self.invocations += [
                    platform_invocation("SchedulerDispatcherFunction"),
                    platform_invocation("SchedulerRunnerFunction"),
                    invocation,
                ]
                jobs.execute_job(job["_id"])
                if self.ai is not None and self.ai.calls > model:
                    invocation.waits["model"] = self.ai.calls - model


def _vector_bytes(vector: dict[str, Any]) -> int:
    """Logical bytes of one vector put to S3 Vectors: 4 per dimension, its key and its metadata."""
    data = vector.get("data", {}).get("float32", [])
    return 4 * len(data) + len(str(vector.get("key", ""))) + len(json.dumps(vector.get("metadata", {})))


# ----------------------------------------------------------------------------------- seeding


def session(org: str, user: str, *, role: str = "org_owner", entity: str | None = None) -> dict[str, str]:
    """A live session of ``user`` in ``org`` (as sign-in writes it); the authorizer's context."""
    from ontology import run_mutation
    from ontology.auth.identity import hash_token

    now = time.time() * 1000
    doc: dict[str, Any] = {
        "userId": user,
        "tokenHash": hash_token(f"bench-{user}-{org}"),
        "expiresAt": now + 3_600_000,
        "activeOrganizationId": org,
        "role": role,
        "createdAt": now,
        "updatedAt": now,
    }
    if entity:
        doc["entityId"] = entity
    session_id: str = run_mutation(lambda db: db.insert("sessions", doc), org=None, platform=True)
    return {"sessionId": session_id, "userId": user}


def user_id(n: int) -> str:
    """The bench's ``n``-th user id (a ULID's shape)."""
    return f"usr_01JD8Z6V7Q3M0N2W{n:010d}"


def entity(org: str, kind: str, name: str, **fields: Any) -> str:
    """An entity written straight by a mutation (the bench's seeding, not counted)."""

    now = int(time.time() * 1000)
    doc = {"type": kind, "name": name, "createdAt": now, "updatedAt": now, "properties": {}, **fields}
    return insert(org, "entities", doc)


def insert(org: str, table: str, doc: dict[str, Any]) -> str:
    """A document written straight by a mutation (the bench's seeding, not counted)."""
    from ontology import run_mutation

    doc_id: str = run_mutation(lambda db: db.insert(table, doc), org=org)
    return doc_id


@dataclass
class Org:
    """An organization the calls run in, and what they need in it."""

    id: str
    owner: dict[str, str]
    #: the owner's entity (a member of the organization)
    me: str
    creator: str
    livestream: str
    viewers: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    members: list[dict[str, str]] = field(default_factory=list)
    #: each member's own entity, and (made on first use) their conversation with the clone
    member_entities: list[str] = field(default_factory=list)
    conversations: dict[int, str] = field(default_factory=dict)
    clone: str = ""
    conversation: str = ""
    #: the creator the calls priced at many authored items read (:func:`authored_items`)
    prolific: str = ""
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def viewer(self, n: int) -> tuple[str, dict[str, str]]:
        """The ``n``-th viewer of the livestream (joined, present), made on first use."""
        while len(self.viewers) <= n:
            from ontology.auth.identity import Identity
            from ontology.runtime.context import invoke
            from ontology.runtime.registry import resolve

            k = len(self.viewers)
            fan = entity(self.id, "audience_member", f"Viewer {k}", status="active")
            user = user_id(10_000 + k + (500_000 if self.id != ORG else 0))
            who = Identity(userId=user, organizationId=self.id, role="customer", entityId=fan)
            invoke(resolve("livestreams:join"), {"livestreamId": self.livestream}, who)
            self.viewers.append((fan, session(self.id, user, role="customer", entity=fan)))
        return self.viewers[n]

    def member(self, n: int) -> dict[str, str]:
        """The ``n``-th member's session (an ``org_user`` with an entity of their own), made on first
        use: the organization's mutations come from many members."""
        while len(self.members) <= n:
            k = len(self.members)
            me = entity(self.id, "audience_member", f"Member {k}", status="active")
            user = user_id(30_000 + k + (500_000 if self.id != ORG else 0))
            self.members.append(session(self.id, user, role="org_user", entity=me))
            self.member_entities.append(me)
        return self.members[n]

    def conversation_of(self, n: int) -> str:
        """The ``n``-th member's conversation with the clone, its first turn made on first use: the
        clone's chats come from many members, each in a conversation of their own."""
        if n not in self.conversations:
            from ontology.auth.identity import Identity
            from ontology.runtime.context import invoke
            from ontology.runtime.registry import resolve

            auth = self.member(n)
            who = Identity(
                userId=auth["userId"],
                organizationId=self.id,
                role="org_user",
                entityId=self.member_entities[n],
            )
            first = invoke(resolve("clones:chat"), {"cloneId": self.clone, "message": "How do I pace?"}, who)
            self.conversations[n] = first["conversationId"]
        return self.conversations[n]

    def identity(self) -> Any:
        """The owner's identity."""
        from ontology.auth.identity import Identity

        return Identity(
            userId=self.owner["userId"], organizationId=self.id, role="org_owner", entityId=self.me
        )

    def viewer_identity(self, n: int) -> Any:
        from ontology.auth.identity import Identity

        fan, auth = self.viewer(n)
        return Identity(userId=auth["userId"], organizationId=self.id, role="customer", entityId=fan)


def seed_org(org: str, *, posts: int = 60, clone: bool = False) -> Org:
    """An organization with its owner's session, a creator with ten published posts (and ``posts``
    more entities), a live livestream, and (``clone``) the creator's trained clone."""
    from bench.harness import index_knowledge_vectors
    from ontology.auth.identity import Identity
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    owner_user = OWNER if org == ORG else user_id(900_000)
    me = entity(org, "audience_member", "Owner", status="active")
    owner = session(org, owner_user, entity=me)
    who = Identity(userId=owner_user, organizationId=org, role="org_owner", entityId=me)
    creator = invoke(
        resolve("creators:create"),
        {"email": f"ada@{org.lower()}.example", "name": "Ada", "niche": ["running"]},
        who,
    )["creatorId"]
    for i in range(10):
        post = entity(
            org,
            "blog_post",
            f"Post {i} about marathon pacing",
            status="published",
            properties={"body": f"Lesson {i}: run the first half slower than the second."},
        )
        authored = {
            "fromEntityId": creator,
            "toEntityId": post,
            "relationshipType": "authored",
            "createdAt": 0,
        }
        insert(org, "connections", authored)
    for i in range(posts):
        entity(org, "blog_post", f"Note {i} on the analytical engine")
    stream = invoke(
        resolve("livestreams:schedule"),
        {"creatorId": creator, "title": "Pacing live", "scheduledFor": int(time.time() * 1000)},
        who,
    )["livestreamId"]
    invoke(resolve("livestreams:start"), {"livestreamId": stream}, who)
    made = Org(org, owner, me, creator, stream)
    # the words the calls write are known to the organization's index (the steady state: what a
    # call costs once such names are common; a new word adds its dictionary entry, a row of its own)
    for name in SIX_WORDS:
        entity(org, "blog_post", name)
    grace = {"email": f"grace@{org.lower()}.example", "name": "Grace Hopper", "niche": ["math"]}
    made.prolific = invoke(resolve("creators:create"), grace, who)["creatorId"]
    entity(org, "message", MESSAGE)  # a message of another chat: this one's stays as it was
    if clone:
        made.clone = invoke(resolve("clones:create"), {"creatorId": creator}, who)["cloneId"]
        from ontology.runtime import jobs

        jobs.run_due()
        index_knowledge_vectors()
        first = invoke(resolve("clones:chat"), {"cloneId": made.clone, "message": "How do I pace?"}, who)
        made.conversation = first["conversationId"]
    return made


# ------------------------------------------------------------------------------------- calls

#: Six-word names of blog posts, no word shared between two of them.
SIX_WORDS = (
    "Pacing notes for a windy marathon",
    "Strength drills before every long run",
    "Hydration plans that survive summer heat",
    "Taper weeks without losing your edge",
    "Recovery meals after hard interval sessions",
    "Cadence cues learned from elite coaches",
)


#: What the chat's viewers say.
MESSAGE = "Great pacing tips"


def new_words(org: str, n: int) -> str:
    """Six words no document of the organization holds yet."""
    tag = f"{n}{org[-3:].lower()}"
    return " ".join(f"{w}{tag}" for w in ("amber", "birch", "cedar", "dune", "ember", "fjord"))


@dataclass(frozen=True)
class Call:
    """A call the bench prices, by its function and its arguments: ``args(world, org, n)`` sets up
    its ``n``-th run (not counted: a fresh target where the scenario has one per call) and returns
    its arguments. The ``n``-th run is made by the organization's ``n``-th member (or viewer).
    ``around(org)``: what the table holds only while the call runs (put in and taken out uncounted)."""

    name: str
    path: str
    args: Callable[[World, Org, int], dict[str, Any]]
    caller: str = "member"  # member | viewer | owner
    around: Callable[[Org], contextlib.AbstractContextManager[None]] | None = None

    def run(self, w: World, o: Org, n: int) -> Any:
        """Run it (what :meth:`World.measure` should count), its arguments made first (not counted)."""
        with w.meter.pause():
            args = self.args(w, o, n)
            who = {"viewer": lambda: o.viewer(n)[1], "owner": lambda: o.owner}.get(
                self.caller, lambda: o.member(n)
            )()
            held = self.around(o) if self.around is not None else contextlib.nullcontext()
            held.__enter__()
        try:
            return w.http_call(self.path, args, who)
        finally:
            with w.meter.pause():
                held.__exit__(None, None, None)


#: Authored items of the creator `creators:get`'s second row reads.
MANY_AUTHORED = 100_000


@contextlib.contextmanager
def authored_items(o: Org, n: int = MANY_AUTHORED) -> Iterator[None]:
    """``n`` authored connections of the organization's second creator (``Org.prolific``, who has
    none of its own) and the counter shard that counts them, put
    straight into moto's table while the block runs (through the handlers they would take an hour;
    in the stream they would be the search aggregator's): the items a count of its content once
    read, none of which its read reads now. Their posts are not written: the count reads neither."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    if o.id != ORG:
        # the other organization's run finds the keys the whole platform shares; the call reads
        # none of these items (that is the row's point), and 100,000 more of them cost minutes
        yield
        return
    moto_table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables["one-bench"]
    items = _authored_items(o.id, o.prolific, n)
    for item in items:
        moto_table.items[item.hash_key][item.range_key] = item
    try:
        yield
    finally:
        for item in items:
            moto_table.items[item.hash_key].pop(item.range_key, None)
            if not moto_table.items[item.hash_key]:
                del moto_table.items[item.hash_key]


@functools.cache
def _authored_items(org: str, creator: str, n: int) -> list[Any]:
    """moto's items of :func:`authored_items` (made once per creator)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from ontology.data.counters import COUNTER_TB, counter_pk
    from ontology.data.dynamodb import serialize
    from ontology.data.keys import ID_PREFIXES
    from ontology.data.relation_counts import CONTENT
    from ontology.data.schema import table as schema_table
    from ontology.data.transaction import _doc_attrs

    where = (schema_table("connections"), org)
    base = "01JD8Z6V7Q"  # ids of their own (the seeded generator's stay the other calls')
    out = []

    def item(typed: dict[str, Any]) -> Any:
        # moto's Item re-sizes the whole item at each attribute it sets (its 400 KB check): set
        # them at once instead (these items are a few hundred bytes)
        made = Item(DynamoType(typed["pk"]), DynamoType(typed["sk"]), {})
        dict.update(made.attrs, {name: DynamoType(value) for name, value in typed.items()})
        return made

    def typed(counter: str) -> dict[str, Any]:
        conn_id = f"{ID_PREFIXES['connections']}_{base}{counter}"
        doc: dict[str, Any] = {
            "fromEntityId": creator,
            "toEntityId": f"{ID_PREFIXES['entities']}_{base}{counter}",
            "relationshipType": "authored",
            "createdAt": 1_700_000_000_000,
            "_id": conn_id,
            "_creationTime": 1_700_000_000_000.0,
        }
        return serialize(_doc_attrs(org, conn_id, doc, 1, where))

    # the n items differ only in their ids' counter: one is made through the data layer and the rest
    # from its text (the layer's keys for 100,000 items take seconds), the last checked against the layer
    marker = "Z" * 16
    text = json.dumps(typed(marker))
    for i in range(n):
        out.append(item(json.loads(text.replace(marker, f"{i:016d}"))))
    if n and json.loads(text.replace(marker, f"{n - 1:016d}")) != typed(f"{n - 1:016d}"):
        raise AssertionError("the authored items' template is not what the data layer writes")
    shard = {
        "pk": {"S": counter_pk(org, creator, CONTENT)},
        "sk": {"S": "01"},
        "tb": {"S": COUNTER_TB},
        "n": {"N": str(n)},
        "n_public": {"N": str(n)},
    }
    out.append(item(shard))
    return out


def _fresh_creator(o: Org, n: int) -> str:
    """A creator of its own for the ``n``-th update (updates spread over the organization's creators)."""
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    made: str = invoke(
        resolve("creators:create"),
        {"email": f"u{n}@{o.id.lower()}.example", "name": f"U {n}", "niche": []},
        o.identity(),
    )["creatorId"]
    return made


_FIRST_50: dict[str, Any] = {"numItems": 50, "cursor": None}

CALLS: dict[str, Call] = {
    c.name: c
    for c in (
        Call("creators:get (10 authored items)", "creators:get", lambda w, o, n: {"id": o.creator}),
        Call(
            f"creators:get ({MANY_AUTHORED:,} authored items)",
            "creators:get",
            lambda w, o, n: {"id": o.prolific},
            around=authored_items,
        ),
        Call("entities:list (50)", "entities:list", lambda w, o, n: {"paginationOpts": _FIRST_50}),
        Call(
            "creators:create",
            "creators:create",
            lambda w, o, n: {"email": f"grace{n}@example.com", "name": "Grace Hopper", "niche": ["math"]},
        ),
        Call(
            "creators:update (one field)",
            "creators:update",
            lambda w, o, n: {"id": _fresh_creator(o, n), "bio": "Runs marathons."},
        ),
        Call(
            "entities:create (blog post, six-word name)",
            "entities:create",
            lambda w, o, n: {"type": "blog_post", "name": SIX_WORDS[n % len(SIX_WORDS)]},
        ),
        Call(
            "entities:create (six words new to the organization)",
            "entities:create",
            lambda w, o, n: {"type": "blog_post", "name": new_words(o.id, n)},
        ),
        Call(
            "connections:create",
            "connections:create",
            lambda w, o, n: {
                "fromEntityId": entity(o.id, "audience_member", f"Fan {n}", status="active"),
                "toEntityId": o.creator,
                "relationshipType": "following",
            },
        ),
        Call(
            "tags:add",
            "tags:add",
            lambda w, o, n: {
                "entityId": entity(o.id, "blog_post", f"Draft {n}"),
                "key": "topic",
                "value": "running",
            },
        ),
        Call("entities:search", "entities:search", lambda w, o, n: {"query": "marathon pacing", "limit": 20}),
        Call(
            "clones:chat (local model)",
            "clones:chat",
            lambda w, o, n: {
                "cloneId": o.clone,
                "message": "And the second half?",
                "conversationId": o.conversation_of(n),
            },
        ),
        Call(
            "livestreams:send_message",
            "livestreams:send_message",
            lambda w, o, n: {"livestreamId": o.livestream, "text": MESSAGE},
            caller="viewer",
        ),
    )
}


def aggregator_batch(
    w: World, o: Org, posts: int, creators: int, messages: int, *, follows: int = 0
) -> AggregatorBatch:
    """One batch of the stream's aggregator as the largest organization's second makes it: ``posts``
    blog posts (the six-word names in turn), ``creators`` creators, ``messages`` chat messages and
    ``follows`` follows of its creator (the bench's calls' own arguments, made uncounted), then the
    aggregator on their changes together, counted."""
    from collections import Counter

    from ontology.data.search import RECEIPT_PREFIX
    from ontology.data.search_aggregates import aggregate, changes
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    assert w.tail is not None
    w.settle()
    with w.meter.pause():
        who = o.identity()
        for n in range(posts):
            invoke(
                resolve("entities:create"), {"type": "blog_post", "name": SIX_WORDS[n % len(SIX_WORDS)]}, who
            )
        for n in range(creators):
            grace = {"email": f"grace{n}@batch.example", "name": "Grace Hopper", "niche": ["math"]}
            invoke(resolve("creators:create"), grace, who)
        for n in range(messages):  # ten viewers take turns: a message's words are what counts here
            say = {"livestreamId": o.livestream, "text": MESSAGE}
            invoke(resolve("livestreams:send_message"), say, o.viewer_identity(n % 10))
        for n in range(follows):  # the scenario's follows: all of one (popular) creator
            fan = entity(o.id, "audience_member", f"Batch fan {n}", status="active")
            follow = {"fromEntityId": fan, "toEntityId": o.creator, "relationshipType": "following"}
            invoke(resolve("connections:create"), follow, who)
        records = w.tail.read()
    found = changes(records)
    folds = fold_keys(records)
    mark = w.meter.mark()
    assert aggregate(records) is None
    meter = w.meter.since(mark)
    per_item: dict[tuple[str, str], int] = {}
    for x in meter.writes:
        key = share_key((x.pk, x.sk))
        per_item[key] = per_item.get(key, 0) + x.total
    receipts = sum(x.total for x in meter.writes if x.pk.startswith(RECEIPT_PREFIX))
    shares = Counter(share_key(key) for c in found for key in c.keys)
    shares.update(folds)
    return AggregatorBatch(meter, len(found) + len(folds), per_item, dict(shares), receipts)


def authorizer_miss(w: World, o: Org) -> Usage:
    """The authorizer on a token API Gateway has not cached: its guard and its session read."""
    from ontology.auth import identity

    token = "bench-authorizer-token-0123456789"
    from ontology import run_mutation

    now = time.time() * 1000
    run_mutation(
        lambda db: db.insert(
            "sessions",
            {
                "userId": OWNER,
                "tokenHash": identity.hash_token(token),
                "expiresAt": now + 3_600_000,
                "activeOrganizationId": o.id,
                "role": "org_owner",
                "createdAt": now,
                "updatedAt": now,
            },
        ),
        org=None,
        platform=True,
    )
    identity._session_ids.clear()  # a Lambda that has not seen the token
    with w.measure("authorizer (cache miss)") as usage:
        w.invocations.append(platform_invocation("AuthorizerFunction"))
        answer = identity.authorize({"headers": {"authorization": f"Bearer {token}"}})
        assert answer["context"].get("sessionId"), answer
    return usage


# ----------------------------------------------------------------------------- reactivity


def subscribe(w: World, connection_id: str, identity: Any, udf: str, args: dict[str, Any]) -> None:
    """A connection (made here) subscribing to ``udf`` with ``args`` (not counted)."""
    from ontology.sync.state import SyncState
    from ontology.sync.worker import process

    state = SyncState()
    with w.meter.pause():
        conn = state.create(connection_id)
        conn.identity = {
            k: v
            for k, v in {
                "userId": identity.userId,
                "organizationId": identity.organizationId,
                "role": identity.role,
                "entityId": identity.entityId,
            }.items()
            if v
        }
        conn.identity_version = 1
        state.save(conn)
        add = {"type": "Add", "queryId": 0, "udfPath": udf, "args": [args]}
        message = {"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": [add]}
        invocations = len(w.invocations)
        process(state, {"c": connection_id, "m": json.dumps(message)})
        del w.invocations[invocations:]
        w.posts.clear()


class Stream:
    """The table's stream, read from its newest record on (what the invalidator is given)."""

    def __init__(self) -> None:
        import boto3

        self.client = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = self.client.list_streams()["Streams"][0]["StreamArn"]
        shard = self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.client.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def records(self) -> list[dict[str, Any]]:
        out = self.client.get_records(ShardIterator=self.iterator)
        self.iterator = out["NextShardIterator"]
        records: list[dict[str, Any]] = out["Records"]
        return records


def _drain(url: str, *, wait: float = 0.0) -> list[dict[str, Any]]:
    """Every message on a queue (received and deleted by the bench, not counted)."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    deadline = time.monotonic() + wait
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", []
        )
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out += got
        if not got:
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(0.1)


Part = Callable[[str], contextlib.AbstractContextManager[Any]]


def _none(_: str) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


def deliver(w: World, stream: Stream, part: Part = _none) -> None:
    """What AWS does after a write: the stream's records to the invalidator, the sync queue's message
    groups to the worker (a Lambda per group), the recheck queue's delayed messages (rechecks, and
    the wakes of connections that re-ran less than a second before) back to the invalidator and
    their groups to the worker again, until nothing is left.

    ``part(name)`` is entered around each step: ``"invalidate"`` (the stream's records),
    ``"rerun"`` (the worker's first round), ``"recheck"`` (the recheck queue's first round, back in
    the invalidator) and ``"later"`` (every round after)."""
    from ontology.data import read_cache
    from ontology.settings import get_settings
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.websocket import worker_handler

    settings = get_settings()
    records = stream.records()
    if not records:
        return

    def delayed_waiting() -> bool:
        import boto3

        attrs = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
            QueueUrl=settings.sync_recheck_queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return any(int(v) for v in attrs.values())

    with part("invalidate"):
        w.invocations.append(platform_invocation("SyncInvalidatorFunction"))
        invalidate_handler({"Records": records})
    for round_ in range(100):
        with part("rerun" if round_ == 0 else "later"):
            groups: dict[str, list[dict[str, Any]]] = {}
            for m in _drain(settings.sync_queue_url):
                groups.setdefault(m["Attributes"]["MessageGroupId"], []).append(m)
            for group in groups.values():  # Lambda hands the worker one message group's batch
                # each connection's re-runs in function containers of their own: nothing another
                # connection's re-run read is shared with them (ontology.data.read_cache; the scenario
                # bounds the containers a key is read from by the worker's concurrency)
                read_cache.clear()
                w.invocations.append(platform_invocation("SyncWorkerFunction"))
                w.esm_fifo += ESM_REQUESTS_PER_BATCH
                worker_handler({"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in group]})
        if not delayed_waiting():
            return
        w.ahead += 1.0  # the delay the recheck queue's messages carry (dropped: sync_clock)
        delayed = _drain(settings.sync_recheck_queue_url)
        if not delayed:
            return
        with part("recheck" if round_ == 0 else "later"):
            w.invocations.append(platform_invocation("SyncInvalidatorFunction"))
            w.esm_standard += ESM_REQUESTS_PER_BATCH
            invalidate_handler(
                {
                    "Records": [
                        {"eventSource": "aws:sqs", "messageId": m["MessageId"], "body": m["Body"]}
                        for m in delayed
                    ]
                }
            )


#: Subscriptions the reactive rows and the scenario measure: the query a subscriber runs, and the write
#: that touches it. ``point``: a member with one entity open (``entities:get``), the write a patch of
#: it; ``list``: a member on the organization's newest entities (``entities:list``, 50 a page), the
#: write a new blog post; ``chat``: a viewer on a live chat (``livestreams:chat``, 50 a page), the
#: write a viewer's message.
SUBSCRIPTIONS = ("point", "list", "chat")


def subscriber(w: World, o: Org, kind: str, n: int, target: str) -> None:
    """The ``n``-th subscriber of ``kind`` to ``target`` (a document, or the livestream)."""
    connection = f"{kind}-{target[-8:]}-{n}"
    if kind == "point":
        subscribe(w, connection, o.identity(), "entities:get", {"id": target})
    elif kind == "list":
        first: dict[str, Any] = {"numItems": 50, "cursor": None}
        subscribe(w, connection, o.identity(), "entities:list", {"paginationOpts": first})
    else:
        first = {"numItems": 50, "cursor": None}
        page = {"livestreamId": target, "paginationOpts": first}
        subscribe(w, connection, o.viewer_identity(n), "livestreams:chat", page)


def touch(w: World, o: Org, kind: str, target: str, n: int) -> None:
    """The write that touches a ``kind`` subscription to ``target`` (not counted)."""
    from ontology import run_mutation

    with w.meter.pause():
        if kind == "point":
            run_mutation(lambda db: db.patch(target, {"name": f"Renamed {n}"}, "entities"), org=o.id)
        elif kind == "list":
            entity(o.id, "blog_post", f"Fresh post {n}")
        else:
            from functions.livestreams import post

            fan, _ = o.viewer(0)
            run_mutation(lambda db: post(db, target, fan, f"Message {n}", int(time.time() * 1000)), org=o.id)


def reactive_parts(w: World, o: Org, kind: str, target: str, n: int) -> dict[str, Usage]:
    """What writes cost their subscribers in a busy second, by part (:func:`deliver`):

    - ``invalidate``: the invalidator's pass over a write that finds its subscribers' re-run pending
      already (the second write of the second: it merges), at the rate of the writes;
    - ``rerun``: the subscribers' one re-run of the second, whatever the writes;
    - ``recheck``: the one recheck of the second (two at most).

    The second's first write, which wakes the workers and schedules the recheck, is delivered to the
    invalidator but not counted; the rounds after the recheck (its re-run merges into the next
    second's when writes keep coming) are run but not counted. The subscribers start quiet."""
    from ontology.sync.invalidator import invalidate_handler
    from ontology.sync.pending import RERUN_SECONDS

    w.ahead += RERUN_SECONDS
    stream = Stream()
    touch(w, o, kind, target, n)
    with w.meter.pause():
        invalidate_handler({"Records": stream.records()})
    touch(w, o, kind, target, n + 1000)
    usages: dict[str, Usage] = {}

    @contextlib.contextmanager
    def part(name: str) -> Iterator[Any]:
        if name == "later":
            with w.meter.pause():
                yield
            return
        with w.measure(f"reactive {name} ({kind})") as usage:
            yield
        usages[name] = usage

    deliver(w, stream, part)
    return usages


def reactive(w: World, o: Org, kind: str, target: str, n: int) -> Usage:
    """What one write costs its subscribers: the sync path after the write (the write itself is
    not counted: it is its own call). The subscribers start quiet (their last re-run a second ago)."""
    from ontology.sync.pending import RERUN_SECONDS

    w.ahead += RERUN_SECONDS
    stream = Stream()
    touch(w, o, kind, target, n)
    with w.measure(f"reactive update ({kind})") as usage:
        deliver(w, stream)
    return usage


# ------------------------------------------------------------------------------- token sale


@dataclass
class Sale:
    """A token on sale in an organization, and its buyers."""

    org: str
    token: str
    buyers: list[dict[str, str]] = field(default_factory=list)

    def buyer(self, n: int) -> dict[str, str]:
        """The ``n``-th buyer's session (a customer with an entity of their own), made on first use."""
        while len(self.buyers) <= n:
            k = len(self.buyers)
            fan = entity(self.org, "audience_member", f"Buyer {k}", status="active")
            user = user_id(20_000 + k + (500_000 if self.org != ORG else 0))
            self.buyers.append(session(self.org, user, role="customer", entity=fan))
        return self.buyers[n]


def seed_sale(org: str) -> Sale:
    """An organization (its owner, a creator) with an active token on sale."""
    from ontology import run_mutation
    from ontology.auth.identity import Identity
    from ontology.auth.people import create_user_with_organization
    from ontology.runtime.context import invoke
    from ontology.runtime.registry import resolve

    made = run_mutation(
        lambda db: create_user_with_organization(
            db,
            org_id=org,
            email=f"owner@{org.lower()}.example",
            name="Owner",
            email_verified=True,
            organization_name="Sale",
        ),
        org=org,
        platform=True,
    )
    who = Identity(userId=made["userId"], organizationId=org, role="org_owner", entityId=made["entityId"])
    creator = invoke(
        resolve("creators:create"), {"email": f"c@{org.lower()}.example", "name": "C", "niche": []}, who
    )
    token = invoke(
        resolve("tokens:create"),
        {"creatorId": creator["creatorId"], "name": "Bench", "symbol": "BEN", "priceUsd": 1},
        who,
    )["tokenId"]
    return Sale(org, token)


def warm_signing_pool() -> int:
    """Give every account of the signing pool its ``chainNonces`` item (at its nonce on the chain), as
    a platform that has sold for a while holds: a purchase signed by an account with an item reads it
    (the unique guard, then the item); by one never used, only the guard. Which account signs a
    purchase follows from its id, so without this a purchase's reads would depend on which accounts
    the bench's earlier purchases happened to use. How many items it added."""
    from ontology import run_mutation
    from ontology.providers.chain import get_chain

    chain: Any = get_chain()
    added = 0
    for address in chain.signers:
        account = chain.nonce_account_of(address if address != chain.custody_address else "")
        nonce = int(chain.w3.eth.get_transaction_count(address, "pending"))

        def record(db: Any, account: str = account, nonce: int = nonce) -> bool:
            platform = db.view(platform=True)
            if platform.lookup_unique("chainNonces", "account", {"account": account}) is not None:
                return False
            platform.insert("chainNonces", {"account": account, "next": nonce, "updatedAt": 0})
            return True

        added += bool(run_mutation(record, org=None, platform=True))
    return added


def purchase(w: World, rig: Any, payments: Any, sale: Sale, n: int) -> None:
    """The ``n``-th buyer buys two tokens and the saga runs to its end: ``tokens:purchase`` over
    HTTP, its scheduled start, every state of the state machine and its steps' Lambdas."""
    with w.meter.pause():
        buyer = sale.buyer(n)
    stripe = sum(payments.calls.values())
    rpc = rig.chain.requests
    started = w.http_call(
        "tokens:purchase", {"tokenId": sale.token, "amount": 2, "paymentMethodId": "pm_card_visa"}, buyer
    )
    rig.wait(started["purchaseId"])
    w.run_jobs()
    history = rig.history(started["purchaseId"])
    if not any(e["type"] == "ExecutionSucceeded" for e in history):
        raise RuntimeError(f"purchase {started['purchaseId']} did not complete")
    w.transitions += sum(1 for e in history if e["type"].endswith("StateEntered"))
    # the steps wait on Stripe and the chain inside their own invocations (counted by the runner)
    w.invocations.append(
        Invocation(
            "the steps' waits on Stripe and the chain",
            memory_of("PurchasesChargeFunction"),
            "waits",
            {"stripe": sum(payments.calls.values()) - stripe, "chain": rig.chain.requests - rpc},
            requests=0,
        )
    )


@contextlib.contextmanager
def sale_world() -> Iterator[tuple[World, Any, Any]]:
    """The saga's rig (moto with Step Functions' interpreter, localstripe, the local chain) and a
    :class:`World` recording it, its step Lambdas counted as the runner invokes them."""
    import tempfile
    from pathlib import Path

    from bench.saga import CountingPayments
    from infra.local.rig import saga_rig
    from ontology.providers.payments import get_payments, set_payments

    fake_aws_env()
    with tempfile.TemporaryDirectory() as tmp, saga_rig(Path(tmp), table_name="one-bench") as rig:
        born_migrated()
        w = World()
        payments = CountingPayments(get_payments())
        set_payments(payments)
        original = rig.runner.invoke

        def invoke(logical_id: str, event: Any) -> Any:
            handler = rig.runner.defs[logical_id].handler
            w.invocations.append(function_invocation(handler.replace(".", ":", 1)))
            return original(logical_id, event)

        rig.runner.invoke = invoke
        with w.installed(), seeded_ids():
            yield w, rig, payments


@contextlib.contextmanager
def seeded_ids(seed: int = 7) -> Iterator[None]:
    """Ids made from a seeded generator, and the process's random numbers seeded: which shard of a
    sharded index a document falls in follows from its id, and which counter shard a call adds to
    from the random module, so the figures are the same on every run."""
    import random
    import types

    from ontology.data import keys

    rng = random.Random(seed)
    original = keys.os
    keys.os = types.SimpleNamespace(urandom=rng.randbytes)  # type: ignore[assignment]
    # and the shards a call picks at random (a counter's, a tombstone's, a signing account)
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        keys.os = original
        random.setstate(state)


@contextlib.contextmanager
def sync_clock(w: World, recheck_url: str) -> Iterator[None]:
    """The sync protocol's second without waiting for it: its modules read a clock ``w.ahead`` seconds
    ahead of this machine's, and the recheck queue's messages are sent without their delay (the
    bench moves the clock on by it before it hands them on)."""
    import types

    from ontology.data import read_cache
    from ontology.sync import invalidator, pending, worker

    clock = types.SimpleNamespace(
        time=lambda: time.time() + w.ahead, time_ns=time.time_ns, monotonic=time.monotonic, sleep=time.sleep
    )
    modules = (pending, worker, read_cache, invalidator)
    saved = [(m, m.time, m.enqueue if hasattr(m, "enqueue") else None) for m in modules]

    def undelayed(send: Any) -> Any:
        def enqueue(entries: list[dict[str, Any]], url: str = "") -> None:
            if url == recheck_url:
                entries = [{k: v for k, v in e.items() if k != "DelaySeconds"} for e in entries]
            send(entries, url=url)

        return enqueue

    try:
        for m, _, send in saved:
            m.time = clock  # type: ignore[attr-defined]
            if send is not None:
                m.enqueue = undelayed(send)  # type: ignore[attr-defined]
        yield
    finally:
        for m, original, send in saved:
            m.time = original  # type: ignore[attr-defined]
            if send is not None:
                m.enqueue = send  # type: ignore[attr-defined]


@contextlib.contextmanager
def world() -> Iterator[World]:
    """moto in process (the template's table and vector bucket, the sync queues), the local model as
    the AI port, and a :class:`World` recording it all."""
    import boto3

    from ontology.settings import configure

    fake_aws_env()
    with local_table(), vectors_and_ai() as (ai, _):
        sqs = boto3.client("sqs", region_name="us-east-1")
        fifo = sqs.create_queue(
            QueueName="bench-sync.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        recheck = sqs.create_queue(QueueName="bench-sync-recheck")["QueueUrl"]
        configure(sync_queue_url=fifo, sync_recheck_queue_url=recheck)
        w = World(ai)
        with w.installed(), seeded_ids(), sync_clock(w, recheck):
            yield w
