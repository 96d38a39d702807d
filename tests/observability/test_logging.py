"""Logs: escape_controls keeps a log record on one line whatever a client sent (every
control character, C0, DEL, C1, the Unicode line and paragraph separators, becomes an
escape); one line per request on a real server; a failing action's own traceback once,
readable, in text; JSON one object per line; LOG_FORMAT's default."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from lambda_worker.config import WorkerConfig, WorkerConfigError
from scheduler_api.config import Settings
from scheduler_api.observability.logging import escape_controls
from task_contract import default_log_format
from tests.conftest import task_body
from tests.support.processes import (
    ROOT,
    base_env,
    free_port,
    stop,
    uvicorn_with_log,
    wait_until_serving,
)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nforged: line", "a\\r\\nforged: line"),
        ("\x00\x1b[31m", "\\u0000\\u001b[31m"),
        ("\x7f\x85", "\\u007f\\u0085"),
        ("\u2028\u2029", "\\u2028\\u2029"),
    ],
)
def test_control_characters_become_escapes(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def test_printable_text_and_other_unicode_are_left_alone() -> None:
    text = "schedule 'daily-report' — 日本語 😀 \t"
    assert escape_controls(text) == text.replace("\t", "\\t")


# --- Logs a person can read: one line per request, one traceback per failed attempt ---

TRACEBACK = "Traceback (most recent call last)"


def server_env(home: Path, log_format: str) -> dict[str, str]:
    """A local server whose worker is the real one (through the probe handler), no retries."""
    return {
        "SCHEDULER_BACKEND": "local",
        "LOCAL_DB_PATH": str(home / "s.db"),
        "LOCAL_LAMBDA_HANDLER": "tests.support.probe_handler.handler",
        "LOCAL_MAX_RETRIES": "0",
        "LOG_FORMAT": log_format,
    }


def wait_for_run(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """Poll the server until the task's run has finished (another process's progress)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = client.get(f"/scheduler/tasks/{task_id}/runs").json()["runs"]
        if runs and runs[0]["status"] not in ("RUNNING", "PENDING"):
            run: dict[str, Any] = runs[0]
            return run
        time.sleep(0.05)
    raise AssertionError(f"the run of {task_id} did not finish")


def fail_once(home: Path, log_format: str) -> tuple[dict[str, Any], str]:
    """A probe_fail task run now on a real uvicorn; its run and the server's whole log."""
    with uvicorn_with_log(server_env(home, log_format), home) as (url, _, log):
        with httpx.Client(base_url=url, timeout=10) as client:
            body = {**task_body("fails", delay_minutes=60), "action": "probe_fail"}
            created = client.post("/scheduler/schedule", json=body)
            assert created.status_code == 200, created.text
            arn = created.json()["schedule_arn"]
            assert client.post(f"/scheduler/schedule/{arn}/run").status_code in (200, 202)
            run = wait_for_run(client, "fails")
        return run, log.read_text()


def lines_of_one_request(url: str, log: Path) -> list[str]:
    """The log lines naming one request's path. The app logs a request after answering
    it, so a second request is made and its line awaited: by then the first is written."""
    assert httpx.get(f"{url}/scheduler/tasks/log-probe/runs").status_code == 200
    assert httpx.get(f"{url}/scheduler/tasks/log-marker/runs").status_code == 200
    deadline = time.monotonic() + 30
    while "log-marker" not in log.read_text():
        assert time.monotonic() < deadline, "the server never logged the request"
        time.sleep(0.05)  # polling another process's output
    return [line for line in log.read_text().splitlines() if "log-probe" in line]


def test_one_request_is_one_access_line_under_plain_uvicorn(tmp_path: Path) -> None:
    """`uvicorn scheduler_api.main:app` turns its access log on; the app turns it off."""
    with uvicorn_with_log(server_env(tmp_path, "text"), tmp_path) as (url, _, log):
        lines = lines_of_one_request(url, log)
    assert len(lines) == 1, lines
    assert "scheduler_api.access" in lines[0]


