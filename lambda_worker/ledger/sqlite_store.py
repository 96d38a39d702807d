"""The ledger in a SQLite file (local mode): the same conditions as DynamoDB's, in SQL,
but for one: a later attempt takes over a running one only when its holder is gone."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lambda_worker.ledger.base import LedgerUnavailableError
from lambda_worker.ledger.holders import HolderLock
from lambda_worker.ledger.writers import WriterLock
from task_contract import LEDGER_FIELDS, LedgerRecord

# `holder`: the claiming process's lock (holders.py); a column of this store only.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger (
    {", ".join(LEDGER_FIELDS)}, holder,
    PRIMARY KEY (task_id, scheduled_time)
)"""
_LOCKS = """
CREATE TABLE IF NOT EXISTS task_locks (task_id PRIMARY KEY, token, started_at)"""
_COLUMNS = ", ".join(LEDGER_FIELDS)
# A claim may replace a record that finished without success, one whose holder is older
# than the timeout (it died), or one held by an earlier attempt whose holder is gone.
# IN_PROGRESS is RUNNING as an older version wrote it.
#
# Why "whose holder is gone", unlike DynamoDB's rule: on Lambda a higher attempt comes
# only after the lower one ended (Lambda retries after a function error or timeout, fact
# 20), so it may take over at once, and the DynamoDB store keeps that rule. Here the
# local engine calls the handler in its own process, and the ledger can check instead of
# assume: while the claiming process lives, its invocation may still be running. That is
# what happened when an engine took a live one for dead (a file locked from outside, a
# stopped process: issue 18), and what a shutdown that released an action still running
# after its grace hands over. The later attempt then waits (Claim "wait", a 503 the
# engine retries) instead of running beside the first; once the holder's process has
# died, its invocation died with it, and the later attempt takes over at once, as after
# Lambda's crash-then-retry. A holder that cannot be checked (another host's, a record
# from before holders) keeps the attempt rule, and so does this process's own: its
# engine never invokes a higher attempt while it still runs the lower one, so one means
# the lower attempt ended without its record finished (that write failed, say).
_RECLAIMABLE = (
    "ledger.status IN ('FAILED', 'RETRYING', 'DEAD_LETTERED')"
    " OR (ledger.status IN ('RUNNING', 'IN_PROGRESS') AND (ledger.started_at < ?"
    "     OR (ledger.attempt < excluded.attempt AND holder_gone(ledger.holder))))"
)


# How long a writer waits for its turn (writers.py), and SQLite's busy handler for a
# writer that does not take that turn (the sqlite3 shell): seconds.
WRITER_TIMEOUT_SECONDS = 30.0
BUSY_TIMEOUT_SECONDS = 30.0


