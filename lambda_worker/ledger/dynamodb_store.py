"""The ledger in DynamoDB (AWS mode): conditional writes decide who runs an execution.

Table: partition key task_id (S), sort key scheduled_time (S), TTL attribute expires_at.
`make deploy-lambda` creates it; boto3 is imported only when this store is first used.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from task_contract import LedgerRecord, RunStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# As in the SQLite store: free, finished without success, or held by a dead holder or an
# earlier attempt. IN_PROGRESS is RUNNING as an older version wrote it.
_CLAIM_CONDITION = (
    "attribute_not_exists(task_id) OR #status IN (:failed, :retrying, :dead_lettered)"
    " OR (#status IN (:running, :in_progress) AND (started_at < :stale OR attempt < :attempt))"
)


def _serialize(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serialized: Any = TypeSerializer().serialize(value)
    return dict(serialized)


def _record(item: dict[str, Any]) -> LedgerRecord:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return LedgerRecord.from_values(
        {key: deserializer.deserialize(value) for key, value in item.items()}
    )


# The task's run lock (overlap=skip) is an item of the same table under this sort key:
# "#" sorts before every scheduled time, so a newest-first query reaches it last.
LOCK_KEY = "#running"


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value)}


class DynamoDBLedgerStore:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _key(self, task_id: str, scheduled_time: str) -> dict[str, Any]:
        return {"task_id": {"S": task_id}, "scheduled_time": {"S": scheduled_time}}

    def try_claim(self, record: LedgerRecord, stale_before: float) -> tuple[bool, LedgerRecord]:
        values: dict[str, Any] = {
            ":running": {"S": RunStatus.RUNNING},
            ":in_progress": {"S": "IN_PROGRESS"},
            ":failed": {"S": RunStatus.FAILED},
            ":retrying": {"S": RunStatus.RETRYING},
            ":dead_lettered": {"S": RunStatus.DEAD_LETTERED},
            ":token": {"S": record.token},
            ":attempt": _number(record.attempt),
            ":now": _number(record.started_at),
            ":expires": _number(record.expires_at),
            ":execution": _serialize(record.execution_id),
            ":schedule": _serialize(record.schedule_arn),
            ":one": {"N": "1"},
            ":stale": _number(stale_before),
        }
        try:
            written = self.client.update_item(
                TableName=self.table,
                Key=self._key(record.task_id, record.scheduled_time),
                UpdateExpression=(
                    "SET #status = :running, #token = :token, attempt = :attempt,"
                    " started_at = :now, expires_at = :expires, execution_id = :execution,"
                    " schedule_arn = :schedule"
                    " REMOVE finished_at, #error, status_code, #result ADD attempts :one"
                ),
                ConditionExpression=_CLAIM_CONDITION,
                ExpressionAttributeNames={
                    "#status": "status",
                    "#token": "token",
                    "#error": "error",
                    "#result": "result",
                },
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            item = self.client.get_item(
                TableName=self.table,
                Key=self._key(record.task_id, record.scheduled_time),
                ConsistentRead=True,
            )["Item"]
            return False, _record(dict(item))
        return True, _record(dict(written["Attributes"]))

    def finish(self, record: LedgerRecord) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(record.task_id, record.scheduled_time),
                UpdateExpression=(
                    "SET #status = :status, finished_at = :finished, #result = :result,"
                    " #error = :error, status_code = :status_code"
                ),
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#token": "token",
                    "#result": "result",
                    "#error": "error",
                },
                ExpressionAttributeValues={
                    ":status": {"S": record.status},
                    ":finished": (
                        {"NULL": True}
                        if record.finished_at is None
                        else _number(record.finished_at)
                    ),
                    ":result": _serialize(record.result),
                    ":error": _serialize(record.error),
                    ":status_code": _serialize(record.status_code),
                    ":token": {"S": record.token},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def list_for_task(self, task_id: str, limit: int) -> list[LedgerRecord]:
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="task_id = :task",
            ExpressionAttributeValues={":task": {"S": task_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        items = response.get("Items", [])
        return [_record(dict(item)) for item in items if item["scheduled_time"]["S"] != LOCK_KEY]

    def try_lock_task(self, task_id: str, token: str, now: float, stale_before: float) -> bool:
        # UpdateItem, not PutItem: the execution role already has it (least privilege).
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(task_id, LOCK_KEY),
                UpdateExpression="SET #token = :token, started_at = :now, expires_at = :expires",
                ConditionExpression="attribute_not_exists(task_id) OR started_at < :stale",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":now": _number(now),
                    ":expires": _number(int(now) + 86400),
                    ":stale": _number(stale_before),
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def unlock_task(self, task_id: str, token: str) -> None:
        # Refused when taken over after it went stale: no longer ours to free.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(task_id, LOCK_KEY),
                UpdateExpression="SET started_at = :free",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":free": {"N": "0"}, ":token": {"S": token}},
            )
