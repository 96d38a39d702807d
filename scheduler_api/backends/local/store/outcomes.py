"""Recording outcomes: the holder of an execution says how its attempt ended: done, retry
later, or dead-lettered. An outcome whose lease another engine took over meanwhile is
not this engine's to record."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from sqlite3 import Connection, Row
from typing import NamedTuple

from scheduler_api.backends.local.store.attempts import move_first_attempts
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.executions import dead_letter
from scheduler_api.domain.clock import to_epoch
from task_contract import RunStatus

logger = logging.getLogger(__name__)

HELD_QUERY_BATCH = 500  # ids per query, well under SQLite's limit on parameters


@dataclass(frozen=True)
class Outcome:
    """How one invocation ended: returned (with the proxy status code) or raised."""

    raised: bool
    status_code: int | None
    error: str | None
    event: str
    skipped: str | None = None  # why the worker did not run the action (a policy)


@dataclass(frozen=True)
class Finished:
    """An attempt that ended, with its outcome still to be recorded."""

    claimed: Claimed
    outcome: Outcome
    may_retry: bool = True  # False for a redrive: its one more attempt


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay_seconds: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(self.base_delay_seconds * 2 ** (attempt - 1))


def record_outcomes(
    conn: Connection,
    finished: Sequence[Finished],
    now: datetime,
    *,
    owner: str,
    retry: RetryPolicy,
) -> list[RunStatus | None]:
    """Per attempt, the execution's new status, or None when another engine took the
    execution over first."""
    held = _held_rows(conn, owner, [done.claimed.id for done in finished])
    statuses: list[RunStatus | None] = []
    attempts, deleted, retried = [], [], []
    writes: dict[str, _Write] = {}  # by execution: a second outcome of one replaces the first
    for done in finished:
        claimed, outcome = done.claimed, done.outcome
        row = held.get(claimed.id)
        if row is None:
            logger.error("execution %s: lease lost before its outcome was saved", claimed.id)
            statuses.append(None)
            continue
        max_age = timedelta(seconds=row["max_event_age"])
        status = _next_status(retry, claimed, outcome, now, max_age, done.may_retry)
        statuses.append(status)
        retrying = status == RunStatus.RETRYING
        why = _why(outcome)
        if retrying or not _first_attempt_in_row(row, claimed):
            attempts.append((to_epoch(now), outcome.status_code, why, claimed.id, claimed.attempt))
        due = to_epoch(now) + retry.delay(claimed.attempt) if retrying else None
        writes[claimed.id] = _Write(status, due, outcome.status_code, why)
        if retrying:
            retried.append((claimed.id,))
        elif row["delete_schedule"]:
            deleted.append((row["schedule_id"],))
        if status == RunStatus.DEAD_LETTERED:
            dead_letter(conn, row, outcome.event, outcome.error or "failed", now)
        if not done.may_retry:  # a redrive: say how it went on the dead letter
            conn.execute(
                "UPDATE dead_letters SET redriven_at = ?, redrive_status = ?"
                " WHERE execution_id = ?",
                (to_epoch(now), status, claimed.id),
            )
    # A retry clears the row's finished_at: its first attempt moves out first.
    move_first_attempts(conn, "id = ?", retried)
    conn.executemany(
        "UPDATE attempts SET finished_at = ?, status_code = ?, error = ?"
        " WHERE execution_id = ? AND number = ?",
        attempts,
    )
    _write_executions(conn, writes, now)
    conn.executemany("DELETE FROM schedules WHERE id = ?", deleted)
    return statuses


class _Write(NamedTuple):  # a tuple: built once per outcome, on the rounds' hot path
    """What an outcome writes to its execution's row: its status, when it is due again
    (a retry; None: it ended, and keeps its due time), its status code and why."""

    status: RunStatus
    retry_at: float | None
    status_code: int | None
    why: str | None


def _write_executions(conn: Connection, writes: dict[str, _Write], now: datetime) -> None:
    """A retry a statement each (its due time is its own); the runs that ended, one
    statement for each way they ended: most of a round's are plain successes, so one
    statement where there was one a run."""
    conn.executemany(
        "UPDATE executions SET status = ?, lease_owner = NULL, due_at = ?,"
        " finished_at = NULL, status_code = ?, error = ? WHERE id = ?",
        [
            (w.status, w.retry_at, w.status_code, w.why, execution_id)
            for execution_id, w in writes.items()
            if w.retry_at is not None
        ],
    )
    ended: dict[tuple[RunStatus, int | None, str | None], list[str]] = {}
    for execution_id, w in writes.items():
        if w.retry_at is None:
            ended.setdefault((w.status, w.status_code, w.why), []).append(execution_id)
    for (status, status_code, why), ids in ended.items():
        for start in range(0, len(ids), HELD_QUERY_BATCH):
            batch = ids[start : start + HELD_QUERY_BATCH]
            conn.execute(
                "UPDATE executions SET status = ?, lease_owner = NULL, finished_at = ?,"  # noqa: S608
                f" status_code = ?, error = ? WHERE id IN ({', '.join('?' * len(batch))})",
                (status, to_epoch(now), status_code, why, *batch),
            )


def _first_attempt_in_row(row: Row, claimed: Claimed) -> bool:
    """Whether this attempt is the first, kept in its execution's row (store/attempts.py):
    the row's update records it, and the attempts table has no row of it to update (a
    retry copies it there first, in record_outcomes, so its update is then needed)."""
    return claimed.attempt == 1 and row["first_attempt_engine"] is not None


def _held_rows(conn: Connection, owner: str, execution_ids: list[str]) -> dict[str, Row]:
    """The rows of those executions this engine still holds the lease on: the columns
    recording their outcomes reads (and `dead_letter`), not the whole row."""
    held: dict[str, Row] = {}
    for start in range(0, len(execution_ids), HELD_QUERY_BATCH):
        ids = execution_ids[start : start + HELD_QUERY_BATCH]
        marks = ", ".join("?" * len(ids))
        for row in conn.execute(
            "SELECT id, max_event_age, delete_schedule, schedule_id, first_attempt_engine"  # noqa: S608
            f" FROM executions WHERE lease_owner = ? AND id IN ({marks})",
            (owner, *ids),
        ):
            held[row["id"]] = row
    return held


def _next_status(
    retry: RetryPolicy,
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
    retry_at = now + timedelta(seconds=retry.delay(claimed.attempt))
    if (
        may_retry
        and claimed.attempt <= retry.max_retries
        and (retry_at - claimed.scheduled_time <= max_age)
    ):
        return RunStatus.RETRYING
    return RunStatus.DEAD_LETTERED


def _why(outcome: Outcome) -> str | None:
    """What a run's `error` says: the failure, or for a SKIPPED run, the reason."""
    return outcome.error or outcome.skipped
