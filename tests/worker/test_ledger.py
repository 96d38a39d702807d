"""The task ledger: each (task_id, scheduled time) runs once, on both stores."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, app, get_worker
from lambda_worker.config import WorkerConfig
from lambda_worker.ledger.base import Ledger, LedgerStore
from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.backends.local.engine.invoker import invoke
from task_contract import TaskFailedError
from tests.conftest import create_table
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.worker.test_worker import scheduled_event

TIMEOUT = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(store: LedgerStore, clock: Clock) -> Ledger:
    return Ledger(store, in_progress_timeout=TIMEOUT, ttl_seconds=86400, clock=clock)


T1, T2 = "2030-01-01T09:00:00Z", "2030-01-02T09:00:00Z"


def test_first_delivery_runs_and_a_duplicate_replays_the_result(ledger: Ledger) -> None:
    first = ledger.claim("daily", T1, attempt=1, execution_id="e1", schedule_arn="arn:x")
    assert first.outcome == "run"
    ledger.succeed(first.record, {"rows": 3})
    again = ledger.claim("daily", T1, attempt=1, execution_id="e1")
    assert again.outcome == "replay"
    assert again.record.result_data() == {"rows": 3}
    assert again.record.schedule_arn == "arn:x"


def test_a_duplicate_while_running_is_busy(ledger: Ledger) -> None:
    assert ledger.claim("daily", T1, attempt=1, execution_id="e1").outcome == "run"
    assert ledger.claim("daily", T1, attempt=1, execution_id="e1").outcome == "busy"


def test_two_scheduled_times_are_two_executions(ledger: Ledger) -> None:
    for scheduled in (T1, T2):
        claim = ledger.claim("daily", scheduled, attempt=1, execution_id=scheduled)
        assert claim.outcome == "run"
        ledger.succeed(claim.record, None)
    runs = ledger.store.list_for_task("daily", 10)
    assert [r.scheduled_time for r in runs] == [T2, T1]
    assert {r.status for r in runs} == {"SUCCEEDED"}


def test_a_failed_run_is_retried_and_counted(ledger: Ledger) -> None:
    first = ledger.claim("job", T1, attempt=1, execution_id="e1")
    ledger.fail(first.record, "ConnectionError")
    (failed,) = ledger.store.list_for_task("job", 10)
    assert (failed.status, failed.error, failed.status_code) == ("RETRYING", "ConnectionError", 500)
    retry = ledger.claim("job", T1, attempt=1, execution_id="e1")
    assert retry.outcome == "run"
    ledger.succeed(retry.record, None)
    (done,) = ledger.store.list_for_task("job", 10)
    assert (done.status, done.attempts, done.error, done.status_code) == ("SUCCEEDED", 2, None, 200)


def test_a_raise_on_lambdas_last_try_is_dead_lettered(ledger: Ledger) -> None:
    # Lambda's default: the first try and two retries, each a claim of the same execution.
    for expected in ("RETRYING", "RETRYING", "DEAD_LETTERED"):
        claim = ledger.claim("job", T1, attempt=1, execution_id="e1")
        assert claim.outcome == "run"
        ledger.fail(claim.record, "ConnectionError")
        (record,) = ledger.store.list_for_task("job", 10)
        assert record.status == expected
    redrive = ledger.claim("job", T1, attempt=1, execution_id="e1")
    assert redrive.outcome == "run"  # a redrive from the on-failure queue may run it again


def test_a_4xx_is_failed_with_its_status_code(ledger: Ledger) -> None:
    claim = ledger.claim("job", T1, attempt=1, execution_id="e1")
    ledger.refuse(claim.record, 422)
    (record,) = ledger.store.list_for_task("job", 10)
    assert (record.status, record.status_code, record.error) == (
        "FAILED",
        422,
        "callback answered 422",
    )


def test_a_crashed_holder_is_taken_over_after_the_timeout(ledger: Ledger, clock: Clock) -> None:
    crashed = ledger.claim("job", T1, attempt=1, execution_id="e1")
    clock.now += TIMEOUT - 1
    assert ledger.claim("job", T1, attempt=1, execution_id="e1").outcome == "busy"
    clock.now += 2
    takeover = ledger.claim("job", T1, attempt=1, execution_id="e1")
    assert takeover.outcome == "run"
    ledger.succeed(crashed.record, {"late": True})  # the dead holder's write is refused
    ledger.succeed(takeover.record, {"late": False})
    (record,) = ledger.store.list_for_task("job", 10)
    assert record.result_data() == {"late": False}


def test_a_later_attempt_supersedes_an_abandoned_one(ledger: Ledger) -> None:
    assert ledger.claim("job", T1, attempt=1, execution_id="e1").outcome == "run"
    assert ledger.claim("job", T1, attempt=2, execution_id="e1").outcome == "run"
    assert ledger.claim("job", T1, attempt=2, execution_id="e1").outcome == "busy"


def test_a_later_attempt_while_the_holder_lives_waits_on_sqlite(
    tmp_path: Path, clock: Clock
) -> None:
    """Another process (here: another store, with its own lock) runs attempt 1: attempt 2
    waits instead of running beside it, until the holder is gone (issue 18)."""
    path = tmp_path / "ledger.db"
    holder = Ledger(
        SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock
    )
    ours = Ledger(SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock)
    running = holder.claim("job", T1, attempt=1, execution_id="e1")
    assert running.outcome == "run"
    waiting = ours.claim("job", T1, attempt=2, execution_id="e1")
    assert (waiting.outcome, waiting.record.attempt) == ("wait", 1)
    assert ours.claim("job", T1, attempt=1, execution_id="e1").outcome == "busy"  # a duplicate
    clock.now += TIMEOUT + 1
    assert ours.claim("job", T1, attempt=2, execution_id="e1").outcome == "run"  # timed out


def test_a_later_attempt_takes_over_at_once_when_the_holder_died_on_sqlite(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "ledger.db"
    store = SQLiteLedgerStore(path)
    dying = Ledger(store, in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock)
    ours = Ledger(SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock)
    crashed = dying.claim("job", T1, attempt=1, execution_id="e1")
    assert ours.claim("job", T1, attempt=2, execution_id="e1").outcome == "wait"
    fcntl.flock(store.lock.fd, fcntl.LOCK_UN)  # what the kernel does when it dies
    takeover = ours.claim("job", T1, attempt=2, execution_id="e1")
    assert takeover.outcome == "run"
    dying.succeed(crashed.record, {"late": True})  # refused: no longer its record
    ours.succeed(takeover.record, {"late": False})
    (record,) = ours.store.list_for_task("job", 10)
    assert (record.attempt, record.result_data()) == (2, {"late": False})


@pytest.mark.parametrize("holder", [None, "another-host:1:abcd"])
def test_a_holder_this_host_cannot_check_keeps_the_attempt_rule_on_sqlite(
    tmp_path: Path, clock: Clock, holder: str | None
) -> None:
    """A record from before holders, or another host's (its flock is not ours to see)."""
    path = tmp_path / "ledger.db"
    ledger = Ledger(
        SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock
    )
    other = Ledger(
        SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60, clock=clock
    )
    assert other.claim("job", T1, attempt=1, execution_id="e1").outcome == "run"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ledger SET holder = ?", (holder,))
    assert ledger.claim("job", T1, attempt=2, execution_id="e1").outcome == "run"


