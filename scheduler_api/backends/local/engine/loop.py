"""LocalEngine: fires due schedules through the worker's Lambda handler, on this machine.

`tick()` does one round, one write transaction (heartbeat, record the outcomes the pool
finished since the last round, materialize, claim), then runs what it claimed; tests call
it with a fake clock. `start()` runs rounds on a thread and the invocations on daemon
threads, which hand their outcomes back to the loop and wake it; the loop wakes at least
every `poll_seconds`, so a fire runs well within a second of its due time.

Nothing stops the loop but `stop()`: a round that raises is logged and retried after a
growing pause, and the outcomes it held stay in memory for the next (the leases stay
ours meanwhile, so nobody runs those executions again); `health()` says when rounds have
not completed for a while. What `stop()` does once the loop has stopped (the grace wait,
the release of what still runs, the retirement) is in shutdown.py.
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

from scheduler_api.backends.local.engine.checkpoints import start_checkpoints
from scheduler_api.backends.local.engine.executions import EngineObserver, run_execution
from scheduler_api.backends.local.engine.health import EngineHealth, RoundHealth
from scheduler_api.backends.local.engine.invoker import Invoker, LambdaHandler, invoke_invocation
from scheduler_api.backends.local.engine.pool import DaemonPool
from scheduler_api.backends.local.engine.recorder import OutcomeRecorder
from scheduler_api.backends.local.engine.shutdown import release, retire, wait_for_running
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.outcomes import Finished, Outcome, RetryPolicy
from scheduler_api.backends.local.store.rounds import ExecutionStore
from scheduler_api.domain.clock import Clock
from task_contract import RunStatus

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
# Well inside the 5 s after which an engine whose lock file this host cannot see (another
# host's) counts as dead; this host's engines are judged by their lock (liveness.py).
HEARTBEAT_SECONDS = 1.0
SHUTDOWN_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class RoundResult:
    statuses: list[RunStatus | None]  # per outcome recorded, in order (see Round.record)
    claimed: list[Claimed]


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
        invoker: Invoker | None = None,
    ) -> None:
        self.database = database
        # None: `handler` runs in the pool's threads (LOCAL_INVOKER=thread).
        self.invoker = invoker
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
        self.outcomes = OutcomeRecorder(self.store, self._report)
        self._last_heartbeat = float("-inf")
        self.round_health = RoundHealth()
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
        finished = self.outcomes.take()
        with self._lock:
            free = self.concurrency - len(self._running)
        try:
            done = self.run_round(finished, free, heartbeat=heartbeat)
        except Exception:
            self.outcomes.keep(finished)
            raise
        if heartbeat:
            self._last_heartbeat = self.monotonic()
        self._report(done.statuses)
        for item in done.claimed:
            if self._pool is None:
                self.outcomes.hold(Finished(item, self._run(item)))
            else:
                with self._lock:
                    self._running[item.id] = item
                self._pool.submit(functools.partial(self._run_pooled, item))
        if self._pool is None:
            self.outcomes.save_held()
        self.round_health.completed(self.monotonic())
        if self.observer is not None:
            self.observer.round_completed()
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
        if self.invoker is not None:
            self.invoker.start()
        self._pool = DaemonPool(self.concurrency, "local-engine")
        self._stop.clear()
        self._hurry.clear()
        self.round_health.started(self.monotonic())
        self._thread = threading.Thread(target=self._loop, name="local-engine", daemon=True)
        self._thread.start()
        self._checkpointer = start_checkpoints(self.database, self._stop)

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
        unfinished = wait_for_running(
            self._lock, self._running, deadline, self.monotonic, self._hurry
        )

        def grace_left() -> float:
            return 0.0 if self._hurry.is_set() else max(0.0, deadline - self.monotonic())

        if self.invoker is not None:  # what still runs there is released below
            self.invoker.close(grace_left())
        if self._pool is not None:  # idle by now but for actions past the grace period
            self._pool.close(grace_left())
            self._pool = None
        self.outcomes.save_held()
        if unfinished:
            release(self.store, unfinished)
        retire(self.store)

    @property
    def last_failure(self) -> str | None:
        """The exception class of the last round, while rounds fail; else None."""
        return self.round_health.last_failure

    def health(self) -> EngineHealth:
        return self.round_health.verdict(
            self.monotonic(),
            started=self._thread is not None,
            running=self._thread is not None and self._thread.is_alive(),
            stopping=self._stop.is_set(),
            poll_seconds=self.poll_seconds,
        )

    def _loop(self) -> None:
        self.database.defer_checkpoints()
        while not self._stop.is_set():
            try:
                started = self.tick()
            except Exception as exc:
                self.round_health.failed(exc, self.monotonic())
                # A new schedule retries at once.
                self._wake.wait(self.round_health.backoff(self.poll_seconds))
                self._wake.clear()
                continue
            self.round_health.recovered()
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
            self.outcomes.hold(Finished(claimed, self._run(claimed)))
        finally:
            with self._lock:
                self._running.pop(claimed.id, None)
                self._lock.notify_all()
            self._wake.set()  # the loop records the outcome and claims the next

    def _run(self, claimed: Claimed) -> Outcome:
        invoke = (
            functools.partial(invoke_invocation, self.handler)
            if self.invoker is None
            else self.invoker.invoke
        )
        return run_execution(
            claimed,
            invoke,
            clock=self.clock,
            observer=self.observer,
            callback_secret=self.callback_secret,
        )

    def _report(self, statuses: list[RunStatus | None]) -> None:
        if self.observer is not None:
            for status in statuses:
                if status is not None:
                    self.observer.finished(status)

    def dismiss(self, dead_letter_id: int) -> bool:
        """Forget a dead letter (its runs stay); False if there is none with this id."""
        with self.store.round() as round:
            return round.dismiss_dead_letter(dead_letter_id)

    def redrive(self, dead_letter_id: int) -> RunStatus | None:
        """Invoke a dead-lettered execution once more, now; None if there is no such one.
        RUNNING if its outcome could not be recorded yet (the store still says so)."""
        with self.store.round() as round:
            claimed = round.claim_dead_letter(dead_letter_id)
        if claimed is None:
            return None
        outcome = self._run(claimed)
        statuses = self.outcomes.record([Finished(claimed, outcome, may_retry=False)])
        return (statuses and statuses[0]) or RunStatus.RUNNING
