"""Benchmark 13 (bench/rounds_profile.py) profiles the engine's rounds alone: each SQL
statement's time by what it does, the rest as Python, and the WAL pages the rounds wrote
by b-tree. Small counts: these check that it measures what it says, not speed."""

from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

from bench import run
from bench.rounds_profile import rounds_profile


def test_the_rounds_profile_times_each_step_and_maps_the_pages_they_wrote() -> None:
    """In a process of its own: it times statements by replacing sqlite3.connect there."""
    figures = rounds_profile(count=200, resident=300).figures
    for step in ("commit", "materialize_mark_schedule", "add_execution", "claim_update"):
        assert float(figures[f"sql_{step}_us"]) > 0, step
    assert float(figures["python_us_per_run"]) > 0
    pages = {name: float(n) for name, n in figures.items() if name.startswith("pages_")}
    # A one-time schedule's fire rewrites its row and its run deletes it: the most pages.
    assert max(pages, key=lambda name: pages[name]) == "pages_schedules"
    # A run writes its execution's row and its schedule's at least: more than one page.
    assert float(figures["wal_pages_per_run"]) > 1
    # One claim a round: each round rewrites the pages that eight would share.
    assert float(figures["wal_pages_per_run_one_claim_a_round"]) > 2 * float(
        figures["wal_pages_per_run"]
    )
    assert float(figures["us_per_run_one_claim_a_round"]) > 0
    # Beside it, the design's prototype on the same schedules (tests/test_bench_rounds_design.py).
    assert float(figures["design_wal_pages_per_run"]) < float(figures["wal_pages_per_run"])
    assert float(figures["design_us_per_run"]) > 0
    assert figures["design_within_target"] in ("yes", "no")
    # In floors measured around each pair (bench/sqlite_floor.py): a transaction with an
    # insert and an update a job, cheaper than a run of the product's rounds.
    assert 0 < float(figures["floor_us_per_run"]) < float(figures["us_per_run"])
    assert float(figures["us_per_run_in_floors"]) > 1
    assert float(figures["design_us_per_run_in_floors"]) > 0
    assert figures["target_in_floors"] == 2.65  # 50 µs at the 53,000 jobs/s
    assert figures["design_within_target_in_floors"] in ("yes", "no")
    lowest, highest = (
        float(figures[f"design_ratio_to_product_{end}"]) for end in ("lowest", "highest")
    )
    assert 0 < lowest <= float(figures["design_ratio_to_product"]) <= highest
    # And as the product's share in the same pairs, on the host as the issue measured it.
    assert figures["design_us_per_run_at_filing"] == round(
        float(figures["design_ratio_to_product"]) * 146, 1
    )
    assert figures["design_within_target_at_filing"] == (
        "yes" if float(figures["design_us_per_run_at_filing"]) <= 50 else "no"
    )
    # And both again on a file in use (bench/resident_file.py), the design writing fewer pages.
    assert figures["resident_schedules"] == 300
    assert float(figures["resident_design_wal_pages_per_run"]) < float(
        figures["resident_wal_pages_per_run"]
    )
    assert float(figures["resident_design_us_per_run"]) > 0


def test_make_bench_runs_the_rounds_profile_as_benchmark_13() -> None:
    assert "13" in run._benchmarks(Namespace(quick=True, steady_seconds=10))


_HEARTBEATS = """
import json, os
os.environ["LEDGER_DB_PATH"] = "unused"  # bench.engine_run asks for it; nothing runs
from datetime import UTC, datetime
from bench.engine_run import rounds_until_done
from scheduler_api.backends.local.store.claims import Claimed
clock, beats, left = [0.0], [], [12]
def run_round(finished, limit, heartbeat):
    beats.append(heartbeat)
    clock[0] += 0.3  # each round takes 0.3 s of the injected clock
    take = min(limit, left[0])
    left[0] -= take
    when = datetime.now(UTC)
    return [Claimed(str(n), "arn", when, 1, "{}", "target") for n in range(take)]
print(json.dumps([rounds_until_done(run_round, 2, lambda: clock[0])["runs"], beats]))
"""


def test_the_rounds_alone_heartbeat_as_the_loop_does_once_a_second() -> None:
    """LocalEngine.tick heartbeats in the first round and then once per
    HEARTBEAT_SECONDS, not every round: so do the rounds benchmarks 5 and 13 time."""
    done = subprocess.run(
        [sys.executable, "-c", _HEARTBEATS],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    runs, beats = json.loads(done.stdout)
    assert runs == 12
    # 8 rounds of 0.3 s: 6 that claim 2 each, one that records the last 2, one with
    # nothing left. The first beats, and the first that starts a second after it ended.
    assert beats == [True, False, False, False, False, True, False, False]
