"""The schedule index's DynamoDB table (SCHEDULE_TABLE): on-demand, with the one global
index its queries use. Its layout is the API's (scheduler_api.backends.aws.index.keys)."""

from __future__ import annotations

from scheduler_api.backends.aws.index.keys import ATTRIBUTES, GLOBAL_INDEXES, KEY_SCHEMA
from scripts.deployment.deployer import Deployer
from scripts.deployment.ledger_table import ensure_table

KIND = "dynamodb table (schedule index)"


def ensure_schedule_table(deployer: Deployer) -> str:
    """Create the table if missing; returns its ARN."""
    name = deployer.config.schedule_table_name
    arn, created = ensure_table(
        deployer,
        name,
        KIND,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        GlobalSecondaryIndexes=GLOBAL_INDEXES,
    )
    if not created:
        deployer.report("unchanged", KIND, name)
    return arn


def delete_schedule_table(deployer: Deployer, name: str) -> None:
    deployer.dynamodb.delete_table(TableName=name)
