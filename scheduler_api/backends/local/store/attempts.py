"""An execution's first attempt, kept in its own row, copied to the attempts table.

A run that succeeds at its first attempt is most runs; writing an attempts row for it
(an insert at its claim, an update at its outcome) was two of the seven row writes a
fire cost (bench/README.md, benchmark 5). So the first attempt lives in the execution's
row while it is its only one: `first_attempt_engine` says so, and the row's started_at,
finished_at, status_code and error are the attempt's (schema.py, `attempt_records`
reads both places). Whatever would make the row stop describing it copies it here first,
in the same transaction: a retry (the row's finished_at is cleared), a redrive or a
second claim (a new attempt), an engine found dead or shutting down (its attempt closed
with the reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from sqlite3 import Connection

_COPY = (
    "INSERT OR IGNORE INTO attempts"
    " (execution_id, number, engine, started_at, finished_at, status_code, error)"
    " SELECT id, 1, first_attempt_engine, started_at, coalesce(?, finished_at), status_code,"
    " coalesce(?, error) FROM executions WHERE first_attempt_engine IS NOT NULL AND "
)
_FORGET = (
    "UPDATE executions SET first_attempt_engine = NULL WHERE first_attempt_engine IS NOT NULL AND "
)


def move_first_attempts(
    conn: Connection,
    where: str,
    params: Sequence[tuple[object, ...]],
    *,
    finished_at: float | None = None,
    error: str | None = None,
) -> None:
    """Copy the first attempt of the executions `where` selects (an SQL condition on
    executions, one set of `params` per statement) into the attempts table, closed at
    `finished_at` with `error` if given (else as the row has them), and mark their rows
    as no longer holding it. Rows that hold none are left alone."""
    if not params:
        return
    conn.executemany(_COPY + where, [(finished_at, error, *each) for each in params])
    conn.executemany(_FORGET + where, params)
