"""Ledger logic (claim, finish, replay) over a thin store, in the manner of Powertools'
idempotency utility; see docs/guarantees.md for why that utility itself is not used.

Statuses are task_contract.RunStatus, the words the runs endpoint shows on both backends:
RUNNING while an attempt runs; SUCCEEDED; FAILED for a 4xx answer (never retried);
RETRYING when the action raised and Lambda will try again; DEAD_LETTERED when it raised
on Lambda's last try (the event is then in the on-failure queue).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from task_contract import LedgerRecord, RunStatus, refusal_error

logger = logging.getLogger("lambda_worker.ledger")

# Lambda's default for asynchronous invocations: the first try and two retries.
DEFAULT_MAX_ATTEMPTS = 3


class LedgerUnavailableError(RuntimeError):
    """The ledger could not be written (or read) in time: another writer held it past the
    writer's deadline (ledger/writers.py), or the file is locked or unreadable. The
    callback answers 503 (`error` "LedgerUnavailable"), so the engine, or Lambda, retries
    the delivery: a failed claim ran nothing; a failed finish leaves the record RUNNING,
    which the retry's later attempt takes over (the attempt rule)."""


class LedgerStore(Protocol):
    def try_claim(self, record: LedgerRecord, stale_before: float) -> tuple[bool, LedgerRecord]:
        """Write `record` (RUNNING) if the key is free, finished without success, held by a
        holder older than stale_before, or held by an earlier attempt (the SQLite store:
        one whose holder is gone); counts the claim in `attempts`. Returns (True, the
        stored record) when written, else (False, the record that stands in the way)."""
        ...

    def finish(self, record: LedgerRecord) -> bool:
        """Store a finished record if `record.token` still holds the key."""
        ...

    def list_for_task(self, task_id: str, limit: int) -> list[LedgerRecord]: ...

    def try_lock_task(self, task_id: str, token: str, now: float, stale_before: float) -> bool:
        """Hold the task's one run lock (overlap=skip) if it is free or its holder is older
        than stale_before (it died)."""
        ...

    def unlock_task(self, task_id: str, token: str) -> None:
        """Free the lock if `token` holds it."""
        ...


@dataclass(frozen=True)
class Claim:
    """How a delivery stands: `run` it, `replay` a finished result, it is `busy` (the same
    attempt runs elsewhere), or it must `wait`: an earlier attempt is still running, in a
    process that lives (the SQLite store only; see its _RECLAIMABLE)."""

    outcome: Literal["run", "replay", "busy", "wait"]
    record: LedgerRecord


class RunLedger(Protocol):
    """What the callback asks of a ledger: claim a delivery, then record how its run ended.
    Ledger keeps every record; NullLedger (ledger/null.py) keeps none."""

    def claim(
        self,
        task_id: str,
        scheduled_time: str,
        *,
        attempt: int,
        execution_id: str | None,
        schedule_arn: str | None = None,
    ) -> Claim: ...

    def skip(self, record: LedgerRecord, reason: str) -> None: ...

    def succeed(self, record: LedgerRecord, result: dict[str, Any] | None) -> None: ...

    def refuse(self, record: LedgerRecord, status_code: int, detail: str | None = None) -> None: ...

    def fail(self, record: LedgerRecord, error_type: str, status_code: int = 500) -> None: ...


class Ledger:
    def __init__(
        self,
        store: LedgerStore,
        *,
        in_progress_timeout: float,
        ttl_seconds: int,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.in_progress_timeout = in_progress_timeout
        self.ttl_seconds = ttl_seconds
        self.max_attempts = max_attempts
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
            status=RunStatus.RUNNING,
            token=uuid.uuid4().hex,
            attempt=attempt,
            attempts=1,
            started_at=now,
            expires_at=int(now) + self.ttl_seconds,
            execution_id=execution_id,
            schedule_arn=schedule_arn,
        )
        won, stored = self.store.try_claim(record, stale_before=now - self.in_progress_timeout)
        if won:
            return Claim("run", stored)
        if stored.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
            return Claim("replay", stored)
        if stored.status == RunStatus.RUNNING and stored.attempt < attempt:
            return Claim("wait", stored)
        return Claim("busy", stored)

    def lock_task(self, task_id: str) -> str | None:
        """A token if no other run of the task is running (for overlap=skip), else None."""
        token, now = uuid.uuid4().hex, self.clock()
        stale_before = now - self.in_progress_timeout
        return token if self.store.try_lock_task(task_id, token, now, stale_before) else None

    def unlock_task(self, task_id: str, token: str) -> None:
        self.store.unlock_task(task_id, token)

    def skip(self, record: LedgerRecord, reason: str) -> None:
        """Not run, by the schedule's policy; a duplicate delivery replays the skip."""
        self._finish(replace(record, status=RunStatus.SKIPPED, status_code=200, error=reason))

    def succeed(self, record: LedgerRecord, result: dict[str, Any] | None) -> None:
        self._finish(
            replace(record, status=RunStatus.SUCCEEDED, status_code=200, result=json.dumps(result))
        )

    def refuse(self, record: LedgerRecord, status_code: int, detail: str | None = None) -> None:
        """The callback answered 4xx: FAILED, and no retry will come. The run's `error` is
        the status and `detail`, the answer's reason, as the local engine writes it."""
        error = refusal_error(status_code, detail)
        self._finish(replace(record, status=RunStatus.FAILED, status_code=status_code, error=error))

    def fail(self, record: LedgerRecord, error_type: str, status_code: int = 500) -> None:
        """The action raised `error_type`: Lambda retries unless this was its last try."""
        last = record.attempts >= self.max_attempts
        status = RunStatus.DEAD_LETTERED if last else RunStatus.RETRYING
        self._finish(replace(record, status=status, status_code=status_code, error=error_type))

    def _finish(self, record: LedgerRecord) -> None:
        finished = replace(record, finished_at=self.clock())
        if not self.store.finish(finished):
            logger.warning("ledger record was taken over before it finished; outcome not stored")
