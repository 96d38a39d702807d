"""LOCAL_INVOKER=process: invocations run in worker processes fed over pipes, as Lambda
gives each invocation an execution environment of its own. In-process (the thread
invoker), handler and bookkeeping share one GIL, which caps a burst at well under the
worker alone; here each handler has its own.

Up to `size` processes (LOCAL_CONCURRENCY), started with multiprocessing's "spawn"
context (never fork: the engine has threads, and a fork copies their locks mid-use),
each importing the handler once (worker_process.py). An invocation takes an idle one, or
starts one while fewer than `size` live. The outcome mapping is invoke()'s, run in the
child; what only a process can add:

- the process dies mid-invocation (SIGKILL, a segfault, os._exit): that invocation
  failed with `Runtime.ExitError` (Lambda's name), retried per the retry policy; the
  process is replaced at once;
- the invocation outlives its timeout (the context's, 900 s as Lambda's longest): the
  process is killed and the invocation failed with `Sandbox.Timedout`, as on Lambda;
- close() (the engine's stop) ends them all within its grace; a child also ends on its
  own when the engine's process dies (worker_process.watch_parent).

Log records from the children are handled by this process's loggers of the same name.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from scheduler_api.backends.local.engine import worker_process
from scheduler_api.backends.local.engine.invoker import (
    DEFAULT_TIMEOUT_SECONDS,
    Invocation,
    InvocationAbandonedError,
    event_text_of,
)
from scheduler_api.backends.local.store.outcomes import Outcome

logger = logging.getLogger(__name__)

EXIT_ERROR = "Runtime.ExitError"
TIMED_OUT = "Sandbox.Timedout"
INIT_TIMEOUT_SECONDS = 120.0  # importing the handler; Lambda allows 10 s, a laptop may not
LOGGER_LEVELS = ("", "scheduler_api")  # what the engine's logging is configured on


class WorkerLostError(Exception):
    """The worker process ended (or stopped answering) before it answered."""


class WorkerProcess:
    """One child and the engine's end of its pipe; used by one invocation at a time."""

    def __init__(self, handler_name: str, timeout_seconds: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        levels = {
            name: logging.getLogger(name or None).getEffectiveLevel() for name in LOGGER_LEVELS
        }
        self.process: BaseProcess = context.Process(
            target=worker_process.serve,
            args=(child_end, handler_name, timeout_seconds, levels),
            name="local-engine-worker",
            daemon=True,
        )
        self.process.start()
        child_end.close()  # the child's copy is its own: EOF here means it is gone
        self.ready = False
        self.generation = 0  # the invoker's, when it was last checked out

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def run(self, invocation: Invocation, timeout_seconds: float) -> Outcome:
        """The child's outcome; WorkerLostError if it dies or outlives the timeout
        (TimeoutError then, with the process killed)."""
        self.wait_ready()
        try:
            self.conn.send(invocation)
        except (OSError, ValueError) as exc:
            raise WorkerLostError("the worker process is gone") from exc
        outcome: Outcome = self._receive("outcome", time.monotonic() + timeout_seconds)
        return outcome

    def wait_ready(self) -> None:
        """Until the child has imported the handler: not part of an invocation's timeout
        (Lambda's init phase is not either)."""
        if not self.ready:
            self._receive("ready", time.monotonic() + INIT_TIMEOUT_SECONDS)
            self.ready = True

    def _receive(self, kind: str, deadline: float) -> Any:
        while True:
            left = deadline - time.monotonic()
            ready = multiprocessing.connection.wait(
                [self.conn, self.process.sentinel], timeout=max(0.0, left)
            )
            if self.conn in ready:
                try:
                    message_kind, value = self.conn.recv()
                except (EOFError, OSError) as exc:
                    raise WorkerLostError("the worker process is gone") from exc
                if message_kind == "log":
                    logging.getLogger(value.name).handle(value)
                elif message_kind == "error":
                    raise RuntimeError(f"invoke() raised in the worker process:\n{value}")
                elif message_kind == kind:
                    return value
            elif ready:  # the sentinel alone: it ended with nothing left to read
                raise WorkerLostError("the worker process is gone")
            elif left <= 0:
                self.kill()
                raise TimeoutError

    def stop(self) -> None:
        """Ask an idle child to end (it reads None); join() or kill() it after."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)

    def kill(self) -> None:
        """Kill, reap and close: by the thread that owns it (its invocation's, or close()
        for an idle one) only, never while another thread waits on its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class ProcessInvoker:
    def __init__(
        self,
        handler_name: str,
        size: int,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.handler_name = handler_name  # LOCAL_LAMBDA_HANDLER, imported in each child
        self.size = size
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        # Bumped by each close(): a worker checked out before it was killed by it, and
        # its invocation has no outcome (the engine released it). Invoking after a close
        # starts processes anew (a restarted engine, a redrive).
        self._generation = 0

    def pids(self) -> list[int]:
        """The live children's process ids (tests, the benchmark's memory figure)."""
        with self._lock:  # not those a close() killed: their threads may still be reaping
            busy = [w for w in self._busy if w.generation == self._generation]
            workers = [*self._idle, *busy]
        return [w.pid for w in workers if w.pid is not None and w.process.is_alive()]

    def start(self) -> None:
        """Start every child now, so that the first burst does not wait for imports."""
        with self._lock:
            while len(self._idle) + len(self._busy) < self.size:
                self._idle.append(self._spawn())

    def wait_ready(self) -> None:
        """Wait until every idle child has imported the handler (a benchmark measuring
        dispatch, not imports); a child that died meanwhile is replaced."""
        with self._lock:
            for n, worker in enumerate(self._idle):
                try:
                    worker.wait_ready()
                except (WorkerLostError, TimeoutError):
                    worker.kill()
                    self._idle[n] = self._spawn()

    def invoke(self, invocation: Invocation) -> Outcome:
        worker = self._checkout()
        try:
            outcome = worker.run(invocation, self.timeout_seconds)
        except TimeoutError:
            return self._lost(worker, invocation, TIMED_OUT, "ran past its timeout")
        except WorkerLostError:
            return self._lost(worker, invocation, EXIT_ERROR, "ended mid-invocation")
        except BaseException:
            self._checkin(worker)
            raise
        self._checkin(worker)
        return outcome

    def close(self, grace_seconds: float) -> None:
        """Idle children are asked to end, then every child left is killed at the end of
        the grace: what is still running was released by the engine already."""
        deadline = time.monotonic() + grace_seconds
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._lock.notify_all()
        for worker in idle:
            worker.stop()
        for worker in idle:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in idle:
            worker.kill()
        for worker in busy:  # its invocation's thread then sees it gone, and reaps it
            worker.process.kill()

    def _checkout(self) -> WorkerProcess:
        with self._lock:
            while True:
                if self._idle:
                    worker = self._idle.pop()
                    break
                if len(self._busy) < self.size:
                    worker = self._spawn()
                    break
                self._lock.wait()
            self._busy.add(worker)
            worker.generation = self._generation
            return worker

    def _checkin(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._busy.discard(worker)
            closed = worker.generation != self._generation
            if not closed:
                self._idle.append(worker)
            self._lock.notify()
        if closed:
            worker.kill()

    def _lost(self, worker: WorkerProcess, invocation: Invocation, error: str, why: str) -> Outcome:
        """The invocation failed with `error`, and its process is replaced (unless the
        engine is closing, which killed it: then there is no outcome to record)."""
        worker.kill()
        with self._lock:
            self._busy.discard(worker)
            closed = worker.generation != self._generation
            if not closed:
                self._idle.append(self._spawn())
            self._lock.notify()
        if closed:
            raise InvocationAbandonedError("the engine stopped while it ran")
        logger.warning(
            "execution %s attempt %d failed: its worker process (pid %s) %s (%s); replaced",
            invocation.execution_id, invocation.attempt, worker.pid, why, error,
        )  # fmt: skip
        return Outcome(True, None, error, event_text_of(invocation))

    def _spawn(self) -> WorkerProcess:
        return WorkerProcess(self.handler_name, self.timeout_seconds)
