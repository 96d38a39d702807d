"""make reindex: the schedule index rebuilt from EventBridge, over a moto_server (HTTP)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import (
    GROUP,
    LAMBDA_ARN,
    REGION,
    ROLE_ARN,
    SCHEDULE_TABLE,
    FakeClock,
    IndexedApi,
    indexed_aws_app,
    task_body,
)
from tests.support.processes import ROOT, base_env


def reindex(endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **base_env(),
        "SCHEDULER_BACKEND": "aws",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "SCHEDULER_LAMBDA_ARN": LAMBDA_ARN,
        "SCHEDULER_TARGET_ROLE_ARN": ROLE_ARN,
        "SCHEDULER_GROUP_NAME": GROUP,
        "SCHEDULE_TABLE": SCHEDULE_TABLE,
    }
    script = str(ROOT / "scripts" / "reindex.py")
    return subprocess.run(
        [sys.executable, script], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def listed(api: IndexedApi) -> list[tuple[str, str, str | None]]:
    response = api.client.get("/scheduler/schedules")
    assert response.status_code == 200, response.text
    return [(i["task_id"], i["state"], i["next_fire_time"]) for i in response.json()["schedules"]]


def drop_entry(api: IndexedApi, name: str) -> None:
    """Drift: the table lost a schedule's items (say, a table restored from a backup)."""
    assert api.dynamodb is not None
    items: list[Any] = api.dynamodb.scan(TableName=SCHEDULE_TABLE)["Items"]
    for item in items:
        if item["pk"]["S"] == f"{GROUP}/{name}":
            key = {"pk": item["pk"], "sk": item["sk"]}
            api.dynamodb.delete_item(TableName=SCHEDULE_TABLE, Key=key)


def test_reindex_rebuilds_from_eventbridge_and_is_idempotent(
    moto_endpoint: str, tmp_path: Path, clock: FakeClock
) -> None:
    with indexed_aws_app(clock, moto_endpoint) as api:
        assert api.scheduler is not None
        names = {}
        for task_id in ("a", "b", "c", "d"):
            body = {**task_body(task_id, cron="0 9 * * ? *"), "labels": {"k": task_id}}
            response = api.client.post("/scheduler/schedule", json=body)
            names[task_id] = response.json()["schedule_name"]
        drop_entry(api, names["a"])  # in EventBridge, not in the index
        api.scheduler.delete_schedule(GroupName=GROUP, Name=names["b"])  # the reverse
        paused = api.scheduler.get_schedule(GroupName=GROUP, Name=names["c"])
        keep = ("Name", "GroupName", "ScheduleExpression", "FlexibleTimeWindow", "Target")
        changed: dict[str, Any] = {k: v for k, v in paused.items() if k in keep}
        api.scheduler.update_schedule(**changed, State="DISABLED")  # changed behind its back

        first = reindex(moto_endpoint, tmp_path)
        assert first.returncode == 0, first.stderr
        assert "3 schedules in EventBridge indexed, 1 entries of deleted schedules removed" in (
            first.stdout
        )
        expected = [
            ("a", "ENABLED", "2030-01-01T09:00:00Z"),
            ("d", "ENABLED", "2030-01-01T09:00:00Z"),
            ("c", "DISABLED", None),
        ]
        assert listed(api) == expected
        label = api.client.get("/scheduler/schedules", params={"label": "k:a"}).json()
        assert [i["task_id"] for i in label["schedules"]] == ["a"]

        again = reindex(moto_endpoint, tmp_path)
        assert again.returncode == 0, again.stderr
        assert "3 schedules in EventBridge indexed, 0 entries" in again.stdout
        assert listed(api) == expected


def test_reindex_without_the_table_setting_says_so(tmp_path: Path) -> None:
    script = str(ROOT / "scripts" / "reindex.py")
    env = {**base_env(), "SCHEDULER_BACKEND": "local"}
    done = subprocess.run(
        [sys.executable, script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "SCHEDULE_TABLE" in done.stderr
