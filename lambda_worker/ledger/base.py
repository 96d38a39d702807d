"""Ledger logic (claim, finish, replay) over a thin store, in the manner of Powertools'
idempotency utility; see README "Guarantees" for why that utility itself is not used."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

logger = logging.getLogger("lambda_worker.ledger")

Status = Literal["IN_PROGRESS", "SUCCEEDED", "FAILED"]


@dataclass(frozen=True)
class LedgerRecord:
    task_id: str
    scheduled_time: str
    status: Status
    token: str  # who holds it: only the holder may finish it
    attempt: int  # the delivery's X-Scheduler-Attempt
    attempts: int  # how many deliveries claimed it
    started_at: float
    expires_at: int  # TTL, epoch seconds
    execution_id: str | None = None
    schedule_arn: str | None = None
    finished_at: float | None = None
    result: str | None = None  # JSON
    error: str | None = None

    def result_data(self) -> dict[str, Any] | None:
        loaded = json.loads(self.result) if self.result else None
        return loaded if isinstance(loaded, dict) else None


class LedgerStore(Protocol):
    def try_claim(self, record: LedgerRecord, stale_before: float) -> LedgerRecord | None:
        """Write `record` (IN_PROGRESS) if the key is free, FAILED, held by a holder older
        than stale_before, or held by an earlier attempt; counts the claim in `attempts`.
        Returns None when written, else the record that stands in the way."""
        ...

    def finish(self, record: LedgerRecord) -> bool:
        """Store a finished record if `record.token` still holds the key."""
        ...

    def list_for_task(self, task_id: str, limit: int) -> list[LedgerRecord]: ...


@dataclass(frozen=True)
class Claim:
    """How a delivery stands: `run` it, `replay` a finished result, or it is `busy`."""

    outcome: Literal["run", "replay", "busy"]
    record: LedgerRecord


class Ledger:
    def __init__(
        self,
        store: LedgerStore,
        *,
        in_progress_timeout: float,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.in_progress_timeout = in_progress_timeout
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def claim(
        self,
        task_id: str,
        scheduled_time: str,
        *,
        attempt: int,
        execution_id: str | None,
        schedule_arn: str | None = None,
    ) -> Claim:
        now = self.clock()
        record = LedgerRecord(
            task_id=task_id,
            scheduled_time=scheduled_time,
            status="IN_PROGRESS",
            token=uuid.uuid4().hex,
            attempt=attempt,
            attempts=1,
            started_at=now,
            expires_at=int(now) + self.ttl_seconds,
            execution_id=execution_id,
            schedule_arn=schedule_arn,
        )
        existing = self.store.try_claim(record, stale_before=now - self.in_progress_timeout)
        if existing is None:
            return Claim("run", record)
        if existing.status == "SUCCEEDED":
            return Claim("replay", existing)
        return Claim("busy", existing)

    def succeed(self, record: LedgerRecord, result: dict[str, Any] | None) -> None:
        self._finish(replace(record, status="SUCCEEDED", result=json.dumps(result)))

    def fail(self, record: LedgerRecord, error: str) -> None:
        self._finish(replace(record, status="FAILED", error=error))

    def _finish(self, record: LedgerRecord) -> None:
        finished = replace(record, finished_at=self.clock())
        if not self.store.finish(finished):
            logger.warning("ledger record was taken over before it finished; outcome not stored")
