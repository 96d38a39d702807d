"""A file from before executions kept their input apart (store/schema.py's
execution_inputs) opens with this version and keeps its schedules and runs.

The older file is made the way that version left it: the app writes a schedule and
materializes its fire, then the input is put back into the execution's own row and the
side table dropped, which is the shape (and content) the previous schema had.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from tests.conftest import FakeClock, open_local_app, task_body
from tests.support import probe_handler
from tests.support.probe_handler import events_for


def into_the_previous_shape(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE executions SET input ="
            " (SELECT i.input FROM execution_inputs i WHERE i.execution_id = executions.id)"
        )
        conn.execute("DROP TABLE execution_inputs")
    conn.close()


def test_a_file_with_inputs_in_the_execution_rows_opens_and_runs_them(
    tmp_path: Path, clock: FakeClock
) -> None:
    probe_handler.reset()
    db = tmp_path / "scheduler.db"
    client, local = open_local_app(db, clock)
    for task_id, minutes in (("due-before", 1), ("due-after", 60)):
        response = client.post(
            "/scheduler/schedule", json=task_body(task_id, delay_minutes=minutes)
        )
        assert response.status_code == 200, response.text
    clock.advance(timedelta(seconds=90))
    with local.engine.store.round() as round:
        assert round.materialize() == 1  # due-before's fire, not run yet
    client.__exit__(None, None, None)
    into_the_previous_shape(db)
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT input FROM executions").fetchone()
    conn.close()
    assert json.loads(stored)["body"]  # the old shape: the event in the row itself

    client, local = open_local_app(db, clock)
    try:
        listed = client.get("/scheduler/schedules").json()["schedules"]
        assert {s["task_id"] for s in listed} == {"due-before", "due-after"}
        assert local.engine.tick() == 1
        (event,) = events_for("due-before")
        assert json.loads(event["body"] or "{}")["task_id"] == "due-before"
        assert [run["status"] for run in local.runs("due-before")] == ["SUCCEEDED"]
        assert local.advance(3600) == 1  # a fire materialized after the migration
        (event,) = events_for("due-after")
        assert json.loads(event["body"] or "{}")["task_id"] == "due-after"
        assert [run["status"] for run in local.runs("due-after")] == ["SUCCEEDED"]
    finally:
        client.__exit__(None, None, None)
        probe_handler.reset()
