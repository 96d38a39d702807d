"""The scheduler API as the typed client's users meet it: a uvicorn process with a bearer
token, on the local engine (its own SQLite files, a worker that fails a task on request so
it dead-letters), or in AWS mode against a moto_server over HTTP (EventBridge Scheduler,
the schedule index and the ledger in DynamoDB, the worker function for run now)."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import boto3
import httpx

from scripts.deployment.ledger_table import ATTRIBUTES, KEY_SCHEMA
from tests.conftest import API_TOKEN, GROUP, LAMBDA_ARN, REGION, ROLE_ARN, create_schedule_table
from tests.support.processes import moto_server, scheduler_api

LEDGER_TABLE = "task-ledger"
SCHEDULE_TABLE = "schedules"


@dataclass(frozen=True)
class Served:
    url: str
    backend: str  # "local" or "aws"
    fail_file: Path  # local: task_ids listed here fail every attempt

    @property
    def local(self) -> bool:
        return self.backend == "local"

    def fail(self, *task_ids: str) -> None:
        self.fail_file.write_text("\n".join(task_ids) + "\n")


@contextmanager
def local_server(home: Path) -> Iterator[Served]:
    env = {
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(home / "scheduler.db"),
        "LEDGER_DB_PATH": str(home / "ledger.db"),
        "LOCAL_LAMBDA_HANDLER": "tests.support.probe_handler.failing_handler",
        "PROBE_FAIL_FILE": str(home / "fail.txt"),
        "LOCAL_MAX_RETRIES": "0",
        "SCHEDULER_API_TOKENS": API_TOKEN,
    }
    with scheduler_api(env, cwd=home) as url:
        yield Served(url, "local", home / "fail.txt")


def _aws_resources(endpoint: str) -> None:
    """What make deploy-lambda would have created, on the moto_server."""
    httpx.post(f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}})
    # Credentials of its own: a session fixture starts before the per-test environment.
    aws = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    scheduler = aws.client("scheduler", endpoint_url=endpoint)
    scheduler.create_schedule_group(Name=GROUP)
    dynamodb = aws.client("dynamodb", endpoint_url=endpoint)
    create_schedule_table(dynamodb, SCHEDULE_TABLE)
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
    )
    iam = aws.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("h.py", "def h(event, context): return None")
    aws.client("lambda", endpoint_url=endpoint).create_function(
        FunctionName=LAMBDA_ARN.rsplit(":", 1)[-1],
        Runtime="python3.12",
        Role=role,
        Handler="h.h",
        Code={"ZipFile": code.getvalue()},
    )


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "SCHEDULER_LAMBDA_ARN": LAMBDA_ARN,
        "SCHEDULER_TARGET_ROLE_ARN": ROLE_ARN,
        "SCHEDULER_GROUP_NAME": GROUP,
        "SCHEDULE_TABLE": SCHEDULE_TABLE,
        "LEDGER_TABLE": LEDGER_TABLE,
        "SCHEDULER_API_TOKENS": API_TOKEN,
    }


@contextmanager
def aws_server(home: Path) -> Iterator[Served]:
    with moto_server() as endpoint:
        _aws_resources(endpoint)
        with scheduler_api(aws_env(endpoint), cwd=home) as url:
            yield Served(url, "aws", home / "fail.txt")


T = TypeVar("T")
POLL_DEADLINE_SECONDS = 15.0


def poll(read: Callable[[], T], until: Callable[[T], bool]) -> T:
    """Read again until the condition holds (a real server's engine at work), or fail at the
    deadline."""
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {POLL_DEADLINE_SECONDS}s")
        time.sleep(0.05)  # polling a real server until a condition holds, not waiting for time
