"""The embedded engine on a fake clock: when it fires, what it sends, retries, dead letters."""

from __future__ import annotations

import fcntl
import json
import os
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scheduler_api.backends.local.engine.loop import LocalEngine
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.outcomes import RetryPolicy
from scheduler_api.backends.local.store.rounds import ExecutionStore
from scheduler_api.domain.errors import BackendUnavailableError
from scheduler_api.main import create_app
from tests.conftest import (
    ACCOUNT,
    AUTH,
    GROUP,
    FakeClock,
    LocalApp,
    counting_action,
    make_local_settings,
    task_body,
)
from tests.support import probe_handler
from tests.support.probe_handler import FAILURES, events_for
from tests.support.processes import uvicorn_with_log


def schedule(app: LocalApp, task_id: str = "task-123", **timing: Any) -> dict[str, Any]:
    response = app.client.post("/scheduler/schedule", json=task_body(task_id, **timing))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_one_time_task_fires_at_its_time_with_eventbridge_headers(local_app: LocalApp) -> None:
    created = schedule(local_app, delay_minutes=1)  # clock 00:00:30 -> due 00:02:00
    assert local_app.engine.tick() == 0
    assert local_app.advance(89) == 0  # 00:01:59
    assert local_app.advance(1) == 1  # 00:02:00
    (event,) = events_for("task-123")
    headers = event["headers"]
    assert headers["X-Scheduler-Schedule-Arn"] == created["schedule_arn"]
    assert headers["X-Scheduler-Scheduled-Time"] == "2030-01-01T00:02:00Z"
    assert headers["X-Scheduler-Attempt"] == "1"
    assert event["requestContext"]["requestId"] == headers["X-Scheduler-Execution-Id"]
    (run,) = local_app.runs("task-123")
    assert run["status"] == "SUCCEEDED"
    assert run["status_code"] == 200
    assert run["attempts"] == 1
    assert run["scheduled_time"] == "2030-01-01T00:02:00Z"
    assert run["started_at"] == run["finished_at"] == "2030-01-01T00:02:00Z"
    assert run["execution_id"] == headers["X-Scheduler-Execution-Id"]
    # ActionAfterCompletion=DELETE: the schedule is gone after its final attempt.
    arn = created["schedule_arn"]
    assert local_app.client.get(f"/scheduler/schedule/{arn}").status_code == 404
    assert local_app.advance(3600) == 0


