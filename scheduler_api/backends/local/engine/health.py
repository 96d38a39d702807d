"""The engine's health: whether its loop runs and completes rounds, for /health and the
scheduler_engine_up gauge.

Nothing stops the loop but `stop()`: a round that raises is logged and retried after a
growing pause. RoundHealth keeps what that needs (when the last round completed, the
streak of failures since) and judges it; the times it is given are the engine's
monotonic clock, which tests replace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
STALLED_AFTER_POLLS = 25  # /health: no round completed for this many poll periods


@dataclass(frozen=True)
class EngineHealth:
    running: bool
    seconds_since_round: float | None
    reason: str | None  # why it is not healthy; None when it is

    @property
    def healthy(self) -> bool:
        return self.reason is None


class RoundHealth:
    def __init__(self) -> None:
        self.last_round: float | None = None  # monotonic time the last round completed
        self.failing_since: float | None = None
        self.failures = 0
        self.last_failure: str | None = None  # the class of the exception, for /health
        # Rounds completed since the engine was made: runs per round is what a run's
        # share of a round's fixed cost depends on (bench/README.md, benchmark 12).
        self.rounds = 0

    def started(self, now: float) -> None:
        """The loop started: the clock for /health starts now."""
        self.last_round = now

    def completed(self, now: float) -> None:
        """A round completed."""
        self.last_round = now
        self.rounds += 1

    def recovered(self) -> None:
        """The loop's round completed: any streak of failures is over."""
        if self.failing_since is not None:
            logger.warning("engine rounds complete again")
        self.failing_since, self.last_failure = None, None

    def failed(self, exc: Exception, now: float) -> None:
        first = self.failing_since is None
        if first:
            self.failing_since = now
            self.failures = 0
        self.failures += 1
        self.last_failure = type(exc).__name__
        # The traceback once per streak of failures; a line per retry after that.
        if first:
            logger.error("engine round failed; retrying with backoff", exc_info=exc)
        else:
            logger.warning("engine round failed again: %s", type(exc).__name__)

    def backoff(self, poll_seconds: float) -> float:
        """A poll period, doubling with each failure in a row, up to MAX_BACKOFF_SECONDS."""
        return float(min(MAX_BACKOFF_SECONDS, poll_seconds * 2 ** min(self.failures - 1, 16)))

    def verdict(
        self, now: float, *, started: bool, running: bool, stopping: bool, poll_seconds: float
    ) -> EngineHealth:
        """`started`: the loop was started (not driven by hand); `running`: its thread is
        alive; `stopping`: stop() was asked for."""
        since = None if self.last_round is None else now - self.last_round
        if not started or since is None:
            return EngineHealth(running, since, None)  # driven by hand (tests), not started
        stalled_after = STALLED_AFTER_POLLS * poll_seconds
        if running and since > stalled_after:
            why = f" (each round raises {self.last_failure})" if self.last_failure else ""
            return EngineHealth(
                running, since, f"the engine has not completed a round for {since:.0f} s{why}"
            )
        if not running and not stopping:
            return EngineHealth(running, since, "the engine's loop is not running")
        return EngineHealth(running, since, None)
