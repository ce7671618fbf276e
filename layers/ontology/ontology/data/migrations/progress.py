"""A migration's progress, kept in the table itself: one platform item per migration.

=====================  =======================  ==================================================
``pk``                 ``sk``                   attributes
=====================  =======================  ==================================================
``platform#migrations``  the migration's id       ``tb`` = ``_migration``, ``status``, ``description``,
                                                ``segments``, ``cursors`` (segment → JSON cursor),
                                                ``examined``/``changed``/``skipped``/``failed``/
                                                ``retried``, ``total`` (estimate), ``startedAt``,
                                                ``updatedAt``, ``finishedAt``, ``runStartedAt``,
                                                ``runExamined``, ``owner``, ``leaseUntil``,
                                                ``cancelRequested``, ``lastError``
=====================  =======================  ==================================================

All of them share one partition, so ``one migrate status`` reads them with one Query. A runner holds
the migration's **lease** (``owner``, ``leaseUntil``: taken with a conditional write, renewed with
each batch and by a heartbeat); every save is conditioned on still holding it, so two runners never
run one migration at once. ``cancelRequested`` is how another process stops a run: the runner reads
it back with every save and stops at that batch's boundary.

Times are milliseconds since the epoch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ontology.data.dynamodb import Store
from ontology.data.layout import PROGRESS_PARTITION
from ontology.data.migrations.codec import decode_item
from ontology.data.migrations.sources import PROGRESS_KIND
from ontology.errors import ConflictError, NotFoundError

__all__ = [
    "COUNTS",
    "PARTITION",
    "LeaseHeldError",
    "LeaseLostError",
    "Progress",
    "acquire",
    "finish",
    "read",
    "read_all",
    "request_cancel",
    "save",
]

PARTITION = PROGRESS_PARTITION
COUNTS = ("examined", "changed", "skipped", "failed", "retried")
STATUSES = ("pending", "running", "done", "cancelled", "failed")


class LeaseHeldError(ConflictError):
    """Another runner holds the migration's lease (code CONFLICT)."""


class LeaseLostError(ConflictError):
    """This runner no longer holds the lease (it expired and another runner took it)."""


