"""What to deploy, from the environment and `.env` (the same file the API reads)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeployConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", populate_by_name=True
    )

    region: str = Field("ap-northeast-2", alias="AWS_REGION")
    endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    function_name: str = Field(
        "FastAPI_Scheduled_Tasks", pattern=r"^[A-Za-z0-9_-]{1,48}$", alias="LAMBDA_FUNCTION_NAME"
    )
    runtime: str = Field("python3.12", pattern=r"^python3\.\d+$", alias="LAMBDA_RUNTIME")
    arch: Literal["x86_64", "arm64"] = Field("x86_64", alias="LAMBDA_ARCH")
    memory_mb: int = Field(512, ge=128, le=10240, alias="LAMBDA_MEMORY_MB")
    timeout_seconds: int = Field(60, ge=1, le=900, alias="LAMBDA_TIMEOUT_SECONDS")
    max_retries: int = Field(2, ge=0, le=2, alias="LAMBDA_MAX_RETRIES")
    max_event_age_seconds: int = Field(3600, ge=60, le=21600, alias="LAMBDA_MAX_EVENT_AGE_SECONDS")
    # The API's setting: the worker bounds a signed delivery's age by it (plus Lambda's).
    scheduler_max_event_age_seconds: int = Field(
        3600, ge=60, le=86400, alias="SCHEDULER_MAX_EVENT_AGE_SECONDS"
    )
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    callback_secret: SecretStr | None = Field(None, alias="SCHEDULER_CALLBACK_SECRET")
    group_name: str = Field(
        "scheduled-tasks", pattern=r"^[0-9A-Za-z_.-]{1,64}$", alias="SCHEDULER_GROUP_NAME"
    )

    @property
    def execution_role_name(self) -> str:
        return f"{self.function_name}-execution"

    @property
    def scheduler_role_name(self) -> str:
        return f"{self.function_name}-scheduler"

    @property
    def failure_queue_name(self) -> str:
        return f"{self.function_name}-failures"

    @property
    def scheduler_dlq_name(self) -> str:
        return f"{self.function_name}-scheduler-dlq"

    @property
    def ledger_table_name(self) -> str:
        return f"{self.function_name}-ledger"

    @property
    def schedule_table_name(self) -> str:
        return f"{self.function_name}-schedules"

    @property
    def api_function_name(self) -> str:
        """The template's optional second function: the scheduler API itself."""
        return f"{self.function_name}-api"

    @property
    def api_role_name(self) -> str:
        return f"{self.function_name}-api"

    @property
    def handler(self) -> str:
        return "lambda_worker.handler.lambda_handler"
