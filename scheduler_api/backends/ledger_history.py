"""Runs as the worker's ledger recorded them: the runs endpoint in AWS mode."""

from __future__ import annotations

from datetime import datetime

from lambda_worker.ledger.base import LedgerRecord, LedgerStore
from scheduler_api.backends.local.history import Run
from scheduler_api.backends.local.timing import from_epoch

_STATUS = {"IN_PROGRESS": "RUNNING", "SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED"}
_STATUS_CODE = {"SUCCEEDED": 200, "FAILED": 500}


class LedgerRunHistory:
    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    def runs(self, task_id: str, limit: int = 50) -> list[Run]:
        return [_run(record) for record in self.store.list_for_task(task_id, limit)]


def _run(record: LedgerRecord) -> Run:
    return Run(
        execution_id=record.execution_id or f"{record.task_id}@{record.scheduled_time}",
        schedule_arn=record.schedule_arn or "",
        scheduled_time=datetime.fromisoformat(record.scheduled_time.replace("Z", "+00:00")),
        status=_STATUS.get(record.status, record.status),
        attempts=record.attempts,
        started_at=from_epoch(record.started_at),
        finished_at=None if record.finished_at is None else from_epoch(record.finished_at),
        status_code=_STATUS_CODE.get(record.status),
        error=record.error,
    )
