"""What only a LOCAL_INVOKER=process worker can do (die, outlive its timeout, outlive its
engine), tested on real processes, SIGKILLed; the outcomes both invokers give are in
test_engine_invokers.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.engine.process_invoker import ProcessInvoker
from scheduler_api.backends.local.store.database import Database
from tests.backends.local import invoker_probe
from tests.backends.local.invoker_apps import HANDLER, app_on, schedule
from tests.backends.local.invoker_apps import probe_dir as probe_dir  # autouse: applies here
from tests.backends.local.invoker_probe import events, order
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import FakeClock, LocalApp
from tests.support.processes import ROOT


@pytest.fixture
def process_app(tmp_path: Path, clock: FakeClock) -> Iterator[LocalApp]:
    with app_on("process", tmp_path, clock) as local:
        yield local


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
