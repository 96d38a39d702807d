"""The table's layout: its keys, the one global index, and the time keys that make string
order next-fire order. `make deploy-lambda` creates the table from these (and the tests
create it on moto), so the deployed table and the code cannot disagree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SERVICE = "DynamoDB"  # how the table's errors name their service
VIEW_INDEX = "by_view"
# The table `make deploy-lambda` creates (and the tests create on moto).
KEY_SCHEMA: list[Any] = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTES: list[Any] = [
    {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "view", "sort")
]
GLOBAL_INDEXES: list[Any] = [
    {
        "IndexName": VIEW_INDEX,
        "KeySchema": [
            {"AttributeName": "view", "KeyType": "HASH"},
            {"AttributeName": "sort", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
]


def table_definition(name: str) -> dict[str, Any]:
    """create_table's arguments for the table as `make deploy-lambda` makes it, on demand:
    for the tests and the benchmarks that create it on moto."""
    return {
        "TableName": name,
        "KeySchema": KEY_SCHEMA,
        "AttributeDefinitions": ATTRIBUTES,
        "GlobalSecondaryIndexes": GLOBAL_INDEXES,
        "BillingMode": "PAY_PER_REQUEST",
    }


ANCHOR = "all"  # the item whose rev guards the whole schedule
NEVER = "~"  # sorts after every time: paused, or no fire left
LOWEST = "!"  # sorts before every time (a key condition's value cannot be empty)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def time_key(when: datetime) -> str:
    """Fixed width, so that string order is time order (to the microsecond)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{(when - _EPOCH) // _SECOND:012d}.{when.microsecond:06d}"


def partition_key(group: str, name: str) -> str:
    """One schedule's partition: all of its items, one per view."""
    return f"{group}/{name}"