def test_the_engine_counts_the_rounds_it_completed(local_app: LocalApp) -> None:
    """Each tick is one round (the figure benchmark 12 divides runs by); a round that
    raises is not one completed."""
    health = local_app.engine.round_health
    health.started(0.0)  # what start() says: the clock for /health, not a round
    assert health.rounds == 0
    schedule(local_app, delay_minutes=1)
    assert local_app.engine.tick() == 0
    assert local_app.advance(90) == 1
    assert health.rounds == 2
    database = local_app.engine.database
    database.busy_timeout = 0.05  # the writer's deadline, so the stuck round fails soon
    held = os.open(f"{database.path}.writer-lock", os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's writer, stuck
        with pytest.raises(BackendUnavailableError):
            local_app.engine.tick()
    finally:
        os.close(held)
    assert health.rounds == 2


def test_arns_and_names_match_eventbridge(local_app: LocalApp) -> None:
    created = schedule(local_app, "order:42")
    name = created["schedule_name"]
    assert (
        created["schedule_arn"] == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/{GROUP}/{name}"
    )


def test_cron_fires_every_due_time_once_even_when_ticks_are_sparse(local_app: LocalApp) -> None:
    schedule(local_app, "hourly", cron="0/10 * * * ? *")
    local_app.advance(1800)  # 00:30:30: fires 00:10, 00:20 and 00:30 are due
    runs = local_app.runs("hourly")
    assert [r["scheduled_time"] for r in runs] == [
        "2030-01-01T00:30:00Z",
        "2030-01-01T00:20:00Z",
        "2030-01-01T00:10:00Z",
    ]
    assert {r["status"] for r in runs} == {"SUCCEEDED"}
    assert len(events_for("hourly")) == 3
    assert local_app.advance(10) == 0  # nothing twice


def test_rate_without_start_date_fires_at_once_then_every_interval(local_app: LocalApp) -> None:
    schedule(local_app, "poll", rate="10 minutes")
    assert local_app.engine.tick() == 1
    assert local_app.advance(599) == 0
    assert local_app.advance(1) == 1
    times = [e["headers"]["X-Scheduler-Scheduled-Time"] for e in events_for("poll")]
    assert times == ["2030-01-01T00:00:30Z", "2030-01-01T00:10:30Z"]


def test_start_and_end_dates_bound_a_recurring_schedule(local_app: LocalApp) -> None:
    schedule(
        local_app,
        "bounded",
        cron="0 * * * ? *",
        start_date="2030-01-01T02:00:00Z",
        end_date="2030-01-01T03:30:00Z",
    )
    for _ in range(12):
        local_app.advance(1800)
    times = sorted(r["scheduled_time"] for r in local_app.runs("bounded"))
    assert times == ["2030-01-01T02:00:00Z", "2030-01-01T03:00:00Z"]


def test_a_disabled_schedule_does_not_fire(local_app: LocalApp) -> None:
    created = schedule(local_app, "paused", cron="0 * * * ? *")
    backend = local_app.runtime.service.backend
    current = backend.get_schedule(GROUP, created["schedule_name"])
    backend.update_schedule(replace(current.spec, state="DISABLED"))
    local_app.advance(5 * 3600)
    assert local_app.runs("paused") == []


def test_flexible_window_delays_the_fire_inside_the_window(local_app: LocalApp) -> None:
    local_app.engine.store.rng = random.Random(7)
    jitter = random.Random(7).uniform(0, 600)  # what the engine will draw
    schedule(local_app, "flex", run_at="2030-01-01T01:00:00Z", flexible_window_minutes=10)
    local_app.advance(3569.5)  # 00:59:59.5 + jitter - 1 s: not yet
    assert local_app.advance(jitter) == 0
    assert local_app.advance(1) == 1
    (run,) = local_app.runs("flex")
    assert run["scheduled_time"] == "2030-01-01T01:00:00Z"
    started = datetime.fromisoformat(run["started_at"])
    assert timedelta(0) < started - datetime(2030, 1, 1, 1, tzinfo=UTC) <= timedelta(minutes=10)


def test_a_failing_invocation_is_retried_with_backoff(local_app: LocalApp) -> None:
    FAILURES["flaky"] = 1
    schedule(local_app, "flaky", run_at="2030-01-01T00:01:00Z")
    local_app.advance(30)
    (run,) = local_app.runs("flaky")
    assert run["status"] == "RETRYING"
    assert run["error"] == "ProbeFailureError"  # the class, never the message
    assert local_app.advance(59) == 0  # backoff is 60 s
    assert local_app.advance(1) == 1
    (run,) = local_app.runs("flaky")
    assert run["status"] == "SUCCEEDED"
    assert run["attempts"] == 2
    assert [e["headers"]["X-Scheduler-Attempt"] for e in events_for("flaky")] == ["1", "2"]


def test_exhausted_retries_are_dead_lettered_then_redriven(local_app: LocalApp) -> None:
    FAILURES["doomed"] = 3
    created = schedule(local_app, "doomed", run_at="2030-01-01T00:01:00Z")
    local_app.advance(30)  # attempt 1
    local_app.advance(60)  # attempt 2, after 60 s
    assert local_app.runs("doomed")[0]["status"] == "RETRYING"
    local_app.advance(120)  # attempt 3, after 120 s
    (run,) = local_app.runs("doomed")
    assert run["status"] == "DEAD_LETTERED"
    assert run["attempts"] == 3
    assert local_app.advance(3600) == 0
    # The one-time schedule is deleted after its final attempt, failed or not.
    arn = created["schedule_arn"]
    assert local_app.client.get(f"/scheduler/schedule/{arn}").status_code == 404

    (letter,) = local_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    assert letter["task_id"] == "doomed"
    assert letter["reason"] == "ProbeFailureError"
    assert json.loads(letter["event"]["body"])["task_id"] == "doomed"
    assert letter["event"]["headers"]["X-Scheduler-Attempt"] == "3"
    assert [a["number"] for a in letter["attempts"]] == [1, 2, 3]
    assert all(a["error"] == "ProbeFailureError" for a in letter["attempts"])
    assert "do-not-show" not in json.dumps(letter)

    redriven = local_app.client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
    assert redriven.json() == {"dead_letter_id": letter["id"], "status": "SUCCEEDED"}
    (run,) = local_app.runs("doomed")
    assert run["status"] == "SUCCEEDED"
    assert run["attempts"] == 4
    (letter,) = local_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    assert letter["redrive_status"] == "SUCCEEDED"
    again = local_app.client.post(f"/scheduler/dead-letters/{letter['id']}/redrive")
    assert again.status_code == 404


def test_retries_stop_at_maximum_event_age(local_app: LocalApp) -> None:
    FAILURES["late"] = 10
    schedule(local_app, "late", run_at="2030-01-01T00:01:00Z")
    local_app.advance(30)  # attempt 1 at 00:01:00 fails; retry due 00:02:00
    local_app.advance(3599)  # the engine was away: attempt 2 at 01:00:59, age 3599 s
    (run,) = local_app.runs("late")
    # A third attempt (120 s later) would be older than MaximumEventAgeInSeconds=3600.
    assert run["status"] == "DEAD_LETTERED"
    assert run["attempts"] == 2


def test_a_retry_left_waiting_past_maximum_event_age_is_dead_lettered(
    local_app: LocalApp,
) -> None:
    FAILURES["stale"] = 1
    schedule(local_app, "stale", run_at="2030-01-01T00:01:00Z")
    local_app.advance(30)  # attempt 1 fails; the retry is due at 00:02:00
    local_app.clock.advance(timedelta(hours=2))  # the engine was down past the event age
    assert local_app.engine.tick() == 0
    (run,) = local_app.runs("stale")
    assert run["status"] == "DEAD_LETTERED"
    (letter,) = local_app.client.get("/scheduler/dead-letters").json()["dead_letters"]
    assert letter["reason"] == "MaximumEventAge exceeded"


def test_start_up_log_names_backend_db_and_docs(
    local_app: LocalApp, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(local_app.client.app):
        pass
    lines = capsys.readouterr().err.splitlines()
    line = next(text for text in lines if "scheduler API ready" in text)
    assert "backend=local" in line
    assert f"db={local_app.runtime.database.path.resolve()}" in line  # type: ignore[union-attr]
    assert "docs=/docs" in line  # no PUBLIC_URL: the path, on the address uvicorn prints
    assert "dashboard=/dashboard" in line


def test_fires_missed_while_down_run_once_if_not_too_old(local_app: LocalApp) -> None:
    schedule(local_app, "every-10", cron="0/10 * * * ? *")
    local_app.clock.advance(timedelta(hours=5))  # the engine is down: no ticks
    local_app.engine.tick()
    times = [r["scheduled_time"] for r in local_app.runs("every-10")]
    # MaximumEventAgeInSeconds is 3600: fires from 04:00:30 on still run, older are skipped.
    assert times[0] == "2030-01-01T05:00:00Z"
    assert times[-1] == "2030-01-01T04:10:00Z"
    assert len(times) == len(set(times)) == 6
    assert local_app.advance(1) == 0


def test_a_4xx_answer_is_failed_not_retried_and_says_why(tmp_path: Path, clock: FakeClock) -> None:
    """SCHEDULER_KNOWN_ACTIONS=* leaves the action to the worker: the run's error is the
    worker's reason, read from its answer's body, not only its status."""
    settings = make_local_settings(tmp_path / "s.db", known_actions="*")
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        local = LocalApp(client, app.state.runtime, clock)
        body = {**task_body("typo", delay_minutes=1), "action": "send_notifcation"}
        assert client.post("/scheduler/schedule", json=body).status_code == 200
        local.advance(90)
        (run,) = local.runs("typo")
        assert run["status"] == "FAILED"
        assert run["status_code"] == 422
        assert run["error"] == "callback answered 422: Unknown action 'send_notifcation'"
        assert local.advance(3600) == 0


def test_a_dead_engines_execution_is_taken_over_at_once(local_app: LocalApp) -> None:
    schedule(local_app, "orphan", run_at="2030-01-01T00:01:00Z")
    database = local_app.runtime.database
    assert isinstance(database, Database)
    dying = LocalEngine(database, handler=probe_handler.handler, clock=local_app.clock)
    local_app.clock.advance(timedelta(seconds=30))
    with dying.store.round() as round:
        round.heartbeat()
        round.materialize()
        assert len(round.claim(10)) == 1  # claimed, then it "dies" before running it
    assert local_app.engine.tick() == 0  # it holds its lock: alive
    assert local_app.advance(60) == 0  # a minute without a heartbeat: still alive
    fcntl.flock(dying.store.membership.lock.fd, fcntl.LOCK_UN)  # what the kernel does when it dies
    assert local_app.engine.tick() == 1  # taken over at once, not after a staleness
    (run,) = local_app.runs("orphan")
    assert run["status"] == "SUCCEEDED"
    assert run["attempts"] == 2
    assert len(events_for("orphan")) == 1
    assert not dying.store.membership.lock.path.exists()  # the dead engine's file is cleaned up


def test_an_engine_without_a_lock_file_is_judged_by_its_heartbeat(local_app: LocalApp) -> None:
    """Another host's engine, or one of a version before lock files: stale after 5 s."""
    schedule(local_app, "elsewhere", run_at="2030-01-01T00:01:00Z")
    database = local_app.runtime.database
    assert isinstance(database, Database)
    remote = ExecutionStore(
        database,
        owner="another-host:123:abcd",
        clock=local_app.clock,
        retry=RetryPolicy(),
        rng=random.Random(),
    )
    local_app.clock.advance(timedelta(seconds=30))
    with remote.round() as round:
        round.heartbeat()
        round.materialize()
        assert len(round.claim(10)) == 1  # its lock is held, but not one this host judges by
    assert local_app.engine.tick() == 0  # its heartbeat is fresh
    assert local_app.advance(6) == 1  # stale after 5 s: taken over
    assert local_app.runs("elsewhere")[0]["status"] == "SUCCEEDED"


def test_runs_route_validates_and_is_empty_for_unknown_tasks(local_app: LocalApp) -> None:
    assert local_app.runs("never-scheduled") == []
    assert local_app.client.get("/scheduler/tasks/bad id/runs").status_code == 422
    assert local_app.client.post("/scheduler/dead-letters/999/redrive").status_code == 404


def test_the_start_up_line_links_the_docs_where_the_server_listens(tmp_path: Path) -> None:
    """Started on another port without PUBLIC_URL, the line must not name port 8000."""
    env = {"SCHEDULER_BACKEND": "local", "LOCAL_DB_PATH": str(tmp_path / "s.db")}
    for public_url in (None, "http://scheduler.example.internal"):
        extra = {"PUBLIC_URL": public_url} if public_url else {}
        with uvicorn_with_log({**env, **extra}, tmp_path) as (_, _, log):
            line = next(text for text in log.read_text().splitlines() if "API ready" in text)
        expected = f"docs={public_url}/docs" if public_url else "docs=/docs"
        assert expected in line
        assert f"dashboard={public_url or ''}/dashboard " in line
        assert ":8000" not in line


def test_known_actions_are_checked_at_post_when_configured(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_local_settings(
        tmp_path / "s.db", known_actions="send_notification, process_payment"
    )
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        typo = {**task_body("t-1"), "action": "send_notifcation"}
        response = client.post("/scheduler/schedule", json=typo)
        assert client.post("/scheduler/schedule", json=task_body("t-2")).status_code == 200
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "action"]
    assert "process_payment, send_notification" in error["msg"]


def test_an_unknown_action_is_422_at_post_listing_the_workers_actions(
    local_app: LocalApp,
) -> None:
    """Local mode, nothing configured: the in-process worker's registry is the list."""
    typo = {**task_body("t-1"), "action": "send_notifcation"}
    response = local_app.client.post("/scheduler/schedule", json=typo)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "action"]
    assert "unknown action 'send_notifcation'; the local worker knows" in error["msg"]
    known = error["msg"].split("knows ")[1].split(", ")
    assert {"send_notification", "process_payment", "probe_run"} <= set(known)
    assert known == sorted(known)
    arn = schedule(local_app, "t-2")["schedule_arn"]
    patched = local_app.client.patch(
        f"/scheduler/schedule/{arn}", json={"action": "send_notifcation"}
    )
    assert patched.status_code == 422  # a PATCH to an unknown action too
    assert local_app.runs("t-1") == []


def test_an_action_registered_after_start_up_is_known_at_post(local_app: LocalApp) -> None:
    with counting_action("registered_late") as calls:
        body = {**task_body("late", delay_minutes=1), "action": "registered_late"}
        assert local_app.client.post("/scheduler/schedule", json=body).status_code == 200
        local_app.advance(90)
    assert calls == ["late"]


def test_the_real_worker_handler_lists_its_actions_at_post(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_local_settings(
        tmp_path / "s.db", local_lambda_handler="lambda_worker.handler.lambda_handler"
    )
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        typo = {**task_body("t-1"), "action": "nope"}
        response = client.post("/scheduler/schedule", json=typo)
    assert response.status_code == 422
    assert "generate_daily_report" in response.json()["detail"][0]["msg"]
