"""Benchmark 5: the local engine dispatching 10,000 fires due at one second, then a steady
200 fires/s. Each run is its own process (bench/engine_run.py), so peak RSS is the engine's."""

from __future__ import annotations

from bench.common import Result, log, median, run_module


def _engine_run(*args: str) -> dict[str, float]:
    return run_module("bench.engine_run", *args)


class LedgerNotInUseError(RuntimeError):
    """The benchmark says the worker's SQLite ledger is on; the ledger file says it was not."""


def check_ledger(runs: list[dict[str, float]]) -> int:
    """Every run's successes are in the worker's ledger file (engine_run counts its rows
    after the run): else the figures are not of the worker as `make run` has it, and the
    row fails. The records of all runs, for the table."""
    for run in runs:
        succeeded, recorded = int(run["succeeded"]), int(run["ledger_records"])
        if recorded != succeeded:
            raise LedgerNotInUseError(
                f"the worker's ledger recorded {recorded} of {succeeded} runs:"
                " the benchmark did not run with the ledger it claims"
            )
    return int(sum(run["ledger_records"] for run in runs))


def dispatch(
    count: int, rate: int, seconds: int, high_rate: int = 1000, repeats: int = 3
) -> Result:
    """The worker alone, the burst and the engine's rounds alone, each `repeats` times
    alternating (medians: single runs swung by a third on a noisy host), then the two
    steady runs."""
    workers, bursts, rounds = [], [], []
    for n in range(repeats):
        log(f"  [{n + 1}/{repeats}] the worker alone: 2,000 handler calls in one process")
        workers.append(_engine_run("worker", "--count", "2000"))
        log(f"  [{n + 1}/{repeats}] burst: {count} one-time schedules due at the same second")
        bursts.append(_engine_run("burst", "--count", str(count)))
        log(f"  [{n + 1}/{repeats}] the engine's rounds alone for {count} fires, one thread")
        rounds.append(_engine_run("rounds", "--count", str(count)))
    worker_rate = median([run["per_second"] for run in workers])
    burst = sorted(bursts, key=lambda run: run["runs_per_s"])[len(bursts) // 2]  # the median
    bookkeeping_us = median([run["us_per_run"] for run in rounds])
    log(f"  steady: {rate} fires/s for {seconds} s")
    steady = _engine_run("steady", "--rate", str(rate), "--seconds", str(seconds))
    high_seconds = min(seconds, 20)
    log(f"  steady: {high_rate} fires/s for {high_seconds} s")
    high = _engine_run("steady", "--rate", str(high_rate), "--seconds", str(high_seconds))
    ledger_records = check_ledger([*workers, *bursts, steady, high])
    burst_ratio = burst["runs_per_s"] / worker_rate
    worker_us = 1e6 / worker_rate
    whole = all(
        run["succeeded"] == run["scheduled"] and run["ran_twice"] == 0 and run["lost"] == 0
        for run in (*bursts, steady, high)
    )
    met = (
        whole
        and burst["all_done_after_due_s"] <= 15
        and burst_ratio >= 0.6
        and steady["lateness_p99_s"] <= 1
        and max(burst["peak_rss_mb"], steady["peak_rss_mb"]) <= 400
    )
    return Result(
        name="5. local engine dispatch",
        measured=(
            "fires through the real lambda_handler (action cleanup, SQLite ledger on, as make"
            " run has it), LOCAL_CONCURRENCY=8; runs counted from the handler's side"
        ),
        runs=(
            f"burst of {count}; steady {rate}/s for {seconds} s and {high_rate}/s for"
            f" {min(seconds, 20)} s;"
            f" the worker alone, the burst and the rounds alone: median of {repeats} each"
        ),
        figures={
            "ledger_records_checked": ledger_records,
            "worker_alone_per_s": worker_rate,
            "burst_runs_per_s": burst["runs_per_s"],
            "burst_ratio_to_worker": round(burst_ratio, 2),
            # Handler and bookkeeping share one GIL: even with no contention at all, the
            # burst can reach at most worker_us / (worker_us + bookkeeping_us).
            "worker_us_per_run": round(worker_us, 1),
            "bookkeeping_us_per_run_one_thread": bookkeeping_us,
            "ratio_bound_on_one_gil": round(worker_us / (worker_us + bookkeeping_us), 2),
            "burst_all_done_after_due_s": burst["all_done_after_due_s"],
            "burst_lateness_p50_s": burst["lateness_p50_s"],
            "burst_lateness_p99_s": burst["lateness_p99_s"],
            "burst_succeeded": burst["succeeded"],
            "burst_ran_twice": burst["ran_twice"],
            "burst_lost": burst["lost"],
            "burst_peak_rss_mb": burst["peak_rss_mb"],
            "burst_runs_per_round": burst["runs_per_round"],
            "steady_succeeded": steady["succeeded"],
            "steady_lateness_p50_s": steady["lateness_p50_s"],
            "steady_lateness_p99_s": steady["lateness_p99_s"],
            "steady_peak_rss_mb": steady["peak_rss_mb"],
            f"steady_{high_rate}_succeeded": high["succeeded"],
            f"steady_{high_rate}_lateness_p50_s": high["lateness_p50_s"],
            f"steady_{high_rate}_lateness_p99_s": high["lateness_p99_s"],
            f"steady_{high_rate}_peak_rss_mb": high["peak_rss_mb"],
        },
        target=(
            "every fire SUCCEEDED exactly once, counted by the handler; burst within 15 s and"
            " >= 0.6x the worker alone; steady 200/s p99 <= 1 s; RSS <= 400 MB;"
            f" {high_rate}/s reported"
        ),
        met=met,
    )
