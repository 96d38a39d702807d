"""Per-schedule policies the worker enforces: max_lateness_seconds and overlap="skip",
through the real Lambda handler, on both ledger stores, the local engine and AWS."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from fastapi.testclient import TestClient

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, get_worker
from lambda_worker.app import app as worker_app
from lambda_worker.config import WorkerConfig
from lambda_worker.handler import lambda_handler
from lambda_worker.ledger.base import Ledger, LedgerStore
from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from scheduler_api.main import create_app
from task_contract import SKIPPED_HEADER
from tests.conftest import (
    AUTH,
    FakeClock,
    LocalApp,
    counting_action,
    create_table,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.worker.test_contract import fire
from tests.worker.test_worker import scheduled_event

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

SCHEDULED = datetime(2030, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def counted() -> Iterator[list[str]]:
    with counting_action("counted") as calls:
        yield calls


def worker_with(store: LedgerStore, now: datetime) -> Ledger:
    ledger = Ledger(store, in_progress_timeout=900, ttl_seconds=60, clock=now.timestamp)
    worker_app.dependency_overrides[get_worker] = lambda: Worker(
        WorkerConfig(), ledger, clock=now.timestamp
    )
    return ledger


@pytest.fixture(autouse=True)
def _no_overrides_left() -> Iterator[None]:
    yield
    worker_app.dependency_overrides.clear()


def deliver(body: dict[str, Any], scheduled: datetime = SCHEDULED) -> dict[str, Any]:
    event = scheduled_event(body)
    stamp = scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["headers"]["X-Scheduler-Scheduled-Time"] = stamp
    event["multiValueHeaders"]["X-Scheduler-Scheduled-Time"] = [stamp]
    response: dict[str, Any] = lambda_handler(event, LAMBDA_CONTEXT)
    return response


def _own_event_loop() -> None:
    """Mangum runs the app on the thread's event loop, as each Lambda container has one."""
    asyncio.set_event_loop(asyncio.new_event_loop())


def body(task_id: str = "job", **policy: Any) -> dict[str, Any]:
    return {"task_id": task_id, "user_id": 1, "action": "counted", **policy}


def test_a_delivery_later_than_max_lateness_is_skipped_and_recorded(
    store: LedgerStore, counted: list[str]
) -> None:
    ledger = worker_with(store, SCHEDULED + timedelta(seconds=61))
    response = deliver(body(max_lateness_seconds=60))
    assert response["statusCode"] == 200  # nothing for Lambda to retry
    assert response["headers"][SKIPPED_HEADER.lower()].startswith("late: 61 s")
    assert counted == []
    (record,) = ledger.store.list_for_task("job", 5)
    assert record.status == "SKIPPED"
    assert str(record.error).startswith("late")
    assert deliver(body(max_lateness_seconds=60))["statusCode"] == 200  # a duplicate replays
    assert counted == []


def test_a_delivery_within_max_lateness_runs(store: LedgerStore, counted: list[str]) -> None:
    worker_with(store, SCHEDULED + timedelta(seconds=60))
    assert SKIPPED_HEADER.lower() not in deliver(body(max_lateness_seconds=60))["headers"]
    assert counted == ["job"]


def test_overlap_skip_runs_one_of_two_concurrent_fires_and_records_the_other(
    store: LedgerStore,
) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    @action("slow")
    def slow(task: TaskCallbackRequest) -> None:
        calls.append(task.task_id)
        started.set()
        assert release.wait(10)

    ledger = worker_with(store, SCHEDULED)
    slow_body = {**body(overlap="skip"), "action": "slow"}
    try:
        with ThreadPoolExecutor(1, initializer=_own_event_loop) as pool:
            first = pool.submit(deliver, slow_body, SCHEDULED)
            assert started.wait(10)
            second = deliver(slow_body, SCHEDULED + timedelta(minutes=1))  # the next fire
            release.set()
            assert first.result()["statusCode"] == 200
        third = deliver(slow_body, SCHEDULED + timedelta(minutes=2))  # the lock was freed
    finally:
        action_registry._actions.pop("slow", None)
    assert second["headers"][SKIPPED_HEADER.lower()].startswith("overlap")
    assert SKIPPED_HEADER.lower() not in third["headers"]
    assert calls == ["job", "job"]
    statuses = {r.scheduled_time: r.status for r in ledger.store.list_for_task("job", 10)}
    assert statuses == {
        "2030-01-01T09:00:00Z": "SUCCEEDED",
        "2030-01-01T09:01:00Z": "SKIPPED",
        "2030-01-01T09:02:00Z": "SUCCEEDED",
    }


def test_overlap_allow_runs_concurrent_fires(store: LedgerStore, counted: list[str]) -> None:
    worker_with(store, SCHEDULED)
    deliver(body(), SCHEDULED)
    deliver(body(), SCHEDULED + timedelta(minutes=1))
    assert counted == ["job", "job"]


def test_overlap_skip_needs_the_ledger_in_local_mode(tmp_path: Path, clock: FakeClock) -> None:
    app = create_app(make_local_settings(tmp_path / "s.db"), clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        response = client.post(
            "/scheduler/schedule", json=task_body(overlap="skip", cron="0 * * * ? *")
        )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "overlap"]
    assert "LEDGER_DB_PATH" in response.json()["detail"][0]["msg"]


def test_the_local_engine_records_late_fires_as_skipped(
    local_app: LocalApp, tmp_path: Path, counted: list[str]
) -> None:
    """After five hours down, only the fire within max_lateness_seconds runs."""
    ledger_store = SQLiteLedgerStore(tmp_path / "ledger.db")
    ledger = Ledger(ledger_store, in_progress_timeout=900, ttl_seconds=60)
    worker_app.dependency_overrides[get_worker] = lambda: Worker(
        WorkerConfig(), ledger, clock=lambda: local_app.clock().timestamp()
    )
    request = {
        **task_body("tens", cron="0/10 * * * ? *", max_lateness_seconds=60),
        "action": "counted",
    }
    assert local_app.client.post("/scheduler/schedule", json=request).status_code == 200
    local_app.clock.advance(timedelta(hours=5))  # 05:00:30: the 05:00 fire is 30 s late
    local_app.engine.tick()
    runs = local_app.runs("tens")
    by_time = {run["scheduled_time"]: run for run in runs}
    assert by_time["2030-01-01T05:00:00Z"]["status"] == "SUCCEEDED"
    skipped = [run for run in runs if run["status"] == "SKIPPED"]
    assert len(skipped) == len(runs) - 1 >= 5
    assert all(run["error"].startswith("late") for run in skipped)
    assert counted == ["tens"]


def test_a_late_fire_on_aws_is_skipped_and_the_runs_route_says_why(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock, counted: list[str]
) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(dynamodb, "task-ledger")
    worker_with(DynamoDBLedgerStore("task-ledger", dynamodb), datetime(2030, 1, 1, 1, tzinfo=UTC))
    app = create_app(
        make_settings(ledger_table="task-ledger"), scheduler_client=scheduler_client, clock=clock
    )
    with TestClient(app, headers=AUTH) as client:
        request = {
            **task_body("late", delay_minutes=2, max_lateness_seconds=120),
            "action": "counted",
        }
        assert client.post("/scheduler/schedule", json=request).status_code == 200
        fire(scheduler_client, "late")  # scheduled 00:32, delivered at 01:00
        (run,) = client.get("/scheduler/tasks/late/runs").json()["runs"]
    assert run["status"] == "SKIPPED"
    assert run["error"].startswith("late: 1680 s")
    assert counted == []
    assert json.dumps(run)  # the schema takes SKIPPED
