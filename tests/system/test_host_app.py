"""The example host app (examples/host_app) under a real uvicorn process: schedules fire
through the local engine, the host's key (not our tokens) guards the scheduler's routes,
the host's own routes and OpenAPI are as without the scheduler, and SIGTERM stops the
engine within its grace."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from examples.host_app.app import HostConfig, build_app
from scheduler_api.main import create_app
from tests.backends.local.test_local_processes import iso_in, wait_for
from tests.conftest import API_TOKEN, make_local_settings, task_body
from tests.support.processes import uvicorn_with_log

HOST_KEY = "host-key-0123456789"
KEY = {"X-API-Key": HOST_KEY}


def host_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "HOST_APP_API_KEY": HOST_KEY,
        "HOST_APP_SCHEDULER_DB": str(home / "jobs.db"),
        "HOST_APP_TASK_HANDLER": "tests.support.probe_handler.file_handler",
        "PROBE_LOG": str(home / "probe.log"),
        # Ours, in the process's environment: the host's explicit settings ignore them.
        "SCHEDULER_API_TOKENS": API_TOKEN,
        "SCHEDULER_BACKEND": "aws",
        **extra,
    }


def host_app(
    home: Path, env: dict[str, str]
) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes], Path]]:
    app = ("--factory", "examples.host_app.app:create_host_app")
    return uvicorn_with_log(env, home, app=app, health_path="/jobs/health")


def fired(home: Path, task_id: str) -> list[dict[str, Any]]:
    log = home / "probe.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in map(json.loads, lines) if line["task_id"] == task_id]


def test_the_host_app_runs_the_scheduler_behind_its_own_auth(tmp_path: Path) -> None:
    with (
        host_app(tmp_path, host_env(tmp_path)) as (url, _, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        body = task_body("reminder", run_at=iso_in(2))
        # Neither our bearer token nor being a loopback client is access here.
        bearer = {"Authorization": f"Bearer {API_TOKEN}"}
        assert client.post("/jobs/schedule", json=body, headers=bearer).status_code == 401
        assert client.get("/jobs/schedules").status_code == 401
        assert client.get("/hello").status_code == 401
        assert client.post("/jobs/schedule", json=body, headers=KEY).status_code == 200
        taken = client.post("/jobs/schedule", json={**body, "run_at": iso_in(600)}, headers=KEY)
        assert taken.status_code == 409  # our domain error, without our handlers
        assert taken.json()["existing_schedule_arn"].endswith("/reminder")
        assert client.get("/hello", headers=KEY).json() == {"message": "hello from the host app"}
        wait_for(lambda: fired(tmp_path, "reminder") != [], timeout=30)
        (run,) = client.get("/jobs/tasks/reminder/runs", headers=KEY).json()["runs"]
        assert run["status"] == "SUCCEEDED"
        served = client.get("/openapi.json").json()

    bare = build_app(HostConfig(api_key=HOST_KEY), scheduler=None).openapi()
    own_paths = {p: v for p, v in served["paths"].items() if not p.startswith("/jobs/")}
    assert own_paths == bare["paths"]
    for name, schema in bare["components"]["schemas"].items():
        assert served["components"]["schemas"][name] == schema
    assert served["components"]["securitySchemes"] == bare["components"]["securitySchemes"]
    ours = create_app(make_local_settings(tmp_path / "unused.db")).openapi()
    scheduler_paths = {p.removeprefix("/scheduler") for p in ours["paths"] if p != "/health"}
    embedded = {p.removeprefix("/jobs") for p in served["paths"] if p.startswith("/jobs/")}
    assert embedded == scheduler_paths | {"/health"}


def running(client: httpx.Client, task_id: str) -> str | None:
    runs = client.get(f"/jobs/tasks/{task_id}/runs", headers=KEY).json()["runs"]
    return runs[0]["execution_id"] if runs and runs[0]["status"] == "RUNNING" else None


def test_sigterm_stops_the_engine_within_its_grace(tmp_path: Path) -> None:
    env = host_env(tmp_path, PROBE_DELAY_SECONDS="120", HOST_APP_SHUTDOWN_GRACE="1")
    with host_app(tmp_path, env) as (url, process, log):
        with httpx.Client(base_url=url, timeout=10) as client:
            body = task_body("slow", run_at=iso_in(3))
            assert client.post("/jobs/schedule", json=body, headers=KEY).status_code == 200
            wait_for(lambda: running(client, "slow") is not None, timeout=20)
            execution_id = running(client, "slow")
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal: the status says what stopped it.
        assert process.wait(timeout=30) == -signal.SIGTERM
        took = time.monotonic() - stopping
    assert took < 10, f"SIGTERM took {took:.1f} s with a 1 s grace"  # not the action's 120 s
    # The engine stopped (not the process killed under it): it released the execution,
    # which the next start runs again.
    output = log.read_text()
    assert "released to run again" in output
    assert "Application shutdown complete" in output  # the lifespan ran to its end
    with (
        host_app(tmp_path, {**env, "PROBE_DELAY_SECONDS": "0"}) as (url, _, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):

        def succeeded() -> bool:
            runs = client.get("/jobs/tasks/slow/runs", headers=KEY).json()["runs"]
            return bool(runs) and runs[0]["status"] == "SUCCEEDED"

        wait_for(succeeded, timeout=30)
        (run,) = client.get("/jobs/tasks/slow/runs", headers=KEY).json()["runs"]
    assert (run["execution_id"], run["attempts"]) == (execution_id, 2)
