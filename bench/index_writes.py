"""Benchmark 10: what each change of a schedule costs in the AWS schedule index, in
DynamoDB's read and write units, beside EventBridge Scheduler's own price.

Each operation (create, PATCH, pause, resume, delete) goes through the app over HTTP on
in-process moto, for two schedule shapes: the worst case (a user, an action and
MAX_LABELS full-length labels: every view an entry can have) and a common one (a user, an
action, one short label). The units are computed by bench/index_units.py from the items
each request of the app's own DynamoDB client touches (read before it is sent), by
DynamoDB's pricing rules, not moto's; moto's ConsumedCapacity is asked for on every
request and reported beside them (moto answers a flat figure for some operations and
none for TransactWriteItems).

Prices (us-east-1, on-demand, 2025): DynamoDB $0.625 per million write request units and
$0.125 per million read request units (aws.amazon.com/dynamodb/pricing/on-demand/);
EventBridge Scheduler charges nothing per CreateSchedule, UpdateSchedule or
DeleteSchedule and $1.00 per million invocations after 14 million free a month
(aws.amazon.com/eventbridge/pricing/)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import boto3
from fastapi.testclient import TestClient
from moto import mock_aws

from bench.common import Result, log
from bench.index_units import Meter, Tally
from scheduler_api.backends.aws.index.keys import table_definition
from scheduler_api.config import Settings
from scheduler_api.main import create_app
from task_contract import LABEL_VALUE_MAX, MAX_LABELS

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "scheduled-tasks"
TABLE = "bench-index-writes"
TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway app on in-process moto
WRITE_PRICE = 0.625  # $ per million write request units (DynamoDB on-demand, us-east-1)
READ_PRICE = 0.125  # $ per million read request units
EVENTBRIDGE_CHANGE_PRICE = 0.0  # $ per million Create/Update/DeleteSchedule
EVENTBRIDGE_FIRE_PRICE = 1.00  # $ per million invocations, past the free tier
OPERATIONS = ("create", "patch", "pause", "resume", "delete")
# The worst case's write units with every item a full copy (commit before this layout).
BEFORE = {"create": 234, "pause": 273}


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


def common_body(n: int) -> dict[str, Any]:
    """A user, an action and one short label: four views."""
    return {
        "task_id": f"common-{n:05d}",
        "user_id": 456,
        "action": "send_notification",
        "cron": "0 9 * * ? *",
        "labels": {"tier": "gold"},
    }


def _lifecycle(client: TestClient, meter: Meter, body: dict[str, Any]) -> dict[str, Tally]:
    """One schedule through every operation, a Tally each."""
    tallies: dict[str, Tally] = {}

    def measure(operation: str, method: str, url: str, **kwargs: Any) -> Any:
        meter.tally = Tally()
        response = client.request(method, url, **kwargs)
        assert response.status_code == 200, (operation, response.text)
        tallies[operation] = meter.tally
        return response

    arn = measure("create", "POST", "/scheduler/schedule", json=body).json()["schedule_arn"]
    path = f"/scheduler/schedule/{quote(arn, safe='')}"
    measure("patch", "PATCH", path, json={"cron": "0 10 * * ? *"})
    measure("pause", "POST", f"{path}/pause")
    measure("resume", "POST", f"{path}/resume")
    measure("delete", "DELETE", path)
    return tallies


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _figures(shape: str, runs: list[dict[str, Tally]]) -> dict[str, Any]:
    """Per operation: the median write and read units, moto's ConsumedCapacity for the
    same requests, and the dollars per million operations at on-demand prices."""
    figures: dict[str, Any] = {}
    for operation in OPERATIONS:
        tallies = [run[operation] for run in runs]
        writes = _median([t.total_writes for t in tallies])
        reads = _median([t.read_units for t in tallies])
        moto = _median([t.moto_units for t in tallies])
        dollars = writes * WRITE_PRICE + reads * READ_PRICE  # per million operations
        figures[f"{shape}_{operation}"] = (
            f"{writes:g} wru {reads:g} rru (moto {moto:g}) ${dollars:.2f}/M"
        )
        figures[f"_{shape}_{operation}_wru"] = writes
    return figures


def index_writes(creates: int = 20) -> Result:
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name=GROUP)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(**table_definition(TABLE))
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
        meter = Meter(boto3.client("dynamodb", region_name=REGION), TABLE)
        log(f"  {creates} schedules of each shape: create, PATCH, pause, resume, delete")
        runs: dict[str, list[dict[str, Tally]]] = {"worst": [], "common": []}
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            meter.register(dynamodb)
            for n in range(creates):
                runs["worst"].append(_lifecycle(client, meter, worst_case_body(n)))
                runs["common"].append(_lifecycle(client, meter, common_body(n)))
            meter.unregister(dynamodb)
    figures = {**_figures("worst", runs["worst"]), **_figures("common", runs["common"])}
    units = {key: figures.pop(key) for key in list(figures) if key.startswith("_")}
    figures["worst_create_and_pause_wru_of_before"] = round(
        max(
            units["_worst_create_wru"] / BEFORE["create"],
            units["_worst_pause_wru"] / BEFORE["pause"],
        ),
        2,
    )
    figures["eventbridge_usd_per_million_changes"] = EVENTBRIDGE_CHANGE_PRICE
    figures["eventbridge_usd_per_million_fires"] = EVENTBRIDGE_FIRE_PRICE
    return Result(
        name="10. index cost per operation (AWS index on moto)",
        measured=(
            "create, PATCH, pause, resume and delete through the app for a worst-case"
            " schedule (user, action, 10 full-length labels) and a common one (user, action,"
            " 1 label); units (wru write, rru read) by DynamoDB's pricing rules from the"
            " items each request touches (bench/index_units.py); usd per million at"
            f" ${WRITE_PRICE}/M WRU and ${READ_PRICE}/M RRU; moto_units: moto's"
            " ConsumedCapacity (flat, none for transactions)"
        ),
        runs=f"{creates} schedules of each shape, medians",
        figures=figures,
        target=(
            "worst-case create and pause at most half the write units of the full-copy"
            f" layout ({BEFORE['create']}, {BEFORE['pause']}): ratio <= 0.5"
        ),
        met=figures["worst_create_and_pause_wru_of_before"] <= 0.5,
    )
