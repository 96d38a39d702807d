"""The local store's figures for the scrape-time gauges (/metrics): plain numbers, read from
the SQLite file when scraped, so every process of one file reports the same, true figure.
bootstrap hands them to observability/metrics.py, which imports no backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler_api.backends.local.store.database import Database
from task_contract import RunStatus


@dataclass(frozen=True)
class Backlog:
    dead_letters: int  # not redriven
    due_executions: int  # due attempts that no engine has claimed
    due_fires: int  # fires due that no engine has materialized yet


def read_backlog(database: Database, now: float) -> Backlog:
    """`now`: epoch seconds."""
    with database.read() as conn:
        dead = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE redriven_at IS NULL"
        ).fetchone()[0]
        due_executions = conn.execute(
            "SELECT count(*) FROM executions WHERE status IN (?, ?) AND due_at <= ?"
            " AND lease_owner IS NULL",
            (RunStatus.PENDING, RunStatus.RETRYING, now),
        ).fetchone()[0]
        due_fires = conn.execute(
            "SELECT count(*) FROM schedules WHERE next_fire_at <= ?", (now,)
        ).fetchone()[0]
    return Backlog(int(dead), int(due_executions), int(due_fires))
