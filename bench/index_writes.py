"""Benchmark 10: what one worst-case create writes to the AWS schedule index.

A schedule is one item per view it can be found by (all, user, action, one per label: up
to 3 + MAX_LABELS = 13), and a create writes them twice, each time in one
TransactWriteItems (intend, then confirm: backends/aws/index/__init__.py). Every item
carries the keys of the `by_view` global index (projection ALL), so DynamoDB copies each
write into it. The figures are counted from the requests the app's own DynamoDB client
sends (a botocore event hook on in-process moto), not computed from the code, so a
change to the protocol shows here.

Write units (DynamoDB's pricing rules, not moto's): a transactional write costs 2 units
per KB of item, rounded up per item; each GSI copy 1 unit per KB. Item sizes follow
DynamoDB's rules: attribute names and values by length, numbers about one byte per two
digits, maps 3 bytes plus 1 per element."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import boto3
from fastapi.testclient import TestClient
from moto import mock_aws

from bench.common import Result, log
from scheduler_api.backends.aws.index.keys import ATTRIBUTES, GLOBAL_INDEXES, KEY_SCHEMA
from scheduler_api.config import Settings
from scheduler_api.main import create_app
from task_contract import LABEL_VALUE_MAX, MAX_LABELS

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "scheduled-tasks"
TABLE = "bench-index-writes"
TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway app on in-process moto
KB = 1024


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it (names plus values)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return math.ceil(len(str(inner).lstrip("-").replace(".", "")) / 2) + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    return len(str(inner).encode())  # not written by the index


class TransactionCounter:
    """Counts what each TransactWriteItems the client sends holds, and every operation."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.transactions: list[list[dict[str, Any]]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.operations[model.name] += 1
        if model.name == "TransactWriteItems":
            self.transactions.append(list(params["TransactItems"]))


def worst_case_body(n: int) -> dict[str, Any]:
    """Every view an item can have: a user, an action and MAX_LABELS labels, full length."""
    labels = {f"{k:02d}-{'k' * 61}": "v" * LABEL_VALUE_MAX for k in range(MAX_LABELS)}
    return {
        "task_id": f"worst-{n:05d}",
        "user_id": 2**63 - 1,
        "action": "cleanup",
        "cron": "0 9 * * ? *",
        "labels": labels,
    }


def _figures(counter: TransactionCounter, creates: int, stored: int) -> dict[str, Any]:
    puts = [a["Put"]["Item"] for t in counter.transactions for a in t if "Put" in a]
    items = sum(len(t) for t in counter.transactions)
    indexed = [item for item in puts if "view" in item and "sort" in item]
    deletes = items - len(puts)  # a create deletes none; a delete removes the GSI copy too
    sizes = [item_bytes(item) for item in puts]
    transact_units = sum(2 * math.ceil(size / KB) for size in sizes)
    gsi_units = sum(math.ceil(item_bytes(item) / KB) for item in indexed)
    return {
        "items_per_schedule": stored // creates,
        "transactions_per_create": len(counter.transactions) / creates,
        "items_written_per_create": items / creates,
        "largest_transaction_items": max(len(t) for t in counter.transactions),
        "gsi_copies_per_create": (len(indexed) + deletes) / creates,
        "largest_item_kb": round(max(sizes) / KB, 2),
        "write_units_per_create": (transact_units + gsi_units) / creates,
        "reads_per_create": (counter.operations["GetItem"] + counter.operations["Query"]) / creates,
    }


def index_writes(creates: int = 20) -> Result:
    counter = TransactionCounter()
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            GlobalSecondaryIndexes=GLOBAL_INDEXES,
            BillingMode="PAY_PER_REQUEST",
        )
        settings = Settings(
            _env_file=None,
            backend="aws",
            aws_region=REGION,
            lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker",
            target_role_arn=f"arn:aws:iam::{ACCOUNT}:role/scheduler",
            group_name=GROUP,
            schedule_table=TABLE,
            api_tokens=TOKEN,
        )
        app = create_app(settings, scheduler_client=scheduler, dynamodb_client=dynamodb)
        log(f"  {creates} worst-case creates ({3 + MAX_LABELS} views each)")
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            dynamodb.meta.events.register("provide-client-params.dynamodb", counter)
            for n in range(creates):
                response = client.post("/scheduler/schedule", json=worst_case_body(n))
                assert response.status_code == 200, response.text
            dynamodb.meta.events.unregister("provide-client-params.dynamodb", counter)
        stored = len(dynamodb.scan(TableName=TABLE)["Items"])
    figures = _figures(counter, creates, stored)
    return Result(
        name="10. index write cost (AWS index on moto)",
        measured=(
            "POST /scheduler/schedule with a user, an action and 10 full-length labels;"
            " the TransactWriteItems the app's DynamoDB client sends, counted by a botocore"
            " hook; GSI copies are the written items that carry by_view's keys"
        ),
        runs=f"{creates} creates",
        figures=figures,
        target="report the figures (the issue's count: 13 items twice, plus the GSI copies)",
        met=None,
    )
