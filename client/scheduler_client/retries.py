"""When a call is sent again: after a 429 or a 503, waiting what Retry-After says, a bounded
number of times, and only when sending it again cannot do the work twice.

- 429 means the request was refused before it was handled: every call may be repeated.
- 503 may come after part of the work (AWS throttled a later step), so only calls that
  are safe to repeat are: reads; create, which is idempotent by task_id (the same request
  again returns the same schedule, it never makes a second one); update, pause, resume,
  cancel and bulk, which set a state rather than add to one. Run now and redrive each
  start one more run, so a 503 is raised to the caller rather than repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRIED_STATUSES = frozenset({429, 503})
# delay-seconds is 1*DIGIT (RFC 9110), ASCII only: str.isdigit() also takes "²" or "٣",
# which float() then refuses. Ten digits (over 300 years) is more than any server means.
_DELAY_SECONDS = re.compile(r"[0-9]{1,10}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts`: how many times a call is sent at most (1: never again). A Retry-After
    above `max_wait` seconds is not waited for: the error is raised at once. Without
    Retry-After the wait is `backoff` seconds, doubled each time, up to `max_wait`."""

    attempts: int = 3
    max_wait: float = 30.0
    backoff: float = 0.5
    now: Callable[[], datetime] = field(default=_utc_now, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def wait_before_retry(
        self, *, attempt: int, status: int, headers: Mapping[str, str], repeatable: bool
    ) -> float | None:
        """Seconds to wait before sending the call again, or None: do not send it again."""
        if status not in RETRIED_STATUSES or attempt >= self.attempts:
            return None
        if status == 503 and not repeatable:
            return None
        asked = retry_after_seconds(headers.get("retry-after"), self.now())
        wait = asked if asked is not None else self.backoff * 2 ** (attempt - 1)
        return wait if wait <= self.max_wait else None


NEVER_RETRY = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delay-seconds or an HTTP-date (RFC 9110). Anything
    else (negative, fractional, non-ASCII digits, a date no datetime holds) counts as
    absent: None, never an exception, since a proxy may send whatever it likes."""
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
