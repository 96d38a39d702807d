"""What a delivery says about itself, and whether the worker believes it.

The X-Scheduler-* headers are filled in by EventBridge at each invocation (or by the local
engine, or by the API's run-now), so on AWS no signature made at creation can cover them.
Here they are read strictly (a malformed one is a 400, never a 500 or a silent default),
and with SCHEDULER_CALLBACK_SECRET set, a delivery is refused (401) when its scheduled
time or its signature's t lies outside what a real delivery can carry:

- v1 (the Input as stored; body only): the scheduled time is not after now + skew, not
  older than the event can live (EventBridge's maximum event age plus Lambda's), and not
  before the Input was signed; t is not before SIGNATURE_EPOCH nor after now + skew. A
  recurring schedule's t is its creation time, months old perhaps: t alone cannot bound
  a replay, the scheduled time does. A v1 delivery cannot claim to be a manual run.
- v2 (signed at delivery: t, body and every context header): nothing in it can be
  changed, and t must be no older than the event can live; the scheduled time is the
  signer's word (a redrive of an old dead letter is old, and legitimate).

What stops a replay inside those bounds is the ledger (the same time is the same key) and,
on AWS, IAM: only the scheduler's role and the API may invoke the function.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from lambda_worker.config import WorkerConfig
from task_contract import (
    ATTEMPT_HEADER,
    EXECUTION_ID_HEADER,
    MANUAL_KEY_MARK,
    MANUAL_RUN_HEADER,
    RUN_AT_HEADER,
    SCHEDULE_ARN_HEADER,
    SCHEDULED_TIME_HEADER,
    SIGNATURE_EPOCH,
    SIGNATURE_HEADER,
    UNSUBSTITUTED_PREFIX,
    Signature,
    parse_scheduled_time,
    verified_signature,
)

CLOCK_SKEW_SECONDS = 300  # how far ahead of the worker's clock a sender's clock may run
MAX_ATTEMPT = 10_000  # EventBridge retries at most 185 times; the local engine fewer
_MANUAL_RUN_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class DeliveryError(Exception):
    """A delivery the worker refuses: the status (400 malformed, 401 not believed) and a
    fixed message (never the header's value)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class SchedulerContext:
    """What EventBridge Scheduler (or the local engine, or run-now) said of this delivery."""

    schedule_arn: str | None
    scheduled_time: str | None
    execution_id: str | None
    attempt: int | None
    run_at: str | None  # a one-time task's own time, set by the scheduler API
    manual_run: str | None = None  # a run-now's id
    due: datetime | None = None  # the scheduled time (or run_at), parsed

    @property
    def ledger_time(self) -> str | None:
        """The execution's time, one spelling per second (EventBridge's whole seconds), so
        `+00:00` and `Z` for the same fire are one key, not two runs."""
        if self.due is None:
            return None
        return self.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def ledger_key(self) -> str | None:
        """The ledger's key: a manual run never shares one with a scheduled fire, nor with
        another manual run in the same second."""
        time = self.ledger_time
        if time is None or self.manual_run is None:
            return time
        return f"{time}{MANUAL_KEY_MARK}{self.manual_run}"


def _substituted(value: str | None) -> str | None:
    # Left as "<aws.scheduler...>" when the event was not sent by EventBridge Scheduler.
    if value is None or value == "" or value.startswith(UNSUBSTITUTED_PREFIX):
        return None
    return value


def _attempt(text: str | None) -> int | None:
    if text is None:
        return None
    # Digits only, and few: int() of thousands of digits raises (a 500, once).
    whole = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ATTEMPT))
    if not whole or not 1 <= int(text) <= MAX_ATTEMPT:
        raise DeliveryError(400, f"{ATTEMPT_HEADER} must be a whole number from 1 to {MAX_ATTEMPT}")
    return int(text)


def _time(text: str | None, header: str) -> datetime | None:
    if text is None:
        return None
    parsed = parse_scheduled_time(text)
    if parsed is None:
        raise DeliveryError(400, f"{header} must be an ISO 8601 time with its zone")
    return parsed


def _manual_run(text: str | None) -> str | None:
    if text is None:
        return None
    if _MANUAL_RUN_ID.fullmatch(text) is None:
        raise DeliveryError(400, f"{MANUAL_RUN_HEADER} must be 1 to 64 letters, digits or -")
    return text


def scheduler_context(headers: Mapping[str, str]) -> SchedulerContext:
    """Read straight from the headers: declared Header parameters and sub-dependencies
    each cost FastAPI more per call than a hello-world invocation does in all."""
    scheduled_time = _substituted(headers.get(SCHEDULED_TIME_HEADER.lower()))
    run_at = _substituted(headers.get(RUN_AT_HEADER.lower()))
    due = _time(scheduled_time, SCHEDULED_TIME_HEADER) if scheduled_time else None
    if due is None:
        due = _time(run_at, RUN_AT_HEADER)
    return SchedulerContext(
        schedule_arn=_substituted(headers.get(SCHEDULE_ARN_HEADER.lower())),
        scheduled_time=scheduled_time,
        execution_id=_substituted(headers.get(EXECUTION_ID_HEADER.lower())),
        attempt=_attempt(_substituted(headers.get(ATTEMPT_HEADER.lower()))),
        run_at=run_at,
        manual_run=_manual_run(_substituted(headers.get(MANUAL_RUN_HEADER.lower()))),
        due=due,
    )


def signature_of(config: WorkerConfig, headers: Mapping[str, str], body: bytes) -> Signature | None:
    """The delivery's valid signature; None when no secret is set. DeliveryError 401 when
    a secret is set and the signature is missing or does not match."""
    if config.callback_secret is None:
        return None
    header = headers.get(SIGNATURE_HEADER.lower())
    found = verified_signature(config.callback_secret, header, body, headers)
    if found is None:
        raise DeliveryError(401, f"Missing or invalid {SIGNATURE_HEADER}")
    return found


def check_window(
    signature: Signature | None, context: SchedulerContext, config: WorkerConfig, now: float
) -> None:
    """DeliveryError 401 if a signed delivery's times are outside what a real one carries."""
    if signature is None:
        return  # no secret: whoever may invoke the function may send anything
    max_age = config.max_event_age_seconds
    if signature.timestamp < SIGNATURE_EPOCH or signature.timestamp > now + CLOCK_SKEW_SECONDS:
        raise DeliveryError(401, "The signature's t is not a time this service signed at")
    if signature.covers_context and now - signature.timestamp > max_age:
        raise DeliveryError(401, "The delivery was signed longer ago than an event lives")
    if not signature.covers_context and context.manual_run is not None:
        raise DeliveryError(401, f"{MANUAL_RUN_HEADER} needs a signature that covers it (v2)")
    if context.due is None:
        raise DeliveryError(401, f"A signed delivery needs {SCHEDULED_TIME_HEADER}")
    if signature.covers_context:
        return  # its sender vouched for the time when it sent it (a redrive may be old)
    due = context.due.timestamp()
    if due > now + CLOCK_SKEW_SECONDS:
        raise DeliveryError(401, "The scheduled time is in the future")
    if now - due > max_age:
        raise DeliveryError(401, "The scheduled time is older than the maximum event age")
    if due < signature.timestamp - CLOCK_SKEW_SECONDS:
        raise DeliveryError(401, "The scheduled time is before its Input was signed")