HOLDER_SCRIPT = """
import sys, time
from pathlib import Path
from lambda_worker.ledger.base import Ledger
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
ledger = Ledger(SQLiteLedgerStore(Path(sys.argv[1])), in_progress_timeout=900, ttl_seconds=60)
print(ledger.claim("job", sys.argv[2], attempt=1, execution_id="e1").outcome, flush=True)
time.sleep(600)  # an action that runs long, until the test kills it
"""


def test_a_later_attempt_waits_for_a_live_process_and_takes_over_from_a_killed_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(path), T1], stdout=subprocess.PIPE, env=env
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"run"
        ours = Ledger(SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60)
        assert ours.claim("job", T1, attempt=2, execution_id="e1").outcome == "wait"
        os.kill(holder.pid, signal.SIGSTOP)  # stopped, not dead: still waits
        assert ours.claim("job", T1, attempt=2, execution_id="e1").outcome == "wait"
        holder.kill()
        holder.wait()
        assert ours.claim("job", T1, attempt=2, execution_id="e1").outcome == "run"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_later_attempt_takes_over_at_once_on_dynamodb(clock: Clock) -> None:
    """Lambda retries only after the earlier attempt ended (fact 20): no holder to check."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        first = Ledger(
            DynamoDBLedgerStore("ledger", client),
            in_progress_timeout=TIMEOUT,
            ttl_seconds=60,
            clock=clock,
        )
        second = Ledger(
            DynamoDBLedgerStore("ledger", client),
            in_progress_timeout=TIMEOUT,
            ttl_seconds=60,
            clock=clock,
        )
        assert first.claim("job", T1, attempt=1, execution_id="e1").outcome == "run"
        assert second.claim("job", T1, attempt=2, execution_id="e1").outcome == "run"


def test_a_delivery_that_must_wait_is_a_503_the_engine_retries(
    tmp_path: Path, counted_action: list[str]
) -> None:
    """Through the real lambda_handler: a 5xx, so the engine retries it after its backoff,
    unlike the 409 of a duplicate, which is never retried."""
    from lambda_worker.handler import lambda_handler

    path = tmp_path / "ledger.db"
    holder = Ledger(SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60)
    ours = Ledger(SQLiteLedgerStore(path), in_progress_timeout=TIMEOUT, ttl_seconds=60)
    assert (
        holder.claim("once", "2030-01-01T09:00:00Z", attempt=1, execution_id="e").outcome == "run"
    )
    app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), ours)
    try:
        event = scheduled_event({"task_id": "once", "user_id": 1, "action": "counted"}, attempt=2)
        with pytest.raises(TaskFailedError) as raised:
            lambda_handler(event, LAMBDA_CONTEXT)
    finally:
        app.dependency_overrides.clear()
    assert (raised.value.status_code, raised.value.error_type) == (503, "EarlierAttemptRunning")
    assert counted_action == []


@pytest.fixture
def counted_action() -> Iterator[list[str]]:
    calls: list[str] = []
    lock = threading.Lock()

    @action("counted")
    def counted(task: TaskCallbackRequest) -> dict[str, Any]:
        with lock:
            calls.append(task.task_id)
        return {"count": len(calls)}

    yield calls
    action_registry._actions.pop("counted", None)


def test_twenty_simultaneous_deliveries_run_the_action_once(
    tmp_path: Path, counted_action: list[str]
) -> None:
    """Through the real lambda_handler, one thread per delivery, SQLite ledger."""
    ledger = Ledger(
        SQLiteLedgerStore(tmp_path / "l.db"), in_progress_timeout=TIMEOUT, ttl_seconds=60
    )
    app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), ledger)
    try:
        event = scheduled_event({"task_id": "once", "user_id": 1, "action": "counted"})
        from lambda_worker.handler import lambda_handler

        barrier = threading.Barrier(20)

        def deliver(_: int) -> int | None:
            barrier.wait()
            outcome = invoke(
                lambda e, c: lambda_handler(e, c),
                json.dumps(event),
                schedule_arn="arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/once",
                scheduled_time="2030-01-01T09:00:00Z",
                execution_id="exec-0001",
                attempt=1,
                function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
            )
            return outcome.status_code

        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(deliver, range(20)))
    finally:
        app.dependency_overrides.clear()
    assert counted_action == ["once"]
    assert set(codes) <= {200, 409}
    assert codes.count(200) >= 1


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(
        SQLiteLedgerStore(tmp_path / "l.db"), in_progress_timeout=TIMEOUT, ttl_seconds=60
    )
    app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), ledger)
    yield ledger
    app.dependency_overrides.clear()


def deliver(body: dict[str, Any], scheduled_time: str | None) -> dict[str, Any]:
    from lambda_worker.handler import lambda_handler

    event = scheduled_event(body)
    if scheduled_time is None:  # not sent by EventBridge: the placeholder stays
        event["headers"]["X-Scheduler-Scheduled-Time"] = "<aws.scheduler.scheduled-time>"
        event["multiValueHeaders"].pop("X-Scheduler-Scheduled-Time", None)
    else:
        event["headers"]["X-Scheduler-Scheduled-Time"] = scheduled_time
        event["multiValueHeaders"]["X-Scheduler-Scheduled-Time"] = [scheduled_time]
    response: dict[str, Any] = lambda_handler(event, LAMBDA_CONTEXT)
    return response


def test_a_redelivered_execution_replays_without_running(
    sqlite_ledger: Ledger, counted_action: list[str]
) -> None:
    body = {"task_id": "pay-1", "user_id": 1, "action": "counted"}
    first = deliver(body, T1)
    second = deliver(body, T1)
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert json.loads(second["body"])["result"] == json.loads(first["body"])["result"]
    assert json.loads(second["body"])["message"] == "Task pay-1 already processed"
    assert counted_action == ["pay-1"]


def test_each_run_of_a_cron_is_its_own_execution(
    sqlite_ledger: Ledger, counted_action: list[str]
) -> None:
    body = {"task_id": "nightly", "user_id": 1, "action": "counted"}
    for scheduled in (T1, T2, T1):
        assert deliver(body, scheduled)["statusCode"] == 200
    assert counted_action == ["nightly", "nightly"]


def test_a_one_time_task_without_a_scheduled_time_uses_its_run_at(
    sqlite_ledger: Ledger, counted_action: list[str]
) -> None:
    body = {"task_id": "once-only", "user_id": 1, "action": "counted"}
    event_run_at = "2030-01-01T00:31:00Z"
    for _ in range(2):
        from lambda_worker.handler import lambda_handler

        event = scheduled_event(body)
        event["headers"]["X-Scheduler-Scheduled-Time"] = "<aws.scheduler.scheduled-time>"
        event["multiValueHeaders"].pop("X-Scheduler-Scheduled-Time")
        event["headers"]["X-Task-Run-At"] = event_run_at
        assert lambda_handler(event, LAMBDA_CONTEXT)["statusCode"] == 200
    assert counted_action == ["once-only"]
    (record,) = sqlite_ledger.store.list_for_task("once-only", 5)
    assert record.scheduled_time == event_run_at


def test_a_failing_action_is_recorded_and_retried(
    sqlite_ledger: Ledger, counted_action: list[str]
) -> None:
    calls: list[int] = []

    @action("fails_once")
    def fails_once(task: TaskCallbackRequest) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("upstream timed out")

    try:
        body = {"task_id": "flaky", "user_id": 1, "action": "fails_once"}
        with pytest.raises(TaskFailedError) as raised:
            deliver(body, T1)
        assert raised.value.error_type == "TimeoutError"  # the action's, for the engine
        (failed,) = sqlite_ledger.store.list_for_task("flaky", 5)
        assert (failed.status, failed.error, failed.status_code) == (
            "RETRYING",
            "TimeoutError",
            500,
        )
        assert deliver(body, T1)["statusCode"] == 200
        assert deliver(body, T1)["statusCode"] == 200
    finally:
        action_registry._actions.pop("fails_once", None)
    assert len(calls) == 2
