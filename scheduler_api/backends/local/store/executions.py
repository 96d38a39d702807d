"""Writing an execution row: adding one (a fire the engine materialises, or a run-now the
API asks for), and dead-lettering one (claims and outcomes both do)."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from sqlite3 import Connection, Row

from scheduler_api.domain.clock import to_epoch
from scheduler_api.domain.schedules import ScheduleTarget
from task_contract import RunStatus


def add_execution(
    conn: Connection,
    schedule: Row,
    target: ScheduleTarget,
    *,
    scheduled: datetime,
    due: datetime,
    delete_schedule: bool,
    manual: bool = False,
) -> tuple[str, int]:
    """(its id, 1 if added or 0 if that fire of that schedule exists already).

    A manual run (run-now) is keyed by its own id (run_key), so it is always added: two in
    one instant, or one at the instant of a fire, are each their own execution."""
    execution_id = new_execution_id()
    added = conn.execute(
        "INSERT OR IGNORE INTO executions (id, schedule_id, schedule_arn, group_name,"
        " schedule_name, task_id, scheduled_time, due_at, status, input, target_arn,"
        " max_event_age, delete_schedule, run_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            execution_id,
            schedule["id"],
            schedule["arn"],
            schedule["group_name"],
            schedule["name"],
            schedule["task_id"],
            to_epoch(scheduled),
            to_epoch(due),
            RunStatus.PENDING,
            "",  # the input is in execution_inputs (schema.py)
            target.arn,
            timedelta(seconds=target.maximum_event_age_seconds).total_seconds(),
            int(delete_schedule),
            execution_id if manual else "",
        ),
    ).rowcount
    if added:
        conn.execute(
            "INSERT INTO execution_inputs (execution_id, input) VALUES (?, ?)",
            (execution_id, target.input),
        )
    return execution_id, added


# An execution's input, wherever it is kept (schema.py's execution_inputs for new rows,
# executions.input for those of an older file), as `stored_input` (e.* has an `input` of
# its own, '' in new rows): select FROM executions e.
STORED_INPUT = (
    "coalesce((SELECT i.input FROM execution_inputs i WHERE i.execution_id = e.id),"
    " e.input) AS stored_input"
)
EXECUTION_WITH_INPUT = f"e.*, {STORED_INPUT}"


def new_execution_id() -> str:
    """32 hex digits, as uuid4().hex was, but led by the time in nanoseconds: ids made
    one after another sort one after another, so each insert into the indexes keyed by
    an execution's id (its own, its attempts') lands on the last page instead of a
    random one. A random uuid4 there dirtied about two index pages per run that every
    round's commit had to write (bench/README.md, benchmark 5). The 64 random bits
    keep ids from two engines apart."""
    return f"{time.time_ns():016x}{os.urandom(8).hex()}"


def dismiss_dead_letter(conn: Connection, dead_letter_id: int) -> bool:
    """Forget a dead letter (its execution and attempts stay in the task's runs); False if
    there is none with this id. If a redrive of it fails again, it is dead-lettered anew."""
    return conn.execute("DELETE FROM dead_letters WHERE id = ?", (dead_letter_id,)).rowcount > 0


def dead_letter(conn: Connection, row: Row, event: str, reason: str, now: datetime) -> None:
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
