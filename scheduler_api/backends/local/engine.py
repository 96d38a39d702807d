"""LocalEngine: fires due schedules through the worker's Lambda handler, on this machine.

`tick()` does one round (heartbeat, materialize, claim, run) and is what tests call with a
fake clock. `start()` runs rounds on a thread and the invocations on a pool, waking at
least every `poll_seconds`, so a fire runs well within a second of its due time.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from scheduler_api.backends.local.database import Database
from scheduler_api.backends.local.invoker import LambdaHandler, Outcome, invoke
from scheduler_api.backends.local.queue import Claimed, ExecutionQueue, RetryPolicy
from scheduler_api.clock import Clock
from scheduler_api.errors import SchedulerError
from task_contract import RunStatus

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 1.0  # well inside the 5 s after which an engine counts as dead
SETTLE_TRIES = 3


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
    ) -> None:
        self.database = database
        self.handler = handler
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.queue = ExecutionQueue(
            database,
            owner=owner,
            clock=clock,
            retry=retry or RetryPolicy(),
            rng=rng or random.Random(),
            stale_after_seconds=stale_after_seconds,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._last_heartbeat = float("-inf")
        self._sleeping_until = float("inf")  # time.time() the loop next wakes on its own

    @property
    def owner(self) -> str:
        return self.queue.owner

    def tick(self) -> int:
        """One round; returns how many executions it started. Without a pool (tests), the
        executions run before it returns."""
        if self._pool is None or time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self.queue.heartbeat()
            self._last_heartbeat = time.monotonic()
        self.queue.materialize()
        with self._lock:
            free = self.concurrency - self._in_flight
        claimed = self.queue.claim(free)
        for item in claimed:
            if self._pool is None:
                self._run(item)
            else:
                with self._lock:
                    self._in_flight += 1
                self._pool.submit(self._run_pooled, item)
        return len(claimed)

    def wake(self, due: datetime | None = None) -> None:
        """Run a round now if `due` (a new schedule's first fire) is before the loop's
        next round; a schedule for later needs no extra round (and no extra writes)."""
        if due is None or due.timestamp() < self._sleeping_until:
            self._wake.set()

    def start(self) -> None:
        reaped = self.queue.reap_dead_neighbours()
        if reaped:
            logger.warning("taking over the work of %d engine(s) that died on this host", reaped)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="local-engine")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="local-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        try:
            self.queue.retire()
        except SchedulerError:
            logger.warning("could not retire engine %s; its leases expire on their own", self.owner)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                started = self.tick()
            except SchedulerError:
                logger.exception("engine round failed; retrying")
                started = 0
            with self._lock:
                saturated = self._in_flight >= self.concurrency
            if started and not saturated:
                continue  # more may be due right now
            wait = self._wait_seconds()
            self._sleeping_until = time.time() + wait
            self._wake.wait(wait)
            self._sleeping_until = float("inf")
            self._wake.clear()

    def _wait_seconds(self) -> float:
        """Until the next due time, but never longer than a poll: another process may
        have added work this one was not woken for."""
        try:
            until_due = self.queue.seconds_until_due()
        except SchedulerError:
            return self.poll_seconds
        if until_due is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.0, until_due))

    def _run_pooled(self, claimed: Claimed) -> None:
        try:
            self._run(claimed)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def _run(self, claimed: Claimed, *, may_retry: bool = True) -> RunStatus | None:
        outcome = self._invoke(claimed)
        for attempt in range(1, SETTLE_TRIES + 1):
            try:
                return self.queue.settle(claimed, outcome, may_retry=may_retry)
            except SchedulerError:
                logger.exception("saving execution %s failed (try %d)", claimed.id, attempt)
        return None

    def _invoke(self, claimed: Claimed) -> Outcome:
        return invoke(
            self.handler,
            claimed.input,
            schedule_arn=claimed.schedule_arn,
            scheduled_time=claimed.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            execution_id=claimed.id,
            attempt=claimed.attempt,
            function_arn=claimed.target_arn,
        )

    def redrive(self, dead_letter_id: int) -> RunStatus | None:
        """Invoke a dead-lettered execution once more, now; None if there is no such one.
        RUNNING if its outcome could not be recorded yet (the store still says so)."""
        claimed = self.queue.claim_dead_letter(dead_letter_id)
        if claimed is None:
            return None
        return self._run(claimed, may_retry=False) or RunStatus.RUNNING
