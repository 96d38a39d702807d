"""Worker settings, read once from the Lambda environment (the zip has no pydantic-settings)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lambda_worker.ledger.base import Ledger

# What this module reads (documented in .env.example).
ENVIRONMENT_VARIABLES = (
    "LEDGER_TABLE",
    "LEDGER_DB_PATH",
    "LEDGER_IN_PROGRESS_TIMEOUT_SECONDS",
    "LEDGER_TTL_DAYS",
    "SCHEDULER_CALLBACK_SECRET",
    "LOG_LEVEL",
)
DEFAULT_LEDGER_TIMEOUT_SECONDS = 900.0  # Lambda's longest timeout
DEFAULT_LEDGER_TTL_DAYS = 7


@dataclass(frozen=True)
class WorkerConfig:
    ledger_table: str | None = None  # DynamoDB (AWS)
    ledger_db_path: Path | None = None  # SQLite (local)
    ledger_timeout_seconds: float = DEFAULT_LEDGER_TIMEOUT_SECONDS
    ledger_ttl_seconds: int = DEFAULT_LEDGER_TTL_DAYS * 86400
    callback_secret: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        db_path = environ.get("LEDGER_DB_PATH")
        return cls(
            ledger_table=environ.get("LEDGER_TABLE") or None,
            ledger_db_path=Path(db_path) if db_path else None,
            ledger_timeout_seconds=float(
                environ.get("LEDGER_IN_PROGRESS_TIMEOUT_SECONDS", DEFAULT_LEDGER_TIMEOUT_SECONDS)
            ),
            ledger_ttl_seconds=int(environ.get("LEDGER_TTL_DAYS", DEFAULT_LEDGER_TTL_DAYS)) * 86400,
            callback_secret=environ.get("SCHEDULER_CALLBACK_SECRET") or None,
        )


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
        from lambda_worker.ledger.sqlite_store import SQLiteLedgerStore

        store = SQLiteLedgerStore(config.ledger_db_path)
    else:
        return None
    return Ledger(
        store,  # type: ignore[arg-type]
        in_progress_timeout=config.ledger_timeout_seconds,
        ttl_seconds=config.ledger_ttl_seconds,
    )


@functools.cache
def default_ledger() -> Ledger | None:
    return build_ledger(worker_config())
