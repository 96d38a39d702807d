"""Benchmark 12: the local engine's burst with LOCAL_INVOKER=thread and =process, each
against the worker alone, with the worker's SQLite ledger really on in every process.

Each run is its own process (bench/engine_run.py) with a fresh ledger file in
LEDGER_DB_PATH from its start, so the worker builds it on import as `make run` does, and
BENCH_COUNT_FILE, so runs are counted from the handler's side in worker processes too.
The worker alone, the thread burst and the process burst alternate, `repeats` times.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import Result, log, median, run_module, usable_cores
from bench.engine import check_ledger

INVOKERS = ("thread", "process")
TARGET = 0.6  # the process burst over the worker alone (issue 22, item 6)


def _run(mode: str, count: int, invoker: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temp:
        env = {
            **os.environ,
            "LEDGER_DB_PATH": str(Path(temp) / "ledger.db"),
            "BENCH_COUNT_FILE": str(Path(temp) / "counts.jsonl"),
            "LOCAL_INVOKER": invoker,
        }
        Path(env["BENCH_COUNT_FILE"]).touch()
        return run_module("bench.engine_run", mode, "--count", str(count), env=env)


def _fed(count: int, processes: int) -> dict[str, float]:
    """bench/invoker_feed.py: the worker processes fed with no engine."""
    return run_module("bench.invoker_feed", "--count", str(count), "--processes", str(processes))


def invokers(count: int = 10_000, worker_count: int = 2000, repeats: int = 3) -> Result:
    workers: list[dict[str, float]] = []
    bursts: dict[str, list[dict[str, float]]] = {name: [] for name in INVOKERS}
    cores = usable_cores()
    # As many worker processes as cores (at least one), and eight.
    fan_outs = {"cores": max(1, round(cores)), "8": 8}
    fed: dict[str, list[dict[str, float]]] = {name: [] for name in fan_outs}
    for n in range(repeats):
        log(f"  [{n + 1}/{repeats}] the worker alone: {worker_count} handler calls")
        workers.append(_run("worker", worker_count, "thread"))
        for name in INVOKERS:
            log(f"  [{n + 1}/{repeats}] burst of {count}, LOCAL_INVOKER={name}")
            bursts[name].append(_run("burst", count, name))
        for fan_out, processes in fan_outs.items():
            log(f"  [{n + 1}/{repeats}] {processes} worker processes fed with no engine")
            fed[fan_out].append(_fed(worker_count, processes))
    # The ledger the row claims (issue 22, item 3): every run's successes are its records.
    check_ledger([*workers, *bursts["thread"], *bursts["process"], *fed["cores"], *fed["8"]])
    worker_rate = median([run["per_second"] for run in workers])
    worker_cpu = median([run["cpu_us_per_run"] for run in workers])
    figures: dict[str, float | int | str] = {
        "worker_alone_per_s": worker_rate,
        "worker_alone_cpu_us_per_run": worker_cpu,
        "cores": int(cores) if cores.is_integer() else cores,
    }
    whole = True
    ratios = {}
    for name, runs in bursts.items():
        ratios[name] = round(median([run["runs_per_s"] for run in runs]) / worker_rate, 2)
        rss = [round(run["peak_rss_mb"] + run.get("children_peak_rss_mb", 0.0), 1) for run in runs]
        whole = whole and all(
            run["succeeded"] == run["scheduled"] and run["ran_twice"] == 0 and run["lost"] == 0
            for run in runs
        )
        figures[f"{name}_burst_runs_per_s"] = median([run["runs_per_s"] for run in runs])
        figures[f"{name}_burst_ratio_to_worker"] = ratios[name]
        figures[f"{name}_burst_ratio_per_round"] = "/".join(
            str(round(run["runs_per_s"] / worker["per_second"], 2))
            for run, worker in zip(runs, workers, strict=True)
        )
        engine_cpu = median([run["engine_cpu_us_per_run"] for run in runs])
        workers_cpu = median([run["workers_cpu_us_per_run"] for run in runs])
        figures[f"{name}_engine_cpu_us_per_run"] = engine_cpu
        figures[f"{name}_workers_cpu_us_per_run"] = workers_cpu
        figures[f"{name}_runs_per_round"] = median([run["runs_per_round"] for run in runs])
        # Every core busy with nothing but this burst's work, by the medians' CPU per run:
        # an estimate of what the cores allow, not a ceiling (a round can beat it).
        figures[f"{name}_ratio_if_cpu_bound"] = round(
            cores * worker_cpu / (engine_cpu + workers_cpu), 2
        )
        # With threads the one GIL, not the cores, is the bound. With processes the
        # engine's own GIL bounds too (bench/README: 0.6 x its CPU per run must stay below
        # the worker alone's); this figure is the cores alone.
        if name == "process":
            # The cores at which that estimate would reach the target, at this CPU per run.
            figures["process_cores_for_target"] = round(
                TARGET * (engine_cpu + workers_cpu) / worker_cpu, 2
            )
        figures[f"{name}_peak_rss_mb_with_children"] = median(rss)
        figures[f"{name}_lateness_p99_s"] = median([run["lateness_p99_s"] for run in runs])
        figures[f"{name}_lost_or_twice"] = sum(run["lost"] + run["ran_twice"] for run in runs)
    for fan_out, runs in fed.items():
        whole = whole and all(run["succeeded"] == worker_count for run in runs)
        prefix = f"fed_alone_{fan_out}_processes"
        figures[f"{prefix}_per_s"] = median([run["per_second"] for run in runs])
        figures[f"{prefix}_workers_cpu_us_per_run"] = median(
            [run["workers_cpu_us_per_run"] for run in runs]
        )
    return Result(
        name="12. local engine invokers",
        measured=(
            "burst through the real lambda_handler (action cleanup, SQLite ledger on in every"
            " process, from its start), LOCAL_CONCURRENCY=8, LOCAL_INVOKER=thread and"
            " =process; runs counted from the handler's side (BENCH_COUNT_FILE); RSS is the"
            " engine's plus its worker processes' peaks; then the worker processes fed by"
            " threads with no engine (bench/invoker_feed.py), as many as cores and 8"
        ),
        runs=(
            f"burst of {count} per invoker, worker alone {worker_count} calls; the three"
            f" alternating, {repeats} rounds: medians"
        ),
        figures=figures,
        target=f"process burst >= {TARGET}x the worker alone; every fire run once, none lost",
        met=whole and ratios["process"] >= TARGET,
    )
