"""LOCAL_INVOKER=process's worker processes fed with no engine at all: as many threads as
processes hand invocations of the real handler (SQLite ledger on, one file for all) to a
ProcessInvoker, one after another. Benchmark 12 runs it with as many processes as the
host has cores and with LOCAL_CONCURRENCY's eight, to show what the workers' CPU per run
grows with when the engine takes none of it. Runs in its own process (spawn re-imports
this module in each child, hence the __main__ guard), one JSON line on stderr:

    python -m bench.invoker_feed --count 4000 --processes 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.engine_run import ledger_records, process_cpu_seconds


def feed(count: int, processes: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as temp:
        # Before the invoker exists: its processes inherit the environment (spawn).
        os.environ["LEDGER_DB_PATH"] = str(Path(temp) / "ledger.db")
        figures = _feed(count, processes)
        # The fed runs' own records, as engine_run's worker mode counts them.
        recorded = ledger_records(Path(temp) / "ledger.db") - int(figures["warm_up_succeeded"])
        figures["ledger_records"] = recorded
    return figures


def _feed(count: int, processes: int) -> dict[str, float | int]:
    from scheduler_api.backends.local.engine.invoker import Invocation
    from scheduler_api.backends.local.engine.process_invoker import ProcessInvoker
    from scripts.invoke_local import sample_event

    invocations = iter(
        [
            Invocation(
                input_text=sample_event(
                    f"feed-{n}", action="cleanup", scheduled_time="2030-01-01T09:00:00Z",
                    execution_id=f"feed-{n}",
                ),
                schedule_arn="arn:aws:scheduler:local:000000000000:schedule/default/feed",
                scheduled_time="2030-01-01T09:00:00Z",
                execution_id=f"feed-{n}",
                attempt=1,
                function_arn="arn:aws:lambda:local:000000000000:function:bench",
            )
            for n in range(count + processes)
        ]
    )  # fmt: skip
    invoker = ProcessInvoker("bench.counting_handler.handler", processes)
    lock = threading.Lock()
    succeeded = [0]

    def work(runs: int | None = None) -> None:
        while runs is None or runs > 0:
            with lock:
                invocation = next(invocations, None)
            if invocation is None:
                return
            outcome = invoker.invoke(invocation)
            if not outcome.raised and outcome.status_code == 200 and outcome.skipped is None:
                with lock:
                    succeeded[0] += 1
            runs = None if runs is None else runs - 1

    def in_threads(runs: int | None) -> None:
        threads = [threading.Thread(target=work, args=(runs,)) for _ in range(processes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    try:
        invoker.start()
        invoker.wait_ready()  # the imports are not fed
        in_threads(1)  # nor each process's first invocation (the worker alone skips its own)
        warmed, succeeded[0] = succeeded[0], 0
        pids = invoker.pids()
        cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        in_threads(None)
        elapsed = time.perf_counter() - started
        workers_cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
    finally:
        invoker.close(1.0)
    return {
        "per_second": round(count / elapsed, 1),
        "workers_cpu_us_per_run": round(workers_cpu / count * 1e6, 1),
        "succeeded": succeeded[0],
        "warm_up_succeeded": warmed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--processes", type=int, default=8)
    args = parser.parse_args(argv)
    print(json.dumps(feed(args.count, args.processes)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
