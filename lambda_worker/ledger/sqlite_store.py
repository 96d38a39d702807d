"""The ledger in a SQLite file (local mode): the same conditions as DynamoDB's, in SQL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from lambda_worker.ledger.base import LedgerRecord

_FIELDS = (
    "task_id", "scheduled_time", "status", "token", "attempt", "attempts", "started_at",
    "expires_at", "execution_id", "schedule_arn", "finished_at", "result", "error",
)  # fmt: skip
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger (
    {", ".join(_FIELDS)},
    PRIMARY KEY (task_id, scheduled_time)
)"""


class SQLiteLedgerStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._conn().execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def try_claim(self, record: LedgerRecord, stale_before: float) -> LedgerRecord | None:
        conn = self._conn()
        values = [getattr(record, name) for name in _FIELDS]
        written = conn.execute(
            # Column names are the constants above; every value is a bound parameter.
            f"INSERT INTO ledger ({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))})"  # noqa: S608
            " ON CONFLICT (task_id, scheduled_time) DO UPDATE SET status = excluded.status,"
            " token = excluded.token, attempt = excluded.attempt,"
            " attempts = ledger.attempts + 1, started_at = excluded.started_at,"
            " expires_at = excluded.expires_at, execution_id = excluded.execution_id,"
            " schedule_arn = excluded.schedule_arn,"
            " finished_at = NULL, error = NULL"
            " WHERE ledger.status = 'FAILED' OR (ledger.status = 'IN_PROGRESS'"
            "   AND (ledger.started_at < ? OR ledger.attempt < excluded.attempt))",
            (*values, stale_before),
        ).rowcount
        if written:
            return None
        existing = self._get(record.task_id, record.scheduled_time)
        assert existing is not None  # the row that refused the write is still there
        return existing

    def finish(self, record: LedgerRecord) -> bool:
        updated = (
            self._conn()
            .execute(
                "UPDATE ledger SET status = ?, finished_at = ?, result = ?, error = ?"
                " WHERE task_id = ? AND scheduled_time = ? AND token = ?",
                (
                    record.status,
                    record.finished_at,
                    record.result,
                    record.error,
                    record.task_id,
                    record.scheduled_time,
                    record.token,
                ),
            )
            .rowcount
        )
        return bool(updated)

    def _get(self, task_id: str, scheduled_time: str) -> LedgerRecord | None:
        row = (
            self._conn()
            .execute(
                f"SELECT {', '.join(_FIELDS)} FROM ledger WHERE task_id = ? AND scheduled_time = ?",  # noqa: S608
                (task_id, scheduled_time),
            )
            .fetchone()
        )
        return None if row is None else LedgerRecord(*row)

    def list_for_task(self, task_id: str, limit: int) -> list[LedgerRecord]:
        rows = (
            self._conn()
            .execute(
                f"SELECT {', '.join(_FIELDS)} FROM ledger WHERE task_id = ?"  # noqa: S608
                " ORDER BY scheduled_time DESC LIMIT ?",
                (task_id, limit),
            )
            .fetchall()
        )
        return [LedgerRecord(*row) for row in rows]
