"""The task ledger's DynamoDB table: on-demand, keyed (task_id, scheduled_time), with TTL.
Its layout is in wanted.py, which the template reads too."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from scripts.deployment import wanted
from scripts.deployment.deployer import Deployer, _missing

TTL_ATTRIBUTE = wanted.LEDGER_TTL_ATTRIBUTE
# The key the worker's DynamoDBLedgerStore reads and writes (tests and benches create it).
KEY_SCHEMA: list[Any] = wanted.LEDGER_KEY_SCHEMA
ATTRIBUTES: list[Any] = wanted.LEDGER_ATTRIBUTES
TABLE_WAIT_TRIES = 60


def ensure_table(deployer: Deployer, table: wanted.Table) -> tuple[str, bool]:
    """Create the on-demand table if it is missing (and wait until it is active); returns
    its ARN and whether it was created (or would be, in a dry run)."""
    name, kind = table.name, table.kind
    try:
        described = deployer.dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        deployer.created(kind, name)
        if deployer.dry_run:
            return deployer.arn("dynamodb", f"table/{name}"), True
        created = deployer.dynamodb.create_table(
            TableName=name, BillingMode=wanted.BILLING_MODE, **table.layout()
        )["TableDescription"]
        wait_active(deployer, name)
        return str(created["TableArn"]), True
    return str(described["TableArn"]), False


def ensure_ledger_table(deployer: Deployer) -> str:
    """Create the table if missing and make sure TTL is on; returns the table's ARN."""
    table = wanted.ledger_table(deployer.config)
    name, kind = table.name, table.kind
    arn, created = ensure_table(deployer, table)
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
