"""Benchmark 11 (bench/peers.py) runs each side in a real process of its own and counts
every fire from inside its job; and benchmark 5 runs the worker with the SQLite ledger it
claims. Small counts: these check that the benchmarks measure what they say, not speed."""

from __future__ import annotations

import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from bench import run
from bench.common import last_json
from bench.engine import LedgerNotInUseError, check_ledger
from bench.peers import SIDES, peers
from tests.support.processes import ROOT


def test_the_quick_peer_benchmark_runs_every_fire_once_on_each_side() -> None:
    count, rate, seconds = 60, 15, 2
    result = peers(count=count, rates=(rate,), seconds=seconds, repeats=1)
    for side in SIDES:
        assert result.figures[f"{side}_runs_counted"] == count + rate * seconds, side
        assert result.figures[f"{side}_lost_or_twice"] == 0, side
        assert result.figures[f"{side}_every_fire_once"] == "yes", side
        assert float(result.figures[f"{side}_burst_runs_per_s"]) > 0, side
    assert result.figures["best_burst_peer"] in {"apscheduler", "huey"}
    assert "burst_ratio_to_best_peer" in result.figures


def engine_run(*args: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.engine_run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    figures: dict[str, int] = last_json(done.stderr)
    return figures


@pytest.mark.parametrize("mode", ["worker", "burst"])
def test_benchmark_5_runs_the_worker_with_its_sqlite_ledger_on(mode: str) -> None:
    """Every run the handler counted is a record in the ledger file: the worker was built
    after LEDGER_DB_PATH was set (it was not, before issue 22: 0 records)."""
    figures = engine_run(mode, "--count", "40")
    assert figures["succeeded"] == 40
    assert figures["ledger_records"] == 40


def test_the_counting_handler_imports_the_worker_when_it_is_loaded(tmp_path: Path) -> None:
    """As Lambda's init phase does, and LOCAL_INVOKER=process's workers before they say
    they are ready: an import at the first call put about a second of CPU per worker
    process inside the burst benchmark 12 measures."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bench.counting_handler; print('lambda_worker.handler' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "LEDGER_DB_PATH": str(tmp_path / "ledger.db")},
    )
    assert done.stdout.strip() == "True"


def test_a_run_whose_ledger_did_not_record_it_fails_the_row() -> None:
    good = {"succeeded": 10.0, "ledger_records": 10.0}
    assert check_ledger([good, good]) == 20
    with pytest.raises(LedgerNotInUseError, match="recorded 0 of 10"):
        check_ledger([good, {"succeeded": 10.0, "ledger_records": 0.0}])


def test_make_bench_runs_the_peers_as_benchmark_11() -> None:
    assert "11" in run._benchmarks(Namespace(quick=True, steady_seconds=10))
