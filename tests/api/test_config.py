"""Settings: .env.example stays true, and bad settings stop the server with a clear line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from lambda_worker.config import ENVIRONMENT_VARIABLES, WorkerConfig, WorkerConfigError
from scheduler_api.config import Settings
from scripts import deploy, tail_logs
from scripts.deployment.config import DeployConfig
from tests.support.processes import ROOT, base_env, free_port, scheduler_api

EXAMPLE = ROOT / ".env.example"


def test_env_example_loads_and_documents_every_setting() -> None:
    settings = Settings(_env_file=EXAMPLE)
    assert settings.backend_name == "local"
    lines = EXAMPLE.read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)}
    aliases = {
        field.alias for model in (Settings, DeployConfig) for field in model.model_fields.values()
    } | set(ENVIRONMENT_VARIABLES)
    assert documented == aliases
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[index - 1].startswith("#"), f"{line} has no comment"


def test_a_lambda_must_be_named() -> None:
    with pytest.raises(ValidationError, match="SCHEDULER_LAMBDA_ARN"):
        Settings(
            _env_file=None,
            target_role_arn="arn:aws:iam::123456789012:role/r",
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_role_arn", "my-role"),
        ("lambda_arn", "arn:aws:sqs:us-east-1:123456789012:q"),
        ("dead_letter_arn", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        ("group_name", "bad group"),
        ("retry_attempts", 186),
        ("max_event_age_seconds", 59),
    ],
)
def test_malformed_settings_are_refused(field: str, value: object) -> None:
    values: dict[str, object] = {
        "lambda_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "target_role_arn": "arn:aws:iam::123456789012:role/r",
        field: value,
    }
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_backend_defaults_to_local_unless_an_aws_target_is_set() -> None:
    assert Settings(_env_file=None).backend_name == "local"
    aws = Settings(
        _env_file=None,
        lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        target_role_arn="arn:aws:iam::123456789012:role/r",
    )
    assert aws.backend_name == "aws"


def test_aws_server_without_settings_exits_naming_the_missing_one(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError) as failed,
        scheduler_api({"SCHEDULER_BACKEND": "aws"}, tmp_path),
    ):
        pass
    assert "SCHEDULER_LAMBDA_ARN" in str(failed.value)


def start_server(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """uvicorn as a user starts it; a bad setting must stop it at once."""
    args = [sys.executable, "-m", "uvicorn", "scheduler_api.main:app", "--port", str(free_port())]
    return subprocess.run(
        args, env={**base_env(), **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LOCAL_MAX_RETRIES": "abc"}, ["LOCAL_MAX_RETRIES", "valid integer"]),
        ({"LOCAL_CONCURRENCY": "0"}, ["LOCAL_CONCURRENCY", "greater than or equal to 1"]),
        ({"LOCAL_DB_PATH": "a-file/scheduler.db"}, ["LOCAL_DB_PATH", "writable"]),
        ({"LOCAL_LAMBDA_HANDLER": "nowhere.handler"}, ["LOCAL_LAMBDA_HANDLER", "nowhere"]),
        ({"LEDGER_TTL_DAYS": "abc"}, ["LEDGER_TTL_DAYS", "whole number"]),
        ({"SCHEDULER_BACKEND": "aws"}, ["SCHEDULER_LAMBDA_ARN"]),
        ({"PROMETHEUS_MULTIPROC_DIR": "no-such-dir"}, ["PROMETHEUS_MULTIPROC_DIR", "existing"]),
        ({"PROMETHEUS_MULTIPROC_DIR": "a-file"}, ["PROMETHEUS_MULTIPROC_DIR", "directory"]),
        ({"PROMETHEUS_MULTIPROC_DIR": ""}, ["PROMETHEUS_MULTIPROC_DIR", "directory"]),
        ({"prometheus_multiproc_dir": "no-such-dir"}, ["PROMETHEUS_MULTIPROC_DIR", "existing"]),
        ({"SCHEDULER_API_TOKENS": ","}, ["SCHEDULER_API_TOKENS", "no token"]),
        ({"SCHEDULER_API_TOKENS": "x"}, ["SCHEDULER_API_TOKENS", "16"]),
        ({"PUBLIC_URL": "localhost:8000"}, ["PUBLIC_URL", "http://"]),
        ({"PUBLIC_URL": "http://localhost:port"}, ["PUBLIC_URL", "http://"]),
    ],
)
def test_a_bad_setting_stops_the_server_with_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], names: list[str]
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = start_server(env, tmp_path)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    named = [line for line in errors if all(name in line for name in names)]
    assert len(named) == 1, output
    assert len(errors) == 2  # the setting, then uvicorn's "Application startup failed"


def test_the_worker_refuses_bad_settings_at_import() -> None:
    with pytest.raises(WorkerConfigError, match="LEDGER_IN_PROGRESS_TIMEOUT_SECONDS: must be"):
        WorkerConfig.from_environ({"LEDGER_IN_PROGRESS_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(WorkerConfigError, match="LAMBDA_MAX_RETRIES: must be a whole number"):
        WorkerConfig.from_environ({"LAMBDA_MAX_RETRIES": "5"})
    with pytest.raises(WorkerConfigError, match="LOG_LEVEL: must be one of"):
        WorkerConfig.from_environ({"LOG_LEVEL": "LOUD"})
    # As Lambda loads the function: the import itself fails, naming the variable, so no
    # event is ever answered 500 (and retried) for a setting.
    result = subprocess.run(
        [sys.executable, "-c", "import lambda_worker.handler"],
        env={**base_env(), "LEDGER_TTL_DAYS": "a week"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "lambda_worker.config.WorkerConfigError: LEDGER_TTL_DAYS: must be a whole number"
        " from 1 to 3650"
    )


@pytest.mark.parametrize("script", ["deploy", "logs"])
def test_scripts_name_a_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], script: str
) -> None:
    monkeypatch.setenv("LAMBDA_MEMORY_MB", "64")
    code = deploy.main(["deploy", "--dry-run"]) if script == "deploy" else tail_logs.main([])
    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "LAMBDA_MEMORY_MB: Input should be greater than or equal to 128" in line
