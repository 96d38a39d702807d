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
  table (on the same columns, some partial: below), its labels table and its delete
  trigger;
- the product's `Database` (WAL, synchronous=NORMAL, checkpoints deferred, its locks), one
  BEGIN IMMEDIATE transaction a round, and in each round the product's steps in its
  order: the heartbeat (when the loop's would be due), the look for dead engines, the
  outcomes of the last round's claims (a lease checked per outcome; all but
  a plain success by the product's `_next_status`), the fires due, the next claims
  (each too old for its maximum event age dead-lettered, the rest the product's
  `Claimed`, input included);
- every run's record, with its input, which it points to, kept for good (below).

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
- the row is its run's record for good: a one-time schedule whose last run deletes it
  is not deleted, and nothing is copied. Its outcome takes it out of the listing's
  indexes (all partial: `LIVE`), and its labels go with it (a trigger), so that it reads
  as gone; the history is the `runs` view, these rows and the executions table's
  (recurring fires, earlier runs). The product keeps every execution row too;
- what claims read is one index of the runs not yet over, by due time (`UNFINISHED`),
  which a claim does not change: a lease is a column of the row, and a held run is
  skipped by the claim's scan (at most the engines' concurrency of them);
- dead engines are found from the engines table, one row each (a reaped engine's row
  goes only with its leases freed), not from the leases they hold: no index of leases;
- the round's plain successes are recorded in one statement, and its claims leased in
  one.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.resident_file import counts
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.outcomes import (
    Finished,
    RetryPolicy,
    _next_status,
)
from scheduler_api.domain.clock import from_epoch
from task_contract import RunStatus

OWNER = "design-prototype"

# The product's schedules table without its spec, with a one-time run's columns, and
# an INTEGER PRIMARY KEY (the product's rows have SQLite's rowid, which VACUUM may
# renumber). The indexes are the product's (schema.py, index.py), on the same columns,
# but partial: by_next_fire holds recurring schedules only, and the listing's hold the
# schedules that are not gone (`LIVE`); one more holds the runs not over. The product's
# other tables are kept. One text for each partial index and the queries that use it,
# which SQLite matches term by term.
# A schedule is gone when it is one-time, its last run deletes it, and that run is over.
LIVE = "(delete_after = 0 OR finished_at IS NULL)"
# A run not over: due (or retrying) and not ended; RUNNING ones too, leased or released.
UNFINISHED = "finished_at IS NULL AND due_at IS NOT NULL"
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
    first_attempt_engine TEXT
);
-- The fires the engine materializes: a one-time schedule's one fire is its own execution.
CREATE INDEX schedules_by_next_fire ON schedules (next_fire_at) WHERE kind IS NOT 'one-time';
CREATE UNIQUE INDEX schedules_by_name ON schedules (group_name, name) WHERE {live};
CREATE INDEX schedules_by_group_sort ON schedules
    (group_name, coalesce(next_fire_at, 9.0e15), coalesce(task_id, ''), name) WHERE {live};
