"""The sync protocol's state in the table (the platform partition, expiring by TTL).

Per connection, one partition ``platform#sync#<connectionId>``:

- ``conn``: the connection — its protocol version (querySet, identity, ts), the identity and session
  it authenticated as, the highest timestamp the client has seen, and its query set (each query's
  function path, arguments and the hash of the result last sent). Saved with a condition on its
  version ``v``, so two writers can never both think they advanced it;
- ``sub#<queryId>``: a subscription's read set (points and index ranges) and the watch keys made
  from it (``sub#auth``: what the session's identity was resolved from).

Per watched key, one partition ``platform#syncw#<hash of the key>``: a marker item (``#``) and one
item per subscription ``<connectionId>#<queryId>`` (a range's item holds the stretches of the index
partition it read). A write finds its subscribers with one BatchGetItem of the markers of every key it
touched and one consistent Query per key that is watched, however many subscriptions exist
elsewhere.

Per session (or anonymous connection) and minute, one item ``platform#syncrate#<hash of the session>``
/ ``<minute>``: what its new subscriptions cost (:mod:`ontology.sync.limits`).

Per organization, one partition ``platform#syncorg#<organizationId>``: an item ``<connectionId>`` for
each connection that authenticated as one of its members (written when the identity is set, expiring
with the connection), so the organization's open connections are one Query away
(:meth:`SyncState.organization_connections`). An item outlives a connection that signed out or moved to
another organization until its TTL; the listing keeps only the connections whose identity is still
the organization's.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from ontology.data.dynamodb import Store, default_store, serialize
from ontology.data.keys import DOC_SK
from ontology.data.schema import PLATFORM_SCOPE
from ontology.data.tracking import ReadSet, WriteSet, point_key, range_key
from ontology.errors import ConflictError

#: The sort key of a connection's pending re-run, beside its ``conn`` item (:mod:`ontology.sync.pending`).
PENDING_SK = "pending"

__all__ = ["AUTH_QUERY", "Connection", "SyncState", "Watcher"]

#: API Gateway closes a WebSocket after two hours; the state outlives it a little, then expires.
CONNECTION_TTL_SECONDS = 2 * 3600 + 600
#: The query id under which the connection watches its own session (revocation → AuthError).
AUTH_QUERY = "auth"
_PREFIX = f"{PLATFORM_SCOPE}#sync#"
_WATCH_PREFIX = f"{PLATFORM_SCOPE}#syncw#"
_OPEN_PREFIX = f"{PLATFORM_SCOPE}#syncopen#"
_RATE_PREFIX = f"{PLATFORM_SCOPE}#syncrate#"
_ORG_PREFIX = f"{PLATFORM_SCOPE}#syncorg#"
#: Sort key of a watched key's marker item (sorts before every ``<connectionId>#<queryId>``).
MARKER_SK = "#"
#: Open connections are listed (for the keep-alive) from this many partitions, by connection id.
OPEN_SHARDS = 8


def conn_pk(connection_id: str) -> str:
    """The partition of a connection's items."""
    return _PREFIX + connection_id


_conn_pk = conn_pk


def connection_ttl(since: float) -> float:
    """When (epoch seconds) the items of a connection opened or touched at ``since`` expire."""
    return since + CONNECTION_TTL_SECONDS


def _watch_pk(key: str) -> str:
    return _WATCH_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


def _open_key(connection_id: str) -> tuple[str, str]:
    shard = int(hashlib.sha256(connection_id.encode()).hexdigest()[:8], 16) % OPEN_SHARDS
    return f"{_OPEN_PREFIX}{shard}", connection_id


def is_sync_item(pk: str) -> bool:
    return pk.startswith((_PREFIX, _WATCH_PREFIX, _OPEN_PREFIX, _RATE_PREFIX, _ORG_PREFIX))


@dataclass
class Connection:
    id: str
    query_set: int = 0
    identity_version: int = 0
    ts: int = 0
    #: the identity (authorizer context) the connection authenticated as, or None
    identity: dict[str, Any] | None = None
    #: queryId (str) → {"path", "args", "hash"}
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_observed_ts: int = 0
    connected_at: float = 0.0
    session_id: str = ""
    #: the item's version (conditional saves)
    v: int = 0
    #: the connection has been told to stop (FatalError)
    closed: bool = False
    #: the queue item last applied (an item delivered again is recognised)
    applied: str = ""
    #: versioned messages that arrived ahead of their predecessor (raw JSON), in arrival order
    held: list[str] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return {
            "qs": self.query_set,
            "iv": self.identity_version,
            "ts": self.ts,
            "identity": self.identity,
            "queries": self.queries,
            "maxObserved": self.max_observed_ts,
            "connectedAt": self.connected_at,
            "sessionId": self.session_id,
            "closed": self.closed,
            "applied": self.applied,
            "held": self.held,
        }

    @classmethod
    def from_item(cls, connection_id: str, item: dict[str, Any]) -> Connection:
        doc = json.loads(item["doc"])
        return cls(
            id=connection_id,
            query_set=int(doc["qs"]),
            identity_version=int(doc["iv"]),
            ts=int(doc["ts"]),
            identity=doc.get("identity"),
            queries=doc.get("queries") or {},
            max_observed_ts=int(doc.get("maxObserved") or 0),
            connected_at=float(doc.get("connectedAt") or 0),
            session_id=str(doc.get("sessionId") or ""),
            v=int(item["v"]),
            closed=bool(doc.get("closed")),
            applied=str(doc.get("applied") or ""),
            held=list(doc.get("held") or []),
        )


