"""The schedule index's DynamoDB table (SCHEDULE_TABLE): on-demand, with the one global
index its queries use. Its layout is the API's (scheduler_api.backends.aws.index.keys),
by way of wanted.py, which the template reads too."""

from __future__ import annotations

from scripts.deployment import wanted
from scripts.deployment.deployer import Deployer
from scripts.deployment.ledger_table import ensure_table


def ensure_schedule_table(deployer: Deployer) -> str:
    """Create the table if missing; returns its ARN."""
    table = wanted.schedule_table(deployer.config)
    arn, created = ensure_table(deployer, table)
    if not created:
        deployer.report("unchanged", table.kind, table.name)
    return arn


def delete_schedule_table(deployer: Deployer, name: str) -> None:
    deployer.dynamodb.delete_table(TableName=name)
