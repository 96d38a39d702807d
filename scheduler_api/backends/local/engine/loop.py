"""LocalEngine: fires due schedules through the worker's Lambda handler, on this machine.

`tick()` does one round, one write transaction (heartbeat, record the outcomes the pool
finished since the last round, materialize, claim), then runs what it claimed; tests call
it with a fake clock. `start()` runs rounds on a thread and the invocations on daemon
threads, which hand their outcomes back to the loop and wake it; the loop wakes at least
every `poll_seconds`, so a fire runs well within a second of its due time.

Nothing stops the loop but `stop()`: a round that raises is logged and retried after a
growing pause, and the outcomes it held stay in memory for the next (the leases stay
ours meanwhile, so nobody runs those executions again); `health()` says when rounds have
not completed for a while.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from scheduler_api.backends.local.engine.invoker import LambdaHandler, Outcome, invoke
from scheduler_api.backends.local.engine.pool import DaemonPool
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.outcomes import Finished, RetryPolicy
from scheduler_api.backends.local.store.rounds import ExecutionStore
from scheduler_api.domain.clock import Clock
from task_contract import RunStatus

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
# Well inside the 5 s after which an engine whose lock file this host cannot see (another
# host's) counts as dead; this host's engines are judged by their lock (liveness.py).
HEARTBEAT_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 5.0
STALLED_AFTER_POLLS = 25  # /health: no round completed for this many poll periods
SHUTDOWN_GRACE_SECONDS = 10.0
CHECKPOINT_SECONDS = 1.0  # how often the WAL is copied back into the file (see _checkpoints)


@dataclass(frozen=True)
class EngineHealth:
    running: bool
    seconds_since_round: float | None
    reason: str | None  # why it is not healthy; None when it is

    @property
    def healthy(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class RoundResult:
    statuses: list[RunStatus | None]  # per outcome recorded, in order (see Round.record)
    claimed: list[Claimed]


class EngineObserver(Protocol):
    """Told of each fire and each finished attempt (metrics)."""

    def fired(self, lateness_seconds: float) -> None: ...

    def finished(self, status: RunStatus) -> None: ...


class LocalEngine:
    def __init__(
        self,
        database: Database,
        *,
        handler: LambdaHandler,
        clock: Clock,
        retry: RetryPolicy | None = None,
        concurrency: int = 8,
        rng: random.Random | None = None,
        poll_seconds: float = POLL_SECONDS,
        stale_after_seconds: float = 5.0,
        shutdown_grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        observer: EngineObserver | None = None,
        callback_secret: str | None = None,
    ) -> None:
        self.database = database
        self.callback_secret = callback_secret  # signs each delivery (v2) when set
        self.clock = clock
        self.observer = observer
        self.handler = handler
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self.monotonic = monotonic
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.store = ExecutionStore(
            database,
            owner=owner,
            clock=clock,
            retry=retry or RetryPolicy(),
            rng=rng or random.Random(),
            stale_after_seconds=stale_after_seconds,
        )
        self._pool: DaemonPool | None = None
        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._hurry = threading.Event()  # a second Ctrl-C: stop without the grace period
        self._lock = threading.Condition()
        self._running: dict[str, Claimed] = {}  # in flight on the pool, by execution id
        self._finished: list[Finished] = []  # outcomes not recorded yet, oldest first
        self._last_heartbeat = float("-inf")
        self._last_round: float | None = None  # monotonic time the last round completed
        self._failing_since: float | None = None
        self._failures = 0
        self._last_failure: str | None = None  # the class of the exception, for /health
        self._sleeping_until = float("inf")  # time.time() the loop next wakes on its own

    @property
    def owner(self) -> str:
        return self.store.owner

    def tick(self) -> int:
        """One round; returns how many executions it started. Without a pool (tests), the
        executions run, and their outcomes are recorded, before it returns."""
        heartbeat = (
            self._pool is None or self.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS
        )
        with self._lock:
            finished, self._finished = self._finished, []
            free = self.concurrency - len(self._running)
        try:
            done = self.run_round(finished, free, heartbeat=heartbeat)
        except Exception:
            self._keep(finished)
            raise
        if heartbeat:
            self._last_heartbeat = self.monotonic()
        self._report(done.statuses)
        for item in done.claimed:
            if self._pool is None:
                self._finish(item, self._invoke_observed(item))
            else:
                with self._lock:
                    self._running[item.id] = item
                self._pool.submit(functools.partial(self._run_pooled, item))
        if self._pool is None:
            self._save_finished()
        self._last_round = self.monotonic()
        return len(done.claimed)

    def run_round(self, finished: list[Finished], limit: int, *, heartbeat: bool) -> RoundResult:
        """One write transaction: record `finished`, materialize what fell due, claim up to
        `limit` executions. If it raises, nothing of it was written."""
        with self.store.round() as round:
            if heartbeat:
                round.heartbeat()
            statuses = round.record(finished)
            round.materialize()
            return RoundResult(statuses, round.claim(limit))

    def wake(self, due: datetime | None = None) -> None:
        """Run a round now if `due` (a new schedule's first fire) is before the loop's
        next round; a schedule for later needs no extra round (and no extra writes)."""
        if due is None or due.timestamp() < self._sleeping_until:
            self._wake.set()

    def start(self) -> None:
        reaped = self.store.reap_dead_neighbours()
        if reaped:
            logger.warning("taking over the work of %d engine(s) that died on this host", reaped)
        self._pool = DaemonPool(self.concurrency, "local-engine")
        self._stop.clear()
        self._hurry.clear()
        self._last_round = self.monotonic()  # the clock for /health starts now
        self._thread = threading.Thread(target=self._loop, name="local-engine", daemon=True)
        self._thread.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="local-engine-checkpoints", daemon=True
        )
        self._checkpointer.start()

    def hurry(self) -> None:
        """Cut stop()'s grace period short (a second Ctrl-C)."""
        self._hurry.set()
        with self._lock:
            self._lock.notify_all()

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop firing; wait up to the grace period for running actions, then release
        those still running (they run again at the next start, as after a crash)."""
        grace = self.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        deadline = self.monotonic() + grace
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - self.monotonic()))
        if self._checkpointer is not None:
            self._checkpointer.join(max(0.0, deadline - self.monotonic()))
        with self._lock:
            while self._running and not self._hurry.is_set():
                left = deadline - self.monotonic()
                if left <= 0:
                    break
                self._lock.wait(min(left, 0.1))
            unfinished = sorted(self._running)
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._save_finished()
        if unfinished:
            self._release(unfinished)
        try:
            self.store.retire()
        except Exception:
            logger.warning("could not retire engine %s; its leases expire on their own", self.owner)

    @property
    def last_failure(self) -> str | None:
        """The exception class of the last round, while rounds fail; else None."""
        return self._last_failure

    def health(self) -> EngineHealth:
        running = self._thread is not None and self._thread.is_alive()
        since = None if self._last_round is None else self.monotonic() - self._last_round
        if self._thread is None or since is None:
            return EngineHealth(running, since, None)  # driven by hand (tests), not started
        stalled_after = STALLED_AFTER_POLLS * self.poll_seconds
        if running and since > stalled_after:
            why = f" (each round raises {self._last_failure})" if self._last_failure else ""
            return EngineHealth(
                running, since, f"the engine has not completed a round for {since:.0f} s{why}"
            )
        if not running and not self._stop.is_set():
            return EngineHealth(running, since, "the engine's loop is not running")
        return EngineHealth(running, since, None)

    def _checkpoints(self) -> None:
        """The loop's commits leave the WAL to grow; this thread copies it back into the
        file, off the loop's path (SQLite gives up the GIL while it does, so on another
        core it costs the loop little). Measured in one thread, 16 runs a round: with
        SQLite's automatic checkpoints in the commits, the rounds cost about 250 µs per
        run; without, about 165."""
        while not self._stop.wait(CHECKPOINT_SECONDS):
            try:
                self.database.checkpoint()
            except Exception as exc:  # the next one retries; the WAL only grows meanwhile
                logger.warning("WAL checkpoint failed: %s", type(exc).__name__)

    def _loop(self) -> None:
        self.database.defer_checkpoints()
        while not self._stop.is_set():
            try:
                started = self.tick()
            except Exception as exc:
                self._round_failed(exc)
                self._wake.wait(self._backoff())  # a new schedule retries at once
                self._wake.clear()
                continue
            if self._failing_since is not None:
                logger.warning("engine rounds complete again")
            self._failing_since, self._last_failure = None, None
            with self._lock:
                saturated = len(self._running) >= self.concurrency
            if started and not saturated:
                continue  # more may be due right now
            # Saturated, the next action to end wakes the loop: no need to ask the file
            # when the next fire is due (each query gives up the GIL to busy pool threads).
            wait = self.poll_seconds if saturated else self._wait_seconds()
            self._sleeping_until = time.time() + wait
            self._wake.wait(wait)
            self._sleeping_until = float("inf")
            self._wake.clear()

    def _round_failed(self, exc: Exception) -> None:
        first = self._failing_since is None
        if first:
            self._failing_since = self.monotonic()
            self._failures = 0
        self._failures += 1
        self._last_failure = type(exc).__name__
        # The traceback once per streak of failures; a line per retry after that.
        if first:
            logger.error("engine round failed; retrying with backoff", exc_info=exc)
        else:
            logger.warning("engine round failed again: %s", type(exc).__name__)

    def _backoff(self) -> float:
        """A poll period, doubling with each failure in a row, up to MAX_BACKOFF_SECONDS."""
        return float(min(MAX_BACKOFF_SECONDS, self.poll_seconds * 2 ** min(self._failures - 1, 16)))

    def _wait_seconds(self) -> float:
        """Until the next due time, but never longer than a poll: another process may
        have added work this one was not woken for."""
        try:
            until_due = self.store.seconds_until_due()
        except Exception:
            return self.poll_seconds
        if until_due is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, until_due))

    def _run_pooled(self, claimed: Claimed) -> None:
        try:
            self._finish(claimed, self._invoke_observed(claimed))
        finally:
            with self._lock:
                self._running.pop(claimed.id, None)
                self._lock.notify_all()
            self._wake.set()  # the loop records the outcome and claims the next

    def _invoke_observed(self, claimed: Claimed) -> Outcome:
        if self.observer is not None and claimed.attempt == 1:
            late = (self.clock() - claimed.scheduled_time).total_seconds()
            self.observer.fired(late)
        return self._invoke(claimed)

    def _finish(self, claimed: Claimed, outcome: Outcome) -> None:
        with self._lock:
            self._finished.append(Finished(claimed, outcome))

    def _keep(self, finished: list[Finished]) -> None:
        """Outcomes the store refused: recorded at a later round, before newer ones."""
        with self._lock:
            self._finished[:0] = finished

    def _report(self, statuses: list[RunStatus | None]) -> None:
        if self.observer is not None:
            for status in statuses:
                if status is not None:
                    self.observer.finished(status)

    def _save_finished(self) -> None:
        """Record the outcomes held in memory now (outside a round: tests, shutdown)."""
        with self._lock:
            finished, self._finished = self._finished, []
        if finished:
            self._record(finished)

    def _record(self, finished: list[Finished]) -> list[RunStatus | None] | None:
        """Record outcomes in their own transaction; if the store refuses, keep them for a
        later round (None)."""
        try:
            with self.store.round() as round:
                statuses = round.record(finished)
        except Exception:
            logger.exception(
                "saving the outcome of %d execution(s) failed; kept to be saved later",
                len(finished),
            )
            self._keep(finished)
            return None
        self._report(statuses)
        return statuses

    def _release(self, execution_ids: list[str]) -> None:
        try:
            with self.store.round() as round:
                released = round.release(execution_ids, "released: the engine stopped")
        except Exception:
            logger.exception("could not release executions %s", ", ".join(execution_ids))
            return
        logger.warning(
            "stopped with %d execution(s) still running, released to run again at the next"
            " start: %s",
            released,
            ", ".join(execution_ids),
        )

    def _invoke(self, claimed: Claimed) -> Outcome:
        return invoke(
            self.handler,
            claimed.input,
            schedule_arn=claimed.schedule_arn,
            scheduled_time=claimed.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            execution_id=claimed.id,
            attempt=claimed.attempt,
            function_arn=claimed.target_arn,
            manual_run=claimed.manual_run,
            signing=None
            if self.callback_secret is None
            else (self.callback_secret, int(self.clock().timestamp())),
        )

    def redrive(self, dead_letter_id: int) -> RunStatus | None:
        """Invoke a dead-lettered execution once more, now; None if there is no such one.
        RUNNING if its outcome could not be recorded yet (the store still says so)."""
        with self.store.round() as round:
            claimed = round.claim_dead_letter(dead_letter_id)
        if claimed is None:
            return None
        outcome = self._invoke_observed(claimed)
        statuses = self._record([Finished(claimed, outcome, may_retry=False)])
        return (statuses and statuses[0]) or RunStatus.RUNNING