@dataclass(frozen=True)
class Watcher:
    connection_id: str
    query_id: str
    #: found through an index range (read from a GSI, which may not show the write yet)
    ranged: bool = False


def _ttl(connected_at: float) -> datetime:
    return datetime.fromtimestamp(connected_at + CONNECTION_TTL_SECONDS, tz=UTC)


class SyncState:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or default_store()

    # ---------------------------------------------------------------------------- connections

    def create(self, connection_id: str) -> Connection:
        conn = Connection(id=connection_id, connected_at=time.time())
        self.save(conn)
        pk, sk = _open_key(connection_id)
        self.store.batch_write([{"pk": pk, "sk": sk, "tb": "_sync", "v": 1, "ttl": _ttl(conn.connected_at)}])
        return conn

    def open_connections(self) -> list[str]:
        """Every open connection's id (a Query per shard, never a Scan)."""
        out: list[str] = []
        for shard in range(OPEN_SHARDS):
            out += [str(i["sk"]) for i in self._partition(f"{_OPEN_PREFIX}{shard}", 1000)]
        return out

    def open_page(self, shard: int, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Up to ``limit`` open connections of one shard, from after ``after``, and where the next
        page starts (None: the shard ends here)."""
        pk = f"{_OPEN_PREFIX}{shard}"
        items, start, _ = self.store.query(
            index=None,
            pk_attr="pk",
            pk=pk,
            sk_attr="sk",
            sk_condition=None,
            forward=True,
            limit=limit,
            start_key={"pk": {"S": pk}, "sk": {"S": after}} if after else None,
            consistent=True,
        )
        ids = [str(i["sk"]) for i in items]
        return ids, (ids[-1] if start and ids else None)

    def index_organization(self, conn: Connection) -> None:
        """Make the connection findable from its identity's organization (one PutItem; nothing for an
        anonymous connection)."""
        organization = (conn.identity or {}).get("organizationId")
        if not organization:
            return
        self.store.batch_write(
            [
                {
                    "pk": _ORG_PREFIX + str(organization),
                    "sk": conn.id,
                    "tb": "_sync",
                    "v": 1,
                    "ttl": _ttl(conn.connected_at),
                }
            ]
        )

    def organization_connections(
        self, organization: str, limit: int = 200
    ) -> list[tuple[Connection, set[str]]]:
        """The organization's open connections (at most ``limit``), each with the query ids of its
        pending re-run: one Query of the organization's partition, then BatchGetItems of the
        connections' items; a connection gone, closed, or authenticated elsewhere since is left out."""
        ids = [str(i["sk"]) for i in islice(self._partition(_ORG_PREFIX + organization, limit), limit)]
        keys = [(_conn_pk(c), sk) for c in ids for sk in ("conn", PENDING_SK)]
        items = self.store.batch_get_items(keys, consistent=True) if keys else {}
        out: list[tuple[Connection, set[str]]] = []
        for c in ids:
            item = items.get((_conn_pk(c), "conn"))
            if item is None:
                continue
            conn = Connection.from_item(c, item)
            if conn.closed or (conn.identity or {}).get("organizationId") != organization:
                continue
            waiting = items.get((_conn_pk(c), PENDING_SK)) or {}
            out.append((conn, {str(q) for q in waiting.get("q") or ()}))
        return out

    def _partition(self, pk: str, page: int) -> Iterator[dict[str, Any]]:
        """Every item of one of the protocol's partitions: consistent Queries, ``page`` at a time."""
        start = None
        while True:
            items, start, _ = self.store.query(
                index=None,
                pk_attr="pk",
                pk=pk,
                sk_attr="sk",
                sk_condition=None,
                forward=True,
                limit=page,
                start_key=start,
                consistent=True,
            )
            yield from items
            if not start:
                return

    def load(self, connection_id: str) -> Connection | None:
        item = self.store.get(_conn_pk(connection_id), "conn", consistent=True)
        return Connection.from_item(connection_id, item) if item else None

    def save(self, conn: Connection) -> None:
        """Write the connection, conditioned on the version it was loaded at."""
        attrs = {
            "pk": _conn_pk(conn.id),
            "sk": "conn",
            "tb": "_sync",
            "v": conn.v + 1,
            "doc": json.dumps(conn.to_doc(), separators=(",", ":")),
            "ttl": _ttl(conn.connected_at),
        }
        put: dict[str, Any] = {"TableName": self.store.table_name, "Item": serialize(attrs)}
        if conn.v:
            put["ConditionExpression"] = "#v = :v"
            put["ExpressionAttributeNames"] = {"#v": "v"}
            put["ExpressionAttributeValues"] = {":v": {"N": str(conn.v)}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        try:
            self.store.call("PutItem", put)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConflictError("the connection's state changed meanwhile") from None
            raise
        conn.v += 1

    def drop(self, connection_id: str) -> None:
        """Forget a connection: its item, its subscriptions and their watches."""
        pk = _conn_pk(connection_id)
        items = list(self._partition(pk, 100))
        deletes = [(pk, str(i["sk"])) for i in items] + [_open_key(connection_id)]
        for item in items:
            if item["sk"] == "conn":
                organization = (json.loads(item["doc"]).get("identity") or {}).get("organizationId")
                if organization:
                    deletes.append((_ORG_PREFIX + str(organization), connection_id))
            if str(item["sk"]).startswith("sub#"):
                deletes += self._watch_deletes(connection_id, str(item["sk"])[4:], item)
        self.store.batch_write([], deletes)

    # -------------------------------------------------------------------------- subscriptions

    def _watch_deletes(
        self, connection_id: str, query_id: str, item: dict[str, Any]
    ) -> list[tuple[str, str]]:
        keys = json.loads(item["doc"]).get("keys", [])
        return [(_watch_pk(k), f"{connection_id}#{query_id}") for k in keys]

    def watch(self, conn: Connection, query_id: str, reads: ReadSet, marked: set[str] | None = None) -> int:
        """Replace a subscription's read set and its watches; the number of items written.

        Only what changed is written: a key it already watched keeps its item, and its marker (written
        since the connection opened, it outlives the connection). A range's item is kept while the
        stretches it holds still cover what the query now reads, for up to :data:`KEEP_WATCH_SECONDS`
        (a newest-first page moves up its index with every insert: its subscribers would otherwise
        rewrite their items at the rate of the inserts; a watch wider than the read only re-runs the
        query for a write it did not need, which a pending re-run absorbs). A marker already in
        ``marked`` (written by this message) is not written twice.
        """
        sub_pk, sub_sk = _conn_pk(conn.id), f"sub#{query_id}"
        old = self.store.get(sub_pk, sub_sk, consistent=True)
        old_doc = json.loads(old["doc"]) if old else {}
        old_keys = set(old_doc.get("keys", []))
        watched: dict[str, list[Any]] = old_doc.get("w") or (
            {k: [v, 0.0] for k, v in _stretches(ReadSet.from_json(old_doc["reads"])).items()} if old else {}
        )
        keys = reads.watch_keys()
        now = time.time()
        stale = old_keys - set(keys)
        member = f"{conn.id}#{query_id}"
        ttl = _ttl(conn.connected_at)
        marked = set() if marked is None else marked
        puts: list[dict[str, Any]] = []
        ranges = _stretches(reads)
        kept: dict[str, list[Any]] = {}
        for key in keys:
            if key in old_keys and key not in ranges:
                continue
            if key in old_keys and key in watched and _covers(watched[key], ranges[key], now):
                kept[key] = watched[key]
                continue
            if key in ranges:
                kept[key] = [ranges[key], now]
            if key not in old_keys and key not in marked:
                # the key's marker: a write looks every key it touched up in one BatchGetItem, and
                # queries only the partitions that have one (it expires with the last connection that
                # renews it)
                puts.append(
                    {"pk": _watch_pk(key), "sk": MARKER_SK, "tb": "_sync", "v": 1, "ttl": _ttl(time.time())}
                )
                marked.add(key)
            body: dict[str, Any] = {"c": conn.id, "q": query_id}
            if key in ranges:
                body["r"] = kept[key][0]
            puts.append(
                {
                    "pk": _watch_pk(key),
                    "sk": member,
                    "tb": "_sync",
                    "v": 1,
                    "doc": json.dumps(body, separators=(",", ":")),
                    "ttl": ttl,
                }
            )
        doc = {"reads": reads.to_json(), "keys": keys, "w": kept}
        puts.insert(
            0,
            {
                "pk": sub_pk,
                "sk": sub_sk,
                "tb": "_sync",
                "v": 1,
                "doc": json.dumps(doc, separators=(",", ":")),
                "ttl": ttl,
            },
        )
        self.store.batch_write(puts, [(_watch_pk(k), member) for k in sorted(stale)])
        return len(puts)

    def unwatch(self, conn: Connection, query_id: str) -> None:
        sub_pk, sub_sk = _conn_pk(conn.id), f"sub#{query_id}"
        old = self.store.get(sub_pk, sub_sk, consistent=True)
        if old is None:
            return
        self.store.batch_write([], [(sub_pk, sub_sk), *self._watch_deletes(conn.id, query_id, old)])

    def read_set(self, conn: Connection, query_id: str) -> ReadSet | None:
        item = self.store.get(_conn_pk(conn.id), f"sub#{query_id}", consistent=True)
        return ReadSet.from_json(json.loads(item["doc"])["reads"]) if item else None

    def read_sets(self, conn: Connection, query_ids: list[str]) -> dict[str, ReadSet]:
        out = {}
        for q in query_ids:
            reads = self.read_set(conn, q)
            if reads is not None:
                out[q] = reads
        return out

    # ------------------------------------------------------------------------ session budget

    def spent(self, key: str, window: int) -> tuple[int, int]:
        """What a session's new subscriptions cost in a window: (subscriptions run, items written)."""
        item = self.store.get(_rate_pk(key), str(window), consistent=True)
        return (int(item.get("adds") or 0), int(item.get("items") or 0)) if item else (0, 0)

    def spend(self, key: str, window: int, adds: int, items: int) -> None:
        """Add to a session's window (one UpdateItem; the item expires after the window)."""
        self.store.call(
            "UpdateItem",
            {
                "TableName": self.store.table_name,
                "Key": {"pk": {"S": _rate_pk(key)}, "sk": {"S": str(window)}},
                "UpdateExpression": "ADD adds :a, #items :i SET tb = :tb, #ttl = :ttl",
                "ExpressionAttributeNames": {"#items": "items", "#ttl": "ttl"},
                "ExpressionAttributeValues": {
                    ":a": {"N": str(adds)},
                    ":i": {"N": str(items)},
                    ":tb": {"S": "_sync"},
                    ":ttl": {"N": str(int(time.time()) + 3600)},
                },
            },
        )

    # ---------------------------------------------------------------------------- invalidation

    def watchers(self, writes: WriteSet) -> set[Watcher]:
        """The subscriptions a write touches: one consistent Query per key it wrote."""
        found: set[Watcher] = set()
        wanted: dict[str, list[str]] = {}  # watch key → sort keys written in that partition (ranges)
        for pk, sk in writes.points:
            wanted.setdefault(point_key(pk, sk), [])
        for pk_attr, entries in writes.index.items():
            for pk, sk in entries:
                wanted.setdefault(range_key(pk_attr, pk), []).append(sk)
        marked = self.store.batch_get([(_watch_pk(k), MARKER_SK) for k in wanted]) if wanted else {}
        for key, written in wanted.items():
            if _watch_pk(key) not in marked:
                continue  # nobody has watched this key
            for item in self._partition(_watch_pk(key), 500):
                if item["sk"] == MARKER_SK:
                    continue
                body = json.loads(item["doc"])
                stretches = body.get("r")
                if stretches is not None and not any(
                    lo <= sk <= hi for _, lo, hi in stretches for sk in written
                ):
                    continue
                # a range of the table itself (a counter's shards) is read consistently: no recheck
                ranged = stretches is not None and not key.startswith(_TABLE_RANGE)
                found.add(Watcher(body["c"], str(body["q"]), ranged))
        return found


_TABLE_RANGE = range_key("pk", "")


def _rate_pk(key: str) -> str:
    return _RATE_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


#: How long a range's watch item is kept while it covers more than the query reads.
KEEP_WATCH_SECONDS = 60.0


def _covers(watched: list[Any], stretches: list[list[str]], now: float) -> bool:
    """Whether a watch item's stretches (written at ``watched[1]``) cover ``stretches``: each of these
    within one of those, and the item not older than :data:`KEEP_WATCH_SECONDS` unless they are
    equal."""
    held, written = watched[0], float(watched[1])
    if held == stretches:
        return True
    if now - written > KEEP_WATCH_SECONDS:
        return False
    return all(any(a == b and lo2 <= lo and hi <= hi2 for b, lo2, hi2 in held) for a, lo, hi in stretches)


def _stretches(reads: ReadSet) -> dict[str, list[list[str]]]:
    """Range watch key → the stretches of its index partition the reads cover."""
    out: dict[str, list[list[str]]] = {}
    for r in reads.ranges:
        out.setdefault(range_key(r.pk_attr, r.pk), []).append([r.sk_attr, r.lo, r.hi])
    return out


def session_point(session_id: str) -> tuple[str, str]:
    """The session document's key (its deletion or expiry touches the connection's ``auth``)."""
    return f"{PLATFORM_SCOPE}#{session_id}", DOC_SK
