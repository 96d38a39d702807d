"""LOCAL_INVOKER=thread and =process give the same outcomes (each test of an outcome runs
on both); what only a worker process can do (die, outlive its timeout, outlive its engine)
is tested on real processes, SIGKILLed."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.engine.process_invoker import ProcessInvoker
from scheduler_api.backends.local.store.database import Database
from scheduler_api.main import create_app
from tests.backends.local import invoker_probe
from tests.backends.local.invoker_probe import events, order
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import AUTH, FakeClock, LocalApp, make_local_settings, task_body
from tests.support.processes import ROOT

HANDLER = "tests.backends.local.invoker_probe.handler"
INVOKERS = ["thread", "process"]


@pytest.fixture(autouse=True)
def probe_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Set before any worker process starts: each reads it from its environment."""
    directory = tmp_path / "probe"
    directory.mkdir()
    monkeypatch.setenv("INVOKER_PROBE_DIR", str(directory))
    return directory


@contextmanager
def app_on(invoker: str, tmp_path: Path, clock: FakeClock, **settings: Any) -> Iterator[LocalApp]:
    resolved = make_local_settings(
        tmp_path / "scheduler.db",
        local_lambda_handler=HANDLER,
        local_invoker=invoker,
        local_concurrency=3,
        **settings,
    )
    app = create_app(resolved, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local = LocalApp(client, app.state.runtime, clock)
        try:
            yield local
        finally:
            local.engine.stop(grace_seconds=0)  # ends the worker processes, if any


@pytest.fixture(params=INVOKERS)
def invoker_app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[LocalApp]:
    with app_on(request.param, tmp_path, clock) as local:
        yield local


@pytest.fixture
def process_app(tmp_path: Path, clock: FakeClock) -> Iterator[LocalApp]:
    with app_on("process", tmp_path, clock) as local:
        yield local


def schedule(app: LocalApp, task_id: str, **timing: Any) -> dict[str, Any]:
    body = task_body(task_id, **(timing or {"run_at": "2030-01-01T00:01:00Z"}))
    response = app.client.post("/scheduler/schedule", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def ran_elsewhere(app: LocalApp) -> bool:
    return app.engine.invoker is not None


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie nobody reaped yet (it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def process_invoker(app: LocalApp) -> ProcessInvoker:
    invoker = app.engine.invoker
    assert isinstance(invoker, ProcessInvoker)
    return invoker


def test_a_fire_is_delivered_as_eventbridge_would_and_succeeds(invoker_app: LocalApp) -> None:
    created = schedule(invoker_app, "task-1")
    assert invoker_app.advance(30) == 1
    (line,) = events("task-1")
    headers = line["event"]["headers"]
    assert headers["X-Scheduler-Schedule-Arn"] == created["schedule_arn"]
    assert headers["X-Scheduler-Scheduled-Time"] == "2030-01-01T00:01:00Z"
    assert headers["X-Scheduler-Attempt"] == "1"
    assert 0 < line["remaining_ms"] <= 900_000  # Lambda's longest timeout, as in the context
    assert (line["pid"] != os.getpid()) == ran_elsewhere(invoker_app)
    (run,) = invoker_app.runs("task-1")
    assert (run["status"], run["status_code"], run["attempts"]) == ("SUCCEEDED", 200, 1)
    assert run["execution_id"] == headers["X-Scheduler-Execution-Id"]


def test_a_raising_invocation_is_retried_with_backoff_and_logged(
    invoker_app: LocalApp, capsys: pytest.CaptureFixture[str]
) -> None:
    order("flaky", "raise")
    schedule(invoker_app, "flaky")
    invoker_app.advance(30)
    (run,) = invoker_app.runs("flaky")
    assert (run["status"], run["error"]) == ("RETRYING", "ProbeFailureError")  # the class only
    err = capsys.readouterr().err  # the engine's log, wherever the handler ran
    assert "attempt 1 raised" in err
    assert "raise ProbeFailureError" in err  # with the handler's traceback
    assert invoker_app.advance(59) == 0  # the backoff is 60 s
    assert invoker_app.advance(1) == 1
    (run,) = invoker_app.runs("flaky")
    assert (run["status"], run["attempts"]) == ("SUCCEEDED", 2)
    attempts = [line["event"]["headers"]["X-Scheduler-Attempt"] for line in events("flaky")]
    assert attempts == ["1", "2"]


def test_exhausted_retries_are_dead_lettered_then_redriven(invoker_app: LocalApp) -> None:
    order("doomed", "raise", "raise", "raise")
    schedule(invoker_app, "doomed")
    for seconds in (30, 60, 120):
        invoker_app.advance(seconds)
    (run,) = invoker_app.runs("doomed")
    assert (run["status"], run["attempts"]) == ("DEAD_LETTERED", 3)
    (letter,) = invoker_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    assert letter["reason"] == "ProbeFailureError"
    assert letter["event"]["headers"]["X-Scheduler-Attempt"] == "3"
    assert "do-not-show" not in json.dumps(letter)
    redriven = invoker_app.client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
    assert redriven.json() == {"dead_letter_id": letter["id"], "status": "SUCCEEDED"}
    assert invoker_app.runs("doomed")[0]["attempts"] == 4


def test_a_4xx_answer_is_failed_not_retried_and_says_why(
    tmp_path: Path, clock: FakeClock, invoker: str
) -> None:
    with app_on(invoker, tmp_path, clock, known_actions="*") as local:
        body = {**task_body("typo", delay_minutes=1), "action": "send_notifcation"}
        assert local.client.post("/scheduler/schedule", json=body).status_code == 200
        local.advance(90)
        (run,) = local.runs("typo")
        assert (run["status"], run["status_code"]) == ("FAILED", 422)
        assert run["error"] == "callback answered 422: Unknown action 'send_notifcation'"
        assert local.advance(3600) == 0


@pytest.fixture(params=INVOKERS)
def invoker(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_a_handler_that_exits_is_a_failed_attempt_not_a_dead_engine(
    invoker_app: LocalApp,
) -> None:
    order("quits", "exit")
    schedule(invoker_app, "quits")
    invoker_app.advance(30)
    (run,) = invoker_app.runs("quits")
    assert (run["status"], run["error"]) == ("RETRYING", "SystemExit")
    invoker_app.advance(60)
    assert invoker_app.runs("quits")[0]["status"] == "SUCCEEDED"


def test_the_handlers_own_log_lines_reach_the_engines_log(
    invoker_app: LocalApp, caplog: pytest.LogCaptureFixture
) -> None:
    order("chatty", "log")
    schedule(invoker_app, "chatty")
    with caplog.at_level(logging.INFO):
        invoker_app.advance(30)
    (record,) = [r for r in caplog.records if r.name == "tests.invoker_probe"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("a line from the handler of chatty, in pid ")
    (line,) = events("chatty")
    assert record.getMessage().endswith(str(line["pid"]))


def test_the_started_engine_runs_each_fire_of_a_burst_once(invoker_app: LocalApp) -> None:
    for n in range(30):
        schedule(invoker_app, f"burst-{n}")
    invoker_app.clock.advance(timedelta(seconds=30))
    invoker_app.engine.start()

    def all_done() -> bool:
        runs = [invoker_app.runs(f"burst-{n}") for n in range(30)]
        return all(run and run[0]["status"] == "SUCCEEDED" for run in runs)

    wait_for(all_done)
    invoker_app.engine.stop()
    lines = events()
    assert sorted(line["task_id"] for line in lines) == sorted(f"burst-{n}" for n in range(30))
    pids = {line["pid"] for line in lines}
    assert (os.getpid() not in pids) == ran_elsewhere(invoker_app)


def test_a_worker_process_killed_mid_invocation_fails_that_attempt_only_and_is_replaced(
    process_app: LocalApp, probe_dir: Path
) -> None:
    order("killed", "hang")
    for task_id in ("killed", "other-1", "other-2", "other-3"):
        schedule(process_app, task_id)
    process_app.clock.advance(timedelta(seconds=30))
    process_app.engine.start()
    hang = probe_dir / "hang.pid"
    wait_for(hang.exists)
    victim = int(hang.read_text())
    os.kill(victim, signal.SIGKILL)

    def status(task_id: str) -> str | None:
        runs = process_app.runs(task_id)
        return runs[0]["status"] if runs else None

    wait_for(lambda: status("killed") == "RETRYING")
    (run,) = process_app.runs("killed")
    assert (run["error"], run["attempts"]) == ("Runtime.ExitError", 1)
    others = ("other-1", "other-2", "other-3")
    wait_for(lambda: all(status(task_id) == "SUCCEEDED" for task_id in others))
    wait_for(lambda: len(process_invoker(process_app).pids()) == 3)  # replaced
    assert victim not in process_invoker(process_app).pids()
    process_app.clock.advance(timedelta(seconds=60))  # the retry's backoff
    process_app.engine.wake()
    wait_for(lambda: status("killed") == "SUCCEEDED")
    assert process_app.runs("killed")[0]["attempts"] == 2
    first, second = events("killed")
    assert first["pid"] == victim != second["pid"]


def test_an_invocation_past_its_timeout_is_killed_and_retried(
    process_app: LocalApp, probe_dir: Path
) -> None:
    database = process_app.runtime.database
    assert isinstance(database, Database)
    invoker = ProcessInvoker(HANDLER, 1, timeout_seconds=1)
    engine = LocalEngine(
        database, handler=invoker_probe.handler, clock=process_app.clock, invoker=invoker
    )
    try:
        order("slow", "hang")
        schedule(process_app, "slow")
        process_app.clock.advance(timedelta(seconds=30))
        assert engine.tick() == 1  # returns once the invocation's second is up
        (run,) = process_app.runs("slow")
        assert (run["status"], run["error"]) == ("RETRYING", "Sandbox.Timedout")
        hung = int((probe_dir / "hang.pid").read_text())
        assert gone(hung)
        assert events("slow")[0]["remaining_ms"] <= 1000  # the context says the same
        process_app.clock.advance(timedelta(seconds=60))
        assert engine.tick() == 1
        assert process_app.runs("slow")[0]["status"] == "SUCCEEDED"
    finally:
        engine.stop(grace_seconds=0)


def test_stop_ends_the_worker_processes_within_the_grace_and_releases_what_ran(
    process_app: LocalApp, probe_dir: Path
) -> None:
    order("long", "hang")
    schedule(process_app, "long")
    process_app.clock.advance(timedelta(seconds=30))
    process_app.engine.start()
    wait_for((probe_dir / "hang.pid").exists)
    children = process_invoker(process_app).pids()
    assert len(children) == 3
    process_app.engine.stop(grace_seconds=0.5)
    wait_for(lambda: all(gone(pid) for pid in children), timeout=5)
    assert process_invoker(process_app).pids() == []
    database = process_app.runtime.database
    assert isinstance(database, Database)
    restarted = LocalEngine(database, handler=invoker_probe.handler, clock=process_app.clock)
    assert restarted.tick() == 1  # the released execution runs again at the next start
    (run,) = process_app.runs("long")
    assert (run["status"], run["attempts"]) == ("SUCCEEDED", 2)


def test_the_worker_processes_end_when_the_engine_process_is_sigkilled(
    tmp_path: Path, probe_dir: Path
) -> None:
    pids_file = tmp_path / "pids"
    engine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.backends.local.invoker_engine",
            str(tmp_path / "e.db"),
            str(pids_file),
        ],
        cwd=ROOT,
        env={**os.environ, "INVOKER_PROBE_DIR": str(probe_dir)},
    )
    try:
        wait_for(pids_file.exists)
        wait_for((probe_dir / "hang.pid").exists)  # one of them is mid-invocation
        children = [int(pid) for pid in pids_file.read_text().split()]
        assert len(children) == 2
        assert not any(gone(pid) for pid in children)
        engine.kill()
        engine.wait(timeout=30)
        wait_for(lambda: all(gone(pid) for pid in children), timeout=10)
    finally:
        engine.kill()
        engine.wait(timeout=30)
