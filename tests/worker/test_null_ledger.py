"""The null ledger: a delivery with nowhere to be recorded runs as with no ledger at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lambda_worker.actions import action
from lambda_worker.actions import registry as action_registry
from lambda_worker.app import Worker, app, get_worker, ledger_for
from lambda_worker.config import WorkerConfig
from lambda_worker.delivery import SchedulerContext
from lambda_worker.handler import lambda_handler
from lambda_worker.ledger.base import Ledger, RunLedger
from lambda_worker.ledger.null import NULL_LEDGER
from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore
from lambda_worker.schemas import TaskCallbackRequest
from task_contract import RunStatus
from tests.support.lambda_context import LAMBDA_CONTEXT
from tests.worker.test_worker import scheduled_event

DUE = datetime(2030, 1, 1, 9, tzinfo=UTC)
TIMED = SchedulerContext(None, "2030-01-01T09:00:00Z", None, None, None, due=DUE)
UNTIMED = SchedulerContext(None, None, None, None, None)


def test_every_claim_runs_under_the_deliverys_own_fields() -> None:
    ledger: RunLedger = NULL_LEDGER  # mypy checks it against the protocol
    claims = [
        ledger.claim("t-1", "2030-01-01T09:00:00Z", attempt=2, execution_id="e", schedule_arn="a")
        for _ in range(2)
    ]
    for claim in claims:
        record = claim.record
        assert claim.outcome == "run"
        assert (record.task_id, record.scheduled_time, record.attempt) == (
            "t-1",
            "2030-01-01T09:00:00Z",
            2,
        )
        assert (record.execution_id, record.schedule_arn, record.status) == (
            "e",
            "a",
            RunStatus.RUNNING,
        )


def test_finishing_a_run_records_nothing() -> None:
    record = NULL_LEDGER.claim("t-1", "k", attempt=1, execution_id=None).record
    NULL_LEDGER.succeed(record, {"done": True})
    NULL_LEDGER.skip(record, "late")
    NULL_LEDGER.refuse(record, 422)
    NULL_LEDGER.fail(record, "TimeoutError")
    again = NULL_LEDGER.claim("t-1", "k", attempt=1, execution_id=None)
    assert again.outcome == "run"  # no replay: nothing was kept
    assert again.record.status == RunStatus.RUNNING


def test_a_worker_without_a_ledger_records_in_the_null_ledger() -> None:
    worker = Worker(WorkerConfig(), None)
    assert ledger_for(worker, TIMED) is NULL_LEDGER
    assert ledger_for(worker, UNTIMED) is NULL_LEDGER


def test_a_delivery_without_a_time_is_kept_out_of_the_workers_ledger(tmp_path: Path) -> None:
    ledger = Ledger(SQLiteLedgerStore(tmp_path / "l.db"), in_progress_timeout=900, ttl_seconds=60)
    worker = Worker(WorkerConfig(), ledger)
    assert ledger_for(worker, TIMED) is ledger
    assert ledger_for(worker, UNTIMED) is NULL_LEDGER


@pytest.fixture
def counted() -> Iterator[list[str]]:
    calls: list[str] = []

    @action("counted_null")
    def counted_null(task: TaskCallbackRequest) -> dict[str, int]:
        calls.append(task.task_id)
        return {"count": len(calls)}

    app.dependency_overrides[get_worker] = lambda: Worker(WorkerConfig(), None)
    yield calls
    app.dependency_overrides.clear()
    action_registry._actions.pop("counted_null", None)


def test_without_a_ledger_a_redelivery_runs_again(counted: list[str]) -> None:
    event = scheduled_event({"task_id": "again", "user_id": 1, "action": "counted_null"})
    answers = [
        json.loads(lambda_handler(json.loads(json.dumps(event)), LAMBDA_CONTEXT)["body"])
        for _ in "ab"
    ]
    assert [answer["message"] for answer in answers] == ["Task again processed successfully"] * 2
    assert [answer["result"] for answer in answers] == [{"count": 1}, {"count": 2}]
    assert counted == ["again", "again"]
