"""One contract, two backends: EventBridge (moto) and local (a temp SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from scheduler_api.backends.aws.eventbridge import EventBridgeBackend
from scheduler_api.backends.local.backend import LocalBackend
from scheduler_api.backends.local.store.database import Database
from scheduler_api.domain.errors import ScheduleExistsError, ScheduleNotFoundError
from scheduler_api.domain.ports import SchedulerBackend
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from tests.conftest import ACCOUNT, GROUP, LAMBDA_ARN, REGION, ROLE_ARN, FakeClock


@pytest.fixture(params=["eventbridge", "local"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SchedulerBackend]:
    if request.param == "eventbridge":
        with mock_aws():
            client = boto3.client("scheduler", region_name=REGION)
            client.create_schedule_group(Name=GROUP)
            client.create_schedule_group(Name="other-team")
            yield EventBridgeBackend(client)
    else:
        database = Database(tmp_path / "contract.db")
        yield LocalBackend(database, region=REGION, account_id=ACCOUNT, clock=FakeClock())
        database.close()


def spec(name: str = "task-1", group: str = GROUP, **changes: object) -> ScheduleSpec:
    base = ScheduleSpec(
        name=name,
        group_name=group,
        expression="cron(0 9 ? * MON-FRI *)",
        timezone="Asia/Seoul",
        target=ScheduleTarget(
            arn=LAMBDA_ARN,
            role_arn=ROLE_ARN,
            input='{"body": "{}"}',
            maximum_retry_attempts=4,
            maximum_event_age_seconds=900,
            dead_letter_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",
        ),
        description="task_id=task-1 request=abc",
        start_date=datetime(2030, 2, 1, tzinfo=UTC),
        end_date=datetime(2030, 3, 1, tzinfo=UTC),
        flexible_window_minutes=5,
        action_after_completion="NONE",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_create_then_get_round_trips_every_field(backend: SchedulerBackend) -> None:
    arn = backend.create_schedule(spec())
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/task-1"
    stored = backend.get_schedule(GROUP, "task-1")
    assert stored.arn == arn
    assert stored.spec == spec()


def test_one_time_spec_round_trips(backend: SchedulerBackend) -> None:
    one_time = spec(
        expression="at(2030-01-02T09:00:00)",
        start_date=None,
        end_date=None,
        flexible_window_minutes=None,
        action_after_completion="DELETE",
    )
    backend.create_schedule(one_time)
    assert backend.get_schedule(GROUP, "task-1").spec == one_time


def test_a_taken_name_is_refused(backend: SchedulerBackend) -> None:
    backend.create_schedule(spec())
    with pytest.raises(ScheduleExistsError):
        backend.create_schedule(spec(expression="rate(5 minutes)"))
    assert backend.get_schedule(GROUP, "task-1").spec.expression == "cron(0 9 ? * MON-FRI *)"


def test_the_same_name_in_another_group_is_another_schedule(backend: SchedulerBackend) -> None:
    backend.create_schedule(spec())
    backend.create_schedule(spec(group="other-team"))
    assert backend.get_schedule("other-team", "task-1").spec.group_name == "other-team"


def test_missing_schedules_are_not_found(backend: SchedulerBackend) -> None:
    with pytest.raises(ScheduleNotFoundError):
        backend.get_schedule(GROUP, "nope")
    with pytest.raises(ScheduleNotFoundError):
        backend.delete_schedule(GROUP, "nope")
    with pytest.raises(ScheduleNotFoundError):
        backend.update_schedule(spec("nope"))


def test_update_replaces_the_settings(backend: SchedulerBackend) -> None:
    backend.create_schedule(spec())
    backend.update_schedule(spec(expression="rate(5 minutes)", state="DISABLED"))
    stored = backend.get_schedule(GROUP, "task-1").spec
    assert (stored.expression, stored.state) == ("rate(5 minutes)", "DISABLED")


def test_delete(backend: SchedulerBackend) -> None:
    backend.create_schedule(spec())
    backend.delete_schedule(GROUP, "task-1")
    with pytest.raises(ScheduleNotFoundError):
        backend.get_schedule(GROUP, "task-1")


def test_list_pages_through_one_group(backend: SchedulerBackend) -> None:
    names = {f"task-{n}" for n in range(5)}
    for name in names:
        backend.create_schedule(spec(name))
    backend.create_schedule(spec("task-9", group="other-team"))
    seen: list[str] = []
    token = None
    while True:
        page = backend.list_schedules(GROUP, limit=2, next_token=token)
        assert len(page.schedules) <= 2
        seen += [item.name for item in page.schedules]
        assert {item.group_name for item in page.schedules} <= {GROUP}
        token = page.next_token
        if not token:
            break
    assert sorted(seen) == sorted(names)
    prefixed = backend.list_schedules(GROUP, limit=10, name_prefix="task-3")
    assert [item.name for item in prefixed.schedules] == ["task-3"]
