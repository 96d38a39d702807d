"""The local engine survives what would have stopped it: a row it cannot process, any
exception in a round, an outcome it cannot save, a handler that exits; /health says
when it is stuck."""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.store.outcomes import Finished, Outcome
from scheduler_api.domain.errors import BackendUnavailableError
from scheduler_api.main import create_app
from task_contract import RunStatus
from tests.backends.local.test_local_processes import iso_in, server_env, wait_for
from tests.conftest import AUTH, NOW, FakeClock, LocalApp, make_local_settings, task_body
from tests.support import probe_handler
from tests.support.probe_handler import events_for
from tests.support.processes import uvicorn_with_log


def schedule(client: TestClient, task_id: str, **timing: Any) -> str:
    response = client.post("/scheduler/schedule", json=task_body(task_id, **timing))
    assert response.status_code == 200, response.text
    arn: str = response.json()["schedule_arn"]
    return arn


def corrupt(db_path: Path, name: str, spec: str) -> None:
    """What an upgrade gone wrong or a hand edit leaves in the file."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE schedules SET spec = ? WHERE name = ?", (spec, name))


def db_path(app: LocalApp) -> Path:
    assert app.runtime.database is not None
    return app.runtime.database.path


@pytest.mark.parametrize(
    "spec",
    [
        "not json at all",
        '{"expression": "cron(nonsense)"}',  # a spec an older version wrote, say
        # one-time: its fire is read without building the spec, its target still checked
        '{"expression": "at(2030-01-01T00:01:00)", "target": {"arn": "x"}}',
    ],
)
def test_a_schedule_the_engine_cannot_process_is_set_aside_and_the_rest_fire(
    local_app: LocalApp, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    bad_arn = schedule(local_app.client, "bad", run_at="2030-01-01T00:01:00Z")
    schedule(local_app.client, "good", run_at="2030-01-01T00:01:00Z")
    corrupt(db_path(local_app), "bad", spec)
    local_app.advance(30)
    assert [run["status"] for run in local_app.runs("good")] == ["SUCCEEDED"]
    assert local_app.runs("bad") == []
    for _ in range(3):
        local_app.advance(60)
    assert capsys.readouterr().err.count("set aside as broken") == 1  # logged once

    listed = local_app.client.get("/scheduler/schedules").json()["schedules"]
    broken = {item["schedule_name"]: item["broken"] for item in listed}
    assert broken["bad"] is not None
    assert "cannot compute its fires" in broken["bad"]
    health = local_app.client.get("/health")
    assert health.status_code == 200
    assert health.json()["engine"]["broken_schedules"] == 1
    # A restart does not die on the same row: it is not picked up again.
    restarted = LocalEngine(
        local_app.runtime.database,  # type: ignore[arg-type]
        handler=probe_handler.handler,
        clock=local_app.clock,
    )
    schedule(local_app.client, "later", run_at="2030-01-01T00:10:00Z")
    local_app.clock.advance(timedelta(minutes=10))
    assert restarted.tick() == 1
    assert [run["status"] for run in local_app.runs("later")] == ["SUCCEEDED"]
    # The broken one can still be removed.
    assert local_app.client.delete(f"/scheduler/schedule/{bad_arn}").status_code == 200
    assert local_app.client.get("/health").json()["engine"]["broken_schedules"] == 0


def test_a_broken_schedule_that_still_reads_shows_why_on_get(local_app: LocalApp) -> None:
    arn = schedule(local_app.client, "bad", cron="0 * * * ? *")
    with sqlite3.connect(db_path(local_app)) as conn:
        conn.execute(
            "UPDATE schedules SET spec = json_set(spec, '$.timezone', 'Mars/Olympus')"
            " WHERE name = 'bad'"
        )
    local_app.advance(3600)
    detail = local_app.client.get(f"/scheduler/schedule/{arn}")
    assert detail.status_code == 200
    assert detail.json()["broken"] is not None
    assert detail.json()["next_run_times"] == []


class SwitchableClock(FakeClock):
    """A wall clock that raises while `failing`: a fault inside every round that is not
    one of the project's own exceptions."""

    def __init__(self, now: datetime = NOW) -> None:
        super().__init__(now)
        self.failing = False

    def __call__(self) -> datetime:
        if self.failing:
            raise RuntimeError("the clock broke")
        return self.now


