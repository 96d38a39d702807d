"""/metrics (Prometheus text format) and the worker's CloudWatch EMF line."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from lambda_worker import handler as worker_handler
from lambda_worker.config import worker_config
from scheduler_api.config import Settings
from scheduler_api.main import create_app
from task_contract import build_proxy_event, substitute_context_attributes
from tests.conftest import (
    API_TOKEN,
    AUTH,
    FakeClock,
    LocalApp,
    make_local_settings,
    make_settings,
    task_body,
)
from tests.support import probe_handler
from tests.support.lambda_context import FakeLambdaContext
from tests.support.processes import ROOT, base_env, free_port, running


def samples(client: TestClient, **headers: str) -> dict[tuple[str, frozenset[Any]], float]:
    response = client.get("/metrics", headers=headers or AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[tuple[str, frozenset[Any]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_local_engine_counts_fires_runs_retries_and_dead_letters(tmp_path: Path) -> None:
    probe_handler.reset()
    clock = FakeClock()
    settings = make_local_settings(
        tmp_path / "s.db", local_max_retries=1, local_retry_base_seconds=1
    )
    app = create_app(settings, clock=clock, start_engine=False)
    with TestClient(app, headers=AUTH) as client:
        engine = app.state.runtime.engine
        before = samples(client)
        for task_id in ("fine", "doomed"):
            body = task_body(task_id, run_at="2030-01-01T00:01:00Z")
            assert client.post("/scheduler/schedule", json=body).status_code == 200
        probe_handler.FAILURES["doomed"] = 5
        clock.advance(timedelta(minutes=1, seconds=2))
        due = samples(client)
        assert value(due, "scheduler_due_backlog") == 2  # due, not yet claimed
        engine.tick()
        clock.advance(timedelta(seconds=5))
        engine.tick()
        after = samples(client)
    probe_handler.reset()
    delta = {
        key: after.get(key, 0.0) - before.get(key, 0.0)
        for key in set(after) | set(before)
        if not key[0].startswith(("python_", "process_"))
    }
    assert delta[("scheduler_fires_total", frozenset())] == 2
    assert delta[("scheduler_runs_total", frozenset({("status", "SUCCEEDED")}))] == 1
    assert delta[("scheduler_runs_total", frozenset({("status", "RETRYING")}))] == 1
    assert delta[("scheduler_runs_total", frozenset({("status", "DEAD_LETTERED")}))] == 1
    assert delta[("scheduler_retries_total", frozenset())] == 1
    assert delta[("scheduler_engine_rounds_total", frozenset())] == 2  # the two ticks
    assert delta[("scheduler_fire_lateness_seconds_count", frozenset())] == 2
    assert value(after, "scheduler_dead_letters") == 1
    assert value(after, "scheduler_due_backlog") == 0
    assert value(after, "scheduler_engine_up") == 0  # driven by hand: no loop running
    post = ("scheduler_api_requests_total", frozenset(
        {("method", "POST"), ("route", "/scheduler/schedule"), ("status", "200")}
    ))  # fmt: skip
    assert delta[post] == 2
    created = (
        "scheduler_backend_call_seconds_count",
        frozenset({("operation", "local.create_schedule")}),
    )
    assert delta[created] == 2


def test_routes_are_labelled_by_template_and_aws_calls_by_operation(clock: FakeClock) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("scheduler", region_name="us-east-1").create_schedule_group(Name="tasks")
        app = create_app(make_settings(), clock=clock)
        with TestClient(app, headers=AUTH) as client:
            arn = client.post("/scheduler/schedule", json=task_body("measured")).json()[
                "schedule_arn"
            ]
            missing = arn.replace("measured", "missing")
            assert client.get(f"/scheduler/schedule/{missing}").status_code == 404
            found = samples(client)
            text = client.get("/metrics", headers=AUTH).text
    assert "measured" not in text  # never a raw path: no series per schedule
    assert (
        value(
            found,
            "scheduler_backend_call_seconds_count",
            operation="EventBridgeScheduler.CreateSchedule",
        )
        >= 1
    )
    assert (
        value(
            found,
            "scheduler_backend_errors_total",
            operation="EventBridgeScheduler.GetSchedule",
            error="ScheduleNotFoundError",
        )
        >= 1
    )
    assert (
        value(
            found,
            "scheduler_api_requests_total",
            method="GET",
            route="/scheduler/schedule/{schedule_arn:path}",
            status="404",
        )
        >= 1
    )


def test_metrics_are_protected_like_the_api_or_by_their_own_token(tmp_path: Path) -> None:
    settings = make_local_settings(tmp_path / "s.db", metrics_token="scrape-token-0123456789")
    with TestClient(create_app(settings, start_engine=False)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scraper = {"Authorization": "Bearer scrape-token-0123456789"}
        assert client.get("/metrics", headers=scraper).status_code == 200
        assert client.get("/metrics", headers=AUTH).status_code == 200
        # The scrape token opens /metrics only.
        assert client.get("/scheduler/schedules", headers=scraper).status_code == 401
    open_settings = make_local_settings(tmp_path / "o.db", api_tokens=None)
    with TestClient(create_app(open_settings, start_engine=False)) as client:
        assert client.get("/metrics").status_code == 403  # "testclient" is not loopback


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """uvicorn --workers 2 with prometheus-client's multiprocess directory."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **base_env(),
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(tmp_path / "s.db"),
        "SCHEDULER_API_TOKENS": API_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    args = [sys.executable, "-m", "uvicorn", "scheduler_api.main:app", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running([*args, "--workers", "2"], f"{url}/health", env, tmp_path):
        yield url, metrics_dir


def test_counts_are_summed_across_uvicorn_workers(workers: tuple[str, Path]) -> None:
    """Each request is counted once whichever process served it, and every scrape, from
    whichever process, sees the sum."""
    url, metrics_dir = workers
    for _ in range(100):  # a new connection each: spread over both processes
        httpx.get(f"{url}/health", timeout=10)
    pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(pids) == 2  # both processes served (else the sum would prove nothing)
    with httpx.Client(base_url=url, headers=AUTH) as client:
        for _ in range(4):
            text = client.get("/metrics").text
            total = sum(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("scheduler_api_requests_total") and 'route="/health"' in line
            )
            assert total >= 100  # the 100, and the readiness probes before them


def invoke_on_lambda(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    action: str,
    scheduled_time: str = "2020-01-01T00:00:00Z",
) -> dict[str, Any]:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "worker")
    monkeypatch.setenv("METRICS_NAMESPACE", "Team/Tasks")
    monkeypatch.delenv("LEDGER_TABLE", raising=False)
    worker_config.cache_clear()
    body = {"task_id": "emf-1", "user_id": 1, "action": action, "data": {}}
    event = json.loads(
        substitute_context_attributes(
            json.dumps(build_proxy_event("/api/v1/tasks/callback", "POST", body)),
            schedule_arn="arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/emf-1",
            scheduled_time=scheduled_time,
            execution_id="e-1",
            attempt=1,
        )
    )
    try:
        worker_handler.lambda_handler(event, FakeLambdaContext(aws_request_id="r-1"))
    finally:
        worker_config.cache_clear()
    lines = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(lines) == 1  # one line per invocation
    document: dict[str, Any] = json.loads(lines[0])
    return document


