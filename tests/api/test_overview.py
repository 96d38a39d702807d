"""What the dashboard reads beside the schedules: counts by state, the last hour's runs and
their lateness, and each task's last run."""

from __future__ import annotations

from datetime import timedelta

import boto3
from fastapi.testclient import TestClient
from moto import mock_aws

from scheduler_api.main import create_app
from tests.conftest import (
    AUTH,
    REGION,
    Api,
    FakeClock,
    LocalApp,
    create_table,
    make_settings,
    task_body,
)


def test_counts_by_state_where_an_index_exists(finder: Api) -> None:
    for task_id in ("a", "b", "c"):
        finder.client.post("/scheduler/schedule", json=task_body(task_id, cron="0 9 * * ? *"))
    listed = finder.client.get("/scheduler/schedules").json()["schedules"]
    finder.client.post(f"/scheduler/schedule/{listed[0]['schedule_arn']}/pause")
    overview = finder.client.get("/scheduler/overview").json()
    assert overview["schedules"] == {"ENABLED": 2, "DISABLED": 1}


def test_without_an_index_on_aws_the_counts_are_null(api: Api) -> None:
    overview = api.client.get("/scheduler/overview")
    assert overview.status_code == 200
    if not api.local:
        assert overview.json() == {"schedules": None, "runs_last_hour": None, "lateness": None}


def test_the_last_hour_of_runs_and_each_tasks_last_run(local_app: LocalApp) -> None:
    client = local_app.client
    client.post("/scheduler/schedule", json=task_body("ran", run_at="2030-01-01T00:01:00Z"))
    client.post("/scheduler/schedule", json=task_body("waits", cron="0 9 * * ? *"))
    local_app.advance(30 + 3)  # the clock starts at 00:00:30: three seconds late
    overview = client.get("/scheduler/overview").json()
    assert overview["runs_last_hour"] == {"SUCCEEDED": 1}
    (point,) = overview["lateness"]
    assert point["scheduled_time"] == "2030-01-01T00:01:00Z"
    assert point["lateness_seconds"] == 3.0
    local_app.clock.advance(timedelta(hours=2))
    assert client.get("/scheduler/overview").json()["runs_last_hour"] == {}
    last = client.get("/scheduler/tasks/last-runs", params={"task_id": ["ran", "waits"]}).json()
    assert last["last_runs"]["ran"]["status"] == "SUCCEEDED"
    assert last["last_runs"]["waits"] is None


def test_a_bad_task_id_in_last_runs_is_422_not_a_backend_error(clock: FakeClock) -> None:
    """Found by schemathesis: an empty task_id reached the DynamoDB ledger, which refused
    it (502)."""
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION), "ledger")
        app = create_app(make_settings(ledger_table="ledger"), clock=clock)
        with TestClient(app, headers=AUTH) as client:
            for bad in ("", "a b", "x" * 129):
                response = client.get("/scheduler/tasks/last-runs", params={"task_id": bad})
                assert response.status_code == 422
            fine = client.get("/scheduler/tasks/last-runs", params={"task_id": "fine"})
            assert fine.json() == {"last_runs": {"fine": None}}
