"""Worker settings, read once from the Lambda environment (the zip has no pydantic-settings).

Read and checked when `lambda_worker.handler` is imported: a bad value stops the function
at init with one message naming the variable and the rule, instead of answering 500 to
every event (which Lambda would retry).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from task_contract import LOG_FORMATS, LogFormat, default_log_format, stderr_is_terminal

if TYPE_CHECKING:
    from lambda_worker.ledger.base import Ledger

# What this module reads (documented in .env.example).
ENVIRONMENT_VARIABLES = (
    "LEDGER_TABLE",
    "LEDGER_DB_PATH",
    "LEDGER_IN_PROGRESS_TIMEOUT_SECONDS",
    "LEDGER_TTL_DAYS",
    "LAMBDA_MAX_RETRIES",
    "SCHEDULER_CALLBACK_SECRET",
    "SCHEDULER_MAX_EVENT_AGE_SECONDS",
    "LAMBDA_MAX_EVENT_AGE_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "METRICS_NAMESPACE",
)
DEFAULT_LEDGER_TIMEOUT_SECONDS = 900.0  # Lambda's longest timeout
DEFAULT_LEDGER_TTL_DAYS = 7
DEFAULT_MAX_RETRIES = 2  # Lambda's default for asynchronous invocations
DEFAULT_METRICS_NAMESPACE = "ScheduledTasks"
DEFAULT_MAX_EVENT_AGE_SECONDS = 3600  # the API's SCHEDULER_MAX_EVENT_AGE_SECONDS default
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

Number = TypeVar("Number", int, float)


class WorkerConfigError(ValueError):
    """A worker setting is malformed; the message names the variable and the rule."""


def _number(
    environ: Mapping[str, str],
    name: str,
    kind: Callable[[str], Number],
    default: Number,
    low: Number,
    high: Number,
) -> Number:
    text = environ.get(name)
    if not text:
        return default
    noun = "a whole number" if kind is int else "a number"
    try:
        value = kind(text)
    except ValueError:
        raise WorkerConfigError(f"{name}: must be {noun} from {low} to {high}") from None
    if not low <= value <= high:
        raise WorkerConfigError(f"{name}: must be {noun} from {low} to {high}")
    return value


@dataclass(frozen=True)
class WorkerConfig:
    ledger_table: str | None = None  # DynamoDB (AWS)
    ledger_db_path: Path | None = None  # SQLite (local)
    ledger_timeout_seconds: float = DEFAULT_LEDGER_TIMEOUT_SECONDS
    ledger_ttl_seconds: int = DEFAULT_LEDGER_TTL_DAYS * 86400
    max_retries: int = DEFAULT_MAX_RETRIES
    callback_secret: str | None = None
    # With a secret, how old a signed delivery's scheduled time may be: EventBridge's
    # maximum event age, plus Lambda's own (its asynchronous retries) on AWS.
    max_event_age_seconds: int = DEFAULT_MAX_EVENT_AGE_SECONDS
    log_level: str = "INFO"
    log_format: LogFormat = "json"  # from_environ: text on a terminal, JSON elsewhere
    # One CloudWatch embedded-metric line per invocation, on Lambda only (it sets
    # AWS_LAMBDA_FUNCTION_NAME); the local engine's process has /metrics instead.
    emit_metrics: bool = False
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        db_path = environ.get("LEDGER_DB_PATH")
        level = (environ.get("LOG_LEVEL") or "INFO").upper()
        if level not in LOG_LEVELS:
            raise WorkerConfigError(f"LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}")
        timeout = _number(
            environ, "LEDGER_IN_PROGRESS_TIMEOUT_SECONDS", float, DEFAULT_LEDGER_TIMEOUT_SECONDS,
            1.0, 86400.0,
        )  # fmt: skip
        ttl_days = _number(environ, "LEDGER_TTL_DAYS", int, DEFAULT_LEDGER_TTL_DAYS, 1, 3650)
        return cls(
            ledger_table=environ.get("LEDGER_TABLE") or None,
            ledger_db_path=Path(db_path) if db_path else None,
            ledger_timeout_seconds=timeout,
            ledger_ttl_seconds=ttl_days * 86400,
            max_retries=_number(environ, "LAMBDA_MAX_RETRIES", int, DEFAULT_MAX_RETRIES, 0, 2),
            callback_secret=environ.get("SCHEDULER_CALLBACK_SECRET") or None,
            max_event_age_seconds=_max_event_age(environ),
            log_level=level,
            log_format=_log_format(environ),
            emit_metrics=bool(environ.get("AWS_LAMBDA_FUNCTION_NAME")),
            metrics_namespace=_namespace(environ),
        )


def _max_event_age(environ: Mapping[str, str]) -> int:
    """EventBridge's age (the API's setting, the local engine's too) plus, on AWS, the
    age Lambda keeps retrying an event for (0 where nothing but the engine retries)."""
    scheduler = _number(
        environ, "SCHEDULER_MAX_EVENT_AGE_SECONDS", int, DEFAULT_MAX_EVENT_AGE_SECONDS, 60, 86400
    )
    return scheduler + _number(environ, "LAMBDA_MAX_EVENT_AGE_SECONDS", int, 0, 60, 21600)


def _log_format(environ: Mapping[str, str]) -> LogFormat:
    """LOG_FORMAT, or the API's default rule (task_contract.default_log_format): the local
    engine's in-process worker then writes as the API beside it does."""
    text = (environ.get("LOG_FORMAT") or "").lower()
    if not text:
        return default_log_format(environ, stderr_is_terminal())
    for name in LOG_FORMATS:
        if text == name:
            return name
    raise WorkerConfigError(f"LOG_FORMAT: must be one of {', '.join(LOG_FORMATS)}")


def _namespace(environ: Mapping[str, str]) -> str:
    name = environ.get("METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE
    if not 1 <= len(name) <= 255 or name.startswith("AWS/"):
        raise WorkerConfigError("METRICS_NAMESPACE: 1 to 255 characters, not starting with AWS/")
    return name


@functools.cache
def worker_config() -> WorkerConfig:
    return WorkerConfig.from_environ()


def build_ledger(config: WorkerConfig) -> Ledger | None:
    """The configured ledger, importing its store only now (boto3 only for DynamoDB)."""
    from lambda_worker.ledger.base import Ledger

    if config.ledger_table:
        from lambda_worker.ledger.dynamodb_store import DynamoDBLedgerStore

        store: object = DynamoDBLedgerStore(config.ledger_table)
    elif config.ledger_db_path:
        import sqlite3

        from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore

        try:
            store = SQLiteLedgerStore(config.ledger_db_path)
        except (OSError, sqlite3.Error) as exc:
            raise WorkerConfigError(
                f"LEDGER_DB_PATH: cannot open {config.ledger_db_path} ({type(exc).__name__})"
            ) from exc
    else:
        return None
    return Ledger(
        store,  # type: ignore[arg-type]
        in_progress_timeout=config.ledger_timeout_seconds,
        ttl_seconds=config.ledger_ttl_seconds,
        max_attempts=config.max_retries + 1,
    )


@functools.cache
def default_ledger() -> Ledger | None:
    return build_ledger(worker_config())