CREATE INDEX schedules_by_user ON schedules (user_id) WHERE {live};
CREATE INDEX schedules_by_action ON schedules (action) WHERE {live};
CREATE INDEX schedules_by_task ON schedules (task_id) WHERE {live};
-- What claims read: the runs not over, by due time. A claim leases a run in its row and
-- leaves its entry; its outcome takes it out (a retry moves it to its new due time).
CREATE INDEX schedules_unfinished ON schedules (due_at) WHERE {unfinished};
CREATE TABLE schedule_specs (seq INTEGER PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE inputs (seq INTEGER PRIMARY KEY, input TEXT NOT NULL);
-- The product's labels table is kept; its trigger went with its schedules table. A
-- schedule gone by its run's outcome takes its labels with it as a deleted one does.
CREATE TRIGGER schedules_drop_labels AFTER DELETE ON schedules
    BEGIN DELETE FROM schedule_labels WHERE schedule_id = old.id; END;
CREATE TRIGGER schedules_gone_drop_labels AFTER UPDATE OF finished_at ON schedules
    WHEN new.delete_after = 1 AND new.finished_at IS NOT NULL AND old.finished_at IS NULL
    BEGIN DELETE FROM schedule_labels WHERE schedule_id = new.id; END;
-- An earlier run's execution row points to its input.
ALTER TABLE executions ADD COLUMN input_seq INTEGER;
-- Every run, as the product's executions table holds them: a one-time schedule's in its
-- row (from its creation: PENDING until it runs), the others in executions.
CREATE VIEW runs AS
SELECT execution_id AS id, id AS schedule_id, status, attempts, first_attempt_engine,
    seq AS input_seq
FROM schedules WHERE execution_id IS NOT NULL
UNION ALL
SELECT id, schedule_id, status, attempts, first_attempt_engine, input_seq FROM executions;
""".replace("{live}", LIVE).replace("{unfinished}", UNFINISHED)

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

    def __init__(self, database: Database, now: float) -> None:
        self.database = database
        self.now = now
        self.retry = RetryPolicy()

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
            else:
                # Dead engines are found from their rows, so every lease's owner must
                # have one: a round that may lease makes sure of its own (another engine
                # may have judged this one dead and deleted it while it was stopped).
                conn.execute(
                    "INSERT OR IGNORE INTO engines (owner, heartbeat_at) VALUES (?, ?)",
                    (OWNER, self.now),
                )
            # Dead engines, for both tables: the other engines' rows, each then probed as
            # the product's are (store/engines.py `_is_alive`; the bench has no other).
            conn.execute("SELECT owner FROM engines WHERE owner != ?", (OWNER,)).fetchall()
            # The design keeps recurring fires in executions (the product's path): each
            # round asks it for claims too.
            conn.execute(
                "SELECT id FROM executions WHERE status IN (?, ?, ?) AND due_at <= ?"
                " AND lease_owner IS NULL ORDER BY due_at LIMIT ?",
                (RunStatus.PENDING, RunStatus.RETRYING, RunStatus.RUNNING, self.now, limit),
            ).fetchall()
            self._record(conn, finished, now)
            self._materialize(conn)
            return self._claim(conn, limit)

    def _record(self, conn: sqlite3.Connection, finished: list[Finished], now: datetime) -> None:
        """The outcomes: a success (most) in one statement for all of the round's, which
        asks for this engine's lease (a run another engine took keeps its own); any other
        outcome by the product's rule (_next_status), one row at a time."""
        successes: dict[int | None, list[int]] = {}
        others = []
        for done in finished:
            outcome = done.outcome
            if outcome.raised or outcome.error or outcome.skipped:
                others.append(done)
            else:
                successes.setdefault(outcome.status_code, []).append(_seq(done.claimed))
        for status_code, seqs in successes.items():
            conn.execute(  # error: a retry's failure before this success
                "UPDATE schedules SET status = ?, lease_owner = NULL, finished_at = ?,"  # noqa: S608
                " error = NULL,"
                f" status_code = ? WHERE lease_owner = ? AND seq IN ({_marks(seqs)})",
                (RunStatus.SUCCEEDED, self.now, status_code, OWNER, *seqs),
            )
        for done in others:
            row = conn.execute(
                "SELECT max_event_age, due_at FROM schedules WHERE lease_owner = ? AND seq = ?",
                (OWNER, _seq(done.claimed)),
            ).fetchone()
            if row is None:
                continue
            status = _next_status(
                self.retry,
                done.claimed,
                done.outcome,
                now,
                timedelta(seconds=row[0]),
                done.may_retry,
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

    def _materialize(self, conn: sqlite3.Connection) -> None:
        """The look for recurring fires due, as the product's round makes it. Their fires
        would go into executions (the product's path), which is not built: the bench
        has none, and a prototype that wrote them anywhere else would be wrong."""
        due = conn.execute(
            "SELECT seq FROM schedules WHERE next_fire_at <= ? AND kind IS NOT 'one-time'"
            " ORDER BY next_fire_at LIMIT 500",
            (self.now,),
        ).fetchall()
        if due:
            raise NotImplementedError("the prototype does not materialize recurring fires")

    def _claim(self, conn: sqlite3.Connection, limit: int) -> list[Claimed]:
        rows = conn.execute(
            "SELECT s.seq, s.execution_id, s.arn, s.scheduled_time, s.attempts, s.target_arn,"  # noqa: S608
            " s.max_event_age,"
            # A subquery, so that only the rows claimed read their input (a join read
            # it for every due row, before the sort).
            " (SELECT i.input FROM inputs i WHERE i.seq = s.seq) FROM schedules s"
            f" WHERE {UNFINISHED} AND s.due_at <= ? AND s.lease_owner IS NULL"
            " ORDER BY s.due_at LIMIT ?",
            (self.now, limit),
        ).fetchall()
        too_old = [row[0] for row in rows if self.now - row[3] > row[6]]
        conn.executemany(  # the product also keeps a dead letter's event: not built here
            "UPDATE schedules SET status = ?, finished_at = ?, error = ? WHERE seq = ?",
            [(RunStatus.DEAD_LETTERED, self.now, "MaximumEventAge exceeded", s) for s in too_old],
        )
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
        if not claimed:
            return claimed
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


def _seq(claimed: Claimed) -> int:
    return int(claimed.id.split(":", 1)[0])


def _marks(items: list[Any]) -> str:
    return ", ".join("?" * len(items))


def design_counts(db: Path, now: float) -> dict[str, Any]:
    """bench/resident_file.py's `counts` for the design's file, read as its readers would:
    the runs from the `runs` view (a pending one has not run), and the schedules left
    those not gone."""
    return counts(
        db,
        now,
        runs_from="(SELECT * FROM runs WHERE status != 'PENDING')",
        schedules_from=f"(SELECT * FROM schedules WHERE {LIVE})",  # noqa: S608
    )


def design_bookkeeping(database: Database, now: float, claims: int) -> dict[str, float | int]:
    """As bench/engine_run.py's `bookkeeping`: every fire claimed and a made-up success
    recorded, `claims` a round, in this one thread."""
    # Here, not above: bench.engine_run refuses a process that imported the worker first.
    from bench.engine_run import rounds_until_done

    database.defer_checkpoints()
    return rounds_until_done(DesignRounds(database, now).run_round, claims)
