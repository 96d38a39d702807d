"""The local store's tables, and the migrations of files older versions created.

Every change of shape is made here, when a file is opened (Database's constructor): new
tables and indexes by `CREATE ... IF NOT EXISTS`, new columns by ALTER TABLE, and a
constraint change by copying the table (`_rebuild_executions_with_run_key`).
"""

from __future__ import annotations

import sqlite3

from scheduler_api.backends.local.store.index import INDEX_COLUMNS, INDEX_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    spec TEXT NOT NULL,
    task_id TEXT,
    next_fire_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    broken TEXT,
    rev INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_name, name)
);
DROP INDEX IF EXISTS schedules_next_fire;
CREATE INDEX IF NOT EXISTS schedules_by_next_fire ON schedules (next_fire_at);

CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    schedule_arn TEXT NOT NULL,
    group_name TEXT NOT NULL,
    schedule_name TEXT NOT NULL,
    task_id TEXT,
    scheduled_time REAL NOT NULL,
    due_at REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    input TEXT NOT NULL,
    target_arn TEXT NOT NULL,
    max_event_age REAL NOT NULL,
    delete_schedule INTEGER NOT NULL,
    lease_owner TEXT,
    started_at REAL,
    finished_at REAL,
    status_code INTEGER,
    error TEXT,
    run_key TEXT NOT NULL DEFAULT '',
    first_attempt_engine TEXT,
    UNIQUE (schedule_id, scheduled_time, run_key)
);
DROP INDEX IF EXISTS executions_due;
CREATE INDEX IF NOT EXISTS executions_by_status_due ON executions (status, due_at);
CREATE INDEX IF NOT EXISTS executions_task ON executions (task_id, scheduled_time);
CREATE INDEX IF NOT EXISTS executions_by_scheduled ON executions (scheduled_time);

-- An execution's input (its event, about 2 KB), apart from its row: the row is rewritten
-- when it is claimed and when it ends, and with the input in it a row filled half a page,
-- so each of those writes cost the commit a page of its own. This is written once.
-- Executions of files from before it keep their input in executions.input, and new ones
-- write '' there.
CREATE TABLE IF NOT EXISTS execution_inputs (
    execution_id TEXT PRIMARY KEY,
    input TEXT NOT NULL
);

-- An execution's attempts. Its first attempt lives in its own row while it is its only
-- one (first_attempt_engine set: the row's started_at, finished_at, status_code and error
-- are the attempt's), so a run that succeeds first time writes no attempts row. It is
-- copied here (store/attempts.py) before anything makes the row stop describing it: a
-- retry, a redrive, an engine that died or shut down. Read both through attempt_records
-- (ATTEMPT_RECORDS, made after the columns it reads are added).
-- Executions of files from before it have all their attempts here.
CREATE TABLE IF NOT EXISTS attempts (
    execution_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    engine TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status_code INTEGER,
    error TEXT,
    PRIMARY KEY (execution_id, number)
);

CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    redriven_at REAL,
    redrive_status TEXT
);

CREATE TABLE IF NOT EXISTS engines (
    owner TEXT PRIMARY KEY,
    heartbeat_at REAL NOT NULL
);
"""


ATTEMPT_RECORDS = """
CREATE VIEW IF NOT EXISTS attempt_records AS
    SELECT execution_id, number, engine, started_at, finished_at, status_code, error
    FROM attempts
    UNION ALL
    SELECT id, 1, first_attempt_engine, started_at, finished_at, status_code, error
    FROM executions WHERE first_attempt_engine IS NOT NULL
"""


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Make the tables of a new file, or bring an older version's file to this shape, in
    the caller's write transaction (so two processes opening one file do it once)."""
    _rebuild_executions_with_run_key(conn)
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    _add_missing_columns(conn)
    conn.execute(ATTEMPT_RECORDS)
    for statement in INDEX_SCHEMA:
        conn.execute(statement)
    # Statistics let SQLite pick, per filter, between walking the sort index and
    # looking up the few matches (a rare label); sampled, so start-up stays fast.
    conn.execute("PRAGMA analysis_limit = 1000")
    conn.execute("ANALYZE")


# Columns added since the first release, for files an older version created.
# rev: bumped by every change a client makes, so a change computed from one read can be
# written only if nobody wrote in between (update_schedule's expect_revision).
# first_attempt_engine: the engine of a first attempt kept in the execution's row (SCHEMA).
_ADDED_COLUMNS = {
    "schedules": {"broken": "TEXT", "rev": "INTEGER NOT NULL DEFAULT 0", **INDEX_COLUMNS},
    "executions": {"first_attempt_engine": "TEXT"},
}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _rebuild_executions_with_run_key(conn: sqlite3.Connection) -> None:
    """A file from before manual runs had their own key: its executions were UNIQUE on
    (schedule_id, scheduled_time), which merged two run-nows of one instant into one.
    SQLite cannot change a table's constraints in place, so the table is copied into one
    of the new shape (in the caller's transaction) and its indexes made again by SCHEMA."""
    present = [row[1] for row in conn.execute("PRAGMA table_info(executions)")]
    if not present or "run_key" in present:
        return
    conn.execute("ALTER TABLE executions RENAME TO executions_before_run_key")
    create = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS executions") :]
    conn.execute(create[: create.index(";")])
    columns = ", ".join(present)
    conn.execute(
        f"INSERT INTO executions ({columns}) SELECT {columns} FROM executions_before_run_key"  # noqa: S608 - names from PRAGMA
    )
    conn.execute("DROP TABLE executions_before_run_key")
