"""Claiming: an engine takes due executions that nobody holds, or whose holder died, and
records an attempt; and gives up its lease on those it cannot finish (shutdown).

An engine of this host is dead when its lock file's flock is free (store/liveness.py),
never because its heartbeat is late: a file locked from outside or a stopped process
delays heartbeats while the actions go on running.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from sqlite3 import Connection, Row

from scheduler_api.backends.local.store.attempts import move_first_attempts
from scheduler_api.backends.local.store.engines import Membership
from scheduler_api.backends.local.store.executions import (
    EXECUTION_WITH_INPUT,
    STORED_INPUT,
    dead_letter,
)
from scheduler_api.domain.clock import from_epoch, to_epoch
from task_contract import RunStatus

logger = logging.getLogger(__name__)

# What a claim reads of each due execution: the columns the claim, `_next_attempt` and
# `dead_letter` use. With e.* each claimed row built all 21 columns to read these
# (bench/README.md, "5, bookkeeping": the narrower reads were most of what was kept).
CLAIM_COLUMNS = (
    "e.id, e.schedule_arn, e.scheduled_time, e.attempts, e.target_arn, e.run_key,"
    f" e.max_event_age, e.delete_schedule, e.schedule_id, {STORED_INPUT}"
)


@dataclass(frozen=True)
class Claimed:
    id: str
    schedule_arn: str
    scheduled_time: datetime
    attempt: int
    input: str
    target_arn: str
    manual_run: str | None = None  # a run-now: its id, which keys it apart from every fire


def claim(conn: Connection, engine: Membership, limit: int, now: datetime) -> list[Claimed]:
    """Take up to `limit` due executions that no live engine holds."""
    if limit <= 0:
        return []
    engine.free_leases_of_dead_engines(conn, now)
    # Never its own leases: what this engine holds is running, or waiting to be
    # saved, even if its heartbeat went stale while the file was locked.
    rows = conn.execute(
        f"SELECT {CLAIM_COLUMNS} FROM executions e WHERE status IN (?, ?, ?)"  # noqa: S608
        " AND due_at <= ? AND lease_owner IS NULL ORDER BY due_at LIMIT ?",
        (RunStatus.PENDING, RunStatus.RETRYING, RunStatus.RUNNING, to_epoch(now), limit),
    ).fetchall()
    taking: list[Claimed] = []
    for row in rows:
        if to_epoch(now) - row["scheduled_time"] > row["max_event_age"]:
            dead_letter(conn, row, row["stored_input"], "MaximumEventAge exceeded", now)
            continue
        try:
            taking.append(_next_attempt(row))
        except Exception:  # one unreadable row must not stop the rest
            logger.exception("execution %s cannot be claimed; skipped", row["id"])
    _take(conn, engine, taking, now)
    return taking


def claim_dead_letter(
    conn: Connection, engine: Membership, dead_letter_id: int, now: datetime
) -> Claimed | None:
    """Take a dead-lettered execution for one more attempt (a redrive)."""
    row = conn.execute(
        f"SELECT {EXECUTION_WITH_INPUT} FROM dead_letters d"  # noqa: S608
        " JOIN executions e ON e.id = d.execution_id"
        " WHERE d.id = ? AND e.status = ?",
        (dead_letter_id, RunStatus.DEAD_LETTERED),
    ).fetchone()
    if row is None:
        return None
    claimed = _next_attempt(row)
    _take(conn, engine, [claimed], now)
    return claimed


def release(
    conn: Connection, owner: str, execution_ids: list[str], reason: str, now: datetime
) -> int:
    """Give up this engine's lease on executions it cannot finish (shutdown): their
    open attempt is closed with `reason` and the next engine to start runs them again,
    as after a crash. Returns how many were released."""
    released = 0
    for execution_id in execution_ids:
        move_first_attempts(
            conn,
            "id = ? AND lease_owner = ?",
            [(execution_id, owner)],
            finished_at=to_epoch(now),
            error=reason,
        )
        conn.execute(
            "UPDATE attempts SET finished_at = ?, error = ?"
            " WHERE execution_id = ? AND finished_at IS NULL",
            (to_epoch(now), reason, execution_id),
        )
        released += conn.execute(
            "UPDATE executions SET lease_owner = NULL WHERE id = ? AND lease_owner = ?",
            (execution_id, owner),
        ).rowcount
    return released


def _take(conn: Connection, engine: Membership, claimed: list[Claimed], now: datetime) -> None:
    """Lease executions to this engine and open their attempts: a first attempt in the
    execution's row, a later one in the attempts table (store/attempts.py)."""
    if claimed:
        engine.lock.hold()  # before any lease: a lease without it would look dead
    later = [c for c in claimed if c.attempt > 1]
    move_first_attempts(conn, "id = ?", [(c.id,) for c in later])  # a redrive's first
    conn.executemany(
        "UPDATE executions SET lease_owner = ?, attempts = ?, status = ?,"
        " started_at = COALESCE(started_at, ?),"
        " first_attempt_engine = CASE WHEN ? = 1 THEN ? ELSE first_attempt_engine END"
        " WHERE id = ?",
        [
            (
                engine.owner,
                c.attempt,
                RunStatus.RUNNING,
                to_epoch(now),
                c.attempt,
                engine.owner,
                c.id,
            )
            for c in claimed
        ],
    )
    conn.executemany(
        "INSERT INTO attempts (execution_id, number, engine, started_at) VALUES (?, ?, ?, ?)",
        [(c.id, c.attempt, engine.owner, to_epoch(now)) for c in later],
    )


def _next_attempt(row: Row) -> Claimed:
    return Claimed(
        id=row["id"],
        schedule_arn=row["schedule_arn"],
        scheduled_time=from_epoch(row["scheduled_time"]),
        attempt=row["attempts"] + 1,
        input=row["stored_input"],
        target_arn=row["target_arn"],
        manual_run=row["run_key"] or None,
    )
