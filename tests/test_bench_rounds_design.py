"""The store design's prototype (bench/rounds_design.py), which benchmark 13 runs beside
the product's rounds: it must do the product's work on the product's schedules, or its
figure would be a floor no product could reach. Small counts, real SQLite files; these
check what it does and the pages it writes, not its speed.

Each scenario runs in a process of its own, as benchmark 13 does: bench/engine_run.py
refuses a process where the worker was imported before LEDGER_DB_PATH was set (the test
suite's), and the files it leaves are read here."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.rounds_design import LIVE

COUNT = 300
ROOT = Path(__file__).resolve().parents[1]

_SCENARIO = """
import json, os, sys
from pathlib import Path
temp, count, late_seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
keep_every_other = sys.argv[4:] == ["keep"]
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")  # no handler runs
from bench.rounds_design import copy_product_schedules, design_bookkeeping
from bench.rounds_profile import _ready_runtime
from scheduler_api.domain.clock import to_epoch
runtime = _ready_runtime(temp, "product", count)
database = copy_product_schedules(temp / "product.db", temp / "design.db")
if keep_every_other:  # action_after_completion NONE: such a schedule outlives its run
    with database.write() as conn:
        conn.execute("UPDATE schedules SET delete_after = 0 WHERE seq % 2 = 0")
now = to_epoch(runtime.engine.store.clock()) + late_seconds
print(json.dumps(design_bookkeeping(database, now, 8)))
"""
_PAGES = """
import json, os, sys
from pathlib import Path
temp, count = Path(sys.argv[1]), int(sys.argv[2])
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")
from bench.rounds_profile import _design, _plain
product = _plain(temp, "product", count, claims=8)[1]
print(json.dumps([product, _design(temp, "design", count, 8)[1]]))
"""


def _run(script: str, *args: object) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _leaf_cells(conn: sqlite3.Connection, btree: str) -> int:
    """The entries a b-tree holds (SQLite's dbstat): what a reader of that index finds."""
    (cells,) = conn.execute(
        "SELECT coalesce(sum(ncell), 0) FROM dbstat WHERE name = ? AND pagetype = 'leaf'",
        (btree,),
    ).fetchone()
    return int(cells)


LISTING_INDEXES = (
    "schedules_by_name",
    "schedules_by_group_sort",
    "schedules_by_user",
    "schedules_by_action",
    "schedules_by_task",
)


def test_the_prototype_runs_every_schedule_once_and_keeps_each_run_with_its_input(
    tmp_path: Path,
) -> None:
    result = _run(_SCENARIO, tmp_path, COUNT, 0)
    assert result["runs"] == COUNT
    with sqlite3.connect(tmp_path / "product.db") as product:
        inputs = dict(
            product.execute("SELECT id, json_extract(spec, '$.target.input') FROM schedules")
        )
    assert len(inputs) == COUNT
    with sqlite3.connect(tmp_path / "design.db") as conn:
        runs = conn.execute(
            "SELECT r.schedule_id, r.status, r.attempts, r.first_attempt_engine, i.input"
            " FROM runs r JOIN inputs i ON i.seq = r.input_seq"
        ).fetchall()
        live = conn.execute(f"SELECT count(*) FROM schedules WHERE {LIVE}").fetchone()[0]
        listed = {name: _leaf_cells(conn, name) for name in LISTING_INDEXES}
        unfinished = _leaf_cells(conn, "schedules_unfinished")
    assert len(runs) == COUNT
    assert {schedule_id for schedule_id, *_ in runs} == set(inputs)  # each once
    assert {(status, attempts) for _, status, attempts, _, _ in runs} == {("SUCCEEDED", 1)}
    assert all(engine for *_, engine, _ in runs)  # the first attempt, in the row
    assert all(stored == inputs[schedule_id] for schedule_id, *_, stored in runs)
    # Run out, each row its run's record: gone from every index the listing reads, and
    # from the one claims read.
    assert live == 0
    assert listed == dict.fromkeys(LISTING_INDEXES, 0)
    assert unfinished == 0


def test_a_run_too_old_for_its_maximum_event_age_is_dead_lettered_not_claimed(
    tmp_path: Path,
) -> None:
    result = _run(_SCENARIO, tmp_path, 3, 2 * 86_400)  # past the default hour
    assert result["runs"] == 0
    with sqlite3.connect(tmp_path / "design.db") as conn:
        statuses = [row[0] for row in conn.execute("SELECT status FROM runs")]
        unfinished = _leaf_cells(conn, "schedules_unfinished")
    assert statuses == ["DEAD_LETTERED"] * 3
    assert unfinished == 0


def test_the_prototype_writes_fewer_pages_a_run_than_the_product_on_the_same_schedules(
    tmp_path: Path,
) -> None:
    """Page counts, not time: the design's claim is fewer pages for each commit to write."""
    pages: list[dict[str, float]] = _run(_PAGES, tmp_path, 1000)
    product, design = pages
    assert sum(design.values()) < sum(product.values()) / 2
    # A fire rewrites no page-sized row: the schedules table is no longer most of them.
    assert design.get("schedules", 0) < product["schedules"] / 4


def _key_columns(db: Path, table: str) -> list[tuple[int, tuple[str | None, ...]]]:
    """Each index of a table: whether it is unique, and its key columns (None: an
    expression), in order."""
    with sqlite3.connect(db) as conn:
        found = []
        for _, name, unique, *_ in conn.execute(f"PRAGMA index_list({table})"):
            columns = tuple(row[2] for row in conn.execute(f"PRAGMA index_xinfo({name})") if row[5])
            found.append((unique, columns))
    return sorted(found, key=repr)


def test_the_prototype_keeps_the_products_indexes_and_its_labels_trigger(tmp_path: Path) -> None:
    """Its figure counts the index pages the product's writes pay: every index the product
    keeps on schedules and executions is on the design's file too, on the same columns
    (some partial on the design's), as unique as the product's."""
    _run(_SCENARIO, tmp_path, 3, 0)
    for table in ("schedules", "executions", "schedule_labels"):
        product = _key_columns(tmp_path / "product.db", table)
        design = _key_columns(tmp_path / "design.db", table)
        assert product, table
        missing = [index for index in product if index not in design]
        assert not missing, (table, missing)
        assert len(design) >= len(product)
    with sqlite3.connect(tmp_path / "design.db") as conn:
        triggers = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        }
    assert {"schedules_drop_labels", "schedules_gone_drop_labels"} <= triggers


