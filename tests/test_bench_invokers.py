"""Benchmark 12 (bench/invokers.py) counts each fire from the handler's side with either
invoker, checks the ledger it claims, and says where the burst's CPU went: the engine's
process and, with LOCAL_INVOKER=process, its worker processes, measured over the burst
alone; and what the worker processes cost fed with no engine, as many as cores and
eight. Small counts: these check that the benchmark measures what it says, not speed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.common import run_module
from bench.invokers import invokers


def test_the_quick_invoker_benchmark_runs_every_fire_once_and_splits_its_cpu() -> None:
    # Hundreds of runs: /proc counts a process's CPU in 10 ms ticks.
    figures = invokers(count=400, worker_count=400, repeats=1).figures
    for name in ("thread", "process"):
        assert figures[f"{name}_lost_or_twice"] == 0, name
        assert float(figures[f"{name}_engine_cpu_us_per_run"]) > 0, name
        assert float(figures[f"{name}_ratio_if_cpu_bound"]) > 0, name
        # At most LOCAL_CONCURRENCY's 8 claims a round (rounds that only record come too).
        assert 0 < float(figures[f"{name}_runs_per_round"]) <= 8, name
        # A sum of peaks, printed as a figure: no float noise (555.1999999999999).
        rss = float(figures[f"{name}_peak_rss_mb_with_children"])
        assert rss > 0, name
        assert str(rss) == str(round(rss, 1)), name
    # The handler runs in the engine's process with threads, in the workers with processes.
    assert figures["thread_workers_cpu_us_per_run"] == 0
    assert float(figures["process_workers_cpu_us_per_run"]) > 0
    assert float(figures["worker_alone_cpu_us_per_run"]) > 0
    # The cores the process burst's CPU per run needs for 0.6 of the worker alone: the
    # estimate's ratio, at those cores, is the target.
    cores_needed = float(figures["process_cores_for_target"])
    cpu = float(figures["process_engine_cpu_us_per_run"]) + float(
        figures["process_workers_cpu_us_per_run"]
    )
    assert cores_needed * float(figures["worker_alone_cpu_us_per_run"]) / cpu == pytest.approx(
        0.6, abs=0.01
    )
    for fan_out in ("cores", "8"):  # names that do not depend on the host's cores
        assert float(figures[f"fed_alone_{fan_out}_processes_per_s"]) > 0, fan_out
        assert float(figures[f"fed_alone_{fan_out}_processes_workers_cpu_us_per_run"]) > 0


def test_the_workers_cpu_of_a_burst_leaves_out_their_imports(tmp_path: Path) -> None:
    """Each worker process imports the worker (about a second of CPU) before it says it
    is ready: a window that took that in would give several times the per-run CPU that
    the processes' whole lives (reaped at the engine's stop) average over the runs."""
    counts = tmp_path / "counts.jsonl"  # the worker processes' runs, counted
    counts.touch()
    env = {**os.environ, "LOCAL_INVOKER": "process", "BENCH_COUNT_FILE": str(counts)}
    run = run_module("bench.engine_run", "burst", "--count", "400", env=env)
    assert run["succeeded"] == 400
    assert run["ledger_records"] == 400
    whole_lives_us_per_run = run["children_cpu_s"] * 1e6 / 400
    assert 0 < run["workers_cpu_us_per_run"] < 0.5 * whole_lives_us_per_run
