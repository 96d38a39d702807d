"""What happened to tasks: executions, their attempts, and the dead letters (read-only)."""

from __future__ import annotations

import json
from datetime import datetime
from sqlite3 import Row

from scheduler_api.backends.local.store.database import Database
from scheduler_api.domain.clock import from_epoch
from scheduler_api.domain.runs import AttemptRecord, DeadLetter, Run
from task_contract import RunStatus

# How long a run's attempts ran, summed (not the backoff between): its row's times while
# its first attempt is its only one and lives there (store/attempts.py), else its attempts'.
RAN_SECONDS = (
    "CASE WHEN e.first_attempt_engine IS NOT NULL THEN e.finished_at - e.started_at"
    " ELSE (SELECT SUM(a.finished_at - a.started_at) FROM attempts a"
    " WHERE a.execution_id = e.id) END"
)


def _maybe(value: float | None) -> datetime | None:
    return None if value is None else from_epoch(value)


class RunHistory:
    def __init__(self, database: Database) -> None:
        self.database = database

    def runs(self, task_id: str, limit: int = 50) -> list[Run]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"SELECT e.*, {RAN_SECONDS} AS ran_seconds"  # noqa: S608 - a constant
                " FROM executions e WHERE e.task_id = ?"
                " ORDER BY e.scheduled_time DESC, e.id LIMIT ?",
                (task_id, limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def since(self, moment: datetime, limit: int = 10_000) -> list[Run]:
        """Runs scheduled at or after `moment`, oldest first (the dashboard's overview)."""
        with self.database.read() as conn:
            rows = conn.execute(
                f"SELECT e.*, {RAN_SECONDS} AS ran_seconds"  # noqa: S608 - a constant
                " FROM executions e WHERE e.scheduled_time >= ?"
                " ORDER BY e.scheduled_time LIMIT ?",
                (moment.timestamp(), limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        with self.database.read() as conn:
            rows = conn.execute(
                "SELECT d.id AS dead_letter_id, d.event, d.reason, d.created_at AS dead_at,"
                " d.redriven_at, d.redrive_status, e.* FROM dead_letters d"
                " JOIN executions e ON e.id = d.execution_id ORDER BY d.id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            attempts = {row["id"]: self._attempts(row["id"]) for row in rows}
        return [_dead_letter(row, attempts[row["id"]]) for row in rows]

    def _attempts(self, execution_id: str) -> list[AttemptRecord]:
        with self.database.read() as conn:
            rows = conn.execute(
                "SELECT * FROM attempt_records WHERE execution_id = ? ORDER BY number",
                (execution_id,),
            ).fetchall()
        return [
            AttemptRecord(
                number=row["number"],
                started_at=from_epoch(row["started_at"]),
                finished_at=_maybe(row["finished_at"]),
                status_code=row["status_code"],
                error=row["error"],
            )
            for row in rows
        ]


def _run(row: Row) -> Run:
    return Run(
        execution_id=row["id"],
        schedule_arn=row["schedule_arn"],
        scheduled_time=from_epoch(row["scheduled_time"]),
        status=RunStatus(row["status"]),
        attempts=row["attempts"],
        started_at=_maybe(row["started_at"]),
        finished_at=_maybe(row["finished_at"]),
        status_code=row["status_code"],
        error=row["error"],
        trigger="manual" if row["run_key"] else "schedule",
        duration_seconds=row["ran_seconds"],  # its attempts summed, not the backoff between
    )


def _dead_letter(row: Row, attempts: list[AttemptRecord]) -> DeadLetter:
    return DeadLetter(
        id=row["dead_letter_id"],
        execution_id=row["id"],
        schedule_arn=row["schedule_arn"],
        task_id=row["task_id"],
        scheduled_time=from_epoch(row["scheduled_time"]),
        reason=row["reason"],
        event=json.loads(row["event"]),
        attempts=attempts,
        created_at=from_epoch(row["dead_at"]),
        redriven_at=_maybe(row["redriven_at"]),
        redrive_status=None if row["redrive_status"] is None else RunStatus(row["redrive_status"]),
    )