def test_a_schedule_that_outlives_its_run_stays_listed(tmp_path: Path) -> None:
    """Only a one-time schedule whose last run deletes it (action_after_completion DELETE)
    is gone when it has run; the others stay in the listing's indexes, their run in
    their row."""
    result = _run(_SCENARIO, tmp_path, 20, 0, "keep")
    assert result["runs"] == 20
    with sqlite3.connect(tmp_path / "design.db") as conn:
        kept = conn.execute(f"SELECT delete_after, status FROM schedules WHERE {LIVE}").fetchall()
        ran = conn.execute("SELECT count(*) FROM runs WHERE status = 'SUCCEEDED'").fetchone()[0]
        listed = {name: _leaf_cells(conn, name) for name in LISTING_INDEXES}
    assert kept == [(0, "SUCCEEDED")] * 10
    assert ran == 20
    assert listed == dict.fromkeys(LISTING_INDEXES, 10)


# A scenario's start: `count` one-time schedules due, made by the product, copied to the
# design's file, and the design's rounds on it (`rounds`).
_ROUNDS = """
import json, os, sys
from pathlib import Path
temp = Path(sys.argv[1])
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")
from bench.rounds_design import DesignRounds, _seq, copy_product_schedules
from bench.rounds_profile import _ready_runtime
from scheduler_api.backends.local.store.outcomes import Finished, Outcome
from scheduler_api.domain.clock import to_epoch
count = int(sys.argv[2])
runtime = _ready_runtime(temp, "product", count)
database = copy_product_schedules(temp / "product.db", temp / "design.db")
rounds = DesignRounds(database, to_epoch(runtime.engine.store.clock()))
"""
_LEASE_LOST = (
    _ROUNDS
    + """
claimed = rounds.run_round([], 8)
taken = [_seq(claimed[0]), _seq(claimed[1])]
with database.write() as conn:  # another engine took these two over meanwhile
    for seq in taken:
        conn.execute("UPDATE schedules SET lease_owner = 'other' WHERE seq = ?", (seq,))
# The second raised (its update is a row's own); the others a success (the batched one).
finished = [
    Finished(c, Outcome(n == 1, None if n == 1 else 200, "boom" if n == 1 else None, c.input))
    for n, c in enumerate(claimed)
]
again = rounds.run_round(finished, 8)
print(json.dumps({"taken": taken, "claimed": len(claimed), "again": len(again)}))
"""
)