def test_the_worker_prints_one_emf_line_per_invocation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = invoke_on_lambda(monkeypatch, capsys, "send_notification")
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Team/Tasks"
    assert directive["Dimensions"] == [["action", "outcome"]]
    assert {m["Name"] for m in directive["Metrics"]} == {"Duration", "Lateness"}
    assert (document["action"], document["outcome"]) == ("send_notification", "succeeded")
    assert document["Duration"] >= 0
    assert document["Lateness"] > 60 * 60 * 24 * 365  # scheduled in 2020
    refused = invoke_on_lambda(monkeypatch, capsys, "no_such_action")
    assert refused["outcome"] == "refused"


@pytest.mark.parametrize(
    "scheduled_time", ["2030-01-01T09:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59-14:00"]
)
def test_a_malformed_scheduled_time_is_a_refusal_on_lambda_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], scheduled_time: str
) -> None:
    """The worker answers 400; the EMF line must not then raise on the same header (a
    naive time minus an aware one is a TypeError, a time UTC cannot hold an
    OverflowError): Lambda would count a function error and retry the delivery."""
    document = invoke_on_lambda(monkeypatch, capsys, "send_notification", scheduled_time)
    assert document["outcome"] == "refused"
    assert "Lateness" not in document


def test_no_emf_line_outside_lambda(
    capsys: pytest.CaptureFixture[str], local_app: LocalApp
) -> None:
    body = task_body("quiet", run_at="2030-01-01T00:01:00Z")
    local_app.client.post("/scheduler/schedule", json=body)
    local_app.advance(60)
    assert '"_aws"' not in capsys.readouterr().out


def test_env_example_documents_the_metrics_settings() -> None:
    text = (ROOT / ".env.example").read_text()
    for name in ("METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "METRICS_NAMESPACE"):
        assert f"\n{name}=" in text


def test_a_multiprocess_directory_only_in_dotenv_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prometheus-client reads it from the environment at import, before .env is read."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"PROMETHEUS_MULTIPROC_DIR={tmp_path}\n")
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings(_env_file=dotenv)


def raw_request(port: int, method: str, path: str) -> bytes:
    """One request over a plain socket: an HTTP client would refuse a made-up method, and
    h11 (uvicorn's parser) accepts any token as one."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def request_series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("scheduler_api_requests_total")]


def test_made_up_methods_add_no_series(tmp_path: Path) -> None:
    """Each made-up method is counted as `other`: /metrics stays the same size however
    many a client invents (they were a series each, without end)."""
    port = free_port()
    env = {
        **base_env(),
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(tmp_path / "s.db"),
        "SCHEDULER_API_TOKENS": API_TOKEN,
    }
    args = [sys.executable, "-m", "uvicorn", "scheduler_api.main:app", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with (
        running(args, f"{url}/health", env, tmp_path),
        httpx.Client(base_url=url, headers=AUTH) as client,
    ):
        for path in ("/health", "/scheduler/schedules", "/no-such-path"):
            assert raw_request(port, "WARMUP", path).startswith(b"HTTP/1.1 ")
        client.get("/metrics")  # counted after it answers: the next scrape shows it
        before = request_series(client.get("/metrics").text)
        for index in range(300):
            path = ("/health", "/scheduler/schedules", "/no-such-path")[index % 3]
            assert raw_request(port, f"MADEUP{index}", path).startswith(b"HTTP/1.1 ")
        after = request_series(client.get("/metrics").text)
    assert "MADEUP" not in "\n".join(after)
    assert len(after) == len(before)
    counted = sum(float(line.split()[-1]) for line in after if 'method="other"' in line)
    assert counted >= 303
