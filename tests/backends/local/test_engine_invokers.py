"""LOCAL_INVOKER=thread and =process give the same outcomes (each test of an outcome runs
on both); what only a worker process can do is in test_engine_process_invoker.py."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.backends.local import loop_probe, loops_at_exit
from tests.backends.local.invoker_apps import INVOKERS, app_on, schedule
from tests.backends.local.invoker_apps import probe_dir as probe_dir  # autouse: applies here
from tests.backends.local.invoker_probe import events, order
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import FakeClock, LocalApp, task_body
from tests.support.processes import ROOT


@pytest.fixture(params=INVOKERS)
def invoker_app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[LocalApp]:
    with app_on(request.param, tmp_path, clock) as local:
        yield local


def ran_elsewhere(app: LocalApp) -> bool:
    return app.engine.invoker is not None


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


def test_a_stopped_engine_has_closed_the_event_loops_its_threads_ran_invocations_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Left open, each pool thread's loops were closed by their finalizers, and at a
    process's exit one could print a traceback after the last line of its output
    (a benchmark's figures, once: bench/common.py `last_json`)."""
    loop_probe.LOOPS.clear()
    with app_on("thread", tmp_path, clock, handler=loop_probe.__name__ + ".handler") as app:
        for n in range(6):
            schedule(app, f"looped-{n}")
        clock.advance(timedelta(seconds=90))
        app.engine.start()
        wait_for(
            lambda: (
                all(app.runs(f"looped-{n}") for n in range(6))
                and all(app.runs(f"looped-{n}")[0]["status"] == "SUCCEEDED" for n in range(6))
            )
        )
        app.engine.stop()
        loops = set(loop_probe.LOOPS)
        assert len(loop_probe.LOOPS) == 12
        assert loops
        assert all(loop.is_closed() for loop in loops)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_loop_a_handler_shares_from_elsewhere_is_left_to_its_owner(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The pool closes only loops that are not running: one running on another thread is
    not its to close (closing it raised in the pool thread)."""
    owner = threading.Thread(target=loop_probe.SHARED.run_forever, daemon=True)
    owner.start()
    try:
        handler = loop_probe.__name__ + ".sharing_handler"
        with app_on("thread", tmp_path, clock, handler=handler) as app:
            schedule(app, "shared-0")
            clock.advance(timedelta(seconds=90))
            app.engine.start()
            wait_for(
                lambda: (
                    bool(app.runs("shared-0")) and app.runs("shared-0")[0]["status"] == "SUCCEEDED"
                )
            )
            app.engine.stop()
        assert loop_probe.SHARED.is_running()
        assert not loop_probe.SHARED.is_closed()
    finally:
        loop_probe.SHARED.call_soon_threadsafe(loop_probe.SHARED.stop)
        owner.join(5)
        loop_probe.SHARED.close()


@pytest.mark.parametrize("invoker", INVOKERS)
def test_nothing_is_printed_after_a_stopped_engines_process_says_its_last(
    invoker: str, tmp_path: Path
) -> None:
    """No event loop of the engine's threads is left for a finalizer at exit, to print
    after the process's last line. (A worker process, LOCAL_INVOKER=process, still drops
    one loop unclosed: the one importing the worker sets on its main thread, which the
    invoker's replaces at the first invocation; it warns then, not at exit.)"""
    done = subprocess.run(
        [sys.executable, "-m", "tests.backends.local.loops_at_exit", invoker, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "always::ResourceWarning"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.rstrip().endswith(loops_at_exit.LAST_LINE), done.stderr[-3000:]
    if invoker == "thread":
        assert "unclosed event loop" not in done.stderr, done.stderr[-3000:]