class SQLiteLedgerStore:
    """Every write (claim, finish, task lock) waits for its turn first (writers.py), so
    the pool's threads and other processes never meet in SQLite's busy handler; reads
    need no turn (WAL)."""

    def __init__(
        self,
        path: Path,
        *,
        writer_timeout: float = WRITER_TIMEOUT_SECONDS,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = HolderLock(path)
        self.writers = WriterLock(path, writer_timeout)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        with self.writers:  # sqlite3's own errors here: build_ledger names the file
            conn = self._conn()
            conn.execute(_SCHEMA)
            conn.execute(_LOCKS)
            present = {row[1] for row in conn.execute("PRAGMA table_info(ledger)")}
            for missing in (name for name in (*LEDGER_FIELDS, "holder") if name not in present):
                conn.execute(f"ALTER TABLE ledger ADD COLUMN {missing}")  # an older file

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, during this writer's turn."""
        with self.writers:
            try:
                yield self._conn()
            except sqlite3.OperationalError as exc:
                raise LedgerUnavailableError(f"the ledger file: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            conn.create_function("holder_gone", 1, self._holder_gone)
            self._local.conn = conn
        return conn

    def _holder_gone(self, holder: str | None) -> bool:
        """Whether the process that claimed a record is gone (see _RECLAIMABLE)."""
        if holder is None or holder == self.lock.name:
            return True  # from before holders, or this process's own: the attempt rule
        if holder.partition(":")[0] != self.lock.host:
            return True  # another host's lock is not this kernel's to see
        return self.lock.is_gone(holder)

    def try_claim(self, record: LedgerRecord, stale_before: float) -> tuple[bool, LedgerRecord]:
        self.lock.hold()  # before a record names it
        values = [*(getattr(record, name) for name in LEDGER_FIELDS), self.lock.name]
        with self._writing() as conn:
            written = conn.execute(
                # Column names are constants; every value is a bound parameter.
                f"INSERT INTO ledger ({_COLUMNS}, holder) VALUES ({', '.join('?' * len(values))})"  # noqa: S608
                " ON CONFLICT (task_id, scheduled_time) DO UPDATE SET status = excluded.status,"
                " token = excluded.token, attempt = excluded.attempt, holder = excluded.holder,"
                " attempts = ledger.attempts + 1, started_at = excluded.started_at,"
                " expires_at = excluded.expires_at, execution_id = excluded.execution_id,"
                " schedule_arn = excluded.schedule_arn,"
                " finished_at = NULL, error = NULL, status_code = NULL, result = NULL"
                f" WHERE {_RECLAIMABLE} RETURNING {_COLUMNS}",
                (*values, stale_before),
            ).fetchone()
        if written is not None:
            return True, LedgerRecord.from_values(dict(written))
        existing = self._get(record.task_id, record.scheduled_time)
        assert existing is not None  # the row that refused the write is still there
        return False, existing

    def finish(self, record: LedgerRecord) -> bool:
        with self._writing() as conn:
            updated = conn.execute(
                "UPDATE ledger SET status = ?, finished_at = ?, result = ?, error = ?,"
                " status_code = ? WHERE task_id = ? AND scheduled_time = ? AND token = ?",
                (
                    record.status,
                    record.finished_at,
                    record.result,
                    record.error,
                    record.status_code,
                    record.task_id,
                    record.scheduled_time,
                    record.token,
                ),
            ).rowcount
        return bool(updated)

    def _get(self, task_id: str, scheduled_time: str) -> LedgerRecord | None:
        with _unavailable_on_sqlite_error():
            row = (
                self._conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM ledger WHERE task_id = ? AND scheduled_time = ?",  # noqa: S608
                    (task_id, scheduled_time),
                )
                .fetchone()
            )
        return None if row is None else LedgerRecord.from_values(dict(row))

    def list_for_task(self, task_id: str, limit: int) -> list[LedgerRecord]:
        with _unavailable_on_sqlite_error():
            rows = (
                self._conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM ledger WHERE task_id = ?"  # noqa: S608
                    " ORDER BY scheduled_time DESC LIMIT ?",
                    (task_id, limit),
                )
                .fetchall()
            )
        return [LedgerRecord.from_values(dict(row)) for row in rows]

    def try_lock_task(self, task_id: str, token: str, now: float, stale_before: float) -> bool:
        with self._writing() as conn:
            written = conn.execute(
                "INSERT INTO task_locks (task_id, token, started_at) VALUES (?, ?, ?)"
                " ON CONFLICT (task_id) DO UPDATE SET token = excluded.token,"
                " started_at = excluded.started_at WHERE task_locks.started_at < ?",
                (task_id, token, now, stale_before),
            ).rowcount
        return bool(written)

    def unlock_task(self, task_id: str, token: str) -> None:
        with self._writing() as conn:
            conn.execute("DELETE FROM task_locks WHERE task_id = ? AND token = ?", (task_id, token))


@contextmanager
def _unavailable_on_sqlite_error() -> Iterator[None]:
    """A locked or unreadable ledger file is the ledger's documented error, not a 500."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise LedgerUnavailableError(f"the ledger file: {exc}") from exc
