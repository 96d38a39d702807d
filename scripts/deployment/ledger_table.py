"""The task ledger's DynamoDB table: on-demand, keyed (task_id, scheduled_time), with TTL."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from scripts.deployment.deployer import Deployer, _missing

TTL_ATTRIBUTE = "expires_at"
# The key the worker's DynamoDBLedgerStore reads and writes.
KEY_SCHEMA: list[Any] = [
    {"AttributeName": "task_id", "KeyType": "HASH"},
    {"AttributeName": "scheduled_time", "KeyType": "RANGE"},
]
ATTRIBUTES: list[Any] = [
    {"AttributeName": "task_id", "AttributeType": "S"},
    {"AttributeName": "scheduled_time", "AttributeType": "S"},
]
TABLE_WAIT_TRIES = 60


def ensure_table(deployer: Deployer, name: str, kind: str, **layout: Any) -> tuple[str, bool]:
    """Create an on-demand table with this key layout if it is missing (and wait until it is
    active); returns its ARN and whether it was created (or would be, in a dry run)."""
    try:
        table = deployer.dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        deployer.created(kind, name)
        if deployer.dry_run:
            return deployer.arn("dynamodb", f"table/{name}"), True
        created = deployer.dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST", **layout
        )["TableDescription"]
        wait_active(deployer, name)
        return str(created["TableArn"]), True
    return str(table["TableArn"]), False


def ensure_ledger_table(deployer: Deployer) -> str:
    """Create the table if missing and make sure TTL is on; returns the table's ARN."""
    name = deployer.config.ledger_table_name
    kind = "dynamodb table (ledger)"
    arn, created = ensure_table(
        deployer, name, kind, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES
    )
    if created:
        if not deployer.dry_run:
            _enable_ttl(deployer, name)
        return arn
    ttl = deployer.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and (
        ttl.get("AttributeName") == TTL_ATTRIBUTE
    )
    if ttl_on:
        deployer.report("unchanged", kind, name)
    else:
        deployer.updated(kind, name)
        if not deployer.dry_run:
            _enable_ttl(deployer, name)
    return arn


def _enable_ttl(deployer: Deployer, name: str) -> None:
    deployer.dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def wait_active(deployer: Deployer, name: str) -> None:
    for _ in range(TABLE_WAIT_TRIES):
        if deployer.dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return
        deployer.sleep(2.0)


def delete_ledger_table(deployer: Deployer, name: str) -> None:
    deployer.dynamodb.delete_table(TableName=name)
