"""Benchmark 5: the local engine dispatching 10,000 fires due at one second, then a steady
200 fires/s. Each run is its own process (bench/engine_run.py), so peak RSS is the engine's."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import Result, log


def _engine_run(*args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.engine_run", *args],
        stdout=subprocess.DEVNULL,  # the worker's JSON logs
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        timeout=900,
    )
    figures: dict[str, float] = json.loads(result.stderr.strip().splitlines()[-1])
    return figures


def dispatch(count: int, rate: int, seconds: int) -> Result:
    log(f"  burst: {count} one-time schedules due at the same second")
    burst = _engine_run("burst", "--count", str(count))
    log(f"  steady: {rate} fires/s for {seconds} s")
    steady = _engine_run("steady", "--rate", str(rate), "--seconds", str(seconds))
    met = (
        burst["all_done_after_due_s"] <= 15
        and burst["ran_twice"] == 0
        and burst["lost"] == 0
        and steady["lateness_p99_s"] <= 1
        and max(burst["peak_rss_mb"], steady["peak_rss_mb"]) <= 400
    )
    return Result(
        name="5. local engine dispatch",
        measured="fires through the real lambda_handler (action cleanup), LOCAL_CONCURRENCY=8",
        runs=f"burst of {count}; steady {rate}/s for {seconds} s ({rate * seconds} fires)",
        figures={
            "burst_all_done_after_due_s": burst["all_done_after_due_s"],
            "burst_lateness_p50_s": burst["lateness_p50_s"],
            "burst_lateness_p99_s": burst["lateness_p99_s"],
            "burst_runs_per_s": burst["runs_per_s"],
            "burst_ran_twice": burst["ran_twice"],
            "burst_lost": burst["lost"],
            "burst_peak_rss_mb": burst["peak_rss_mb"],
            "steady_lateness_p50_s": steady["lateness_p50_s"],
            "steady_lateness_p99_s": steady["lateness_p99_s"],
            "steady_peak_rss_mb": steady["peak_rss_mb"],
        },
        target="burst all run within 15 s, none twice, none lost; steady p99 <= 1 s; RSS <= 400 MB",
        met=met,
    )
