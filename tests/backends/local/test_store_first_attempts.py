"""A first attempt lives in its execution's row (store/attempts.py): a run that succeeds
first time writes no attempts row, and every reader still sees the same attempts, through
retries, dead letters, redrives, and a file from before the column existed."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.conftest import FakeClock, LocalApp, open_local_app, task_body
from tests.support import probe_handler
from tests.support.probe_handler import FAILURES


def schedule(local: LocalApp, task_id: str, seconds: int = 30) -> None:
    due = local.clock.now + timedelta(seconds=seconds)
    body = task_body(task_id, run_at=due.isoformat())
    assert local.client.post("/scheduler/schedule", json=body).status_code == 200


def letter_of(local: LocalApp, task_id: str) -> dict[str, Any]:
    letters = local.client.get("/scheduler/dead-letters").json()["dead_letters"]
    letter: dict[str, Any] = next(d for d in letters if d["task_id"] == task_id)
    return letter


def table_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


def test_a_first_attempt_that_succeeds_writes_no_attempts_row_and_reads_as_one(
    tmp_path: Path, clock: FakeClock
) -> None:
    probe_handler.reset()
    db = tmp_path / "scheduler.db"
    client, local = open_local_app(db, clock)
    try:
        schedule(local, "once")
        local.advance(30)
        (run,) = local.runs("once")
        assert (run["status"], run["attempts"]) == ("SUCCEEDED", 1)
        assert run["duration_seconds"] is not None
        assert table_rows(db, "SELECT count(*) FROM attempts") == [(0,)]
        ((number, engine, finished),) = table_rows(
            db, "SELECT number, engine, finished_at FROM attempt_records"
        )
        assert (number, engine) == (1, local.engine.store.owner)
        assert finished is not None
    finally:
        client.__exit__(None, None, None)
        probe_handler.reset()


def test_retries_and_a_redrive_list_every_attempt_the_first_included(
    tmp_path: Path, clock: FakeClock
) -> None:
    probe_handler.reset()
    db = tmp_path / "scheduler.db"
    client, local = open_local_app(db, clock)
    try:
        FAILURES["retried"] = 10
        schedule(local, "retried")
        for seconds in (30, 60, 120):  # three attempts, the backoff between them
            local.advance(seconds)
        letter = letter_of(local, "retried")
        assert [a["number"] for a in letter["attempts"]] == [1, 2, 3]
        assert all(a["finished_at"] and a["error"] for a in letter["attempts"])
        started = [a["started_at"] for a in letter["attempts"]]
        assert started == sorted(started)
        assert len(set(started)) == 3
        answer = client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
        assert answer.status_code == 200, answer.text
        local.advance(1)
        letter = letter_of(local, "retried")
        assert [a["number"] for a in letter["attempts"]] == [1, 2, 3, 4]
    finally:
        client.__exit__(None, None, None)
        probe_handler.reset()


def test_a_redrive_of_a_first_attempt_keeps_that_attempt(tmp_path: Path, clock: FakeClock) -> None:
    """Dead-lettered at its first attempt (no retries): the first attempt is in the row
    until the redrive's claim moves it out."""
    probe_handler.reset()
    db = tmp_path / "scheduler.db"
    client, local = open_local_app(db, clock, local_max_retries=0)
    try:
        FAILURES["once-failed"] = 1
        schedule(local, "once-failed")
        local.advance(30)
        (first,) = letter_of(local, "once-failed")["attempts"]
        assert table_rows(db, "SELECT count(*) FROM attempts") == [(0,)]
        letter = letter_of(local, "once-failed")
        answer = client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
        assert answer.status_code == 200, answer.text
        local.advance(1)
        attempts = letter_of(local, "once-failed")["attempts"]
        assert [a["number"] for a in attempts] == [1, 2]
        assert attempts[0] == first  # as it was, error and times
        (run,) = local.runs("once-failed")
        assert (run["status"], run["attempts"]) == ("SUCCEEDED", 2)
    finally:
        client.__exit__(None, None, None)
        probe_handler.reset()


def into_the_previous_shape(db: Path) -> None:
    """As the version before first_attempt_engine left a file: every attempt in the
    attempts table, no column, no view."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO attempts SELECT id, 1, first_attempt_engine, started_at,"
            " finished_at, status_code, error FROM executions"
            " WHERE first_attempt_engine IS NOT NULL"
        )
        conn.execute("DROP VIEW attempt_records")
        conn.execute("ALTER TABLE executions DROP COLUMN first_attempt_engine")
    conn.close()


def test_a_file_from_before_keeps_its_schedules_pending_runs_and_history(
    tmp_path: Path, clock: FakeClock
) -> None:
    probe_handler.reset()
    db = tmp_path / "scheduler.db"
    client, local = open_local_app(db, clock)
    FAILURES["failed"] = 10
    for task_id in ("done", "failed"):
        schedule(local, task_id)
    schedule(local, "later", seconds=3600)
    for seconds in (30, 60, 120):
        local.advance(seconds)
    schedule(local, "pending")
    clock.advance(timedelta(seconds=30))
    with local.engine.store.round() as round:
        assert round.materialize() == 1  # its execution, not run yet
    runs_before = {t: local.runs(t) for t in ("done", "failed", "pending")}
    assert [run["status"] for run in runs_before["pending"]] == ["PENDING"]
    letter_before = letter_of(local, "failed")
    client.__exit__(None, None, None)
    into_the_previous_shape(db)
    assert table_rows(db, "SELECT count(*) FROM attempts")[0][0] >= 4

    client, local = open_local_app(db, clock)
    try:
        assert {t: local.runs(t) for t in runs_before} == runs_before
        assert letter_of(local, "failed") == letter_before
        assert local.engine.tick() == 1  # the pending run
        assert [run["status"] for run in local.runs("pending")] == ["SUCCEEDED"]
        listed = client.get("/scheduler/schedules").json()["schedules"]
        assert "later" in {s["task_id"] for s in listed}
        assert local.advance(3600) == 1  # a fire after the migration, its first attempt
        (run,) = local.runs("later")
        assert (run["status"], run["attempts"]) == ("SUCCEEDED", 1)
        assert run["duration_seconds"] is not None
    finally:
        client.__exit__(None, None, None)
        probe_handler.reset()
