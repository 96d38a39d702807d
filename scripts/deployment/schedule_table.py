"""The schedule index's DynamoDB table (SCHEDULE_TABLE): on-demand, with the one global
index its queries use. Its layout is the API's (scheduler_api.backends.schedule_table)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from scheduler_api.backends.schedule_table import ATTRIBUTES, GLOBAL_INDEXES, KEY_SCHEMA
from scripts.deployment.deployer import Deployer, _missing
from scripts.deployment.ledger_table import wait_active

KIND = "dynamodb table (schedule index)"


def ensure_schedule_table(deployer: Deployer) -> str:
    """Create the table if missing; returns its ARN."""
    name = deployer.config.schedule_table_name
    try:
        table = deployer.dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        deployer.created(KIND, name)
        if deployer.dry_run:
            return deployer.arn("dynamodb", f"table/{name}")
        table = deployer.dynamodb.create_table(
            TableName=name,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            GlobalSecondaryIndexes=GLOBAL_INDEXES,
            BillingMode="PAY_PER_REQUEST",
        )["TableDescription"]
        wait_active(deployer, name)
        return str(table["TableArn"])
    deployer.report("unchanged", KIND, name)
    return str(table["TableArn"])


def delete_schedule_table(deployer: Deployer, name: str) -> None:
    deployer.dynamodb.delete_table(TableName=name)