def test_an_outcome_whose_lease_another_engine_took_is_not_recorded(tmp_path: Path) -> None:
    """As the product's `_held_rows`: the batched success update and a failure's update
    ask for this engine's lease, so a run another engine took keeps that engine's lease
    and its RUNNING, and is not claimed again while that engine holds it."""
    result = _run(_LEASE_LOST, tmp_path, 8)
    assert result["claimed"] == 8
    assert result["again"] == 0
    with sqlite3.connect(tmp_path / "design.db") as conn:
        taken = [
            conn.execute(
                "SELECT status, lease_owner, finished_at, error FROM schedules WHERE seq = ?",
                (seq,),
            ).fetchone()
            for seq in result["taken"]
        ]
        ended = conn.execute(
            "SELECT count(*), min(status), max(status) FROM runs WHERE status != 'RUNNING'"
        ).fetchone()
    # Neither the success nor the failure is written over the other engine's lease.
    assert taken == [("RUNNING", "other", None, None)] * 2
    assert ended == (6, "SUCCEEDED", "SUCCEEDED")  # the six it held


_RETRY_AND_RELEASE = (
    _ROUNDS
    + """
first = rounds.run_round([], 8)
failed, released = first
# One raised (a retry, due later); the other's engine stopped and released it, as the
# product's shutdown does: RUNNING with no lease.
with database.write() as conn:
    conn.execute("UPDATE schedules SET lease_owner = NULL WHERE seq = ?", (_seq(released),))
now_claimed = rounds.run_round([Finished(failed, Outcome(True, None, "boom", failed.input))], 8)
rounds.now += 3  # past the retry's delay (2 s at the first attempt)
later = rounds.run_round([Finished(c, Outcome(False, 200, None, c.input)) for c in now_claimed], 8)
rounds.run_round([Finished(c, Outcome(False, 200, None, c.input)) for c in later], 8)
print(json.dumps({
    "first": [_seq(c) for c in first],
    "now": [[_seq(c), c.attempt] for c in now_claimed],
    "later": [[_seq(c), c.attempt] for c in later],
}))
"""
)


def test_a_released_run_is_claimed_again_at_once_and_a_retry_at_its_due_time(
    tmp_path: Path,
) -> None:
    """The claim reads the runs not over (`UNFINISHED`), whatever their status: a RUNNING
    one released at a shutdown is claimed by the next round, and a retry stays in that
    index at its new due time, claimed then, its attempt counted."""
    result = _run(_RETRY_AND_RELEASE, tmp_path, 2)
    failed, released = result["first"]
    assert result["now"] == [[released, 2]]
    assert result["later"] == [[failed, 2]]
    with sqlite3.connect(tmp_path / "design.db") as conn:
        runs = conn.execute("SELECT status, attempts FROM runs ORDER BY status").fetchall()
        errors = [row[0] for row in conn.execute("SELECT error FROM schedules")]
        unfinished = _leaf_cells(conn, "schedules_unfinished")
    assert runs == [("SUCCEEDED", 2), ("SUCCEEDED", 2)]
    assert errors == [None, None]  # the retry's failure is not kept on its success
    assert unfinished == 0


_LABELLED = """
import json, os, sys
from datetime import timedelta
from pathlib import Path
temp, count = Path(sys.argv[1]), int(sys.argv[2])
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")
from bench.rounds_design import copy_product_schedules, design_bookkeeping
from bench.resident_file import local_runtime
from scheduler_api.domain.clock import system_clock, to_epoch
from scheduler_api.services.requests import ScheduleTaskRequest
now = [system_clock()]
runtime = local_runtime(temp / "product.db", lambda: now[0])
due = now[0] + timedelta(seconds=5)
for n in range(count):
    runtime.service.schedule_task(ScheduleTaskRequest(
        task_id=f"t-{n}", user_id=n, action="cleanup", data={"n": n},
        run_at=due if n % 2 else due + timedelta(days=30),
        labels={"tier": "gold", "n": str(n)},
    ))
runtime.engine.database.close()
database = copy_product_schedules(temp / "product.db", temp / "design.db")
with database.write() as conn:  # two of those due now outlive their run
    conn.execute("UPDATE schedules SET delete_after = 0 WHERE task_id IN ('t-1', 't-3')")
print(json.dumps(design_bookkeeping(database, to_epoch(due) + 1, 8)))
"""


def test_a_schedule_gone_by_its_run_takes_its_labels_with_it_and_the_others_keep_theirs(
    tmp_path: Path,
) -> None:
    """Labels are the product's table, copied with the schedules: a run that leaves its
    schedule gone deletes them (a trigger, as the product's delete does), and a schedule
    due later, or one that outlives its run, keeps its own."""
    result = _run(_LABELLED, tmp_path, 20)
    assert result["runs"] == 10
    with sqlite3.connect(tmp_path / "design.db") as conn:
        kept = {row[0] for row in conn.execute(f"SELECT id FROM schedules WHERE {LIVE}")}
        ran_and_kept = conn.execute(
            f"SELECT count(*) FROM schedules WHERE {LIVE} AND status = 'SUCCEEDED'"
        ).fetchone()[0]
        labelled = conn.execute(
            "SELECT schedule_id, count(*) FROM schedule_labels GROUP BY schedule_id"
        ).fetchall()
    assert len(kept) == 12
    assert ran_and_kept == 2
    assert dict(labelled) == dict.fromkeys(kept, 2)


