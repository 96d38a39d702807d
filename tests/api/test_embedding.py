"""scheduler_api.embedding in-process: a host app gets the scheduler's routes and nothing
else of ours (no middleware, handlers or app.state), the routes answer our domain errors
as our app does, and two apps in one process share no state."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from fastapi.testclient import TestClient

from examples.host_app.app import HostConfig, build_app
from scheduler_api.config import ConfigurationError, Settings
from scheduler_api.embedding import Scheduler, SchedulerNotRunningError, scheduler_settings
from scheduler_api.main import create_app
from scheduler_api.services.runtime import Runtime
from task_contract import LambdaContext, ProxyEvent
from tests.backends.local.test_local_processes import wait_for
from tests.conftest import ACCOUNT, AUTH, REGION, FakeClock, make_local_settings, task_body

KEY = {"X-API-Key": "host-key-0123456789"}
MISSING_ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/tasks/nope"


def host_scheduler(db: Path, clock: FakeClock) -> Scheduler:
    settings = scheduler_settings(
        backend="local",
        local_db_path=db,
        local_lambda_handler="tests.support.probe_handler.handler",
        group_name="tasks",
        aws_region=REGION,
        account_id=ACCOUNT,  # as make_local_settings: the same ARNs as our app's
    )
    return Scheduler(settings, clock=clock, start_engine=False)


@pytest.fixture
def host(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[FastAPI, Scheduler, TestClient]]:
    scheduler = host_scheduler(tmp_path / "host.db", clock)
    app = build_app(HostConfig(api_key=KEY["X-API-Key"]), scheduler)
    with TestClient(app, headers=KEY) as client:
        yield app, scheduler, client


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


def test_the_host_gets_routes_only_no_middleware_handlers_or_state(
    host: tuple[FastAPI, Scheduler, TestClient],
) -> None:
    app, _, client = host
    bare = FastAPI()
    assert client.post("/jobs/schedule", json=task_body("t1")).status_code == 200
    assert app.user_middleware == []
    assert set(app.exception_handlers) == set(bare.exception_handlers)
    assert vars(app.state)["_state"] == {}  # nothing of ours in the host's app.state
    assert app.dependency_overrides == {}


def test_embedded_routes_answer_domain_errors_as_our_app_does(
    host: tuple[FastAPI, Scheduler, TestClient], tmp_path: Path, clock: FakeClock
) -> None:
    _, _, client = host
    ours = create_app(make_local_settings(tmp_path / "ours.db"), clock=clock, start_engine=False)
    with TestClient(ours, headers=AUTH) as our_client:
        for base, each in (("/jobs", client), ("/scheduler", our_client)):
            assert each.post(f"{base}/schedule", json=task_body("dup")).status_code == 200
        answers = []
        for base, each in (("/jobs", client), ("/scheduler", our_client)):
            taken = each.post(f"{base}/schedule", json=task_body("dup", delay_minutes=5))
            missing = each.get(f"{base}/schedule/{MISSING_ARN}")
            bad_arn = each.get(f"{base}/schedule/not-an-arn")
            answers.append(
                [(r.status_code, without_request_id(r.json())) for r in (taken, missing, bad_arn)]
            )
    embedded, own = answers
    assert [status for status, _ in embedded] == [409, 404, 400]
    assert embedded[0][1]["existing_schedule_arn"].endswith("/dup")
    assert embedded == own


def test_two_apps_in_one_process_share_nothing(
    host: tuple[FastAPI, Scheduler, TestClient], tmp_path: Path, clock: FakeClock
) -> None:
    _, scheduler, client = host
    ours = create_app(make_local_settings(tmp_path / "ours.db"), clock=clock, start_engine=False)
    with TestClient(ours, headers=AUTH) as our_client:
        assert client.post("/jobs/schedule", json=task_body("theirs")).status_code == 200
        assert our_client.post("/scheduler/schedule", json=task_body("ours")).status_code == 200
        theirs = [s["task_id"] for s in client.get("/jobs/schedules").json()["schedules"]]
        mine = [s["task_id"] for s in our_client.get("/scheduler/schedules").json()["schedules"]]
        assert ours.state.runtime is not scheduler.runtime
    assert (theirs, mine) == (["theirs"], ["ours"])


def test_our_tokens_grant_nothing_on_the_host(host: tuple[FastAPI, Scheduler, TestClient]) -> None:
    _, _, client = host
    # A loopback client with our bearer token and no host key: the host's rule says no.
    assert client.get("/jobs/schedules", headers={"X-API-Key": "", **AUTH}).status_code == 401
    assert client.get("/jobs/schedules").status_code == 200


def test_routes_before_the_lifespan_are_503_and_the_runtime_says_why(
    tmp_path: Path, clock: FakeClock
) -> None:
    scheduler = host_scheduler(tmp_path / "h.db", clock)
    app = build_app(HostConfig(api_key=KEY["X-API-Key"]), scheduler)
    client = TestClient(app, headers=KEY)  # not entered: the lifespan never ran
    response = client.get("/jobs/schedules")
    assert response.status_code == 503
    assert "not running" in response.json()["detail"]
    with pytest.raises(SchedulerNotRunningError):
        _ = scheduler.runtime


def test_the_lifespan_can_be_the_apps_own_and_is_shared_by_a_second_entry(
    tmp_path: Path, clock: FakeClock
) -> None:
    scheduler = host_scheduler(tmp_path / "h.db", clock)
    app = FastAPI(lifespan=scheduler.lifespan)
    app.include_router(scheduler.router)
    with TestClient(app) as client:
        first = scheduler.runtime
        assert client.post("/schedule", json=task_body("t")).status_code == 200
        with TestClient(app) as second:  # a second lifespan on the same app
            assert scheduler.runtime is first  # one runtime, one engine, not two
            assert second.get("/schedules").json()["schedules"][0]["task_id"] == "t"
        assert scheduler.runtime is first  # the first lifespan still holds it
        assert client.get("/schedules").status_code == 200
    with pytest.raises(SchedulerNotRunningError):
        _ = scheduler.runtime  # stopped, and the database closed, at the last exit


def test_scheduler_settings_read_no_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCHEDULER_BACKEND", "aws")
    monkeypatch.setenv("LOCAL_DB_PATH", str(tmp_path / "from-env.db"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOCAL_CONCURRENCY=99\n")
    settings = scheduler_settings(backend="local")
    assert settings.backend_name == "local"
    assert settings.local_db_path == Path("var/scheduler.db")
    assert settings.local_concurrency == 8
    with pytest.raises(ConfigurationError, match="local_concurrency"):
        scheduler_settings(backend="local", local_concurrency=0)


RELEASE = threading.Event()  # lets blocking_handler's run end
STARTED = threading.Event()  # set when blocking_handler's run has begun


def blocking_handler(event: ProxyEvent, context: LambdaContext) -> dict[str, Any]:
    """A Lambda-shaped handler whose run lasts until the test releases it."""
    STARTED.set()
    RELEASE.wait(60)
    return {"statusCode": 200, "body": "{}"}


def test_an_entry_while_the_last_exit_stops_the_engine_waits_for_it(tmp_path: Path) -> None:
    """Without the wait, the second entry built a second runtime on the same file while
    the first engine was still running (and still had a run in hand)."""
    RELEASE.clear()
    STARTED.clear()
    settings = scheduler_settings(
        backend="local",
        local_db_path=tmp_path / "h.db",
        local_lambda_handler="tests.api.test_embedding.blocking_handler",
        local_shutdown_grace_seconds=60,
    )
    scheduler = Scheduler(settings)
    app = FastAPI()
    app.include_router(scheduler.router)
    first, second = scheduler.lifespan(), scheduler.lifespan()
    with start_blocking_portal() as portal:
        try:
            portal.call(first.__aenter__)
            old = scheduler.runtime
            client = TestClient(app)
            arn = client.post("/schedule", json=task_body("t")).json()["schedule_arn"]
            assert client.post(f"/schedule/{arn}/run").status_code == 202
            assert STARTED.wait(30)
            exiting = portal.start_task_soon(first.__aexit__, None, None, None)
            wait_for(lambda: not has_runtime(scheduler))  # the exit is stopping the engine
            entering = portal.start_task_soon(second.__aenter__)
            with pytest.raises(TimeoutError):
                entering.result(timeout=1)  # held while the old engine still runs its task
            assert not exiting.done()  # the old engine is still stopping
            RELEASE.set()
            exiting.result(timeout=60)
            entering.result(timeout=60)
            assert scheduler.runtime is not old
            portal.call(second.__aexit__, None, None, None)
        finally:
            RELEASE.set()  # a failed assertion must not leave the run (and the stop) waiting


def has_runtime(scheduler: Scheduler) -> bool:
    try:
        _ = scheduler.runtime
    except SchedulerNotRunningError:
        return False
    return True


class EngineThatCannotStart(Scheduler):
    """A fault at the engine's start (a thread that cannot be made, a file that cannot be
    written): the runtime is built, then its engine's start raises."""

    def _build(self, settings: Settings) -> Runtime:
        runtime = super()._build(settings)
        assert runtime.engine is not None

        def start() -> None:
            raise OSError("cannot start")

        runtime.engine.start = start  # type: ignore[method-assign]
        return runtime


def files_open_under(directory: Path) -> list[str]:
    """This process's open files under `directory` (its SQLite file, its writer lock)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith(str(directory)):
            found.append(target)
    return found


def test_an_engine_that_fails_to_start_leaves_nothing_open(tmp_path: Path) -> None:
    scheduler = EngineThatCannotStart(scheduler_settings(local_db_path=tmp_path / "h.db"))
    app = FastAPI(lifespan=scheduler.lifespan)
    with pytest.raises(OSError, match="cannot start"), TestClient(app):
        pass
    assert files_open_under(tmp_path) == []
    assert not has_runtime(scheduler)
