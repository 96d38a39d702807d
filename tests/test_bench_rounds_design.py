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

from bench.rounds_design import SWEEP_BATCH

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
            "SELECT e.schedule_id, e.status, e.attempts, e.first_attempt_engine, i.input"
            " FROM executions e JOIN inputs i ON i.seq = e.input_seq"
        ).fetchall()
        left = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("schedules", "schedule_specs")
        ]
    assert len(runs) == COUNT
    assert {schedule_id for schedule_id, *_ in runs} == set(inputs)  # each once
    assert {(status, attempts) for _, status, attempts, _, _ in runs} == {("SUCCEEDED", 1)}
    assert all(engine for *_, engine, _ in runs)  # the first attempt, in the row
    assert all(stored == inputs[schedule_id] for schedule_id, *_, stored in runs)
    assert left == [0, 0]  # run out and swept, with their specs


def test_a_run_too_old_for_its_maximum_event_age_is_dead_lettered_not_claimed(
    tmp_path: Path,
) -> None:
    result = _run(_SCENARIO, tmp_path, 3, 2 * 86_400)  # past the default hour
    assert result["runs"] == 0
    with sqlite3.connect(tmp_path / "design.db") as conn:
        statuses = [row[0] for row in conn.execute("SELECT status FROM executions")]
    assert statuses == ["DEAD_LETTERED"] * 3


def test_the_prototype_writes_fewer_pages_a_run_than_the_product_on_the_same_schedules(
    tmp_path: Path,
) -> None:
    """Page counts, not time: the design's claim is fewer pages for each commit to write.
    Enough runs for a sweep of SWEEP_BATCH to be among them."""
    pages: list[dict[str, float]] = _run(_PAGES, tmp_path, SWEEP_BATCH + COUNT)
    product, design = pages
    assert sum(design.values()) < sum(product.values()) / 2
    # A fire rewrites no page-sized row: the schedules table is no longer most of them.
    assert design.get("schedules", 0) < product["schedules"] / 4


def test_the_prototype_keeps_the_products_indexes_and_its_labels_trigger(tmp_path: Path) -> None:
    """Its figure counts the index pages the product's writes pay: every index the product
    keeps on schedules and executions is on the design's file too, by name."""
    _run(_SCENARIO, tmp_path, 3, 0)

    def indexes(db: Path, table: str) -> set[str]:
        with sqlite3.connect(db) as conn:
            return {row[1] for row in conn.execute(f"PRAGMA index_list({table})")}

    for table in ("schedules", "executions", "schedule_labels"):
        product, design = (
            indexes(tmp_path / "product.db", table),
            indexes(tmp_path / "design.db", table),
        )
        assert product, table
        assert product <= design, (table, product - design)
    with sqlite3.connect(tmp_path / "design.db") as conn:
        triggers = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        }
    assert "schedules_drop_labels" in triggers


def test_a_schedule_that_outlives_its_run_is_never_swept(tmp_path: Path) -> None:
    """Only a one-time schedule whose last run deletes it (action_after_completion DELETE)
    is swept; the others keep their row, and in it their run."""
    result = _run(_SCENARIO, tmp_path, 20, 0, "keep")
    assert result["runs"] == 20
    with sqlite3.connect(tmp_path / "design.db") as conn:
        kept = conn.execute("SELECT delete_after, status FROM schedules").fetchall()
        swept = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
    assert kept == [(0, "SUCCEEDED")] * 10
    assert swept == 10