class FakeMonotonic:
    """Real monotonic time plus what the test adds: a minute passes without a wait."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


@dataclass
class RunningApp:
    client: TestClient
    engine: LocalEngine
    clock: SwitchableClock
    monotonic: FakeMonotonic


@pytest.fixture
def running_app(tmp_path: Path) -> Iterator[RunningApp]:
    probe_handler.reset()
    clock = SwitchableClock()
    settings = make_local_settings(tmp_path / "s.db", local_busy_timeout_seconds=0.05)
    app = create_app(settings, clock=clock)  # the engine runs on its own thread
    with TestClient(app, headers=AUTH) as client:
        engine = app.state.runtime.engine
        engine.monotonic = FakeMonotonic()
        yield RunningApp(client, engine, clock, engine.monotonic)
    probe_handler.reset()


def test_the_loop_survives_any_exception_and_health_reports_it(running_app: RunningApp) -> None:
    client, engine, clock, monotonic = (
        running_app.client,
        running_app.engine,
        running_app.clock,
        running_app.monotonic,
    )
    assert client.get("/health").status_code == 200
    clock.failing = True
    wait_for(lambda: engine.last_failure == "RuntimeError", timeout=10)
    monotonic.skipped += 60  # a minute without a completed round
    health = client.get("/health")
    assert health.status_code == 503
    assert "has not completed a round for 6" in health.json()["reason"]
    assert "RuntimeError" in health.json()["reason"]
    assert "the clock broke" not in health.text  # the class, never the message

    clock.failing = False
    schedule(client, "after-the-fault", run_at="2030-01-01T00:01:00Z")  # wakes the engine
    wait_for(lambda: client.get("/health").status_code == 200, timeout=10)
    clock.advance(timedelta(seconds=30))
    engine.wake()
    wait_for(lambda: len(events_for("after-the-fault")) == 1, timeout=10)


def test_a_round_that_cannot_write_is_503_and_recovers_when_the_file_frees(
    running_app: RunningApp,
) -> None:
    client, engine, monotonic = running_app.client, running_app.engine, running_app.monotonic
    locker = sqlite3.connect(engine.database.path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        wait_for(lambda: engine.last_failure == "BackendUnavailableError", timeout=10)
        monotonic.skipped += 30
        assert client.get("/health").status_code == 503
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    engine.wake()
    wait_for(lambda: client.get("/health").status_code == 200, timeout=10)


def locking_handler(db: Path, locker: list[sqlite3.Connection]) -> Callable[[Any, Any], Any]:
    """Runs the real worker, then another process takes the file's write lock before the
    engine can save the outcome."""

    def handler(event: Any, context: Any) -> Any:
        response = probe_handler.handler(event, context)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locker.append(conn)
        return response

    return handler


def test_an_outcome_that_cannot_be_saved_is_kept_and_saved_later(tmp_path: Path) -> None:
    probe_handler.reset()
    clock = FakeClock()
    settings = make_local_settings(tmp_path / "s.db", local_busy_timeout_seconds=0.05)
    app = create_app(settings, clock=clock, start_engine=False)
    lockers: list[sqlite3.Connection] = []
    with TestClient(app, headers=AUTH) as client:
        runtime = app.state.runtime
        engine = LocalEngine(
            runtime.database,
            handler=locking_handler(runtime.database.path, lockers),
            clock=clock,
        )
        schedule(client, "unsaved", run_at="2030-01-01T00:01:00Z")
        clock.advance(timedelta(seconds=30))
        assert engine.tick() == 1  # ran; the save failed, the outcome is kept
        with pytest.raises(BackendUnavailableError):
            engine.tick()  # the whole round fails while the file is locked: still kept
        lockers.pop().execute("ROLLBACK")
        runs = client.get("/scheduler/tasks/unsaved/runs").json()["runs"]
        assert [run["status"] for run in runs] == ["RUNNING"]  # still leased: nobody reruns it
        other = LocalEngine(runtime.database, handler=probe_handler.handler, clock=clock)
        assert other.tick() == 0
        engine.handler = probe_handler.handler
        engine.tick()  # the next round saves it
        (run,) = client.get("/scheduler/tasks/unsaved/runs").json()["runs"]
    assert (run["status"], run["attempts"], run["status_code"]) == ("SUCCEEDED", 1, 200)
    assert len(events_for("unsaved")) == 1
    probe_handler.reset()


def test_a_round_records_every_outcome_and_claims_the_next_in_one_transaction(
    local_app: LocalApp,
) -> None:
    """The pool hands outcomes to the loop; one commit per round records them all, so the
    pool threads do not queue on SQLite's one writer (benchmark 5)."""
    for task_id in ("ok", "raised", "next"):
        schedule(local_app.client, task_id, run_at="2030-01-01T00:01:00Z")
    local_app.clock.advance(timedelta(seconds=30))
    store = local_app.engine.store
    with store.round() as round:
        round.materialize()
        by_task = {claimed.schedule_arn.rsplit("/", 1)[1]: claimed for claimed in round.claim(2)}
    ok, raised = by_task.pop("ok"), by_task.pop("raised")
    statements: list[str] = []
    store.database.connection().set_trace_callback(statements.append)
    done = local_app.engine.run_round(
        [
            Finished(ok, Outcome(False, 200, None, "{}")),
            Finished(raised, Outcome(True, None, "RuntimeError", "{}")),
        ],
        10,
        heartbeat=True,
    )
    store.database.connection().set_trace_callback(None)
    assert done.statuses == [RunStatus.SUCCEEDED, RunStatus.RETRYING]
    assert [claimed.schedule_arn.rsplit("/", 1)[1] for claimed in done.claimed] == ["next"]
    assert (statements.count("BEGIN IMMEDIATE"), statements.count("COMMIT")) == (1, 1)
    assert local_app.runs("ok")[0]["status"] == "SUCCEEDED"
    assert local_app.runs("raised")[0]["status"] == "RETRYING"
    assert local_app.runs("next")[0]["status"] == "RUNNING"


