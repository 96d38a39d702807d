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
os.environ["LEDGER_DB_PATH"] = str(temp / "ledger.db")  # no handler runs
from bench.rounds_design import copy_product_schedules, design_bookkeeping
from bench.rounds_profile import _ready_runtime
from scheduler_api.domain.clock import to_epoch
runtime = _ready_runtime(temp, "product", count)
database = copy_product_schedules(temp / "product.db", temp / "design.db")
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
