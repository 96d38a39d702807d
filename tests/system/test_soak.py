"""Soak: 5,000 tasks in local mode while the server is SIGKILLed and restarted three times.
At the end every task has exactly one successful execution in the ledger."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import task_body
from tests.support.processes import scheduler_api_process

COUNT = int(os.environ.get("SOAK_TASKS", "5000"))
KILL_AT_SUCCEEDED = (COUNT * 3 // 10, COUNT * 6 // 10)  # kills 2 and 3, while firing
LEAD_SECONDS = 20 + COUNT // 125  # time to schedule them all, through a restart
TIMEOUT = 240.0

pytestmark = pytest.mark.slow


def succeeded(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    with sqlite3.connect(ledger, timeout=30) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM ledger WHERE status = 'SUCCEEDED'").fetchone()
        except sqlite3.OperationalError:  # not created yet
            return 0
    return int(row[0])


def wait_for(condition: object, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # polling another process's progress


class Server:
    """The scheduler API process, restartable; SIGKILL, never a clean stop."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.stack = ExitStack()
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.url, self.process = self.stack.enter_context(scheduler_api_process(self.env, self.cwd))

    def kill_and_restart(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1
        self.stack.close()
        self.stack = ExitStack()
        self.start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(tmp_path / "scheduler.db"),
        "LEDGER_DB_PATH": str(tmp_path / "ledger.db"),
        "LOCAL_LAMBDA_HANDLER": "tests.support.probe_handler.file_handler",
        "PROBE_LOG": str(tmp_path / "probe.log"),
        "PROBE_ACTION_LOG": str(tmp_path / "actions.log"),
        "LOCAL_CONCURRENCY": "8",
    }
    running = Server(env, tmp_path)
    running.start()
    yield running
    running.stack.close()


def schedule_all(server: Server, task_ids: list[str], run_at: str) -> list[int]:
    clients = [httpx.Client(timeout=10) for _ in range(8)]

    def post(numbered: tuple[int, str]) -> int:
        number, task_id = numbered
        for _ in range(50):  # a client retrying through a restart: POST is idempotent
            try:
                body = {**task_body(task_id, run_at=run_at), "action": "probe_run"}
                response = clients[number % 8].post(f"{server.url}/scheduler/schedule", json=body)
                return response.status_code
            except httpx.TransportError:
                time.sleep(0.2)
        return 0

    try:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(post, enumerate(task_ids)))
    finally:
        for client in clients:
            client.close()


def test_five_thousand_tasks_through_three_sigkills(server: Server, tmp_path: Path) -> None:
    task_ids = [f"soak-{n}" for n in range(COUNT)]
    due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
    run_at = due.replace(microsecond=0).isoformat()
    half = COUNT // 2
    assert set(schedule_all(server, task_ids[:half], run_at)) == {200}
    server.kill_and_restart()  # kill 1: between two batches of POSTs
    assert set(schedule_all(server, task_ids, run_at)) == {200}  # the first half again: 200
    assert datetime.now(UTC) < due, "scheduling took longer than LEAD_SECONDS"
    ledger = tmp_path / "ledger.db"
    for threshold in KILL_AT_SUCCEEDED:  # kills 2 and 3: while tasks are firing
        wait_for(lambda threshold=threshold: succeeded(ledger) >= threshold, f"{threshold} runs")
        server.kill_and_restart()
    wait_for(lambda: succeeded(ledger) >= COUNT, "every task")

    with sqlite3.connect(ledger) as conn:
        rows = conn.execute("SELECT task_id, status FROM ledger").fetchall()
    with sqlite3.connect(tmp_path / "scheduler.db") as conn:
        executions = conn.execute("SELECT task_id, status FROM executions").fetchall()
    # Counted from the action's side: each time the action really ran. Each task is
    # one-time, so its task_id is its ledger key (task_id, scheduled time).
    action_log = (tmp_path / "actions.log").read_text().splitlines()
    ran = Counter(json.loads(line)["task_id"] for line in action_log)
    per_task = Counter(task for task, _ in rows)
    ran_tasks = set(ran)
    assert server.kills == 3
    assert ran_tasks == set(task_ids)  # none lost: every task's action ran
    assert set(per_task) == set(task_ids)
    assert set(per_task.values()) == {1}  # one ledger record each
    assert {status for _, status in rows} == {"SUCCEEDED"}
    assert Counter(task for task, status in executions if status == "SUCCEEDED") == per_task
    duplicates = sum(count - 1 for count in ran.values())
    ledger_duplicates = sum(per_task.values()) - len(per_task)
    print(
        f"soak: scheduled {COUNT}, actions ran for {len(ran_tasks)}, lost"
        f" {COUNT - len(ran_tasks)}, ledger duplicates {ledger_duplicates}, action re-runs"
        f" after a kill {duplicates}, kills {server.kills}"
    )
    # An action can run again only if a kill fell between it and its ledger write.
    assert duplicates <= 2 * 8