@dataclass
class Segment:
    done: bool = False
    cursor: Any = None

    def to_json(self) -> str:
        return json.dumps({"done": self.done, "cursor": self.cursor}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Segment:
        data = json.loads(text)
        return cls(bool(data.get("done")), data.get("cursor"))


@dataclass
class Progress:
    id: str
    status: str = "pending"
    description: str = ""
    segments: int = 0
    cursors: dict[int, Segment] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    total: int | None = None
    started_at: int | None = None
    updated_at: int | None = None
    finished_at: int | None = None
    run_started_at: int | None = None
    run_examined: int = 0
    owner: str | None = None
    lease_until: int | None = None
    cancel_requested: bool = False
    last_error: str | None = None

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Progress:
        item = decode_item(raw)
        cursors = {int(k): Segment.from_json(v) for k, v in (item.get("cursors") or {}).items()}
        return cls(
            id=item["sk"],
            status=item.get("status", "pending"),
            description=item.get("description", ""),
            segments=int(item.get("segments", 0)),
            cursors=cursors,
            counts={c: int(item.get(c, 0)) for c in COUNTS},
            total=int(item["total"]) if item.get("total") is not None else None,
            started_at=item.get("startedAt"),
            updated_at=item.get("updatedAt"),
            finished_at=item.get("finishedAt"),
            run_started_at=item.get("runStartedAt"),
            run_examined=int(item.get("runExamined", 0)),
            owner=item.get("owner"),
            lease_until=item.get("leaseUntil"),
            cancel_requested=bool(item.get("cancelRequested", False)),
            last_error=item.get("lastError"),
        )

    def leased(self, now: int) -> bool:
        """Whether a runner holds the lease now."""
        return self.owner is not None and (self.lease_until or 0) > now


#: The attribute names conditions and clauses refer to by token.
_NAMES = {
    "#owner": "owner",
    "#lease": "leaseUntil",
    "#status": "status",
    "#segs": "segments",
    "#cur": "cursors",
}


def _key(migration_id: str) -> dict[str, Any]:
    return {"pk": {"S": PARTITION}, "sk": {"S": migration_id}}


def _failed(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ConditionalCheckFailedException"


def read(store: Store, migration_id: str) -> Progress | None:
    raw = store.call(
        "GetItem", {"TableName": store.table_name, "Key": _key(migration_id), "ConsistentRead": True}
    ).get("Item")
    return Progress.from_raw(raw) if raw else None


def read_all(store: Store) -> dict[str, Progress]:
    """Every migration's progress item (one Query of the migrations' partition, paged)."""
    out: dict[str, Progress] = {}
    start: dict[str, Any] | None = None
    while True:
        params: dict[str, Any] = {
            "TableName": store.table_name,
            "KeyConditionExpression": "#pk = :p",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ExpressionAttributeValues": {":p": {"S": PARTITION}},
            "ConsistentRead": True,
        }
        if start:
            params["ExclusiveStartKey"] = start
        resp = store.call("Query", params)
        for raw in resp.get("Items", []):
            progress = Progress.from_raw(raw)
            out[progress.id] = progress
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def _update(
    store: Store,
    migration_id: str,
    sets: dict[str, Any],
    *,
    condition: str,
    values: dict[str, Any] | None = None,
    adds: dict[str, int] | None = None,
    removes: tuple[str, ...] = (),
    raw_sets: tuple[str, ...] = (),
    names: dict[str, str] | None = None,
) -> Progress:
    """One UpdateItem of the progress item: ``sets`` (typed values), ``adds`` (counters), ``removes``,
    ``raw_sets`` (ready-made ``SET`` clauses, with ``names`` of their own); conditioned; answers the
    item after it."""
    names = dict(names or {})
    expr_values: dict[str, Any] = dict(values or {})
    clauses = list(raw_sets)
    for i, (name, typed) in enumerate(sets.items()):
        names[f"#s{i}"] = name
        expr_values[f":s{i}"] = typed
        clauses.append(f"#s{i} = :s{i}")
    expression = "SET " + ", ".join(clauses)
    if adds:
        parts = []
        for i, (name, n) in enumerate(adds.items()):
            names[f"#a{i}"] = name
            expr_values[f":a{i}"] = {"N": str(n)}
            parts.append(f"#a{i} :a{i}")
        expression += " ADD " + ", ".join(parts)
    if removes:
        for i, name in enumerate(removes):
            names[f"#r{i}"] = name
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    for token, name in _NAMES.items():
        if token in condition or token in expression:
            names[token] = name
    resp = store.call(
        "UpdateItem",
        {
            "TableName": store.table_name,
            "Key": _key(migration_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": expr_values,
            "ReturnValues": "ALL_NEW",
        },
    )
    return Progress.from_raw(resp["Attributes"])


def acquire(
    store: Store,
    migration_id: str,
    *,
    description: str,
    owner: str,
    now: int,
    lease_ms: int,
    segments: int,
    total: int | None,
    stale_owner: str | None = None,
    take_over: bool = False,
) -> Progress:
    """Take the lease and mark the migration running; its cursors and counts carry on from before.

    Refused (LeaseHeldError) while another runner holds the lease, unless it is ``stale_owner`` (a
    runner known to be dead) or ``take_over`` (no other runner can exist: the local stack starting).
    A finished migration is refused too (ConflictError)."""
    condition = "(attribute_not_exists(#status) OR #status <> :done)"
    if not take_over:
        free = "attribute_not_exists(#owner) OR #lease < :now"
        if stale_owner is not None:
            free += " OR #owner = :stale"
        condition += f" AND ({free})"
    values: dict[str, Any] = {
        ":now": {"N": str(now)},
        ":done": {"S": "done"},
        ":empty": {"M": {str(s): {"S": Segment().to_json()} for s in range(segments)}},
        ":segs": {"N": str(segments)},
        ":zero": {"N": "0"},
    }
    if stale_owner is not None and not take_over:
        values[":stale"] = {"S": stale_owner}
    sets: dict[str, Any] = {
        "tb": {"S": PROGRESS_KIND},
        "status": {"S": "running"},
        "description": {"S": description},
        "owner": {"S": owner},
        "leaseUntil": {"N": str(now + lease_ms)},
        "updatedAt": {"N": str(now)},
        "runStartedAt": {"N": str(now)},
    }
    if total is not None:
        sets["total"] = {"N": str(total)}
    names = {"#started": "startedAt", **{f"#c{i}": c for i, c in enumerate(COUNTS)}}
    raw_sets = (
        "#segs = if_not_exists(#segs, :segs)",
        "#cur = if_not_exists(#cur, :empty)",
        "#started = if_not_exists(#started, :now)",
        *(f"#c{i} = if_not_exists(#c{i}, :zero)" for i in range(len(COUNTS))),
    )
    try:
        progress = _update(
            store,
            migration_id,
            sets,
            condition=condition,
            values=values,
            removes=("cancelRequested", "lastError", "finishedAt"),
            raw_sets=raw_sets,
            names=names,
        )
    except Exception as exc:
        if not _failed(exc):
            raise
        current = read(store, migration_id)
        if current is not None and current.status == "done":
            raise ConflictError(f"migration {migration_id} is done already", id=migration_id) from None
        holder = current.owner if current is not None else None
        raise LeaseHeldError(
            f"migration {migration_id} is being run by {holder} (its lease runs until "
            f"{_clock(current.lease_until if current else None)}): wait for it, or cancel it",
            id=migration_id,
            owner=holder,
        ) from None
    # the run's own start, for its rate (ETA): its examined count so far
    return _update(
        store,
        migration_id,
        {"runExamined": {"N": str(progress.counts["examined"])}},
        condition="#owner = :me",
        values={":me": {"S": owner}},
    )


def _clock(ms: int | None) -> str:
    if ms is None:
        return "?"
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):
        return "?"


def save(
    store: Store,
    migration_id: str,
    *,
    owner: str,
    now: int,
    lease_ms: int,
    segment: int | None = None,
    state: Segment | None = None,
    counts: dict[str, int] | None = None,
) -> Progress:
    """A batch's outcome: the segment's new cursor, the counts it adds; renews the lease. Raises
    LeaseLostError when this runner holds the lease no more."""
    sets: dict[str, Any] = {"updatedAt": {"N": str(now)}, "leaseUntil": {"N": str(now + lease_ms)}}
    raw_sets: tuple[str, ...] = ()
    values: dict[str, Any] = {":me": {"S": owner}}
    names: dict[str, str] = {}
    if segment is not None and state is not None:
        values[":cursor"] = {"S": state.to_json()}
        raw_sets = ("#cur.#seg = :cursor",)
        names["#seg"] = str(segment)
    try:
        return _update(
            store,
            migration_id,
            sets,
            condition="#owner = :me",
            values=values,
            adds={k: v for k, v in (counts or {}).items() if v},
            raw_sets=raw_sets,
            names=names,
        )
    except Exception as exc:
        if not _failed(exc):
            raise
        raise LeaseLostError(
            f"migration {migration_id}: this runner lost its lease (another runner took it over)",
            id=migration_id,
        ) from None


def finish(
    store: Store,
    migration_id: str,
    *,
    owner: str,
    now: int,
    status: str,
    error: str | None = None,
    reset_cursors: int | None = None,
) -> Progress:
    """End this runner's run: its status (done, cancelled, failed), its error, the lease released.
    ``reset_cursors``: start every segment over at the next run (after a failed verification)."""
    sets: dict[str, Any] = {"status": {"S": status}, "updatedAt": {"N": str(now)}}
    removes: tuple[str, ...] = ("owner", "leaseUntil", "cancelRequested")
    if status == "done":
        sets["finishedAt"] = {"N": str(now)}
    if error:
        sets["lastError"] = {"S": error[:2000]}
    if reset_cursors is not None:
        sets["cursors"] = {"M": {str(s): {"S": Segment().to_json()} for s in range(reset_cursors)}}
    try:
        return _update(
            store,
            migration_id,
            sets,
            condition="#owner = :me",
            values={":me": {"S": owner}},
            removes=removes,
        )
    except Exception as exc:
        if not _failed(exc):
            raise
        raise LeaseLostError(
            f"migration {migration_id}: this runner lost its lease", id=migration_id
        ) from None


def request_cancel(store: Store, migration_id: str, *, now: int, dead_owner: str | None = None) -> Progress:
    """Ask the runner of ``migration_id`` to stop at its next batch boundary; a migration nobody runs
    (its lease ran out, its runner is ``dead_owner``, or it failed) is marked cancelled at once.
    Answers the item after it."""
    values: dict[str, Any] = {":running": {"S": "running"}, ":now": {"N": str(now)}}
    nobody = "attribute_not_exists(#lease) OR #lease < :now"
    if dead_owner is not None:
        values[":dead"] = {"S": dead_owner}
        nobody += " OR #owner = :dead"
    else:
        try:
            return _update(
                store,
                migration_id,
                {"cancelRequested": {"BOOL": True}},
                condition="#status = :running AND #lease >= :now",
                values=values,
            )
        except Exception as exc:
            if not _failed(exc):
                raise
    try:
        return _update(
            store,
            migration_id,
            {"status": {"S": "cancelled"}, "updatedAt": {"N": str(now)}},
            condition=f"#status IN (:running, :failed) AND ({nobody})",
            values={**values, ":failed": {"S": "failed"}},
            removes=("owner", "leaseUntil", "cancelRequested"),
        )
    except Exception as exc:
        if not _failed(exc):
            raise
    current = read(store, migration_id)
    if current is None:
        raise NotFoundError(
            f"migration {migration_id} has not run: there is nothing to cancel", id=migration_id
        )
    raise ConflictError(
        f"migration {migration_id} is {current.status}: there is nothing to cancel", id=migration_id
    )


def born(store: Store, migration_id: str, description: str, *, now: int) -> None:
    """Record ``migration_id`` as done on a table created by code that already declares it: a new
    table is written in the layout the migration brings, so it has nothing to migrate. Only where
    the table was just made (the local stack's first start); an existing progress item is kept."""
    item = {
        "pk": {"S": PARTITION},
        "sk": {"S": migration_id},
        "tb": {"S": PROGRESS_KIND},
        "status": {"S": "done"},
        "description": {"S": description},
        "startedAt": {"N": str(now)},
        "updatedAt": {"N": str(now)},
        "finishedAt": {"N": str(now)},
        "lastError": {"S": "none: the table was created in this layout"},
    }
    try:
        store.call(
            "PutItem",
            {"TableName": store.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"},
        )
    except Exception as exc:
        if not _failed(exc):
            raise
