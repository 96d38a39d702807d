"""Settings: .env.example stays true, and bad settings stop the server with a clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from lambda_worker.config import ENVIRONMENT_VARIABLES
from scheduler_api.config import Settings
from scripts.deployment.config import DeployConfig
from tests.processes import ROOT, scheduler_api

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
