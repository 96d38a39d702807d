"""The execution queue in SQLite: fires become executions, engines claim and settle them.

Every step is one write transaction, so any number of engines on one file agree:
- materialize: each fire that fell due becomes one execution row; UNIQUE(schedule_id,
  scheduled_time) makes a second engine's attempt at the same fire a no-op.
- claim: an engine takes due executions that nobody holds, or whose holder died, and
  records an attempt. An engine of this host is dead when its lock file's flock is free
  (liveness.py), never because its heartbeat is late: a file locked from outside or a
  stopped process delays heartbeats while the actions go on running.
- settle: the holder records the outcome: done, retry later, or dead-lettered.

The engine's loop does all of a round in one transaction (`run_round`): the outcomes its
pool finished since the last round, the fires now due, the next executions to run. A
commit per round, not two per execution: with eight pool threads each committing its own
outcome, they queued on SQLite's one writer and the engine ran a fifth as fast as the
worker alone (bench/README.md, benchmark 5).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from sqlite3 import Connection, Row

from scheduler_api.backends.local.backend import spec_from_json
from scheduler_api.backends.local.engine.invoker import Outcome
from scheduler_api.backends.local.engine.liveness import (
    EngineLock,
    Holder,
    host_of,
    lock_dir,
    probe,
    sweep,
)
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.executions import add_execution
from scheduler_api.domain.clock import Clock
from scheduler_api.domain.fires import from_epoch, next_fire_after, next_fire_from, to_epoch
from scheduler_api.domain.schedules import ScheduleSpec
from task_contract import RunStatus

logger = logging.getLogger(__name__)

MATERIALIZE_BATCH = 500
HELD_QUERY_BATCH = 500  # ids per query, well under SQLite's limit on parameters


@dataclass(frozen=True)
class Claimed:
    id: str
    schedule_arn: str
    scheduled_time: datetime
    attempt: int
    input: str
    target_arn: str
    manual_run: str | None = None  # a run-now: its id, which keys it apart from every fire


@dataclass(frozen=True)
class Finished:
    """An attempt that ended, with its outcome still to be recorded."""

    claimed: Claimed
    outcome: Outcome
    may_retry: bool = True  # False for a redrive: its one more attempt


@dataclass(frozen=True)
class Round:
    statuses: list[RunStatus | None]  # per outcome recorded, in order (see `settle`)
    claimed: list[Claimed]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay_seconds: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(self.base_delay_seconds * 2 ** (attempt - 1))


class ExecutionQueue:
    def __init__(
        self,
        database: Database,
        *,
        owner: str,
        clock: Clock,
        retry: RetryPolicy,
        rng: random.Random,
        stale_after_seconds: float = 5.0,
    ) -> None:
        self.database = database
        self.owner = owner
        self.clock = clock
        self.retry = retry
        self.rng = rng
        # Only for engines whose lock this one cannot see (another host's, or one with no
        # lock file): for those, a heartbeat older than this still means dead.
        self.stale_after = stale_after_seconds
        self.host = host_of(owner)
        self.locks = lock_dir(database.path)
        self.lock = EngineLock(self.locks, owner)

    def heartbeat(self) -> None:
        with self.database.write() as conn:
            self._heartbeat(conn, self.clock())

    def _heartbeat(self, conn: Connection, now: datetime) -> None:
        self.lock.hold()  # before the row that names this engine to the others
        conn.execute(
            "INSERT INTO engines (owner, heartbeat_at) VALUES (?, ?)"
            " ON CONFLICT(owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            (self.owner, to_epoch(now)),
        )

    def run_round(self, finished: Sequence[Finished], limit: int, *, heartbeat: bool) -> Round:
        """One write transaction: record `finished`, materialize what fell due, claim up to
        `limit` executions. If it raises, nothing of it was written."""
        now = self.clock()
        with self.database.write() as conn:
            if heartbeat:
                self._heartbeat(conn, now)
            statuses = self._settle(conn, finished, now)
            self._materialize(conn, now)
            return Round(statuses, self._claim(conn, limit, now))

    def reap_dead_neighbours(self) -> int:
        """Forget engines of this host whose process is gone (killed, crashed): their rows
        and lock files. Their leases are taken over by the next claim, whoever makes it."""
        dead = sweep(self.locks, self.host)
        if dead:
            with self.database.write() as conn:
                conn.executemany("DELETE FROM engines WHERE owner = ?", [(o,) for o in dead])
        return len(dead)

    def retire(self) -> None:
        """Say this engine is gone, so its leases can be taken over at once. The lock goes
        even if the row cannot be deleted: the heartbeat then ages as a dead engine's."""
        try:
            with self.database.write() as conn:
                conn.execute("DELETE FROM engines WHERE owner = ?", (self.owner,))
        finally:
            self.lock.close()

    def seconds_until_due(self) -> float | None:
        """How long until the next fire or execution falls due (None: nothing scheduled)."""
        with self.database.read() as conn:
            fire = conn.execute("SELECT min(next_fire_at) FROM schedules").fetchone()[0]
            pending, retry = (
                conn.execute(
                    "SELECT min(due_at) FROM executions WHERE status = ?", (status,)
                ).fetchone()[0]
                for status in (RunStatus.PENDING, RunStatus.RETRYING)
            )
        times = [float(t) for t in (fire, pending, retry) if t is not None]
        return min(times) - to_epoch(self.clock()) if times else None

    def materialize(self) -> int:
        """Turn every fire due by now into an execution; returns how many were added.

        Each schedule's fires are computed before anything of it is written: one the
        engine cannot process (a stored spec that no longer parses, say) is set aside as
        broken, never left to block the rest.
        """
        with self.database.write() as conn:
            return self._materialize(conn, self.clock())

    def _materialize(self, conn: Connection, now: datetime) -> int:
        added = 0
        rows = conn.execute(
            "SELECT * FROM schedules WHERE next_fire_at <= ? ORDER BY next_fire_at LIMIT ?",
            (to_epoch(now), MATERIALIZE_BATCH),
        ).fetchall()
        for row in rows:
            try:
                spec, fires, after = self._due_fires(row, now)
            except Exception as exc:  # any fault of one row, by design
                _set_aside(conn, row, exc)
                continue
            delete_after = spec.expression.startswith("at(") and (
                spec.action_after_completion == "DELETE"
            )
            for scheduled, due in fires:
                added += add_execution(
                    conn, row, spec, scheduled=scheduled, due=due, delete_schedule=delete_after
                )[1]
            conn.execute(
                "UPDATE schedules SET next_fire_at = ? WHERE id = ?",
                (to_epoch(after) if after else None, row["id"]),
            )
        return added

    def broken_count(self) -> int:
        with self.database.read() as conn:
            count: int = conn.execute(
                "SELECT count(*) FROM schedules WHERE broken IS NOT NULL"
            ).fetchone()[0]
        return count

    def _due_fires(
        self, row: Row, now: datetime
    ) -> tuple[ScheduleSpec, list[tuple[datetime, datetime]], datetime | None]:
        """A schedule's spec, its fires due by `now` as (scheduled, due) pairs, and the
        fire after them (None: no more)."""
        spec = spec_from_json(row["spec"])
        created = from_epoch(row["created_at"])
        max_age = timedelta(seconds=spec.target.maximum_event_age_seconds)
        fire: datetime | None = from_epoch(row["next_fire_at"])
        if fire is not None and now - fire > max_age:
            logger.warning("schedule %s: skipping fires older than %s", row["arn"], max_age)
            fire = next_fire_from(spec, now - max_age, created)
        window = (spec.flexible_window_minutes or 0) * 60
        fires = []
        while fire is not None and fire <= now:
            fires.append(
                (fire, fire + timedelta(seconds=self.rng.uniform(0, window) if window else 0))
            )
            fire = next_fire_after(spec, fire, created)
        return spec, fires, fire

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due executions that no live engine holds."""
        with self.database.write() as conn:
            return self._claim(conn, limit, self.clock())

    def _claim(self, conn: Connection, limit: int, now: datetime) -> list[Claimed]:
        if limit <= 0:
            return []
        self._free_leases_of_dead_engines(conn, now)
        # Never its own leases: what this engine holds is running, or waiting to be
        # saved, even if its heartbeat went stale while the file was locked.
        rows = conn.execute(
            "SELECT * FROM executions WHERE status IN (?, ?, ?)"
            " AND due_at <= ? AND lease_owner IS NULL ORDER BY due_at LIMIT ?",
            (RunStatus.PENDING, RunStatus.RETRYING, RunStatus.RUNNING, to_epoch(now), limit),
        ).fetchall()
        taking: list[Claimed] = []
        for row in rows:
            if to_epoch(now) - row["scheduled_time"] > row["max_event_age"]:
                _dead_letter(conn, row, row["input"], "MaximumEventAge exceeded", now)
                continue
            try:
                taking.append(_next_attempt(row))
            except Exception:  # one unreadable row must not stop the rest
                logger.exception("execution %s cannot be claimed; skipped", row["id"])
        self._take(conn, taking, now)
        return taking

    def _free_leases_of_dead_engines(self, conn: Connection, now: datetime) -> None:
        """Close the open attempts of engines that died and free their leases, to be
        claimed again. Only the engines that hold leases are looked at: a few per round,
        each a lock tried without waiting."""
        holders = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT lease_owner FROM executions"
                " WHERE status = ? AND lease_owner IS NOT NULL AND lease_owner != ?",
                (RunStatus.RUNNING, self.owner),
            )
        ]
        for owner in holders:
            if self._is_alive(conn, owner, now):
                continue
            conn.execute(
                "UPDATE attempts SET finished_at = ?, error = 'abandoned: its engine stopped'"
                " WHERE finished_at IS NULL AND execution_id IN"
                "  (SELECT id FROM executions WHERE status = ? AND lease_owner = ?)",
                (to_epoch(now), RunStatus.RUNNING, owner),
            )
            # Only RUNNING rows have a lease; saying so lets SQLite use the status index.
            freed = conn.execute(
                "UPDATE executions SET lease_owner = NULL WHERE status = ? AND lease_owner = ?",
                (RunStatus.RUNNING, owner),
            ).rowcount
            conn.execute("DELETE FROM engines WHERE owner = ?", (owner,))
            logger.warning("engine %s is gone; its %d execution(s) run again", owner, freed)

    def _is_alive(self, conn: Connection, owner: str, now: datetime) -> bool:
        if host_of(owner) == self.host:
            holder = probe(self.locks, owner)
            if holder is not Holder.UNKNOWN:
                return holder is Holder.ALIVE
        # Another host's engine (its flock is not this kernel's to see), or one without a
        # lock file: its heartbeat decides, as it did before lock files.
        row = conn.execute("SELECT heartbeat_at FROM engines WHERE owner = ?", (owner,)).fetchone()
        return row is not None and row[0] >= to_epoch(now) - self.stale_after

    def release(self, execution_ids: list[str], reason: str) -> int:
        """Give up this engine's lease on executions it cannot finish (shutdown): their
        open attempt is closed with `reason` and the next engine to start runs them again,
        as after a crash. Returns how many were released."""
        now = to_epoch(self.clock())
        released = 0
        with self.database.write() as conn:
            for execution_id in execution_ids:
                conn.execute(
                    "UPDATE attempts SET finished_at = ?, error = ?"
                    " WHERE execution_id = ? AND finished_at IS NULL",
                    (now, reason, execution_id),
                )
                released += conn.execute(
                    "UPDATE executions SET lease_owner = NULL WHERE id = ? AND lease_owner = ?",
                    (execution_id, self.owner),
                ).rowcount
        return released

    def claim_dead_letter(self, dead_letter_id: int) -> Claimed | None:
        """Take a dead-lettered execution for one more attempt (a redrive)."""
        now = self.clock()
        with self.database.write() as conn:
            row = conn.execute(
                "SELECT e.* FROM dead_letters d JOIN executions e ON e.id = d.execution_id"
                " WHERE d.id = ? AND e.status = ?",
                (dead_letter_id, RunStatus.DEAD_LETTERED),
            ).fetchone()
            if row is None:
                return None
            claimed = _next_attempt(row)
            self._take(conn, [claimed], now)
            return claimed

    def _take(self, conn: Connection, claimed: list[Claimed], now: datetime) -> None:
        """Lease executions to this engine and open their attempts."""
        if claimed:
            self.lock.hold()  # before any lease: a lease without it would look dead
        conn.executemany(
            "UPDATE executions SET lease_owner = ?, attempts = ?, status = ?,"
            " started_at = COALESCE(started_at, ?) WHERE id = ?",
            [(self.owner, c.attempt, RunStatus.RUNNING, to_epoch(now), c.id) for c in claimed],
        )
        conn.executemany(
            "INSERT INTO attempts (execution_id, number, engine, started_at) VALUES (?, ?, ?, ?)",
            [(c.id, c.attempt, self.owner, to_epoch(now)) for c in claimed],
        )

    def settle(self, finished: Sequence[Finished]) -> list[RunStatus | None]:
        """Record how attempts ended, in one transaction; per attempt, the execution's new
        status, or None when another engine took the execution over first (its outcome is
        then not this one's to record)."""
        with self.database.write() as conn:
            return self._settle(conn, finished, self.clock())

    def _settle(
        self, conn: Connection, finished: Sequence[Finished], now: datetime
    ) -> list[RunStatus | None]:
        held = self._held_rows(conn, [done.claimed.id for done in finished])
        statuses: list[RunStatus | None] = []
        attempts, executions, deleted = [], [], []
        for done in finished:
            claimed, outcome = done.claimed, done.outcome
            row = held.get(claimed.id)
            if row is None:
                logger.error("execution %s: lease lost before its outcome was saved", claimed.id)
                statuses.append(None)
                continue
            max_age = timedelta(seconds=row["max_event_age"])
            status = self._next_status(claimed, outcome, now, max_age, done.may_retry)
            statuses.append(status)
            retrying = status == RunStatus.RETRYING
            why = _why(outcome)
            attempts.append((to_epoch(now), outcome.status_code, why, claimed.id, claimed.attempt))
            executions.append(
                (
                    status,
                    to_epoch(now) + self.retry.delay(claimed.attempt)
                    if retrying
                    else row["due_at"],
                    None if retrying else to_epoch(now),
                    outcome.status_code,
                    why,
                    claimed.id,
                )
            )
            if status == RunStatus.DEAD_LETTERED:
                _dead_letter(conn, row, outcome.event, outcome.error or "failed", now)
            if not done.may_retry:  # a redrive: say how it went on the dead letter
                conn.execute(
                    "UPDATE dead_letters SET redriven_at = ?, redrive_status = ?"
                    " WHERE execution_id = ?",
                    (to_epoch(now), status, claimed.id),
                )
            if not retrying and row["delete_schedule"]:
                deleted.append((row["schedule_id"],))
        conn.executemany(
            "UPDATE attempts SET finished_at = ?, status_code = ?, error = ?"
            " WHERE execution_id = ? AND number = ?",
            attempts,
        )
        conn.executemany(
            "UPDATE executions SET status = ?, lease_owner = NULL, due_at = ?,"
            " finished_at = ?, status_code = ?, error = ? WHERE id = ?",
            executions,
        )
        conn.executemany("DELETE FROM schedules WHERE id = ?", deleted)
        return statuses

    def _held_rows(self, conn: Connection, execution_ids: list[str]) -> dict[str, Row]:
        """The rows of those executions this engine still holds the lease on."""
        held: dict[str, Row] = {}
        for start in range(0, len(execution_ids), HELD_QUERY_BATCH):
            ids = execution_ids[start : start + HELD_QUERY_BATCH]
            marks = ", ".join("?" * len(ids))
            for row in conn.execute(
                f"SELECT * FROM executions WHERE lease_owner = ? AND id IN ({marks})",  # noqa: S608
                (self.owner, *ids),
            ):
                held[row["id"]] = row
        return held

    def _next_status(
        self,
        claimed: Claimed,
        outcome: Outcome,
        now: datetime,
        max_age: timedelta,
        may_retry: bool,
    ) -> RunStatus:
        if not outcome.raised:
            # A returned 4xx is a successful invocation to Lambda: not retried, but not done.
            if outcome.error:
                return RunStatus.FAILED
            return RunStatus.SKIPPED if outcome.skipped else RunStatus.SUCCEEDED
        retry_at = now + timedelta(seconds=self.retry.delay(claimed.attempt))
        if (
            may_retry
            and claimed.attempt <= self.retry.max_retries
            and (retry_at - claimed.scheduled_time <= max_age)
        ):
            return RunStatus.RETRYING
        return RunStatus.DEAD_LETTERED


def _next_attempt(row: Row) -> Claimed:
    return Claimed(
        id=row["id"],
        schedule_arn=row["schedule_arn"],
        scheduled_time=from_epoch(row["scheduled_time"]),
        attempt=row["attempts"] + 1,
        input=row["input"],
        target_arn=row["target_arn"],
        manual_run=row["run_key"] or None,
    )


def _why(outcome: Outcome) -> str | None:
    """What a run's `error` says: the failure, or for a SKIPPED run, the reason."""
    return outcome.error or outcome.skipped


def _set_aside(conn: Connection, row: Row, exc: Exception) -> None:
    """Mark a schedule the engine cannot process as broken; it fires no more until it is
    replaced. Logged once: a broken schedule is not selected again."""
    reason = f"the engine cannot compute its fires ({type(exc).__name__})"
    logger.error("schedule %s set aside as broken: %s", row["arn"], reason, exc_info=exc)
    conn.execute(
        "UPDATE schedules SET next_fire_at = NULL, broken = ? WHERE id = ?", (reason, row["id"])
    )


def _dead_letter(conn: Connection, row: Row, event: str, reason: str, now: datetime) -> None:
    conn.execute(
        "UPDATE executions SET status = ?, lease_owner = NULL, finished_at = ?,"
        " error = COALESCE(error, ?) WHERE id = ?",
        (RunStatus.DEAD_LETTERED, to_epoch(now), reason, row["id"]),
    )
    conn.execute(
        "INSERT INTO dead_letters (execution_id, event, reason, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(execution_id) DO UPDATE SET event = excluded.event,"
        " reason = excluded.reason",
        (row["id"], event, reason, to_epoch(now)),
    )
    if row["delete_schedule"]:
        conn.execute("DELETE FROM schedules WHERE id = ?", (row["schedule_id"],))
