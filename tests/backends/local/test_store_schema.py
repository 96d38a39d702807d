"""The local store's tables and migrations (store/schema.py), on in-memory connections.

The migration of a whole older file through Database is tested with the runs it keeps
(tests/api/test_run_identity.py); these point at the function.
"""

from __future__ import annotations

import sqlite3

from scheduler_api.backends.local.store.index import INDEX_COLUMNS
from scheduler_api.backends.local.store.schema import create_or_migrate

TABLES = {"schedules", "executions", "attempts", "dead_letters", "engines"}


def tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_a_new_file_gets_every_table() -> None:
    conn = sqlite3.connect(":memory:")
    create_or_migrate(conn)
    assert tables(conn) >= TABLES
    assert {"broken", "rev", *INDEX_COLUMNS} <= columns(conn, "schedules")
    assert "run_key" in columns(conn, "executions")


def test_running_it_again_changes_nothing() -> None:
    conn = sqlite3.connect(":memory:")
    create_or_migrate(conn)
    before = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    create_or_migrate(conn)
    after = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    assert [row[:2] for row in after] == [row[:2] for row in before]


def test_a_first_release_schedules_table_gets_the_added_columns_and_keeps_its_rows() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE schedules (group_name TEXT NOT NULL, name TEXT NOT NULL,"
        " id TEXT NOT NULL UNIQUE, arn TEXT NOT NULL, spec TEXT NOT NULL, task_id TEXT,"
        " next_fire_at REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
        " PRIMARY KEY (group_name, name))"
    )
    conn.execute("INSERT INTO schedules VALUES ('g', 'n', 's1', 'arn', '{}', 't', 1, 0, 0)")
    create_or_migrate(conn)
    assert {"broken", "rev", *INDEX_COLUMNS} <= columns(conn, "schedules")
    assert conn.execute("SELECT id, rev, broken FROM schedules").fetchall() == [("s1", 0, None)]
