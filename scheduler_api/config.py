"""Settings, read once at start-up from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from task_contract import LogFormat, default_log_format, stderr_is_terminal

_LAMBDA_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:[\w-]+(:[\w$-]+)?$"
)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_SQS_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]+(\.fifo)?$")


LOCAL_ACCOUNT_ID = "000000000000"
MIN_TOKEN_LENGTH = 16  # SCHEDULER_API_TOKENS and METRICS_TOKEN
ANY_ACTION = "*"  # SCHEDULER_KNOWN_ACTIONS=*: POST checks no action (the worker alone does)


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed: one line naming the variable and the rule, and
    the server does not start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    backend: Literal["local", "aws"] | None = Field(None, alias="SCHEDULER_BACKEND")
    public_url: str | None = Field(None, alias="PUBLIC_URL")

    aws_region: str = Field("ap-northeast-2", alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    aws_access_key_id: str | None = Field(None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, alias="AWS_SECRET_ACCESS_KEY")
    aws_max_attempts: int = Field(3, ge=1, le=10, alias="AWS_MAX_ATTEMPTS")

    lambda_arn: str | None = Field(None, alias="SCHEDULER_LAMBDA_ARN")
    lambda_function_name: str | None = Field(None, alias="SCHEDULER_LAMBDA_FUNCTION_NAME")
    target_role_arn: str | None = Field(None, alias="SCHEDULER_TARGET_ROLE_ARN")
    group_name: str = Field(
        "scheduled-tasks", pattern=r"^[0-9A-Za-z_.-]{1,64}$", alias="SCHEDULER_GROUP_NAME"
    )
    dead_letter_arn: str | None = Field(None, alias="SCHEDULER_DLQ_ARN")
    account_id: str | None = Field(None, pattern=r"^\d{12}$", alias="SCHEDULER_ACCOUNT_ID")
    retry_attempts: int = Field(2, ge=0, le=185, alias="SCHEDULER_RETRY_ATTEMPTS")
    max_event_age_seconds: int = Field(
        3600, ge=60, le=86400, alias="SCHEDULER_MAX_EVENT_AGE_SECONDS"
    )
    callback_path: str = Field("/api/v1/tasks/callback", alias="SCHEDULER_CALLBACK_PATH")
    known_actions: str | None = Field(
        None, pattern=r"^[^,\s]+(\s*,\s*[^,\s]+)*$", alias="SCHEDULER_KNOWN_ACTIONS"
    )
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # text on a terminal; JSON on Lambda and when stderr is a file or a pipe.
    log_format: LogFormat = Field(
        default_factory=lambda: default_log_format(os.environ, stderr_is_terminal()),
        alias="LOG_FORMAT",
    )

    api_tokens: SecretStr | None = Field(None, alias="SCHEDULER_API_TOKENS")
    callback_secret: SecretStr | None = Field(None, alias="SCHEDULER_CALLBACK_SECRET")
    # /metrics: this bearer token, or any of SCHEDULER_API_TOKENS (none: loopback only).
    metrics_token: SecretStr | None = Field(
        None, min_length=MIN_TOKEN_LENGTH, alias="METRICS_TOKEN"
    )
    # Read by prometheus-client from the process environment when it is imported; checked
    # here so that a value only in .env (too late for it) is an error, not silently ignored.
    prometheus_multiproc_dir: Path | None = Field(None, alias="PROMETHEUS_MULTIPROC_DIR")
    ledger_table: str | None = Field(None, alias="LEDGER_TABLE")
    # AWS mode: the schedule index that filtered lists and bulk operations read.
    schedule_table: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]{3,255}$", alias="SCHEDULE_TABLE"
    )
    # The in-process worker's ledger (local mode): overlap="skip" needs it.
    ledger_db_path: Path | None = Field(None, alias="LEDGER_DB_PATH")

    local_db_path: Path = Field(Path("var/scheduler.db"), alias="LOCAL_DB_PATH")
    local_lambda_handler: str = Field(
        "lambda_worker.handler.lambda_handler",
        pattern=r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$",
        alias="LOCAL_LAMBDA_HANDLER",
    )
    local_max_retries: int = Field(2, ge=0, le=10, alias="LOCAL_MAX_RETRIES")
    local_retry_base_seconds: float = Field(2.0, gt=0, le=3600, alias="LOCAL_RETRY_BASE_SECONDS")
    local_concurrency: int = Field(8, ge=1, le=256, alias="LOCAL_CONCURRENCY")
    # thread: the handler runs in the engine's threads, sharing its GIL; process: in
    # LOCAL_CONCURRENCY worker processes, each its own (docs/local-engine.md#invokers).
    local_invoker: Literal["thread", "process"] = Field("thread", alias="LOCAL_INVOKER")
    local_busy_timeout_seconds: float = Field(
        10.0, gt=0, le=600, alias="LOCAL_BUSY_TIMEOUT_SECONDS"
    )
    local_shutdown_grace_seconds: float = Field(
        10.0, ge=0, le=3600, alias="LOCAL_SHUTDOWN_GRACE_SECONDS"
    )

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _multiproc_dir(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        # prometheus-client also reads the lower-case spelling (as pydantic-settings does).
        spelled = os.environ.get(
            "PROMETHEUS_MULTIPROC_DIR",
            os.environ.get("prometheus_multiproc_dir"),  # noqa: SIM112
        )
        if spelled != str(value):
            raise ValueError("must be set in the environment of the process, not only in .env")
        problem = _multiproc_dir_problem(str(value))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        """Its origin is accepted as a browser's Origin, and its host as Host in
        loopback-only mode (api.csrf, api.auth): it must be a URL with both."""
        if value is None:
            return value
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is no number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _tokens_usable(cls, value: SecretStr | None) -> SecretStr | None:
        """A value that lists no token would silently mean open (loopback) mode, and a
        short one can be guessed: both are refused. The message never holds a token."""
        if value is None:
            return value
        tokens = _split_tokens(value.get_secret_value())
        if not tokens:
            raise ValueError("lists no token (unset it for loopback-only mode)")
        if any(len(token) < MIN_TOKEN_LENGTH for token in tokens):
            raise ValueError(f"each token must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("lambda_arn")
    @classmethod
    def _lambda_arn_shape(cls, value: str | None) -> str | None:
        if value is not None and not _LAMBDA_ARN.match(value):
            raise ValueError("must be a Lambda function ARN")
        return value

    @field_validator("target_role_arn")
    @classmethod
    def _role_arn_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError("must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return value

    @field_validator("dead_letter_arn")
    @classmethod
    def _dlq_arn_shape(cls, value: str | None) -> str | None:
        if value is not None and not _SQS_ARN.match(value):
            raise ValueError("must be an SQS queue ARN")
        return value

    @model_validator(mode="after")
    def _backend_complete(self) -> Settings:
        if self.backend_name == "local":
            return self
        if not self.lambda_arn and not self.lambda_function_name:
            raise ValueError(
                "set SCHEDULER_LAMBDA_ARN (preferred) or SCHEDULER_LAMBDA_FUNCTION_NAME "
                "for SCHEDULER_BACKEND=aws"
            )
        if not self.target_role_arn:
            raise ValueError("set SCHEDULER_TARGET_ROLE_ARN for SCHEDULER_BACKEND=aws")
        return self

    @property
    def tokens(self) -> list[str]:
        """SCHEDULER_API_TOKENS split on commas; several at once let a token be rotated."""
        return _split_tokens(self.api_tokens.get_secret_value() if self.api_tokens else "")

    @property
    def action_names(self) -> frozenset[str] | None:
        """SCHEDULER_KNOWN_ACTIONS as a set; None when unset or `*` (no list to check)."""
        if not self.known_actions or self.known_actions == ANY_ACTION:
            return None
        return frozenset(name.strip() for name in self.known_actions.split(","))

    @property
    def backend_name(self) -> Literal["local", "aws"]:
        """`local` unless chosen explicitly or an AWS target is configured."""
        if self.backend:
            return self.backend
        configured = self.lambda_arn or self.lambda_function_name or self.target_role_arn
        return "aws" if configured else "local"


def _split_tokens(raw: str) -> list[str]:
    return [token.strip() for token in raw.split(",") if token.strip()]


def account_of(lambda_arn: str) -> str:
    """The account in a Lambda function ARN (validated by Settings)."""
    return _lambda_arn_part(lambda_arn, "account")


def partition_of(lambda_arn: str) -> str:
    """The partition (aws, aws-cn, aws-us-gov) of a Lambda function ARN: the schedules'."""
    return _lambda_arn_part(lambda_arn, "partition")


