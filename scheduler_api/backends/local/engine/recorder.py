"""The outcomes the engine's pool finished, held in memory until the store records them.

The loop records them in its next round (LocalEngine.run_round); outside a round (tests,
shutdown, a redrive) they are recorded in a transaction of their own. Outcomes the store
refuses (the file is locked, say) are kept, to be recorded later before newer ones: the
leases stay the engine's meanwhile, so nobody runs those executions again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from scheduler_api.backends.local.store.outcomes import Finished
from scheduler_api.backends.local.store.rounds import ExecutionStore
from task_contract import RunStatus

logger = logging.getLogger(__name__)


class OutcomeRecorder:
    def __init__(
        self, store: ExecutionStore, report: Callable[[list[RunStatus | None]], None]
    ) -> None:
        self.store = store
        self.report = report  # told of the statuses recorded outside a round
        self._lock = threading.Lock()
        self._finished: list[Finished] = []  # outcomes not recorded yet, oldest first

    def hold(self, finished: Finished) -> None:
        with self._lock:
            self._finished.append(finished)

    def take(self) -> list[Finished]:
        """Every outcome held, for a round to record (`keep` them if it fails)."""
        with self._lock:
            finished, self._finished = self._finished, []
        return finished

    def keep(self, finished: list[Finished]) -> None:
        """Outcomes the store refused: recorded at a later round, before newer ones."""
        with self._lock:
            self._finished[:0] = finished

    def save_held(self) -> None:
        """Record the outcomes held in memory now (outside a round: tests, shutdown)."""
        finished = self.take()
        if finished:
            self.record(finished)

    def record(self, finished: list[Finished]) -> list[RunStatus | None] | None:
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
            self.keep(finished)
            return None
        self.report(statuses)
        return statuses
