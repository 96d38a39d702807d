"""Which try of its execution an action is running in: `current_attempt()`.

The worker sets it around each action call: the larger of the delivery's attempt number
(X-Scheduler-Attempt: the local engine's retries and redrives count up) and the ledger's
count of deliveries that claimed the execution (Lambda's own retries resend attempt 1,
but each one is a claim). 1 outside an action, and on the first try.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_attempt: ContextVar[int] = ContextVar("action_attempt", default=1)


def current_attempt() -> int:
    """1 on an execution's first try, 2 on its first retry, and so on."""
    return _attempt.get()


@contextmanager
def running_attempt(attempt: int) -> Iterator[None]:
    """Make `attempt` what `current_attempt()` answers inside the block."""
    token = _attempt.set(max(attempt, 1))
    try:
        yield
    finally:
        _attempt.reset(token)