def test_one_request_is_one_access_line_under_make_run(tmp_path: Path) -> None:
    """scripts/serve.py, what `make run` starts: uvicorn's access log is off there too."""
    port = free_port()
    args = [sys.executable, str(ROOT / "scripts" / "serve.py"), "--port", str(port)]
    log = tmp_path / "serve.log"
    env = {**base_env(), **server_env(tmp_path, "text")}
    with log.open("wb") as output:
        process = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/health", process, log)
        lines = lines_of_one_request(url, log)
    finally:
        stop(process)
    assert len(lines) == 1, lines


def test_a_failing_action_shows_its_own_traceback_once_in_text(tmp_path: Path) -> None:
    run, output = fail_once(tmp_path, "text")
    assert run["status"] == "DEAD_LETTERED"
    assert run["error"] == "ProbeActionError"
    assert output.count(TRACEBACK) == 1, output
    traceback = output[output.index(TRACEBACK) :]
    assert "in probe_fail" in traceback  # the action's own frame
    assert "ProbeActionError: probe action failed for fails" in traceback
    # No wrapper: neither the engine's invoker nor the Lambda handler's TaskFailedError.
    assert "invoker.py" not in output
    assert "TaskFailedError" not in output
    assert '"exception"' not in output  # readable lines, not an escaped string in JSON
    assert "attempt 1 failed: the callback answered 500 (ProbeActionError)" in output


def test_json_logs_stay_one_object_per_line(tmp_path: Path) -> None:
    run, output = fail_once(tmp_path, "json")
    assert run["status"] == "DEAD_LETTERED"
    ours = [line for line in output.splitlines() if line.startswith("{")]
    # What is not ours is uvicorn's own start and stop lines ("INFO:     Started ...").
    others = [line for line in output.splitlines() if line and not line.startswith("{")]
    assert all(line.split(":")[0] in ("INFO", "WARNING", "ERROR") for line in others), others
    entries = [json.loads(line) for line in ours]
    failures = [entry for entry in entries if "exception" in entry]
    (failure,) = failures  # one traceback, a field of one object
    assert "in probe_fail" in failure["exception"]
    assert failure["task_id"] == "fails"
    requests = [e for e in entries if e["logger"] == "scheduler_api.access"]
    assert requests
    assert all(e["request_id"] != "-" for e in requests)


@pytest.mark.parametrize(
    ("environ", "terminal", "expected"),
    [
        ({}, True, "text"),
        ({}, False, "json"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "worker"}, True, "json"),
    ],
)
def test_the_default_format_is_text_on_a_terminal_json_on_lambda(
    environ: dict[str, str], terminal: bool, expected: str
) -> None:
    assert default_log_format(environ, terminal) == expected


def test_both_services_read_log_format_alike() -> None:
    assert WorkerConfig.from_environ({"AWS_LAMBDA_FUNCTION_NAME": "f"}).log_format == "json"
    assert WorkerConfig.from_environ({"LOG_FORMAT": "TEXT"}).log_format == "text"
    assert Settings(_env_file=None, LOG_FORMAT="Json").log_format == "json"
    with pytest.raises(WorkerConfigError, match="LOG_FORMAT: must be one of text, json"):
        WorkerConfig.from_environ({"LOG_FORMAT": "yaml"})
    with pytest.raises(ValidationError):
        Settings(_env_file=None, LOG_FORMAT="yaml")


def test_on_a_terminal_both_services_default_to_text(tmp_path: Path) -> None:
    """A process whose stderr is a pseudo-terminal, as under `make run` in a shell."""
    script = (
        "from scheduler_api.config import Settings\n"
        "from lambda_worker.config import WorkerConfig\n"
        "print(Settings(_env_file=None).log_format, WorkerConfig.from_environ().log_format)\n"
    )
    leader, follower = pty.openpty()
    env = {k: v for k, v in base_env().items() if k not in ("LOG_FORMAT",)}
    try:
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=follower, timeout=30, check=True, text=True,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert result.stdout.split() == ["text", "text"]
