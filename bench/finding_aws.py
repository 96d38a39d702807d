"""Benchmark 8: the AWS schedule index (SCHEDULE_TABLE) on a moto_server over HTTP.

moto's DynamoDB is an in-memory Python model behind HTTP, not DynamoDB: these figures say
what our code and the HTTP round trips cost, and how the index scales in item count, not
what AWS will answer in. Reported, with no target (the issue asks for the figures).

The table is filled with the index's own item writer (BatchWriteItem), as a table of
`count` schedules would be; then filtered pages are read through the real app; then
`bulk` schedules are created through POST (EventBridge and the index, in the three steps)
and paused with one bulk request.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from fastapi.testclient import TestClient

from bench.common import Result, log, percentile
from bench.finding import timed_ms
from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.items import items_of
from scheduler_api.backends.aws.index.keys import table_definition
from scheduler_api.config import Settings
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from scheduler_api.main import create_app
from task_contract import build_proxy_event
from tests.support.processes import moto_server

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP = "scheduled-tasks"
TABLE = "bench-schedules"
PAGE = 50
TOKEN = "bench-token-0123456789"  # noqa: S105 - a throwaway app on a throwaway moto
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"


def _entry(n: int, users: int, now: datetime, rng: random.Random) -> Entry:
    labels = {"customer": f"c-{n % (users // 2)}"}
    body = {"task_id": f"t-{n:06d}", "user_id": n % users, "action": "cleanup", "labels": labels}
    spec = ScheduleSpec(
        name=f"t-{n:06d}",
        group_name=GROUP,
        expression=f"cron({rng.randrange(60)} {rng.randrange(24)} * * ? *)",
        timezone="UTC",
        target=ScheduleTarget(
            LAMBDA, ROLE, json.dumps(build_proxy_event("/cb", "POST", body)), 2, 3600
        ),
    )
    arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/{spec.name}"
    entry = Entry.of(arn, spec, anchor=now, now=now, created_at=now, updated_at=now)
    fire = now + timedelta(seconds=rng.uniform(0, 86400))  # spread over a day, as bench 7
    return replace(entry, next_fire=fire)


def _fill(client: Any, count: int, now: datetime) -> int:
    rng = random.Random(7)
    users = max(2, count // 10)
    items = [
        item
        for n in range(count)
        for item in items_of(_entry(n, users, now, rng), uuid.uuid4().hex, None).values()
    ]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[Any]) -> None:
        request = {TABLE: [{"PutRequest": {"Item": item}} for item in batch]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, batches))
    return len(items)


def _setup(endpoint: str) -> Any:
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    dynamodb.create_table(**table_definition(TABLE))
    scheduler = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
    scheduler.create_schedule_group(Name=GROUP)
    return dynamodb


def _app(endpoint: str) -> TestClient:
    settings = Settings(
        _env_file=None,
        backend="aws",
        aws_region=REGION,
        aws_endpoint_url=endpoint,
        lambda_arn=LAMBDA,
        target_role_arn=ROLE,
        group_name=GROUP,
        schedule_table=TABLE,
        api_tokens=TOKEN,
    )
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"})


def _reads(count: int, repeats: int, figures: dict[str, float | int | str]) -> None:
    now = datetime.now(UTC)
    with moto_server() as endpoint:
        dynamodb = _setup(endpoint)
        log(f"  {count} schedules in the index")
        started = time.perf_counter()
        figures["items_written"] = _fill(dynamodb, count, now)
        figures["fill_s"] = round(time.perf_counter() - started, 1)
        with _app(endpoint) as client:
            hour = (now + timedelta(hours=1)).isoformat()
            filters: dict[str, dict[str, Any]] = {
                "user_id": {"user_id": 42},
                "label": {"label": "customer:c-77"},
                "next_before": {"next_before": hour},
            }
            for name, params in filters.items():
                query = {**params, "limit": PAGE}
                times = timed_ms(lambda: client.get("/scheduler/schedules", params=query), repeats)  # noqa: B023
                answer = client.get("/scheduler/schedules", params=query)
                assert answer.status_code == 200, answer.text
                figures[f"{name}_items"] = len(answer.json()["schedules"])
                figures[f"{name}_p50_ms"] = round(percentile(times, 0.5), 1)
                figures[f"{name}_p99_ms"] = round(percentile(times, 0.99), 1)


def _writes(bulk: int, figures: dict[str, float | int | str]) -> None:
    """On a table of its own: moto's TransactWriteItems deep-copies the whole table for
    each item of a transaction (moto.dynamodb.models), a cost that grows with the table
    on moto only; DynamoDB's does not."""
    with moto_server() as endpoint:
        _setup(endpoint)
        log(f"  {bulk} POSTs, then a bulk pause of them")
        with _app(endpoint) as client:
            posts = []
            for n in range(bulk):
                body = {
                    "task_id": f"bulk-{n:05d}",
                    "user_id": 1,
                    "action": "cleanup",
                    "cron": "0 9 * * ? *",
                    "labels": {"batch": "b"},
                }
                started = time.perf_counter()
                response = client.post("/scheduler/schedule", json=body)
                posts.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            figures["post_p50_ms"] = round(percentile(posts, 0.5), 1)
            figures["post_p99_ms"] = round(percentile(posts, 0.99), 1)
            started = time.perf_counter()
            paused = client.post(
                "/scheduler/schedules/bulk",
                json={"operation": "pause", "filter": {"labels": {"batch": "b"}}},
            ).json()
            figures["bulk_pause_changed"] = paused["changed"]
            figures["bulk_pause_s"] = round(time.perf_counter() - started, 2)


def finding_aws(count: int = 2_000, bulk: int = 200, repeats: int = 20) -> Result:
    figures: dict[str, float | int | str] = {}
    _reads(count, repeats, figures)
    _writes(bulk, figures)
    return Result(
        name="8. finding schedules (AWS index on moto_server)",
        measured=(
            "a filtered page of 50 through the app, DynamoDB and EventBridge being a"
            " moto_server over HTTP; POST and a bulk pause through the three-step writes,"
            " on a table of their own"
        ),
        runs=f"{count} schedules in the index, {repeats} pages per filter; {bulk} POSTs",
        figures=figures,
        target="report the figures (moto is not DynamoDB: no target)",
        met=None,
    )
