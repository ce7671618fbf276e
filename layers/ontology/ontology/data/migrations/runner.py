"""Running a migration: online, in bounded batches, resumable, one runner at a time.

``run(store, migration, Options(...))`` takes the migration's lease (:mod:`.progress`), then reads its
source segment by segment (each segment in its own thread, from its saved cursor), and for each page:

1. calls ``step`` on the page's items (those already stamped with the migration's ``layout`` are
   skipped without it);
2. writes each change conditioned on the items it read being exactly as read (every attribute, and
   still there), so a function's concurrent write is never overwritten: on a conflict the items are
   read again (consistently), ``step`` runs again on them, and the new change is written (up to
   ``max_attempts`` times, then the migration fails on that item);
3. saves the segment's cursor and the page's counts in the progress item, renewing the lease, and
   reads back whether a cancel was asked for: if so, every segment stops at its page's boundary.

A page is written before its cursor is saved: after a crash, the page is read again from the saved
cursor, and its items already changed come back in their new shape (``step`` answers no change) or
stamped (``layout``), so nothing is changed twice. Writes are paced by a write-capacity budget
(``max_wcu``), shared by the segments. Ctrl-C in the runner's process cancels, at the batch boundary.

A dry run reads and steps the same way (from the saved cursors of a migration half done) and writes
nothing at all, not even progress: it counts what would change and keeps a few examples.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ontology.data.dynamodb import Store
from ontology.data.keys import now_ms
from ontology.data.migrations import progress
from ontology.data.migrations.base import (
    LAYOUT_ATTR,
    Batch,
    Change,
    Delete,
    Item,
    Key,
    Migration,
    Put,
    Update,
    key_of,
)
from ontology.data.migrations.codec import decode_item, decode_value, encode_value, item_size
from ontology.data.migrations.progress import COUNTS, LeaseHeldError, LeaseLostError, Progress, Segment

logger = logging.getLogger(__name__)

__all__ = ["Options", "Report", "Status", "WcuBudget", "cancel", "pending", "run", "run_all", "status"]

#: Owners of the runs alive in this process (a same-process owner not among them has died).
_LIVE: set[str] = set()
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
}


@dataclass
class Options:
    """How to run: ``batch`` and ``max_wcu`` override the migration's own; ``lease_seconds`` is how
    long the lease lasts without renewal; ``take_over`` takes the lease whoever holds it (only where
    no other runner can exist: the local stack at start); ``on_progress`` gets a :class:`Report`
    after every batch (from the segments' threads, one at a time)."""

    batch: int | None = None
    max_wcu: float | None = None
    dry_run: bool = False
    lease_seconds: float = 30.0
    take_over: bool = False
    max_attempts: int = 8
    samples: int = 5
    on_progress: Callable[[Report], None] | None = None


@dataclass
class Report:
    """A run as it stands (after every batch) and as it ended."""

    id: str
    status: str  # running | done | cancelled | failed | dry-run
    counts: dict[str, int]  # every run's (a dry run: its own)
    run: dict[str, int]  # this run's
    total: int | None = None
    elapsed: float = 0.0
    phase: str = "migrating"  # or "verifying"
    error: str | None = None
    samples: list[str] = field(default_factory=list)
    verified: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        if self.status == "done":
            return 100.0
        if not self.total:
            return None
        return min(99.9, 100.0 * self.counts["examined"] / self.total)

    @property
    def eta(self) -> float | None:
        """Seconds left at this run's pace (None: unknown)."""
        if self.status != "running" or not self.total or not self.run["examined"] or self.elapsed <= 0:
            return None
        left = max(0, self.total - self.counts["examined"])
        return left / (self.run["examined"] / self.elapsed)


class WcuBudget:
    """Write capacity units a second, shared by threads: each write spends its units first and waits
    for the budget to cover them (a token bucket holding at most one second of units)."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("max_wcu must be positive")
        self.rate = rate
        self._tokens = rate or 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def spend(self, units: float, stop: threading.Event | None = None) -> None:
        if self.rate is None:
            return
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate) - units
            self._last = now
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)

    def refund(self, units: float) -> None:
        """Give back what a write was charged beyond what it consumed."""
        if self.rate is not None and units:
            with self._lock:
                self._tokens = min(self.rate, self._tokens + units)


class _ItemFailedError(Exception):
    """Internal: an item could not be migrated (``step`` raised, or it kept changing)."""


class _ConflictError(Exception):
    """Internal: an item a change read is not as read any more."""


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _units(size: int) -> int:
    return max(1, -(-size // 1024))


def _unchanged(raw: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that the item is still exactly ``raw``: there, and every attribute as read."""
    names = {"#pk": "pk"}
    values: dict[str, Any] = {}
    parts = ["attribute_exists(#pk)"]
    for i, (name, typed) in enumerate(sorted(raw.items())):
        if name in ("pk", "sk"):
            continue
        names[f"#u{i}"] = name
        values[f":u{i}"] = typed
        parts.append(f"#u{i} = :u{i}")
    return " AND ".join(parts), names, values


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _owner_is_dead(owner: str | None) -> bool:
    """Whether the runner ``owner`` (``host:pid:token``) is known to have stopped: a process of this
    machine that is gone, or a run of this process that is over."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in _LIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class _Run:
    def __init__(self, store: Store, migration: Migration, options: Options) -> None:
        self.store = store
        self.m = migration
        self.source = migration.source
        self.o = options
        self.dry = options.dry_run
        self.batch = options.batch or migration.batch_size
        if not 1 <= self.batch <= 1000:
            from ontology.errors import ValidationError

            raise ValidationError("the batch size is from 1 to 1000 items", field="batch")
        rate = options.max_wcu if options.max_wcu is not None else migration.max_wcu
        self.budget = WcuBudget(rate)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = int(options.lease_seconds * 1000)
        self.stop = threading.Event()
        self.over = threading.Event()
        self.lock = threading.Lock()
        self.cancelled = False
        self.errors: list[str] = []
        self.run_counts = dict.fromkeys(COUNTS, 0)
        self.latest: Progress | None = None
        self.samples: list[str] = []
        self.total: int | None = None
        self.phase = "migrating"
        self.verified = 0
        self.problems: list[str] = []
        self.started = time.monotonic()

    # ------------------------------------------------------------------------------- the run

    def execute(self) -> Report:
        try:
            self.total = self.source.estimate(self.store)
        except Exception:
            logger.debug("no estimate of the items to examine", exc_info=True)
        if self.dry:
            return self._dry_run()
        state = self._acquire()
        _LIVE.add(self.owner)
        try:
            return self._work(state)
        finally:
            _LIVE.discard(self.owner)

    def _acquire(self) -> Progress:
        segments = self.m.source.segments

        def take(stale: str | None = None) -> Progress:
            return progress.acquire(
                self.store,
                self.m.id,
                description=self.m.description,
                owner=self.owner,
                now=now_ms(),
                lease_ms=self.lease_ms,
                segments=segments,
                total=self.total,
                stale_owner=stale,
                take_over=self.o.take_over,
            )

        try:
            state = take()
        except LeaseHeldError:
            current = progress.read(self.store, self.m.id)
            if current is None or not _owner_is_dead(current.owner):
                raise
            logger.info("taking over migration %s from a runner that stopped (%s)", self.m.id, current.owner)
            state = take(current.owner)
        self.latest = state
        return state

    def _todo(self, state: Progress | None) -> dict[int, Segment]:
        """The segments left, from their cursors (in the segments the migration started with)."""
        if state is not None and state.segments:
            self.source = self.m.source.with_segments(state.segments)
        segments = self.source.segments
        cursors = state.cursors if state is not None else {}
        todo = {s: cursors.get(s, Segment()) for s in range(segments)}
        return {s: c for s, c in todo.items() if not c.done}

    def _work(self, state: Progress) -> Report:
        heartbeat = threading.Thread(target=self._heartbeat, daemon=True)
        heartbeat.start()
        try:
            self._segments(self._todo(state))
        finally:
            self.over.set()
        heartbeat.join(timeout=5)
        return self._finish(self.source.segments)

    def _segments(self, todo: dict[int, Segment]) -> None:
        """Run every unfinished segment in its own thread; a crash (BaseException) in one stops them
        all at their batch boundaries and is raised again, with nothing finished."""
        if not todo:
            return
        crash: BaseException | None = None
        with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix=f"migrate-{self.m.id}") as pool:
            waiting: set[Future[None]] = {pool.submit(self._guarded, s, c) for s, c in todo.items()}
            while waiting:
                try:
                    done, waiting = wait(waiting, timeout=0.5, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # Ctrl-C: a cancel, at the batch boundary
                    with self.lock:
                        self.cancelled = True
                    self.stop.set()
                    continue
                for future in done:
                    exc = future.exception()
                    if exc is not None and crash is None:
                        crash = exc
                        self.stop.set()
        if crash is not None:
            raise crash

    def _guarded(self, segment: int, state: Segment) -> None:
        try:
            self._segment(segment, state)
        except _ItemFailedError as exc:
            self._fail(str(exc))
        except LeaseLostError as exc:
            self._fail(exc.message)
        except Exception as exc:
            logger.warning("migration %s: segment %d failed", self.m.id, segment, exc_info=True)
            self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)
        self.stop.set()

    def _segment(self, segment: int, state: Segment) -> None:
        cursor = state.cursor
        while not self.stop.is_set():
            page = self.source.page(self.store, segment, cursor, self.batch)
            counts = dict.fromkeys(COUNTS, 0)
            counts["examined"] = page.examined
            try:
                self._page(page.items, counts)
            except _ItemFailedError:
                counts["failed"] += 1
                counts["examined"] = 0  # the page is read again by the next run
                self._saved(None, None, counts)
                raise
            cursor = page.cursor
            following = Segment(done=cursor is None, cursor=cursor)
            self._saved(segment, following, counts)
            if following.done:
                return

    def _saved(self, segment: int | None, state: Segment | None, counts: dict[str, int]) -> None:
        with self.lock:
            for name, n in counts.items():
                self.run_counts[name] += n
        if not self.dry:
            saved = progress.save(
                self.store,
                self.m.id,
                owner=self.owner,
                now=now_ms(),
                lease_ms=self.lease_ms,
                segment=segment,
                state=state,
                counts=counts,
            )
            self._observe(saved)
        self._emit()

    def _observe(self, state: Progress) -> None:
        with self.lock:
            self.latest = state
            if state.cancel_requested and not self.cancelled:
                self.cancelled = True
                self.stop.set()

    def _heartbeat(self) -> None:
        """Renew the lease between batches (a slow page, a long wait for the budget) and hear of a
        cancel even then."""
        interval = max(0.2, self.o.lease_seconds / 3)
        while not self.over.wait(interval):
            try:
                self._observe(
                    progress.save(
                        self.store, self.m.id, owner=self.owner, now=now_ms(), lease_ms=self.lease_ms
                    )
                )
            except LeaseLostError as exc:
                self._fail(exc.message)
                return
            except Exception:
                logger.warning("migration %s: could not renew its lease", self.m.id, exc_info=True)

    def report(self, status: str) -> Report:
        with self.lock:
            counts = (
                dict(self.latest.counts)
                if self.latest is not None and not self.dry
                else dict(self.run_counts)
            )
            return Report(
                id=self.m.id,
                status=status,
                counts=counts,
                run=dict(self.run_counts),
                total=self.total,
                elapsed=time.monotonic() - self.started,
                phase=self.phase,
                error=self.errors[0] if self.errors else None,
                samples=list(self.samples),
                verified=self.verified,
                problems=list(self.problems),
            )

    def _emit(self) -> None:
        if self.o.on_progress is not None:
            snapshot = self.report("dry-run" if self.dry else "running")
            with self.lock:
                self.o.on_progress(snapshot)

    def _finish(self, segments: int) -> Report:
        status, error, reset = "done", None, None
        if self.errors:
            status, error = "failed", self.errors[0]
        elif self.cancelled or self.stop.is_set():
            status = "cancelled"
        elif self.m.has_verify():
            problems = self._verify()
            if problems:
                status, reset = "failed", segments
                error = f"verify: {problems} item(s) not as the migration leaves them: " + "; ".join(
                    self.problems
                )
                self.errors.append(error)
        try:
            self.latest = progress.finish(
                self.store,
                self.m.id,
                owner=self.owner,
                now=now_ms(),
                status=status,
                error=error,
                reset_cursors=reset,
            )
        except LeaseLostError as exc:
            self.errors.insert(0, exc.message)
            status = "failed"
        return self.report(status)

    # ---------------------------------------------------------------------------------- pages

    def _stamped(self, item: Item) -> bool:
        layout = self.m.layout
        stamp = item.get(LAYOUT_ATTR)
        return layout is not None and isinstance(stamp, int | float) and stamp >= layout

    def _reader(self, raws: dict[Key, dict[str, Any]]) -> Callable[[list[Key]], dict[Key, Item]]:
        def read(keys: list[Key]) -> dict[Key, Item]:
            found = self.store.batch_get_raw(keys)
            raws.update(found)
            return {k: decode_item(v) for k, v in found.items()}

        return read

    def _step(self, items: list[Item], raws: dict[Key, dict[str, Any]]) -> list[Change]:
        try:
            return list(self.m.step(Batch(items, self._reader(raws), self.store)))
        except Exception as exc:
            culprit = items[0]
            if len(items) > 1:  # which item: step each alone
                for item in items:
                    try:
                        list(self.m.step(Batch([item], self._reader(raws), self.store)))
                    except Exception:
                        culprit = item
                        break
            raise _ItemFailedError(f"step failed on {key_of(culprit)}: {type(exc).__name__}: {exc}") from exc

    def _page(self, raw_items: list[dict[str, Any]], counts: dict[str, int]) -> None:
        raws: dict[Key, dict[str, Any]] = {}
        items: list[Item] = []
        for raw in raw_items:
            item = decode_item(raw)
            raws[key_of(item)] = raw
            if self._stamped(item):
                counts["skipped"] += 1
            else:
                items.append(item)
        if not items:
            return
        covered: set[Key] = set()
        for change in self._step(items, raws):
            covered |= {key_of(r) for r in change.reads}
            written = self._apply(change, raws, counts)
            counts["changed"] += written
            counts["skipped"] += 0 if written else 1
        counts["skipped"] += sum(1 for item in items if key_of(item) not in covered)

    def _apply(self, change: Change, raws: dict[Key, dict[str, Any]], counts: dict[str, int]) -> int:
        """Write ``change`` (and, after conflicts, what ``step`` answers on fresh reads); how many
        changes were written."""
        waiting, written, attempts = [change], 0, 0
        while waiting:
            current = waiting.pop(0)
            keys = [key_of(r) for r in current.reads]
            unknown = [k for k in keys if k not in raws]
            if unknown:
                raise _ItemFailedError(
                    f"a change reads {unknown[0]}, which step was not given and did not read with batch.read"
                )
            if self.dry:
                self._sample(current)
                written += 1
                continue
            try:
                self._write(current, raws)
                written += 1
                continue
            except _ConflictError:
                attempts += 1
                counts["retried"] += 1
            if attempts >= self.o.max_attempts:
                raise _ItemFailedError(
                    f"{keys[0] if keys else current.writes[0].key} kept changing: {attempts} attempts"
                )
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempts)))  # noqa: S311
            fresh = self.store.batch_get_raw(keys)
            for k in keys:
                raws.pop(k, None)
            raws.update(fresh)
            again = [decode_item(fresh[k]) for k in keys if k in fresh]
            again = [item for item in again if not self._stamped(item)]
            if again:
                waiting.extend(self._step(again, raws))
        return written

    def _sample(self, change: Change) -> None:
        with self.lock:
            if len(self.samples) >= self.o.samples:
                return
            parts = []
            for w in change.writes:
                if isinstance(w, Update):
                    what = ", ".join([*(f"set {k}" for k in w.set), *(f"remove {k}" for k in w.remove)])
                    parts.append(f"update {w.key[0]} {w.key[1]}: {what}")
                elif isinstance(w, Put):
                    parts.append(f"put {w.key[0]} {w.key[1]}")
                else:
                    parts.append(f"delete {w.key[0]} {w.key[1]}")
            self.samples.append("; ".join(parts))

    # --------------------------------------------------------------------------------- writes

    def _operations(
        self, change: Change, raws: dict[Key, dict[str, Any]]
    ) -> list[tuple[str, dict[str, Any], int]]:
        """(TransactWriteItems kind, its parameters, WCU) per item the change writes or checks."""
        read = {key_of(r): raws[key_of(r)] for r in change.reads}
        table = self.store.table_name
        ops: list[tuple[str, dict[str, Any], int]] = []
        for write in change.writes:
            before = read.get(write.key)
            if before is not None:
                condition, names, values = _unchanged(before)
            else:
                condition, names, values = "attribute_not_exists(#pk)", {"#pk": "pk"}, {}
            params: dict[str, Any] = {"TableName": table, "ConditionExpression": condition}
            size = item_size(before) if before is not None else 0
            if isinstance(write, Put):
                item = self._put_item(write, before)
                params["Item"] = item
                kind, size = "Put", max(size, item_size(item))
            elif isinstance(write, Update):
                params["Key"] = {"pk": {"S": write.key[0]}, "sk": {"S": write.key[1]}}
                expression, set_names, set_values, grown = self._update_expression(write, before or {})
                params["UpdateExpression"] = expression
                names, values = {**names, **set_names}, {**values, **set_values}
                kind, size = "Update", size + grown
            else:
                assert isinstance(write, Delete)
                params["Key"] = {"pk": {"S": write.key[0]}, "sk": {"S": write.key[1]}}
                kind = "Delete"
            params["ExpressionAttributeNames"] = names
            if values:
                params["ExpressionAttributeValues"] = values
            ops.append((kind, params, _units(size)))
        written = {w.key for w in change.writes}
        for key, raw in read.items():
            if key in written:
                continue
            condition, names, values = _unchanged(raw)
            check: dict[str, Any] = {
                "TableName": table,
                "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
            }
            if values:
                check["ExpressionAttributeValues"] = values
            ops.append(("ConditionCheck", check, 1))
        return ops

    def _put_item(self, write: Put, before: dict[str, Any] | None) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for name, value in write.attrs.items():
            kept = before.get(name) if before is not None else None
            item[name] = (
                kept if kept is not None and _same(decode_value(kept), value) else encode_value(value, name)
            )
        if self.m.layout is not None:
            item[LAYOUT_ATTR] = {"N": str(self.m.layout)}
        if self.m.bump_version and before is not None and "N" in before.get("v", {}):
            read_v = decode_value(before["v"])
            if "v" not in write.attrs or _same(write.attrs["v"], read_v):
                item["v"] = {"N": str(read_v + 1)}
        return item

    def _update_expression(
        self, write: Update, before: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any], int]:
        sets = dict(write.set)
        if self.m.layout is not None:
            sets[LAYOUT_ATTR] = self.m.layout
        if self.m.bump_version and "N" in before.get("v", {}) and "v" not in sets and "v" not in write.remove:
            sets["v"] = decode_value(before["v"]) + 1
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses = []
        grown = 0
        for i, (name, value) in enumerate(sets.items()):
            names[f"#s{i}"] = name
            values[f":s{i}"] = encode_value(value, name)
            clauses.append(f"#s{i} = :s{i}")
            grown += item_size({name: values[f":s{i}"]})
        expression = "SET " + ", ".join(clauses) if clauses else ""
        if write.remove:
            for i, name in enumerate(write.remove):
                names[f"#r{i}"] = name
            expression += (
                (" " if expression else "")
                + "REMOVE "
                + ", ".join(f"#r{i}" for i in range(len(write.remove)))
            )
        return expression, names, values, grown

    def _write(self, change: Change, raws: dict[Key, dict[str, Any]]) -> None:
        ops = self._operations(change, raws)
        single = len(ops) == 1 and ops[0][0] != "ConditionCheck"
        units = sum(u for _, _, u in ops) * (1 if single else 2)  # a transaction costs twice
        for attempt in range(self.o.max_attempts):
            self.budget.spend(units, self.stop)
            try:
                if single:
                    kind, params, _ = ops[0]
                    operation = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}[kind]
                    resp = self.store.call(operation, {**params, "ReturnConsumedCapacity": "TOTAL"})
                else:
                    resp = self.store.call(
                        "TransactWriteItems",
                        {"TransactItems": [{k: p} for k, p, _ in ops], "ReturnConsumedCapacity": "TOTAL"},
                    )
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311
                continue
            self.budget.refund(units - _consumed(resp, units))
            return
        raise _ItemFailedError(f"the table kept throttling the writes of {ops[0][1].get('Key') or 'a put'}")

    def _retryable(self, exc: BaseException) -> bool:
        """True for throttling (try again); raises _ConflictError for a condition that failed, and
        _ItemFailedError for a write the table refused."""
        code = _error_code(exc)
        if code == "ConditionalCheckFailedException":
            raise _ConflictError() from None
        if code == "TransactionCanceledException":
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]  # type: ignore[attr-defined]
            if any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons):
                raise _ConflictError() from None
            if all(r in _THROTTLED or r == "None" for r in reasons):
                return True
            raise _ItemFailedError(f"the table refused the change: {', '.join(reasons)}") from None
        if code in _THROTTLED:
            return True
        if code == "ValidationException":
            raise _ItemFailedError(f"the table refused the change: {exc}") from None
        return False

    # --------------------------------------------------------------------------- dry run, verify

    def _dry_run(self) -> Report:
        state = progress.read(self.store, self.m.id)
        if state is not None and state.status == "done":
            return self.report("done")
        self._segments(self._todo(state))
        return self.report("dry-run")

    def _verify(self) -> int:
        """Read the whole source again; every item must pass ``verify``. Answers how many did not
        (the first few are kept in ``problems``)."""
        with self.lock:
            self.phase = "verifying"
        failed = 0
        for segment in range(self.source.segments):
            cursor: Any = None
            while not self.stop.is_set():
                page = self.source.page(self.store, segment, cursor, self.batch)
                read = Batch([], self._reader({})).read
                for raw in page.items:
                    item = decode_item(raw)
                    problem = self.m.verify_read(item, read)
                    with self.lock:
                        self.verified += 1
                        if problem is not None:
                            failed += 1
                            if len(self.problems) < self.o.samples:
                                self.problems.append(f"{key_of(item)}: {problem}")
                self._emit()
                cursor = page.cursor
                if cursor is None:
                    break
        return failed


def _consumed(resp: dict[str, Any], charged: int) -> float:
    capacity = resp.get("ConsumedCapacity")
    if isinstance(capacity, list):
        total = sum(float(c.get("CapacityUnits", 0)) for c in capacity)
        return total or charged
    if isinstance(capacity, dict) and capacity.get("CapacityUnits") is not None:
        return float(capacity["CapacityUnits"])
    return charged


def run(store: Store, migration: Migration, options: Options | None = None) -> Report:
    """Run (or resume, or dry-run) one migration to its end, its cancellation or its failure.

    Raises LeaseHeldError (CONFLICT) while another runner has it, ConflictError if it is done."""
    return _Run(store, migration, options or Options()).execute()


def pending(store: Store, migrations: list[Migration]) -> list[Migration]:
    """Those of ``migrations`` that are not done (never run, running, cancelled or failed)."""
    states = progress.read_all(store)
    return [m for m in migrations if states.get(m.id) is None or states[m.id].status != "done"]


def run_all(store: Store, migrations: list[Migration], options: Options | None = None) -> list[Report]:
    """Run every migration not done, in order; stop at the first that does not finish (a dry run
    goes through them all)."""
    reports = []
    for migration in pending(store, migrations):
        report = run(store, migration, options)
        reports.append(report)
        if report.status not in ("done", "dry-run"):
            break
    return reports


@dataclass
class Status:
    """One line of ``one migrate status``."""

    id: str
    description: str
    #: pending | running | interrupted (its runner stopped without a word: its lease ran out, or its
    #: process on this machine is gone; ``run`` resumes it) | done | cancelled | failed
    status: str
    declared: bool
    counts: dict[str, int]
    total: int | None = None
    percent: float | None = None
    eta: float | None = None
    started_at: int | None = None
    updated_at: int | None = None
    finished_at: int | None = None
    owner: str | None = None
    error: str | None = None
    source: str | None = None


def _status_of(state: Progress, now: int) -> tuple[str, float | None, float | None]:
    """(status, percent, eta seconds) of a progress item."""
    status = state.status
    if status == "running" and (not state.leased(now) or _owner_is_dead(state.owner)):
        status = "interrupted"
    if status == "done":
        return status, 100.0, None
    examined = state.counts["examined"]
    percent = min(99.9, 100.0 * examined / state.total) if state.total else None
    eta = None
    if status == "running" and state.total and state.run_started_at and state.updated_at:
        seconds = (state.updated_at - state.run_started_at) / 1000
        pace = (examined - state.run_examined) / seconds if seconds > 0 else 0
        if pace > 0:
            eta = max(0, state.total - examined) / pace
    return status, percent, eta


def status(store: Store, migrations: list[Migration]) -> list[Status]:
    """Every declared migration with its progress, then any progress item of a migration the code no
    longer declares (a finished one whose module was removed)."""
    states = progress.read_all(store)
    now = now_ms()
    rows = []
    for m in migrations:
        state = states.pop(m.id, None)
        if state is None:
            rows.append(
                Status(
                    m.id, m.description, "pending", True, dict.fromkeys(COUNTS, 0), source=m.source.describe()
                )
            )
            continue
        rows.append(_row(state, now, declared=True, description=m.description, source=m.source.describe()))
    rows.extend(_row(state, now, declared=False, description=state.description) for state in states.values())
    return rows


def _row(state: Progress, now: int, *, declared: bool, description: str, source: str | None = None) -> Status:
    label, percent, eta = _status_of(state, now)
    return Status(
        id=state.id,
        description=description,
        status=label,
        declared=declared,
        counts=dict(state.counts),
        total=state.total,
        percent=percent,
        eta=eta,
        started_at=state.started_at,
        updated_at=state.updated_at,
        finished_at=state.finished_at,
        owner=state.owner if label == "running" else None,
        error=state.last_error,
        source=source,
    )


def cancel(store: Store, migration_id: str) -> Progress:
    """Ask a running migration to stop at its next batch boundary; one whose runner is gone (its
    lease ran out, or its process on this machine is dead) or that failed is cancelled at once
    (see :func:`progress.request_cancel`)."""
    state = progress.read(store, migration_id)
    dead = state.owner if state is not None and _owner_is_dead(state.owner) else None
    return progress.request_cancel(store, migration_id, now=now_ms(), dead_owner=dead)
