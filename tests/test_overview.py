"""What the dashboard reads beside the schedules: counts by state, the last hour's runs and
their lateness, and each task's last run."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Api, LocalApp, task_body


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


def test_a_bad_task_id_in_last_runs_is_422_not_a_backend_error(api: Api) -> None:
    """Found by schemathesis: an empty task_id reached DynamoDB, which refused it (502)."""
    for bad in ("", "a b", "x" * 129):
        response = api.client.get("/scheduler/tasks/last-runs", params={"task_id": bad})
        assert response.status_code == 422
