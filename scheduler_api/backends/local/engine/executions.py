"""Running one claimed execution: the worker's handler called as Lambda would call it, the
delivery signed when a callback secret is set, and the observer (metrics) told of the fire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from scheduler_api.backends.local.engine.invoker import Invocation
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.outcomes import Outcome
from scheduler_api.domain.clock import Clock
from task_contract import RunStatus


class EngineObserver(Protocol):
    """Told of each fire, each finished attempt and each completed round (metrics)."""

    def fired(self, lateness_seconds: float) -> None: ...

    def round_completed(self) -> None: ...

    def finished(self, status: RunStatus) -> None: ...


def run_execution(
    claimed: Claimed,
    invoke: Callable[[Invocation], Outcome],
    *,
    clock: Clock,
    observer: EngineObserver | None,
    callback_secret: str | None,
) -> Outcome:
    """`invoke` runs the invocation (in this thread, or in a worker process);
    `callback_secret` signs each delivery (v2) when set."""
    if observer is not None and claimed.attempt == 1:
        late = (clock() - claimed.scheduled_time).total_seconds()
        observer.fired(late)
    return invoke(
        Invocation(
            claimed.input,
            schedule_arn=claimed.schedule_arn,
            scheduled_time=claimed.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            execution_id=claimed.id,
            attempt=claimed.attempt,
            function_arn=claimed.target_arn,
            manual_run=claimed.manual_run,
            signing=None
            if callback_secret is None
            else (callback_secret, int(clock().timestamp())),
        )
    )
