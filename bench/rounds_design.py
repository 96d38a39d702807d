"""Benchmark 13's second half: a prototype of the store design that would meet issue 22's
item 5, run beside the product's rounds on the same schedules.

The product's rounds cost `us_per_run` (benchmark 13), most of it the pages a round
dirties and its commit writes (bench/README.md). This builds the store's writes in the
shape bench/README names, so that "the design that would" is a measured figure, not a
reading of a profile. It is not the product: no API reads these tables, only the rounds'
statements are written, and the product's readers are not changed. What it keeps of the
product, so that its figure is not a floor no product could reach:
- the same schedules, copied from a file the product made (their spec, input, names,
  ids and index columns, byte for byte), with the product's indexes on the schedules
  table, its labels table and its delete trigger;
- the product's `Database` (WAL, synchronous=NORMAL, checkpoints deferred, its locks), one
  BEGIN IMMEDIATE transaction a round, and in each round the product's steps in its
  order: the heartbeat (when the loop's would be due), the look for dead engines'
  leases, the outcomes of the last round's claims (a lease checked per outcome; all but
  a plain success by the product's `_next_status`), the fires due, the next claims
  (each too old for its maximum event age dead-lettered, the rest the product's
  `Claimed`, input included);
- every run's record: its execution row, in the product's executions table, written
  by the sweep below, and its input, which it points to.

What it changes, the design:
- a one-time schedule's one execution lives in its schedule's row (its id, status, lease,
  attempt and outcome columns), written when the schedule is made: its fire inserts no
  row and rewrites nothing at materialize, and it keeps its next_fire_at, so the
  indexes that hold it (the listing's sort) do not move when it runs. The index the
  engine materializes from holds only the fires of recurring schedules;
- the schedule's row is small: its spec apart in `schedule_specs`, and its input (about
  2 KB: one row to a page in the product) in `inputs`, written once and never copied,
  both keyed by the schedule's INTEGER PRIMARY KEY, which grows, so that rows made
  together sit together;
- the round's plain successes are recorded in one statement (RETURNING says which this
  engine still held), and its claims leased in one;
- a run-out one-time schedule is swept `SWEEP_BATCH` at a time, in the round that
  reaches that many: its execution row copied to `executions` (pointing to its input),
  its spec and row deleted, neighbours sharing their pages. Until then every reader
  would have to treat it as gone. Or (`whole_sweep`) all of them at once, in the first
  round with nothing to claim or record: on a file in use, where a batch's rows lie
  among others', only a sweep with more rows than an index has pages shares them.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.executions import new_execution_id
from scheduler_api.backends.local.store.outcomes import (
    Finished,
    RetryPolicy,
    _next_status,
)
from scheduler_api.domain.clock import from_epoch
from task_contract import RunStatus

SWEEP_BATCH = 1024  # run-out one-time schedules a sweep deletes together (256: more pages)
OWNER = "design-prototype"

# The product's schedules table without its spec, with a one-time run's columns, and
# an INTEGER PRIMARY KEY (the product's rows have SQLite's rowid, which VACUUM may
# renumber). The indexes are the product's (schema.py, index.py) but by_next_fire, now
# partial, and two partial ones for claims. The product's other tables are kept.
# A one-time schedule whose run is over and whose last run deletes it: the sweep's. One
# text for the partial index and the query, which SQLite matches term by term.
RUN_OUT = "delete_after = 1 AND status IN ('SUCCEEDED', 'FAILED', 'SKIPPED', 'DEAD_LETTERED')"
SCHEMA = """
CREATE TABLE schedules (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: inputs outlive their row
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    arn TEXT NOT NULL,
    task_id TEXT,
    next_fire_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    broken TEXT,
    rev INTEGER NOT NULL DEFAULT 0,
    user_id INTEGER, action TEXT, kind TEXT, state TEXT, expression TEXT, timezone TEXT,
    target_arn TEXT NOT NULL,
    max_event_age REAL NOT NULL,
    delete_after INTEGER NOT NULL,
    execution_id TEXT,
    scheduled_time REAL,
    due_at REAL,
    status TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    started_at REAL,
    finished_at REAL,
    status_code INTEGER,
    error TEXT,
    first_attempt_engine TEXT,
    UNIQUE (group_name, name)
);
-- The fires the engine materializes: a one-time schedule's one fire is its own execution.
CREATE INDEX schedules_by_next_fire ON schedules (next_fire_at) WHERE kind IS NOT 'one-time';
CREATE INDEX schedules_by_group_sort ON schedules
    (group_name, coalesce(next_fire_at, 9.0e15), coalesce(task_id, ''), name);