def test_a_handler_that_exits_is_a_failed_attempt_not_a_dead_engine(local_app: LocalApp) -> None:
    def exits(event: Any, context: Any) -> Any:
        sys.exit(3)  # a user's handler calling sys.exit()

    schedule(local_app.client, "quits", run_at="2030-01-01T00:01:00Z")
    local_app.engine.handler = exits
    local_app.advance(30)
    (run,) = local_app.runs("quits")
    assert (run["status"], run["error"]) == ("RETRYING", "SystemExit")
    local_app.engine.handler = probe_handler.handler
    local_app.advance(60)
    assert local_app.runs("quits")[0]["status"] == "SUCCEEDED"


def test_an_engine_never_takes_back_its_own_running_execution(local_app: LocalApp) -> None:
    """Its heartbeat went stale (the file was locked for a while) while an action ran: the
    execution is still its own, not a dead engine's, and must not start a second time."""
    schedule(local_app.client, "long", run_at="2030-01-01T00:01:00Z")
    local_app.clock.advance(timedelta(seconds=30))
    store = local_app.engine.store
    with store.round() as round:
        round.heartbeat()
        round.materialize()
        assert len(round.claim(10)) == 1  # running on this engine's pool, say
    local_app.clock.advance(timedelta(seconds=60))  # no heartbeat for a minute
    with store.round() as round:
        assert round.claim(10) == []


def running_execution(api: str, task_id: str) -> str | None:
    runs = httpx.get(f"{api}/scheduler/tasks/{task_id}/runs", timeout=10).json()["runs"]
    return runs[0]["execution_id"] if runs and runs[0]["status"] == "RUNNING" else None


def test_ctrl_c_stops_within_the_grace_and_the_running_task_runs_at_the_next_start(
    tmp_path: Path,
) -> None:
    env = server_env(tmp_path, PROBE_DELAY_SECONDS="120", LOCAL_SHUTDOWN_GRACE_SECONDS="1")
    with uvicorn_with_log(env, tmp_path) as (api, process, log):
        body = task_body("slow", run_at=iso_in(3))  # whole seconds: at least 2 s ahead
        assert httpx.post(f"{api}/scheduler/schedule", json=body, timeout=10).status_code == 200
        wait_for(lambda: running_execution(api, "slow") is not None, timeout=20)
        execution_id = running_execution(api, "slow")
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        took = time.monotonic() - interrupted
        output = log.read_text()
    assert took < 10, f"Ctrl-C took {took:.1f} s with a 1 s grace"  # not the action's 120 s
    released = next(line for line in output.splitlines() if "released to run again" in line)
    assert str(execution_id) in released

    with uvicorn_with_log({**env, "PROBE_DELAY_SECONDS": "0"}, tmp_path) as (api, _, _):

        def succeeded() -> bool:
            runs = httpx.get(f"{api}/scheduler/tasks/slow/runs", timeout=10).json()["runs"]
            return bool(runs) and runs[0]["status"] == "SUCCEEDED"

        wait_for(succeeded, timeout=30)
        (run,) = httpx.get(f"{api}/scheduler/tasks/slow/runs", timeout=10).json()["runs"]
    assert run["execution_id"] == execution_id
    assert run["attempts"] == 2  # the released attempt, then the one that finished


def test_a_second_ctrl_c_stops_at_once(tmp_path: Path) -> None:
    env = server_env(tmp_path, PROBE_DELAY_SECONDS="120", LOCAL_SHUTDOWN_GRACE_SECONDS="300")
    with uvicorn_with_log(env, tmp_path) as (api, process, log):
        body = task_body("slow", run_at=iso_in(3))  # whole seconds: at least 2 s ahead
        assert httpx.post(f"{api}/scheduler/schedule", json=body, timeout=10).status_code == 200
        wait_for(lambda: running_execution(api, "slow") is not None, timeout=20)
        process.send_signal(signal.SIGINT)
        wait_for(lambda: "stopping the local engine" in log.read_text(), timeout=20)
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        took = time.monotonic() - interrupted
    assert took < 10, f"the second Ctrl-C took {took:.1f} s"
