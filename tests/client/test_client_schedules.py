"""SchedulerClient against the real API under uvicorn, on the local engine and in AWS mode
on a moto_server: every method, and each error as the server really answers it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from scheduler_client import (
    AuthenticationFailed,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ScheduleConflict,
    SchedulerClient,
    TransportError,
    ValidationFailed,
)
from scheduler_client.models import RunList

from tests.conftest import API_TOKEN
from tests.support.client_servers import Served, poll
from tests.support.processes import free_port


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def done(runs: RunList) -> bool:
    return all(run.status in ("SUCCEEDED", "FAILED", "DEAD_LETTERED") for run in runs.runs)


def test_schedule_each_timing_with_labels_and_policies(scheduler: SchedulerClient) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    once = scheduler.schedule(
        task_id=unique("delay"), user_id=7, action="send_notification", delay_minutes=30
    )
    at = scheduler.schedule(task_id=unique("at"), user_id=7, action="cleanup", run_at=later)
    cron = scheduler.schedule(
        task_id=unique("cron"),
        user_id=7,
        action="generate_daily_report",
        cron="0 9 * * ? *",
        timezone="Asia/Seoul",
        labels={"tier": "gold"},
        overlap="skip",
        max_lateness_seconds=600,
        flexible_window_minutes=5,
    )
    rate = scheduler.schedule(
        task_id=unique("rate"), user_id=7, action="send_notification", rate="5 minutes"
    )
    assert once.scheduled_in_minutes == 30
    assert once.schedule_expression.startswith("at(")
    assert at.schedule_expression == f"at({later.strftime('%Y-%m-%dT%H:%M:%S')})"
    assert (cron.schedule_expression, cron.timezone) == ("cron(0 9 * * ? *)", "Asia/Seoul")
    assert rate.schedule_expression == "rate(5 minutes)"
    detail = scheduler.get(cron.schedule_arn)
    assert detail.task is not None
    assert (detail.task.labels, detail.task.overlap) == ({"tier": "gold"}, "skip")
    assert (detail.task.max_lateness_seconds, detail.flexible_window_minutes) == (600, 5)
    assert detail.etag == cron.etag
    assert len(detail.next_run_times) >= 1


def test_create_is_idempotent_by_task_id_and_a_different_request_conflicts(
    scheduler: SchedulerClient,
) -> None:
    task_id = unique("same")
    first = scheduler.schedule(task_id=task_id, user_id=1, action="cleanup", cron="0 3 * * ? *")
    again = scheduler.schedule(task_id=task_id, user_id=1, action="cleanup", cron="0 3 * * ? *")
    assert again.schedule_arn == first.schedule_arn
    assert again.message == "Task already scheduled"
    with pytest.raises(ScheduleConflict) as raised:
        scheduler.schedule(task_id=task_id, user_id=1, action="cleanup", cron="0 4 * * ? *")
    assert raised.value.existing_schedule_arn == first.schedule_arn
    assert raised.value.status == 409
    assert raised.value.request_id


def test_update_with_if_match_then_a_stale_etag_is_precondition_failed(
    scheduler: SchedulerClient,
) -> None:
    created = scheduler.schedule(
        task_id=unique("patch"), user_id=2, action="cleanup", cron="0 3 * * ? *"
    )
    changed = scheduler.update(
        created.schedule_arn, if_match=created.etag, cron="0 5 * * ? *", labels={"a": "b"}
    )
    assert changed.schedule_expression == "cron(0 5 * * ? *)"
    assert changed.task is not None
    assert changed.task.labels == {"a": "b"}
    assert changed.etag != created.etag
    with pytest.raises(PreconditionFailed) as raised:
        scheduler.update(created.schedule_arn, if_match=created.etag, cron="0 6 * * ? *")
    assert raised.value.status == 412
    cleared = scheduler.update(created.schedule_arn, labels=None)
    assert cleared.task is not None
    assert cleared.task.labels == {}


def test_pause_resume_run_now_runs_and_cancel(served: Served, scheduler: SchedulerClient) -> None:
    task_id = unique("life")
    arn = scheduler.schedule(
        task_id=task_id, user_id=3, action="send_notification", cron="0 3 * * ? *"
    ).schedule_arn
    assert scheduler.pause(arn).state == "DISABLED"
    assert scheduler.resume(arn).state == "ENABLED"
    started = scheduler.run_now(arn)
    assert started.schedule_arn == arn
    runs = scheduler.runs(task_id)
    assert runs.task_id == task_id
    if served.local:  # the engine runs it within a second; on moto nothing runs the worker
        runs = poll(lambda: scheduler.runs(task_id), lambda r: r.runs[:1] != [] and done(r))
        assert [(run.execution_id, run.trigger) for run in runs.runs] == [
            (started.execution_id, "manual")
        ]
        last = scheduler.last_runs([task_id]).last_runs[task_id]
        assert last is not None
        assert last.status == "SUCCEEDED"
    else:
        assert runs.runs == []
    assert scheduler.cancel(arn).schedule_arn == arn
    with pytest.raises(NotFound):
        scheduler.get(arn)
    with pytest.raises(NotFound):
        scheduler.cancel(arn)


def test_find_follows_next_token_across_pages_and_bulk_acts_on_the_filter(
    scheduler: SchedulerClient,
) -> None:
    suite = uuid.uuid4().hex[:12]
    arns = {
        scheduler.schedule(
            task_id=f"page-{suite}-{n}",
            user_id=4,
            action="cleanup",
            cron=f"{n} 3 * * ? *",
            labels={"suite": suite},
        ).schedule_arn
        for n in range(5)
    }
    first = scheduler.find_page(limit=2, labels={"suite": suite})
    assert len(first.schedules) == 2
    assert first.next_token is not None
    found = list(scheduler.find(page_size=2, labels={"suite": suite}))
    assert {item.schedule_arn for item in found} == arns
    assert [item.task_id for item in found] == [f"page-{suite}-{n}" for n in range(5)]
    dry = scheduler.bulk("pause", dry_run=True, labels={"suite": suite})
    assert (dry.matched, dry.changed, len(dry.items)) == (5, 0, 5)
    paused = scheduler.bulk("pause", labels={"suite": suite})
    assert (paused.matched, paused.changed, paused.failed) == (5, 5, 0)
    assert len(list(scheduler.find(state="DISABLED", labels={"suite": suite}))) == 5
    assert scheduler.bulk("delete", labels={"suite": suite}, task_id_prefix="page-").changed == 5
    assert list(scheduler.find(labels={"suite": suite})) == []


def test_preview_and_overview(scheduler: SchedulerClient) -> None:
    after = datetime(2030, 1, 1, tzinfo=UTC)
    preview = scheduler.preview("cron(0 9 * * ? *)", timezone="Asia/Seoul", after=after, count=2)
    assert preview.next_run_times == [
        datetime(2030, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2030, 1, 2, 0, 0, tzinfo=UTC),
    ]
    with pytest.raises(ValidationFailed) as raised:
        scheduler.preview("cron(nonsense)")
    assert raised.value.errors[0].loc[-1] == "expression"
    assert scheduler.overview().schedules is not None  # both keep an index of schedules


def test_validation_failed_names_each_field(scheduler: SchedulerClient) -> None:
    with pytest.raises(ValidationFailed) as raised:
        scheduler.schedule(task_id="bad id", user_id=1, action="cleanup", delay_minutes=0)
    where = {error.loc for error in raised.value.errors}
    assert {("body", "task_id"), ("body", "delay_minutes")} <= where
    assert raised.value.status == 422
    assert "delay_minutes" in str(raised.value)


def test_bad_arn_too_large_and_wrong_token(served: Served, scheduler: SchedulerClient) -> None:
    with pytest.raises(BadRequest):
        scheduler.get("not-an-arn")
    with pytest.raises(PayloadTooLarge):
        scheduler.schedule(
            task_id=unique("big"), user_id=1, action="cleanup", delay_minutes=5,
            data={"blob": "x" * 70_000},
        )  # fmt: skip
    with (
        SchedulerClient(served.url, token="not-the-token-0000") as stranger,
        pytest.raises(AuthenticationFailed) as raised,
    ):
        stranger.overview()
    assert raised.value.status == 401


def test_the_token_comes_from_the_environment(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHEDULER_API_TOKEN", API_TOKEN)
    with SchedulerClient(served.url) as scheduler:
        assert scheduler.overview().schedules is not None
    monkeypatch.delenv("SCHEDULER_API_TOKEN")
    with SchedulerClient(served.url) as anonymous, pytest.raises(AuthenticationFailed):
        anonymous.overview()


def test_no_server_is_a_transport_error_without_socket_text() -> None:
    with (
        SchedulerClient(f"http://127.0.0.1:{free_port()}", timeout=2) as scheduler,
        pytest.raises(TransportError) as raised,
    ):
        scheduler.overview()
    assert str(raised.value) == "GET /scheduler/overview: no answer (ConnectError)"
    assert raised.value.status is None
