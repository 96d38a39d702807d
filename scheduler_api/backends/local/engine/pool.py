"""A fixed set of daemon threads that run the engine's invocations.

Not concurrent.futures.ThreadPoolExecutor: Python joins its threads at interpreter exit,
so one action that never returns would keep the process from ever stopping (Ctrl-C
would hang). These threads are daemons: after the engine's shutdown grace the process
exits, and what they were running is released to run again at the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from scheduler_api.backends.local.engine.invoker import (
    InvocationAbandonedError,
    close_thread_event_loops,
)

logger = logging.getLogger(__name__)

Job = Callable[[], None]


class DaemonPool:
    def __init__(self, size: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def close(self, wait_seconds: float = 0.0) -> None:
        """Let each thread end after the job it is running, and wait up to `wait_seconds`
        in all for them to end (an idle one ends at once; one running an action that
        never returns is left behind, a daemon)."""
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + wait_seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    job()
                except InvocationAbandonedError:
                    pass  # the engine stopped, and released the execution to run again
                except BaseException:  # a job's own failure must not end the thread
                    logger.exception("an engine job raised")
        finally:
            close_thread_event_loops()
