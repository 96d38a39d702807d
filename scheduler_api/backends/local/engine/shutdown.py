"""What LocalEngine.stop() does once the loop has stopped firing: wait out the grace period
for the actions still running, release those that outlive it (they run again at the next
start, as after a crash), and retire the engine, whose leases otherwise expire on their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.rounds import ExecutionStore

logger = logging.getLogger(__name__)


def wait_for_running(
    lock: threading.Condition,
    running: Mapping[str, Claimed],
    deadline: float,
    monotonic: Callable[[], float],
    hurry: threading.Event,
) -> list[str]:
    """Wait, under `lock`, until nothing runs, `deadline` passes or `hurry` is set; the ids
    of the executions still running, sorted."""
    with lock:
        while running and not hurry.is_set():
            left = deadline - monotonic()
            if left <= 0:
                break
            lock.wait(min(left, 0.1))
        return sorted(running)


def release(store: ExecutionStore, execution_ids: list[str]) -> None:
    try:
        with store.round() as round:
            released = round.release(execution_ids, "released: the engine stopped")
    except Exception:
        logger.exception("could not release executions %s", ", ".join(execution_ids))
        return
    logger.warning(
        "stopped with %d execution(s) still running, released to run again at the next start: %s",
        released,
        ", ".join(execution_ids),
    )


def retire(store: ExecutionStore) -> None:
    try:
        store.retire()
    except Exception:
        logger.warning("could not retire engine %s; its leases expire on their own", store.owner)
