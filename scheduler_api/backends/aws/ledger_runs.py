"""Runs as the worker's ledger recorded them (the runs endpoint in AWS mode): a read of
the ledger's DynamoDB table, whose record is task_contract.LedgerRecord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boto3.dynamodb.types import TypeDeserializer

from scheduler_api.backends.aws.client_errors import aws_errors
from scheduler_api.domain.clock import from_epoch
from scheduler_api.domain.runs import Run
from task_contract import MANUAL_KEY_MARK, LedgerRecord, parse_scheduled_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class LedgerRunHistory:
    def __init__(self, table: str, client: DynamoDBClient) -> None:
        self.table = table
        self.client = client
        self._deserializer = TypeDeserializer()

    def runs(self, task_id: str, limit: int = 50) -> list[Run]:
        # A missing table is a deployment error (502), not a missing schedule.
        with aws_errors("DynamoDB", "Query", missing_is_not_found=False):
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="task_id = :task",
                ExpressionAttributeValues={":task": {"S": task_id}},
                ScanIndexForward=False,  # newest scheduled time first
                Limit=limit,
            )
        items = response.get("Items", [])
        # "#running" is the task's overlap lock, kept in the same table: not a run.
        runs = [item for item in items if not item["scheduled_time"].get("S", "").startswith("#")]
        found = (_run(self._record(dict(item))) for item in runs)
        return [run for run in found if run is not None]

    def _record(self, item: dict[str, object]) -> LedgerRecord:
        values = {key: self._deserializer.deserialize(value) for key, value in item.items()}  # type: ignore[arg-type]
        return LedgerRecord.from_values(values)


def _run(record: LedgerRecord) -> Run | None:
    """None for a key that holds no time: an older worker keyed the ledger by the raw
    header, which could be anything ("garbage", "now": issue 18)."""
    # The worker keys a run-now "<time>#manual-<its id>", apart from the fire of that time.
    time, manual, _ = record.scheduled_time.partition(MANUAL_KEY_MARK)
    scheduled = parse_scheduled_time(time)
    if scheduled is None:
        return None
    return Run(
        execution_id=record.execution_id or f"{record.task_id}@{record.scheduled_time}",
        schedule_arn=record.schedule_arn or "",
        scheduled_time=scheduled,
        trigger="manual" if manual else "schedule",
        status=record.status,
        attempts=record.attempts,
        started_at=from_epoch(record.started_at),
        finished_at=None if record.finished_at is None else from_epoch(record.finished_at),
        status_code=record.status_code,
        error=record.error,
        # The ledger keeps the last attempt's start only: its time is the one known.
        duration_seconds=None
        if record.finished_at is None
        else max(0.0, record.finished_at - record.started_at),
    )
