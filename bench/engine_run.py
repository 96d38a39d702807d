"""Runs in its own process (so its peak RSS is the engine's): schedules due work on the
local backend, runs the engine, reports what happened as one JSON line on stderr.

    python -m bench.engine_run burst --count 10000
    python -m bench.engine_run steady --rate 200 --seconds 60
    python -m bench.engine_run worker --count 2000     # the handler alone
    python -m bench.engine_run rounds --count 5000     # the engine's rounds alone
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import percentile
from scheduler_api.backends.local.engine.invoker import LocalLambdaContext
from scheduler_api.backends.local.engine.loop import HEARTBEAT_SECONDS, LocalEngine
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.outcomes import Finished, Outcome
from scheduler_api.bootstrap import build_local_runtime
from scheduler_api.config import Settings
from scheduler_api.domain.clock import system_clock
from scheduler_api.services.requests import ScheduleTaskRequest

# Nothing above may build the worker: it reads LEDGER_DB_PATH once, when
# lambda_worker.handler is imported (bench.counting_handler imports it), and main() sets
# it first, then imports the handler. ledger_records() checks, after the run, that it did.
if "lambda_worker.handler" in sys.modules:
    raise RuntimeError("the worker was imported before LEDGER_DB_PATH was set")

TIMEOUT_SECONDS = 300


def counting_handler() -> ModuleType:
    """bench.counting_handler, imported (with the worker) once LEDGER_DB_PATH is set."""
    if "LEDGER_DB_PATH" not in os.environ:
        raise RuntimeError("LEDGER_DB_PATH is not set: the worker would have no ledger")
    return importlib.import_module("bench.counting_handler")


def schedule(runtime_service: object, due_times: list[datetime]) -> None:
    schedule_numbered(runtime_service, enumerate(due_times))


def schedule_numbered(
    runtime_service: object, numbered: Iterable[tuple[int, datetime]], prefix: str = "engine"
) -> None:
    """A one-time `cleanup` task for each (n, due): task id `{prefix}-{n}`, user n."""
    for n, due in numbered:
        request = ScheduleTaskRequest(
            task_id=f"{prefix}-{n}", user_id=n, action="cleanup", run_at=due, data={"n": n}
        )
        runtime_service.schedule_task(request)  # type: ignore[attr-defined]


def wait_until_done(db: Path, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with sqlite3.connect(db) as conn:
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT count(*) FROM executions WHERE status IN ('SUCCEEDED', 'FAILED',"
                " 'DEAD_LETTERED')"
            ).fetchone()[0]
            if done >= count:
                return
            time.sleep(0.05)
    raise TimeoutError("the engine did not finish in time")


def ledger_records(ledger: Path) -> int:
    """Runs the worker's SQLite ledger recorded as succeeded: proof that the ledger this
    benchmark claims (LEDGER_DB_PATH, as `make run` sets it) is the one the worker used.
    0 when the file was never created: the worker ran with no ledger."""
    if not ledger.exists():
        return 0
    with sqlite3.connect(ledger) as conn:
        found: int = conn.execute(
            "SELECT count(*) FROM ledger WHERE status = 'SUCCEEDED'"
        ).fetchone()[0]
    return found


def children_peak_rss_mb() -> float:
    """The peak RSS of this process's live children (LOCAL_INVOKER=process's workers),
    summed: getrusage(RUSAGE_CHILDREN) gives only the largest, and only once reaped."""
    total_kb = 0
    for child in multiprocessing.active_children():
        status = Path(f"/proc/{child.pid}/status").read_text()
        total_kb += next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM"))
    return round(total_kb / 1024, 1)


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU a live process has used so far (/proc/<pid>/stat), in clock
    ticks (10 ms on Linux): over a benchmark's thousands of runs, a few µs a run at most."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        raise RuntimeError(
            f"worker process {pid} ended during the measurement: its CPU cannot be counted"
        ) from None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BurstCpu:
    """The CPU the burst itself used, from the engine's start to its last outcome: this
    process's (the engine, and the handler with LOCAL_INVOKER=thread) and its worker
    processes' (=process), without the schedules' creation before it or the workers'
    imports (done before, wait_ready). What a run costs on every core, to set beside the
    worker alone's CPU per run."""

    def __init__(self, worker_pids: list[int]) -> None:
        self.worker_pids = worker_pids
        self.engine_start = _cpu_seconds(resource.RUSAGE_SELF)
        self.workers_start = self._workers()

    def _workers(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.worker_pids)

    def figures(self, runs: int) -> dict[str, float]:
        engine = _cpu_seconds(resource.RUSAGE_SELF) - self.engine_start
        workers = self._workers() - self.workers_start
        return {
            "engine_cpu_us_per_run": round(engine / runs * 1e6, 1),
            "workers_cpu_us_per_run": round(workers / runs * 1e6, 1),
        }