CREATE INDEX schedules_by_user ON schedules (user_id);
CREATE INDEX schedules_by_action ON schedules (action);
CREATE INDEX schedules_by_task ON schedules (task_id);
-- What claims read: the runs nobody holds, by due time (an entry leaves when claimed; a
-- RUNNING one without a lease was released at a shutdown), and the leases held, by engine
-- (an entry leaves when its outcome is recorded). A run that ended is in neither.
CREATE INDEX schedules_claimable ON schedules (due_at)
    WHERE lease_owner IS NULL AND status IN ('PENDING', 'RETRYING', 'RUNNING');
CREATE INDEX schedules_by_lease ON schedules (lease_owner) WHERE lease_owner IS NOT NULL;
-- The run-out one-time schedules the sweep deletes, found from the file, not from memory:
-- after a restart, or when another engine recorded the outcome, they are found all the same.
CREATE INDEX schedules_run_out ON schedules (seq) WHERE {run_out};
CREATE TABLE schedule_specs (seq INTEGER PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE inputs (seq INTEGER PRIMARY KEY, input TEXT NOT NULL);
-- The product's labels table is kept; its trigger went with its schedules table.
CREATE TRIGGER schedules_drop_labels AFTER DELETE ON schedules
    BEGIN DELETE FROM schedule_labels WHERE schedule_id = old.id; END;
-- A swept run's execution row points to its input.
ALTER TABLE executions ADD COLUMN input_seq INTEGER;
""".replace("{run_out}", RUN_OUT)

_COPY_SCHEDULES = """
INSERT INTO schedules (group_name, name, id, arn, task_id, next_fire_at, created_at,
    updated_at, rev, user_id, action, kind, state, expression, timezone, target_arn,
    max_event_age, delete_after, execution_id, scheduled_time, due_at, status)
SELECT group_name, name, id, arn, task_id, next_fire_at,
    created_at, updated_at, rev, user_id, action, kind, state, expression, timezone,
    json_extract(spec, '$.target.arn'), json_extract(spec, '$.target.maximum_event_age_seconds'),
    json_extract(spec, '$.action_after_completion') = 'DELETE',
    -- as new_execution_id makes them: led by the time, so made together they sort together
    CASE WHEN one_time THEN printf('%016x', unixepoch() * 1000000000 + rowid)
        || lower(hex(randomblob(8))) END,
    CASE WHEN one_time THEN next_fire_at END, CASE WHEN one_time THEN next_fire_at END,
    CASE WHEN one_time THEN 'PENDING' END
FROM (SELECT rowid, *, expression LIKE 'at(%' AS one_time FROM product.schedules) ORDER BY rowid
"""
# The spec without its input, and the input apart, written once and never rewritten:
# the schedule's row and, once it has run, its execution's row point to it (the API would
# join them again). A run-out schedule's input is its execution's, so it is not copied.
_COPY_SPECS = """
INSERT INTO schedule_specs (seq, spec)
SELECT s.seq, json_remove(p.spec, '$.target.input')
FROM product.schedules p JOIN schedules s ON s.id = p.id
"""
_COPY_INPUTS = """
INSERT INTO inputs (seq, input)
SELECT s.seq, json_extract(p.spec, '$.target.input')
FROM product.schedules p JOIN schedules s ON s.id = p.id
"""
# The product's earlier runs, their inputs numbered in the order of their ids (the order
# they were made in), and the schedules' seq continuing after them.
_NUMBER_HISTORY = (
    "CREATE TEMP TABLE history AS SELECT row_number() OVER (ORDER BY execution_id) AS seq,"
    " execution_id, input FROM product.execution_inputs",
    "INSERT INTO inputs (seq, input) SELECT seq, input FROM temp.history ORDER BY seq",
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'schedules', count(*) FROM temp.history",
)
# By name: a migrated file's columns may be in another order than a new file's.
_COPY_HISTORY = (
    "INSERT INTO executions ({columns}, input_seq) SELECT {e_columns}, h.seq"
    " FROM product.executions e LEFT JOIN temp.history h ON h.execution_id = e.id"
    " ORDER BY e.id"
)
_SWEEP_EXECUTIONS = """
INSERT INTO executions (id, schedule_id, schedule_arn, group_name, schedule_name, task_id,
    scheduled_time, due_at, status, attempts, input, target_arn, max_event_age,
    delete_schedule, started_at, finished_at, status_code, error, first_attempt_engine,
    input_seq)
SELECT execution_id, id, arn, group_name, name, task_id, scheduled_time, due_at, status,
    attempts, '', target_arn, max_event_age, delete_after, started_at, finished_at,
    status_code, error, first_attempt_engine, seq
FROM schedules WHERE seq IN (SELECT seq FROM temp.sweep)
"""


def copy_product_schedules(product_db: Path, db: Path) -> Database:
    """The design's file, with the schedules of a file the product made, and its earlier
    runs if it has any (their executions, and their inputs in `inputs`, older than every
    schedule's), and their labels. The product's own tables are kept (its executions,
    with their indexes, engines, labels, dead letters) but for the two the design
    replaces: schedules and execution_inputs."""
    database = Database(db)  # the product's tables, locks and settings
    with database.write() as conn:
        conn.execute("DROP TABLE schedules")  # with its indexes and its labels trigger
        conn.execute("DROP TABLE execution_inputs")  # a run points to its input instead
    conn = database.connection()
    conn.executescript(SCHEMA)
    conn.execute("ATTACH DATABASE ? AS product", (str(product_db),))
    with database.write() as write:
        for statement in _NUMBER_HISTORY:
            write.execute(statement)
        columns = [row[1] for row in write.execute("PRAGMA product.table_info(executions)")]
        write.execute(
            _COPY_HISTORY.format(
                columns=", ".join(columns), e_columns=", ".join(f"e.{c}" for c in columns)
            )
        )
        write.execute("DROP TABLE temp.history")
        write.execute(_COPY_SCHEDULES)
        write.execute(
            "INSERT INTO schedule_labels (schedule_id, key, value)"
            " SELECT schedule_id, key, value FROM product.schedule_labels"
        )
        write.execute(_COPY_SPECS)
        write.execute(_COPY_INPUTS)
    conn.execute("DETACH DATABASE product")
    conn.execute("ANALYZE")  # as the product's file is when opened (schema.py): same plans
    return database


class DesignRounds:
    """The rounds of the design, as the product's engine runs its own."""

    def __init__(self, database: Database, now: float, *, whole_sweep: bool = False) -> None:
        self.database = database
        self.now = now
        # True: run-out schedules wait for a round with nothing to claim or record, which
        # sweeps them all at once (a sweep far larger than a round's: on a file in use its
        # deletes share an index's pages); False: `SWEEP_BATCH` at a time.
        self.whole_sweep = whole_sweep
        self.retry = RetryPolicy()
        # Runs ended since the last sweep: when to sweep, not what (that is read from
        # the file, through schedules_run_out).
        self.ended = 0

    def run_round(
        self, finished: list[Finished], limit: int, heartbeat: bool = True
    ) -> list[Claimed]:
        now = from_epoch(self.now)
        with self.database.write() as conn:
            if heartbeat:  # as the product's (LocalEngine.tick says when)
                conn.execute(
                    "INSERT INTO engines (owner, heartbeat_at) VALUES (?, ?)"
                    " ON CONFLICT(owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                    (OWNER, self.now),
                )
            conn.execute(
                "SELECT DISTINCT lease_owner FROM schedules"
                " WHERE lease_owner IS NOT NULL AND lease_owner != ?",
                (OWNER,),
            ).fetchall()
            # The design keeps recurring fires in executions (the product's path): each
            # round asks it too, for dead engines' leases and for claims.
            conn.execute(
                "SELECT DISTINCT lease_owner FROM executions WHERE status = ?"
                " AND lease_owner IS NOT NULL AND lease_owner != ?",
                (RunStatus.RUNNING, OWNER),
            ).fetchall()
            conn.execute(
                "SELECT id FROM executions WHERE status IN (?, ?, ?) AND due_at <= ?"
                " AND lease_owner IS NULL ORDER BY due_at LIMIT ?",
                (RunStatus.PENDING, RunStatus.RETRYING, RunStatus.RUNNING, self.now, limit),
            ).fetchall()
            self._record(conn, finished, now)
            self._materialize(conn)
            claimed = self._claim(conn, limit)
            if not (claimed or finished):
                self._sweep(conn, limit=None if self.whole_sweep else SWEEP_BATCH)
            elif self.ended >= SWEEP_BATCH and not self.whole_sweep:
                self._sweep(conn, limit=SWEEP_BATCH)
        return claimed

    def _record(self, conn: sqlite3.Connection, finished: list[Finished], now: datetime) -> None:
        """The outcomes: a success (most) in one statement for all of the round's, whose
        RETURNING says which this engine still held; any other outcome by the product's
        rule (_next_status), one row at a time."""
        successes: dict[int | None, list[int]] = {}
        others = []
        for done in finished:
            outcome = done.outcome
            if outcome.raised or outcome.error or outcome.skipped:
                others.append(done)
            else:
                successes.setdefault(outcome.status_code, []).append(_seq(done.claimed))
        for status_code, seqs in successes.items():
            self.ended += len(
                conn.execute(
                    "UPDATE schedules SET status = ?, lease_owner = NULL, finished_at = ?,"  # noqa: S608
                    f" status_code = ? WHERE lease_owner = ? AND seq IN ({_marks(seqs)})"
                    " RETURNING seq",
                    (RunStatus.SUCCEEDED, self.now, status_code, OWNER, *seqs),
                ).fetchall()
            )
        for done in others:
            row = conn.execute(
                "SELECT max_event_age, due_at FROM schedules WHERE lease_owner = ? AND seq = ?",
                (OWNER, _seq(done.claimed)),
            ).fetchone()
            if row is None:
                continue
            status = _next_status(
                self.retry, done.claimed, done.outcome, now, timedelta(seconds=row[0]), True
            )
            retrying = status == RunStatus.RETRYING
            conn.execute(
                "UPDATE schedules SET status = ?, lease_owner = NULL, due_at = ?,"
                " finished_at = ?, status_code = ?, error = ? WHERE seq = ?",
                (
                    status,
                    self.now + self.retry.delay(done.claimed.attempt) if retrying else row[1],
                    None if retrying else self.now,
                    done.outcome.status_code,
                    done.outcome.error or done.outcome.skipped,
                    _seq(done.claimed),
                ),
            )
            if not retrying:
                self.ended += 1

    def _materialize(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT seq, next_fire_at, max_event_age FROM schedules WHERE next_fire_at <= ?"
            " AND kind IS NOT 'one-time' ORDER BY next_fire_at LIMIT 500",
            (self.now,),
        ).fetchall()
        due = [
            (new_execution_id(), fire, fire, RunStatus.PENDING, seq)
            for seq, fire, max_age in rows
            if self.now - fire <= max_age
        ]
        conn.executemany(
            "UPDATE schedules SET next_fire_at = NULL, execution_id = ?, scheduled_time = ?,"
            " due_at = ?, status = ? WHERE seq = ?",
            due,
        )

    def _claim(self, conn: sqlite3.Connection, limit: int) -> list[Claimed]:
        rows = conn.execute(
            "SELECT s.seq, s.execution_id, s.arn, s.scheduled_time, s.attempts, s.target_arn,"
            " s.max_event_age,"
            # A subquery, so that only the rows claimed read their input (a join read
            # it for every due row, before the sort).
            " (SELECT i.input FROM inputs i WHERE i.seq = s.seq) FROM schedules s"
            " WHERE s.lease_owner IS NULL AND s.status IN ('PENDING', 'RETRYING', 'RUNNING')"
            " AND s.due_at <= ? ORDER BY s.due_at LIMIT ?",
            (self.now, limit),
        ).fetchall()
        too_old = [row[0] for row in rows if self.now - row[3] > row[6]]
        conn.executemany(  # the product also keeps a dead letter's event: not built here
            "UPDATE schedules SET status = ?, finished_at = ?, error = ? WHERE seq = ?",
            [(RunStatus.DEAD_LETTERED, self.now, "MaximumEventAge exceeded", s) for s in too_old],
        )
        self.ended += len(too_old)
        claimed = [
            Claimed(
                id=f"{seq}:{execution_id}",
                schedule_arn=arn,
                scheduled_time=from_epoch(scheduled),
                attempt=attempts + 1,
                input=stored_input,
                target_arn=target_arn,
            )
            for seq, execution_id, arn, scheduled, attempts, target_arn, max_age, stored_input in (
                rows
            )
            if self.now - scheduled <= max_age
        ]
        # The product checks each claimed row's age in Python (too old: dead-lettered);
        # the rows kept are leased in one statement.
        conn.execute(
            "UPDATE schedules SET lease_owner = ?, attempts = attempts + 1, status = ?,"  # noqa: S608
            " started_at = coalesce(started_at, ?),"
            " first_attempt_engine = CASE WHEN attempts = 0 THEN ? ELSE first_attempt_engine END"
            f" WHERE lease_owner IS NULL AND seq IN ({_marks(claimed)})",
            (OWNER, RunStatus.RUNNING, self.now, OWNER, *(_seq(c) for c in claimed)),
        )
        return claimed

    def _sweep(self, conn: sqlite3.Connection, limit: int | None) -> None:
        """Run-out one-time schedules, read from the file (`ended` only says when), up to
        `limit` (None: all): their runs into the executions table, then gone."""
        self.ended = 0
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS sweep (seq INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.sweep")
        conn.execute(
            f"INSERT INTO temp.sweep SELECT seq FROM schedules WHERE {RUN_OUT}"  # noqa: S608
            " ORDER BY seq LIMIT ?",
            (-1 if limit is None else limit,),
        )
        conn.execute(_SWEEP_EXECUTIONS)
        conn.execute("DELETE FROM schedule_specs WHERE seq IN (SELECT seq FROM temp.sweep)")
        conn.execute("DELETE FROM schedules WHERE seq IN (SELECT seq FROM temp.sweep)")


def _seq(claimed: Claimed) -> int:
    return int(claimed.id.split(":", 1)[0])


def _marks(items: list[Any]) -> str:
    return ", ".join("?" * len(items))


def design_bookkeeping(
    database: Database, now: float, claims: int, *, whole_sweep: bool = False
) -> dict[str, float | int]:
    """As bench/engine_run.py's `bookkeeping`: every fire claimed and a made-up success
    recorded, `claims` a round, in this one thread."""
    # Here, not above: bench.engine_run refuses a process that imported the worker first.
    from bench.engine_run import rounds_until_done

    database.defer_checkpoints()
    return rounds_until_done(DesignRounds(database, now, whole_sweep=whole_sweep).run_round, claims)
