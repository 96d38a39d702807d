"""The local engine for real: threads and processes on one SQLite file, and SIGKILL."""

from __future__ import annotations

import json
import signal
import sqlite3
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.store.database import Database
from scheduler_api.bootstrap import build_local_runtime
from scheduler_api.domain.clock import system_clock
from scheduler_api.services.requests import ScheduleTaskRequest
from tests.conftest import make_local_settings, task_body
from tests.support import probe_handler
from tests.support.processes import scheduler_api, scheduler_api_process

WAIT_SECONDS = 60.0


def wait_for(condition: Any, timeout: float = WAIT_SECONDS) -> None:
    """Poll another thread's or process's progress (not a wait for time to pass)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the engine")
        time.sleep(0.05)


def statuses(db_path: Path) -> Counter[str]:
    with sqlite3.connect(db_path) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM executions GROUP BY 1")))


def iso_in(seconds: float) -> str:
    due = datetime.now(UTC) + timedelta(seconds=seconds)
    return due.replace(microsecond=0).isoformat()


def test_two_engines_on_one_file_never_run_an_execution_twice(tmp_path: Path) -> None:
    probe_handler.reset()
    settings = make_local_settings(tmp_path / "shared.db", local_concurrency=4)
    runtime = build_local_runtime(settings, system_clock)
    run_at = iso_in(2)
    for n in range(300):
        runtime.service.schedule_task(ScheduleTaskRequest(**task_body(f"t-{n}", run_at=run_at)))
    other_db = Database(settings.local_db_path)  # a second engine with its own connections
    engines = [
        runtime.engine,
        LocalEngine(other_db, handler=probe_handler.handler, clock=system_clock, concurrency=4),
    ]
    for engine in engines:
        assert engine is not None
        engine.start()
    try:
        wait_for(lambda: statuses(settings.local_db_path)["SUCCEEDED"] == 300)
    finally:
        for engine in engines:
            assert engine is not None
            engine.stop()
    task_ids = Counter(probe_handler.task_id_of(e) for e in probe_handler.EVENTS)
    assert len(task_ids) == 300
    assert set(task_ids.values()) == {1}
    with sqlite3.connect(settings.local_db_path) as conn:
        by_engine = dict(conn.execute("SELECT engine, count(*) FROM attempt_records GROUP BY 1"))
    assert sum(by_engine.values()) == 300
    probe_handler.reset()


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(tmp_path / "scheduler.db"),
        "LOCAL_LAMBDA_HANDLER": "tests.support.probe_handler.file_handler",
        "PROBE_LOG": str(tmp_path / "probe.log"),
        **extra,
    }


def lateness(runs: list[dict[str, Any]]) -> list[float]:
    return [
        (
            datetime.fromisoformat(run["started_at"])
            - datetime.fromisoformat(run["scheduled_time"])
        ).total_seconds()
        for run in runs
    ]


def test_uvicorn_process_fires_a_task_two_seconds_ahead(tmp_path: Path) -> None:
    with scheduler_api(server_env(tmp_path), cwd=tmp_path) as api:
        body = task_body("in-two-seconds", run_at=iso_in(2))
        assert httpx.post(f"{api}/scheduler/schedule", json=body, timeout=10).status_code == 200

        def succeeded() -> bool:
            runs = httpx.get(f"{api}/scheduler/tasks/in-two-seconds/runs", timeout=10).json()
            return [r["status"] for r in runs["runs"]] == ["SUCCEEDED"]

        wait_for(succeeded, timeout=20)
        (run,) = httpx.get(f"{api}/scheduler/tasks/in-two-seconds/runs", timeout=10).json()["runs"]
    assert run["attempts"] == 1
    assert run["status_code"] == 200
    print(f"fire lateness: {lateness([run])[0]:.3f} s")


def test_sigkill_mid_firing_loses_nothing(tmp_path: Path) -> None:
    count = 300
    env = server_env(tmp_path, PROBE_DELAY_SECONDS="0.01", LOCAL_CONCURRENCY="4")
    probe_log = tmp_path / "probe.log"
    db_path = tmp_path / "scheduler.db"
    with (
        scheduler_api_process(env, cwd=tmp_path) as (api, process),
        httpx.Client(base_url=api, timeout=10) as http,
    ):
        run_at = iso_in(4)
        for n in range(count):
            body = task_body(f"crash-{n}", run_at=run_at)
            assert http.post("/scheduler/schedule", json=body).status_code == 200
        wait_for(lambda: probe_log.exists() and len(probe_log.read_text().splitlines()) >= 40)
        process.send_signal(signal.SIGKILL)
        process.wait()
    done_before_kill = len(probe_log.read_text().splitlines())
    assert done_before_kill < count, "the kill came too late to test anything"

    with scheduler_api(env, cwd=tmp_path) as api:
        wait_for(lambda: statuses(db_path)["SUCCEEDED"] == count)
        runs = [
            httpx.get(f"{api}/scheduler/tasks/crash-{n}/runs", timeout=10).json()["runs"]
            for n in range(count)
        ]
    assert all(len(task_runs) == 1 for task_runs in runs)
    assert {task_runs[0]["status"] for task_runs in runs} == {"SUCCEEDED"}
    invoked = Counter(json.loads(line)["task_id"] for line in probe_log.read_text().splitlines())
    assert set(invoked) == {f"crash-{n}" for n in range(count)}
    # Only an invocation in flight at the kill can have run twice (at-least-once, as on AWS).
    assert sum(n - 1 for n in invoked.values()) <= 4
    late = sorted(lateness([task_runs[0] for task_runs in runs]))
    before_kill = late[:done_before_kill]
    print(
        f"killed after {done_before_kill}/{count} runs; lateness before the kill:"
        f" p50 {statistics.median(before_kill):.3f} s, max {before_kill[-1]:.3f} s;"
        f" all runs (the rest waited for the restart): p50 {statistics.median(late):.3f} s,"
        f" p99 {late[int(len(late) * 0.99) - 1]:.3f} s"
    )


def test_two_server_processes_on_one_file_run_each_task_once(tmp_path: Path) -> None:
    """As `uvicorn --workers 2` would: two processes, two engines, one SQLite file."""
    count = 200
    env = server_env(tmp_path, PROBE_DELAY_SECONDS="0.005", LOCAL_CONCURRENCY="4")
    with (
        scheduler_api(env, cwd=tmp_path) as first,
        scheduler_api(env, cwd=tmp_path) as second,
        httpx.Client(timeout=10) as http,
    ):
        run_at = iso_in(3)
        for n in range(count):
            api = first if n % 2 else second
            body = task_body(f"pair-{n}", run_at=run_at)
            assert http.post(f"{api}/scheduler/schedule", json=body).status_code == 200
        wait_for(lambda: statuses(tmp_path / "scheduler.db")["SUCCEEDED"] == count)
    lines = (tmp_path / "probe.log").read_text().splitlines()
    invoked = Counter(json.loads(line)["task_id"] for line in lines)
    assert len(invoked) == count
    assert set(invoked.values()) == {1}
    with sqlite3.connect(tmp_path / "scheduler.db") as conn:
        engines = [row[0] for row in conn.execute("SELECT DISTINCT engine FROM attempt_records")]
    assert len(engines) == 2  # both processes did part of the work
