"""Benchmark 12 (bench/invokers.py) counts each fire from the handler's side with either
invoker, and says where the burst's CPU went: the engine's process and, with
LOCAL_INVOKER=process, its worker processes, measured over the burst alone; and what the
worker processes cost fed with no engine, as many as cores and eight. Small
counts: these check that the benchmark measures what it says, not speed."""

from __future__ import annotations

from bench.invokers import invokers


def test_the_quick_invoker_benchmark_runs_every_fire_once_and_splits_its_cpu() -> None:
    result = invokers(count=40, worker_count=40, repeats=1)
    figures = result.figures
    cores = figures["cores"]
    for name in ("thread", "process"):
        assert figures[f"{name}_lost_or_twice"] == 0, name
        assert float(figures[f"{name}_engine_cpu_us_per_run"]) > 0, name
        assert float(figures[f"{name}_ratio_bound_on_{cores}_cores"]) > 0, name
    # The handler runs in the engine's process with threads, in the workers with processes.
    assert figures["thread_workers_cpu_us_per_run"] == 0
    assert float(figures["process_workers_cpu_us_per_run"]) > 0
    assert float(figures["worker_alone_cpu_us_per_run"]) > 0
    # The worker processes fed with no engine: as many as cores, and eight.
    for processes in {cores, 8}:
        assert float(figures[f"fed_alone_{processes}_processes_per_s"]) > 0, processes
        assert float(figures[f"fed_alone_{processes}_processes_workers_cpu_us_per_run"]) > 0
