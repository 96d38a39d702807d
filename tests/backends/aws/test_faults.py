"""Faults: lost AWS responses, AWS going away and coming back, a locked or full SQLite file."""

from __future__ import annotations

import resource
import signal
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import httpx
from botocore.awsrequest import AWSResponse
from fastapi.testclient import TestClient

from scheduler_api.main import create_app
from tests.conftest import (
    AUTH,
    GROUP,
    REGION,
    FakeClock,
    LocalApp,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support.aws_faults import SendRecorder, aws_error, aws_json_error
from tests.support.processes import free_port, moto_server, scheduler_api, scheduler_api_process

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient


def lose_create_responses(app_client: TestClient, count: int) -> SendRecorder:
    """AWS (moto) creates the schedule, but the client sees a 500 instead of the answer."""
    recorder = SendRecorder([aws_error(500, "InternalServerException", "lost")] * count)
    own = app_client.app.state.runtime.service.backend._client  # type: ignore[attr-defined]
    own.meta.events.register_first("before-send.scheduler.CreateSchedule", recorder)
    return recorder


def test_a_lost_create_response_is_recovered_through_the_name(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    app = create_app(make_settings(aws_max_attempts=2), clock=clock)
    with TestClient(app, headers=AUTH) as client:
        recorder = lose_create_responses(client, 1)
        response = client.post("/scheduler/schedule", json=task_body())
    assert response.status_code == 200
    assert recorder.operations == ["CreateSchedule", "CreateSchedule"]
    assert len(scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]) == 1


def test_when_retries_run_out_the_client_retry_finds_the_schedule(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    app = create_app(make_settings(aws_max_attempts=2), clock=clock)
    with TestClient(app, headers=AUTH) as client:
        lose_create_responses(client, 2)
        failed = client.post("/scheduler/schedule", json=task_body())
        assert failed.status_code == 503
        assert failed.headers["Retry-After"]
        retried = client.post("/scheduler/schedule", json=task_body())
    assert retried.status_code == 200
    assert len(scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]) == 1


def test_aws_going_away_is_503_and_the_api_recovers_by_itself(
    tmp_path: Path, clock: FakeClock
) -> None:
    port = free_port()
    settings = make_settings(aws_endpoint_url=f"http://127.0.0.1:{port}", aws_max_attempts=1)
    app = create_app(settings, clock=clock)

    def start_aws() -> None:
        aws = boto3.client("scheduler", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
        aws.create_schedule_group(Name=GROUP)

    with TestClient(app, headers=AUTH) as client:
        with moto_server(port):
            start_aws()
            assert client.post("/scheduler/schedule", json=task_body("a")).status_code == 200
        down = client.post("/scheduler/schedule", json=task_body("b"))
        assert down.status_code == 503
        assert down.headers["Retry-After"]
        with moto_server(port):  # back, on the same address: no restart of the API needed
            start_aws()
            assert client.post("/scheduler/schedule", json=task_body("b")).status_code == 200


def test_a_locked_database_is_503_and_nothing_accepted_is_lost(tmp_path: Path) -> None:
    settings = make_local_settings(tmp_path / "s.db", local_busy_timeout_seconds=0.2)
    clock = FakeClock()
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local = LocalApp(client, app.state.runtime, clock)
        assert client.post("/scheduler/schedule", json=task_body("kept")).status_code == 200
        holder = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        try:
            locked = client.post("/scheduler/schedule", json=task_body("later"))
            assert locked.status_code == 503
            assert locked.headers["Retry-After"]
            assert "locked" not in locked.text  # no SQLite text leaks out
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.post("/scheduler/schedule", json=task_body("later")).status_code == 200
        local.advance(31 * 60)
        assert [r["status"] for r in local.runs("kept")] == ["SUCCEEDED"]
        assert [r["status"] for r in local.runs("later")] == ["SUCCEEDED"]


def _limit_file_size() -> None:
    """In the server process: files may not grow past 2 MB (EFBIG, as a full disk)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, 2 * 1024 * 1024))


def test_a_full_disk_is_503_and_nothing_accepted_is_lost(tmp_path: Path) -> None:
    env = {"SCHEDULER_BACKEND": "local", "LOCAL_DB_PATH": str(tmp_path / "s.db")}
    accepted: list[str] = []
    statuses: set[int] = set()
    with (
        scheduler_api_process(env, tmp_path, preexec=_limit_file_size) as (api, _),
        httpx.Client(base_url=api, timeout=10) as http,
    ):
        for n in range(400):
            body = {**task_body(f"fill-{n}"), "data": {"pad": "x" * 40_000}}
            response = http.post("/scheduler/schedule", json=body)
            statuses.add(response.status_code)
            if response.status_code == 200:
                accepted.append(body["task_id"])
            elif response.status_code == 503:
                assert response.headers["Retry-After"]
                break
    assert statuses == {200, 503}, statuses  # it filled up, and said so: never a 500
    assert accepted
    with scheduler_api(env, tmp_path) as api:  # room again: every accepted one is there
        names = httpx.get(f"{api}/scheduler/schedules?limit=100", timeout=10).json()
        listed = {item["schedule_name"] for item in names["schedules"]}
        while names["next_token"]:
            names = httpx.get(
                f"{api}/scheduler/schedules",
                params={"limit": 100, "next_token": names["next_token"]},
                timeout=10,
            ).json()
            listed |= {item["schedule_name"] for item in names["schedules"]}
    assert set(accepted) <= listed


def runs_with_dynamodb_answering(
    clock: FakeClock, answers: list[AWSResponse], **settings: object
) -> httpx.Response:
    """GET the runs route in AWS mode while DynamoDB gives `answers` (below botocore's
    retries, so each retry takes the next answer)."""
    app = create_app(make_settings(ledger_table="task-ledger", **settings), clock=clock)
    with TestClient(app, headers=AUTH) as client:
        dynamodb = app.state.runtime.runs.client
        dynamodb.meta.events.register_first("before-send.dynamodb.Query", SendRecorder(answers))
        response: httpx.Response = client.get("/scheduler/tasks/daily/runs")
        return response


def test_runs_in_aws_mode_are_503_when_dynamodb_is_throttled(clock: FakeClock) -> None:
    throttled = aws_json_error(400, "ProvisionedThroughputExceededException", "slow down: table x")
    response = runs_with_dynamodb_answering(clock, [throttled] * 3, aws_max_attempts=3)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "table x" not in response.text
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_runs_in_aws_mode_are_502_when_dynamodb_refuses(clock: FakeClock) -> None:
    denied = aws_json_error(
        400, "AccessDeniedException", "user arn:aws:iam::1:user/x is not allowed"
    )
    response = runs_with_dynamodb_answering(clock, [denied])
    assert response.status_code == 502
    assert "arn:aws:iam" not in response.text
    missing = aws_json_error(400, "ResourceNotFoundException", "Requested resource not found")
    assert runs_with_dynamodb_answering(clock, [missing]).status_code == 502  # not a 404


def test_runs_in_aws_mode_are_503_when_dynamodb_is_unreachable(
    scheduler_client: EventBridgeSchedulerClient, clock: FakeClock
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(ledger_table="t", aws_endpoint_url=closed, aws_max_attempts=1)
    app = create_app(settings, scheduler_client=scheduler_client, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        response = client.get("/scheduler/tasks/daily/runs")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
