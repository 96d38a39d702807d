"""make invoke-local and make logs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from scripts import invoke_local, tail_logs
from tests.support import probe_handler
from tests.support.processes import ROOT

GROUP = "/aws/lambda/FastAPI_Scheduled_Tasks"


def test_invoke_local_runs_a_sample_event_through_the_handler() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/invoke_local.py", "--task-id", "demo-7", "--data", '{"a": 1}'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["task_id"] == "demo-7"


def test_invoke_local_fails_for_an_unknown_action() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/invoke_local.py", "--action", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert '"statusCode": 422' in result.stdout


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("logs", region_name="us-east-1")


def put(client: object, message: str, seconds_ago: float = 0) -> None:
    stamp = int((time.time() - seconds_ago) * 1000)
    client.put_log_events(  # type: ignore[attr-defined]
        logGroupName=GROUP,
        logStreamName="2030/01/01/[$LATEST]abc",
        logEvents=[{"timestamp": stamp, "message": message}],
    )


def test_logs_since_prints_recent_events_only(
    logs: object, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.create_log_group(logGroupName=GROUP)  # type: ignore[attr-defined]
    logs.create_log_stream(logGroupName=GROUP, logStreamName="2030/01/01/[$LATEST]abc")  # type: ignore[attr-defined]
    put(logs, "old line", seconds_ago=3600)
    put(logs, '{"message": "task done"}')
    assert tail_logs.main(["--since", "10m"]) == 0
    out = capsys.readouterr().out
    assert "task done" in out
    assert "old line" not in out


def test_logs_follow_prints_new_events_until_interrupted(
    logs: object, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.create_log_group(logGroupName=GROUP)  # type: ignore[attr-defined]
    logs.create_log_stream(logGroupName=GROUP, logStreamName="2030/01/01/[$LATEST]abc")  # type: ignore[attr-defined]
    put(logs, "first")
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            put(logs, "second")
            return
        raise KeyboardInterrupt

    assert tail_logs.main(["--follow"], sleep=sleep) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["first", "second"]


def test_logs_without_a_log_group_is_one_line(
    logs: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tail_logs.main([]) == 1
    assert capsys.readouterr().err.strip() == (
        f"logs: no log group {GROUP} yet: the function has not run"
    )


def test_since_rejects_bad_durations() -> None:
    with pytest.raises(SystemExit):
        tail_logs.main(["--since", "ten minutes"])


def test_invoke_local_calls_the_configured_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make invoke-local runs what the local engine would run: a user's own handler."""
    probe_handler.reset()
    monkeypatch.setenv("LOCAL_LAMBDA_HANDLER", "tests.support.probe_handler.handler")
    assert invoke_local.main(["--task-id", "mine-1"]) == 0
    assert [probe_handler.task_id_of(event) for event in probe_handler.EVENTS] == ["mine-1"]
    probe_handler.reset()
    monkeypatch.setenv("LOCAL_LAMBDA_HANDLER", "nowhere.handler")
    assert invoke_local.main([]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("invoke-local: LOCAL_LAMBDA_HANDLER='nowhere.handler' cannot be")
