"""The null ledger: a RunLedger that records nothing, for a delivery with nowhere to be
recorded (no ledger configured, or no scheduled time to key its record on). Every claim
runs, so such a delivery runs as it would with no ledger code at all, and the callback
finishes every run the same way, with no `if ledger is not None` of its own."""

from __future__ import annotations

from typing import Any

from lambda_worker.ledger.base import Claim
from task_contract import LedgerRecord, RunStatus


class NullLedger:
    def claim(
        self,
        task_id: str,
        scheduled_time: str,
        *,
        attempt: int,
        execution_id: str | None,
        schedule_arn: str | None = None,
    ) -> Claim:
        """Always `run`, under a record that is never stored (and no one else can hold)."""
        record = LedgerRecord(
            task_id=task_id,
            scheduled_time=scheduled_time,
            status=RunStatus.RUNNING,
            token="",
            attempt=attempt,
            attempts=1,
            started_at=0.0,
            expires_at=0,
            execution_id=execution_id,
            schedule_arn=schedule_arn,
        )
        return Claim("run", record)

    def skip(self, record: LedgerRecord, reason: str) -> None:
        """Nothing to record: a duplicate delivery runs its policy check again."""

    def succeed(self, record: LedgerRecord, result: dict[str, Any] | None) -> None:
        """Nothing to record: a duplicate delivery runs the action again."""

    def refuse(self, record: LedgerRecord, status_code: int, detail: str | None = None) -> None:
        """Nothing to record."""

    def fail(self, record: LedgerRecord, error_type: str, status_code: int = 500) -> None:
        """Nothing to record: Lambda's retry (or the engine's) runs it again."""


NULL_LEDGER = NullLedger()