def report(
    db: Path,
    count: int,
    first_due: datetime,
    children_rss_mb: float = 0.0,
    burst: dict[str, float] | None = None,
) -> dict[str, float | int]:
    """Runs are counted from the handler's side (bench.counting_handler: what the action
    really did), lateness and times from the engine's table."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT scheduled_time, started_at, finished_at, status, attempts FROM executions"
        ).fetchall()
        attempts = conn.execute("SELECT count(*) FROM attempt_records").fetchone()[0]
    late = sorted(started - scheduled for scheduled, started, _, _, _ in rows)
    last_finish = max(finished for _, _, finished, _, _ in rows)
    ran = counting_handler().succeeded_runs()
    return {
        "scheduled": count,
        "executions": len(rows),
        "succeeded": sum(ran.values()),
        "dead_lettered": sum(1 for row in rows if row[3] == "DEAD_LETTERED"),
        "attempts": attempts,
        "ran_twice": sum(1 for times in ran.values() if times > 1),
        "lost": count - len(ran),
        "all_done_after_due_s": round(last_finish - first_due.timestamp(), 2),
        "lateness_p50_s": round(percentile(late, 0.5), 3),
        "lateness_p99_s": round(percentile(late, 0.99), 3),
        "runs_per_s": round(count / max(1e-9, last_finish - first_due.timestamp()), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "children_peak_rss_mb": children_rss_mb,
        "ledger_records": ledger_records(db.with_name("ledger.db")),
        # Where the CPU went: this process (the engine, and the handler with
        # LOCAL_INVOKER=thread), and its reaped worker processes (=process).
        "cpu_s": _cpu_seconds(resource.RUSAGE_SELF),
        "children_cpu_s": _cpu_seconds(resource.RUSAGE_CHILDREN),
        **(burst or {}),  # what was measured over the burst alone: CPU, runs per round
    }


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return round(usage.ru_utime + usage.ru_stime, 3)


def worker_rate(count: int, ledger: Path) -> dict[str, float | int]:
    """The same handler called in this process, one after another, ledger on: the rate
    the engine is compared with."""
    from scripts.invoke_local import sample_event

    events = [
        json.loads(
            sample_event(
                f"worker-{n}", action="cleanup", scheduled_time="2030-01-01T09:00:00Z",
                execution_id=f"w-{n}",
            )
        )
        for n in range(count + 100)
    ]  # fmt: skip
    context = LocalLambdaContext("arn:aws:lambda:local:000000000000:function:bench")
    handler = counting_handler().handler
    for event in events[:100]:
        handler(event, context)
    started, cpu_started = time.perf_counter(), time.process_time()
    for event in events[100:]:
        handler(event, context)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "per_second": round(count / elapsed, 1),
        "cpu_us_per_run": round(cpu / count * 1e6, 1),
        "succeeded": len(counting_handler().succeeded_runs()) - 100,
        "ledger_records": ledger_records(ledger) - 100,
    }


def bookkeeping(runtime: Any, concurrency: int) -> dict[str, float | int]:
    """The engine's rounds alone, in this one thread: every fire due, each claimed and
    its outcome (a made-up success) recorded, `concurrency` per round, as the loop does
    (checkpoints left to another thread, a heartbeat once a HEARTBEAT_SECONDS). No
    handler, no thread to contend with: what a run costs the engine at the least."""
    engine = runtime.engine
    engine.database.defer_checkpoints()
    return rounds_until_done(
        lambda finished, limit, heartbeat: (
            engine.run_round(finished, limit, heartbeat=heartbeat).claimed
        ),
        concurrency,
    )


RunRound = Callable[[list[Finished], int, bool], list[Claimed]]


def rounds_until_done(
    run_round: RunRound, concurrency: int, monotonic: Callable[[], float] = time.monotonic
) -> dict[str, float | int]:
    """Rounds of `run_round(finished, limit, heartbeat)` until nothing is left to claim
    or record, each claim given a made-up success to record in the next: the runs and
    the time per run. A round heartbeats as the loop's do (LocalEngine.tick): the first,
    then the first after each HEARTBEAT_SECONDS. (Every round did before: one upsert a
    round that the loop makes once a second; with the rounds' clock stopped it changed no
    byte, so SQLite wrote no page for it, and what it cost was the statement.)"""
    finished: list[Finished] = []
    done = 0
    last_heartbeat = float("-inf")
    started = time.perf_counter()
    while True:
        heartbeat = monotonic() - last_heartbeat >= HEARTBEAT_SECONDS
        claimed = run_round(finished, concurrency, heartbeat)
        if heartbeat:
            last_heartbeat = monotonic()
        if not claimed and not finished:
            break
        done += len(claimed)
        finished = [Finished(item, Outcome(False, 200, None, item.input)) for item in claimed]
    elapsed = time.perf_counter() - started
    return {"runs": done, "us_per_run": round(elapsed / max(1, done) * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["burst", "steady", "worker", "rounds"])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        db = Path(temp) / "engine.db"
        # As `make run` has it: the worker's SQLite ledger on (read when it is imported,
        # at the first fire: after this line).
        os.environ["LEDGER_DB_PATH"] = str(Path(temp) / "ledger.db")
        settings = Settings(
            _env_file=None,
            backend="local",
            local_db_path=db,
            local_concurrency=args.concurrency,
            local_lambda_handler="bench.counting_handler.handler",
            ledger_db_path=Path(temp) / "ledger.db",
            log_level="WARNING",
        )
        if args.mode == "worker":
            print(json.dumps(worker_rate(args.count, Path(temp) / "ledger.db")), file=sys.stderr)
            return 0
        if args.mode == "rounds":
            now = [datetime.now(UTC)]
            runtime = build_local_runtime(settings, lambda: now[0])
            schedule(runtime.service, [now[0] + timedelta(seconds=5)] * args.count)
            now[0] += timedelta(seconds=6)
            print(json.dumps(bookkeeping(runtime, args.concurrency)), file=sys.stderr)
            return 0
        runtime = build_local_runtime(settings, system_clock)
        invoker = getattr(runtime.engine, "invoker", None)
        if invoker is not None:  # LOCAL_INVOKER=process: dispatch is measured, not imports
            invoker.start()
            invoker.wait_ready()
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        if args.mode == "burst":
            lead = 5 + args.count // 500  # time to create them all, on a loaded host too
            due = [start + timedelta(seconds=lead)] * args.count
        else:
            lead = 5 + args.rate * args.seconds // 500  # time to create them all, loaded too
            due = [
                start + timedelta(seconds=lead + second)
                for second in range(args.seconds)
                for _ in range(args.rate)
            ]
        schedule(runtime.service, due)
        assert datetime.now(UTC) < due[0], "scheduling took longer than the lead time"
        assert isinstance(runtime.engine, LocalEngine)
        cpu = BurstCpu(invoker.pids() if invoker is not None else [])
        runtime.engine.start()
        try:
            # The rounds of the fires only: none is due before due[0], so the loop's
            # polls until then are not counted.
            time.sleep(max(0.0, (due[0] - datetime.now(UTC)).total_seconds()))
            idle_rounds = runtime.engine.round_health.rounds
            wait_until_done(db, len(due))
            rounds = runtime.engine.round_health.rounds - idle_rounds
            # A round's cost is partly the same whatever its size (benchmark 13).
            burst = {**cpu.figures(len(due)), "runs_per_round": round(len(due) / max(1, rounds), 2)}
            children_rss = children_peak_rss_mb()  # before stop() ends them
        finally:
            runtime.engine.stop()
        print(json.dumps(report(db, len(due), due[0], children_rss, burst)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