def _lambda_arn_part(lambda_arn: str, part: str) -> str:
    match = _LAMBDA_ARN.match(lambda_arn)
    if not match:
        raise ValueError(f"not a Lambda function ARN: {lambda_arn}")
    return match.group(part)


def describe_errors(error: ValidationError) -> str:
    """One line naming each bad variable and its rule; never the value (it may be secret)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        names = ".".join(str(part) for part in item["loc"])
        parts.append(f"{names}: {message}" if names else message)
    return "; ".join(parts)


def _multiproc_dir_problem(path: str) -> str | None:
    if not path or not os.path.isdir(path):
        return "must be an existing directory (empty it before each start)"
    if not os.access(path, os.W_OK | os.X_OK):
        return "must be a directory this process can write to"
    return None


def check_multiprocess_dir(environ: Mapping[str, str]) -> None:
    """prometheus-client turns multiprocess mode on when the variable is in the environment
    at all (either spelling, even empty) and then writes its files there: anything but a
    writable directory is a ConfigurationError, whatever Settings saw."""
    name = next(
        (key for key in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir") if key in environ),
        None,
    )
    if name is None:
        return
    problem = _multiproc_dir_problem(environ[name])
    if problem:
        raise ConfigurationError(f"bad setting: {name}: {problem}")


def load_settings() -> Settings:
    """Settings from the environment and `.env`, or ConfigurationError in one line."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(f"bad setting: {describe_errors(exc)}") from None
