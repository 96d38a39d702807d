"""An engine is dead when its process is, never because its heartbeat is late (issue 18):
the SQLite file locked from outside, or the process stopped, past the heartbeat's
staleness, must not hand a running execution to another engine; a killed one must."""

from __future__ import annotations

import fcntl
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.liveness import EngineLock, Holder, probe, sweep
from scheduler_api.bootstrap import build_local_runtime
from scheduler_api.domain.clock import system_clock
from scheduler_api.main import create_app
from scheduler_api.services.aws_service import AwsService
from scheduler_api.services.requests import ScheduleTaskRequest
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import AUTH, FakeClock, make_local_settings, task_body
from tests.support import probe_handler
from tests.support.processes import engine_process

STALE_AFTER = 0.5  # small, so that every wait below is many times past it


@dataclass
class HeldAction:
    """An action that records each run in a file, from inside the action, and whose first
    run stays running until `release` is set (a 20 s action, say)."""

    log: Path
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def runs(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0


@pytest.fixture
def held(tmp_path: Path) -> Iterator[HeldAction]:
    held = HeldAction(tmp_path / "ran.log")

    @action("held_open")
    def held_open(task: TaskCallbackRequest) -> dict[str, Any]:
        with held.log.open("a") as log:
            log.write(task.task_id + "\n")
        if not held.started.is_set():
            held.started.set()
            held.release.wait(30)
        return {}

    yield held
    held.release.set()
    action_registry._actions.pop("held_open", None)


def attempts(db_path: Path) -> list[tuple[int, str, str | None]]:
    with sqlite3.connect(db_path) as conn:
        return list(
            conn.execute("SELECT number, engine, error FROM attempt_records ORDER BY number")
        )


def only_run(db_path: Path) -> tuple[str, int]:
    with sqlite3.connect(db_path) as conn:
        (row,) = conn.execute("SELECT status, attempts FROM executions").fetchall()
    return row[0], row[1]


def test_a_file_locked_from_outside_past_the_staleness_hands_nothing_over(
    tmp_path: Path, held: HeldAction
) -> None:
    """Two engines on one file; one runs a long action; a sqlite3 shell holds the write lock
    for 7 s on the engines' clock (past their 0.5 s staleness, within the 10 s busy
    timeout), so the running engine's heartbeat is 7 s old when the other gets the file."""
    probe_handler.reset()
    clock = FakeClock()
    settings = make_local_settings(tmp_path / "s.db")
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        body = {**task_body("long", run_at="2030-01-01T00:01:00Z"), "action": "held_open"}
        assert client.post("/scheduler/schedule", json=body).status_code == 200
        path = settings.local_db_path
        first, second = (
            LocalEngine(
                Database(path),
                handler=probe_handler.handler,
                clock=clock,
                stale_after_seconds=STALE_AFTER,
            )
            for _ in range(2)
        )
        clock.advance(timedelta(seconds=30))
        # Its round claims, then runs the action on this thread: no heartbeat meanwhile.
        running = threading.Thread(target=first.tick)
        running.start()
        assert held.started.wait(10)
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        clock.advance(timedelta(seconds=7))
        started: list[int] = []
        waiting = threading.Thread(target=lambda: started.append(second.tick()))
        waiting.start()  # its round waits for the file
        locker.execute("ROLLBACK")
        locker.close()
        waiting.join(10)
        assert started == [0]
        for _ in range(3):  # and a minute later, still not
            clock.advance(timedelta(seconds=20))
            assert second.tick() == 0
        held.release.set()
        running.join(10)
        (run,) = client.get("/scheduler/tasks/long/runs").json()["runs"]
    assert (run["status"], run["attempts"]) == ("SUCCEEDED", 1)
    assert held.runs() == 1
    assert [engine for _, engine, _ in attempts(path)] == [first.owner]
    probe_handler.reset()


TRIALS = 4


def test_engines_in_real_time_with_the_file_locked_from_outside_run_it_once(
    tmp_path: Path, held: HeldAction
) -> None:
    """The race as it happens: both engines running, a lock held for 1 s of real time
    (twice their 0.5 s staleness); whichever engine gets the file first, nothing is taken
    over. Several trials: the old heartbeat rule lost only some of them."""
    settings = make_local_settings(
        tmp_path / "s.db", local_lambda_handler="tests.support.probe_handler.handler"
    )
    runtime = build_local_runtime(settings, system_clock)
    engines = [
        LocalEngine(
            Database(settings.local_db_path),
            handler=probe_handler.handler,
            clock=system_clock,
            concurrency=1,
            stale_after_seconds=STALE_AFTER,
        )
        for _ in range(2)
    ]
    for engine in engines:
        engine.start()
    try:
        for trial in range(TRIALS):
            one_trial(runtime.service, settings.local_db_path, engines, held, f"trial-{trial}")
            assert held.runs() == trial + 1, f"trial {trial}: the action ran twice"
    finally:
        held.release.set()
        for engine in engines:
            engine.stop()
    with sqlite3.connect(settings.local_db_path) as conn:
        assert conn.execute("SELECT max(attempts) FROM executions").fetchone()[0] == 1


def one_trial(
    service: AwsService,
    db_path: Path,
    engines: list[LocalEngine],
    held: HeldAction,
    task_id: str,
) -> None:
    held.started.clear()
    held.release.clear()
    body = {**task_body(task_id, delay_minutes=30), "action": "held_open"}
    service.run_now(service.schedule_task(ScheduleTaskRequest(**body)).arn)
    assert held.started.wait(10)
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    time.sleep(2 * STALE_AFTER)  # the fault: the file held for a while
    locker.execute("ROLLBACK")
    locker.close()
    freed = time.monotonic()

    def both_went_on() -> bool:
        """Each engine completed a round more than the staleness after the file freed."""
        since = time.monotonic() - freed - STALE_AFTER
        return all((e.health().seconds_since_round or 0) < since for e in engines)

    wait_for(both_went_on, timeout=10)
    held.release.set()
    wait_for(lambda: status_of(db_path, task_id) == "SUCCEEDED")


def status_of(db_path: Path, task_id: str) -> str | None:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT status FROM executions WHERE task_id = ?", (task_id,)).fetchone()
    return None if row is None else str(row[0])


def process_env(tmp_path: Path, delay: float) -> dict[str, str]:
    return {
        "PROBE_DELAY_SECONDS": str(delay),
        "PROBE_LOG": str(tmp_path / "probe.log"),
        "PROBE_ACTION_LOG": str(tmp_path / "actions.log"),
    }


def run_now(tmp_path: Path, db_path: Path, task_id: str) -> AwsService:
    """The execution due now, from this process: its own engine is never started."""
    settings = make_local_settings(
        db_path, local_lambda_handler="tests.support.probe_handler.file_handler"
    )
    service = build_local_runtime(settings, system_clock).service
    body = {**task_body(task_id, delay_minutes=30), "action": "probe_run"}
    service.run_now(service.schedule_task(ScheduleTaskRequest(**body)).arn)
    return service


def actions_run(tmp_path: Path) -> list[str]:
    log = tmp_path / "actions.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line)["task_id"] for line in lines]


def heartbeat_of(db_path: Path, owner: str) -> float:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT heartbeat_at FROM engines WHERE owner = ?", (owner,)).fetchone()
    return float(row[0]) if row else 0.0


def test_a_stopped_engine_keeps_its_run_and_finishes_it_once(tmp_path: Path) -> None:
    """SIGSTOP for many times the staleness: no heartbeat, but the lock is still held."""
    db_path = tmp_path / "scheduler.db"
    env = process_env(tmp_path, delay=4)
    with (
        engine_process(db_path, env, STALE_AFTER) as (one, one_owner),
        engine_process(db_path, env, STALE_AFTER) as (two, two_owner),
    ):
        run_now(tmp_path, db_path, "stopped")
        wait_for(lambda: len(attempts(db_path)) == 1, timeout=10)
        ((_, holder_owner, _),) = attempts(db_path)
        holder, other_owner = (one, two_owner) if holder_owner == one_owner else (two, one_owner)
        holder.send_signal(signal.SIGSTOP)
        stopped_at = time.time()
        try:
            # The other engine goes on with its rounds, heart-beating, well past 0.5 s.
            wait_for(lambda: heartbeat_of(db_path, other_owner) > stopped_at + 2, timeout=10)
            assert len(attempts(db_path)) == 1, "taken over while its engine was only stopped"
            assert actions_run(tmp_path) == []
        finally:
            holder.send_signal(signal.SIGCONT)
        wait_for(lambda: only_run(db_path)[0] == "SUCCEEDED", timeout=20)
    assert only_run(db_path) == ("SUCCEEDED", 1)
    assert [engine for _, engine, _ in attempts(db_path)] == [holder_owner]
    assert actions_run(tmp_path) == ["stopped"]


def test_a_killed_engines_run_is_taken_over_at_once(tmp_path: Path) -> None:
    """SIGKILL: the kernel lets go of its lock. The staleness is a minute, so only the lock
    can explain a takeover within seconds."""
    db_path = tmp_path / "scheduler.db"
    env = process_env(tmp_path, delay=2)
    with (
        engine_process(db_path, env, 60) as (one, one_owner),
        engine_process(db_path, env, 60) as (two, two_owner),
    ):
        run_now(tmp_path, db_path, "killed")
        wait_for(lambda: len(attempts(db_path)) == 1, timeout=10)
        ((_, holder_owner, _),) = attempts(db_path)
        holder, other_owner = (one, two_owner) if holder_owner == one_owner else (two, one_owner)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        killed_at = time.monotonic()
        wait_for(lambda: len(attempts(db_path)) == 2, timeout=5)
        took = time.monotonic() - killed_at
        wait_for(lambda: only_run(db_path)[0] == "SUCCEEDED", timeout=20)
    assert took < 3, f"taken over {took:.1f} s after the kill"
    first, second = attempts(db_path)
    assert first == (1, holder_owner, "abandoned: its engine stopped")
    assert second[:2] == (2, other_owner)
    assert only_run(db_path) == ("SUCCEEDED", 2)
    assert actions_run(tmp_path) == ["killed"]  # killed in its delay, before the action
    assert not (Path(f"{db_path}.engines") / f"{holder_owner}.lock").exists()


def test_the_lock_file_says_alive_dead_or_unknown(tmp_path: Path) -> None:
    directory = tmp_path / "s.db.engines"
    lock = EngineLock(directory, "here:1:aaaa")
    assert probe(directory, "here:1:aaaa") is Holder.UNKNOWN  # no file yet
    lock.hold()
    assert probe(directory, "here:1:aaaa") is Holder.ALIVE
    lock.close()  # retired: no file, its row in `engines` says the rest
    assert probe(directory, "here:1:aaaa") is Holder.UNKNOWN
    lock.hold()  # started again
    assert probe(directory, "here:1:aaaa") is Holder.ALIVE
    fcntl.flock(lock.fd, fcntl.LOCK_UN)  # what the kernel does when it dies
    assert probe(directory, "here:1:aaaa") is Holder.DEAD
    assert not lock.path.exists()
    lock.close()


def test_a_sweep_removes_only_the_dead_of_this_host(tmp_path: Path) -> None:
    directory = tmp_path / "s.db.engines"
    alive, dead, remote = (EngineLock(directory, o) for o in ("h:1:a", "h:2:b", "far:3:c"))
    for lock in (alive, dead, remote):
        lock.hold()
    for lock in (dead, remote):
        fcntl.flock(lock.fd, fcntl.LOCK_UN)
    (directory / ".left-by-a-kill.tmp").touch()
    assert sweep(directory, "h") == ["h:2:b"]
    assert sorted(p.name for p in directory.iterdir()) == ["far:3:c.lock", "h:1:a.lock"]
    for lock in (alive, dead, remote):
        lock.close()
