"""The schedule index's table as `make deploy-lambda` creates it, for the benchmarks that
run the AWS backend on moto (8 and 10): one definition, backends/aws/index/keys.py."""

from __future__ import annotations

from typing import Any

from scheduler_api.backends.aws.index.keys import ATTRIBUTES, GLOBAL_INDEXES, KEY_SCHEMA


def create_index_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        GlobalSecondaryIndexes=GLOBAL_INDEXES,
        BillingMode="PAY_PER_REQUEST",
    )