_RESIDENT = """
import json, os, sys
from pathlib import Path
temp, count, resident = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")
from bench.resident_file import make_resident_file
from bench.rounds_design import copy_product_schedules
from bench.rounds_profile import _design_resident, _plain_resident
file = make_resident_file(temp, count, resident)
product = _plain_resident(temp, "product", file)[1]
design = _design_resident(temp, "design", file)[1]
copy_product_schedules(file.path, temp / "copy.db").close()  # kept, to be read
print(json.dumps([product, design]))
"""


def test_on_a_file_in_use_both_sides_run_the_burst_once_and_leave_the_rest(
    tmp_path: Path,
) -> None:
    """The resident file (bench/resident_file.py): earlier runs, and schedules due later
    made in among the burst's. Each side's run asserts, as benchmark 13's do, that it ran
    every schedule of the burst once and left the others; here, the file they start from,
    and that the design kept every earlier run with its input."""
    pages = _run(_RESIDENT, tmp_path, 200, 300)
    with sqlite3.connect(tmp_path / "resident.db") as conn:
        before = conn.execute(
            "SELECT (SELECT count(*) FROM schedules), (SELECT count(*) FROM executions),"
            " (SELECT count(*) FROM schedules WHERE task_id LIKE 'engine-%'"
            "  AND next_fire_at < (SELECT min(next_fire_at) + 86400 FROM schedules))"
        ).fetchone()
    assert before == (500, 300, 200)
    with sqlite3.connect(tmp_path / "resident.db") as conn:
        runs = set(conn.execute("SELECT execution_id, input FROM execution_inputs"))
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        copied = set(
            conn.execute(
                "SELECT e.id, i.input FROM executions e JOIN inputs i ON i.seq = e.input_seq"
            )
        )
        first = conn.execute("SELECT min(seq) FROM schedules").fetchone()[0]
    assert len(runs) == 300
    assert copied == runs
    assert first == 301  # the schedules' seq goes on after the earlier runs' inputs
    product, design = pages
    assert sum(design.values()) < sum(product.values()) / 2


_TRACED = (
    _ROUNDS
    + """
statements = []
database.connection().set_trace_callback(statements.append)
finished, heartbeat = [], True
while claimed := rounds.run_round(finished, 8, heartbeat):
    finished = [Finished(c, Outcome(False, 200, None, c.input)) for c in claimed]
    heartbeat = False
traced, current = [], None
for sql in statements:
    if sql.startswith("BEGIN"):
        current = []
    elif sql == "COMMIT":
        traced.append(current)
    elif current is not None:
        current.append(" ".join(sql.split()))
print(json.dumps(traced))
"""
)

# What every round of the product's loop asks (engine/loop.py `run_round`, store/rounds.py):
# the prototype's stand-in for each, by the start of its text.
EVERY_ROUND = {
    "the engine's own row (a heartbeat, or made sure of)": ("INSERT INTO engines", "INSERT OR"),
    "dead engines": ("SELECT owner FROM engines",),
    "claims of recurring fires and run-nows (executions)": ("SELECT id FROM executions",),
    "recurring fires due": ("SELECT seq FROM schedules WHERE next_fire_at",),
    "claims of one-time runs": ("SELECT s.seq",),
}


def test_every_round_pays_each_step_of_the_products_round(tmp_path: Path) -> None:
    """The figure is only the design's if every round does each step the product's does:
    a step dropped here would lower it with every other test still passing."""
    rounds: list[list[str]] = _run(_TRACED, tmp_path, 20)
    assert len(rounds) == 4  # 20 runs at 8 a round: three that claim, one that records
    for n, statements in enumerate(rounds):
        for step, starts in EVERY_ROUND.items():
            assert any(sql.startswith(starts) for sql in statements), (n, step)
    recorded = [any(sql.startswith("UPDATE schedules SET status =") for sql in r) for r in rounds]
    leased = [
        any(sql.startswith("UPDATE schedules SET lease_owner =") for sql in r) for r in rounds
    ]
    assert recorded == [False, True, True, True]
    assert leased == [True, True, True, False]
