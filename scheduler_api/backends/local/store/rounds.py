"""The execution store in SQLite: fires become executions, engines claim them and record
their outcomes.

Every step runs inside a `Round`, one write transaction, so any number of engines on one
file agree:
- materialize (materialize.py): each fire that fell due becomes one execution row.
- claim (claims.py): an engine takes due executions that nobody holds, or whose holder
  died (engines.py), and records an attempt.
- record (outcomes.py): the holder records the outcome: done, retry later, or
  dead-lettered.

The engine's loop does all of a round in one transaction: the outcomes its pool finished
since the last round, the fires now due, the next executions to run. A commit per round,
not two per execution: with eight pool threads each committing its own outcome, they
queued on SQLite's one writer and the engine ran a fifth as fast as the worker alone
(bench/README.md, benchmark 5). Tests open rounds of their own to take the steps one by
one, through the same object.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from sqlite3 import Connection

from scheduler_api.backends.local.store import claims, executions
from scheduler_api.backends.local.store.claims import Claimed
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.engines import Membership
from scheduler_api.backends.local.store.materialize import materialize
from scheduler_api.backends.local.store.outcomes import Finished, RetryPolicy, record_outcomes
from scheduler_api.domain.clock import Clock, to_epoch
from task_contract import RunStatus


class ExecutionStore:
    def __init__(
        self,
        database: Database,
        *,
        owner: str,
        clock: Clock,
        retry: RetryPolicy,
        rng: random.Random,
        stale_after_seconds: float = 5.0,
    ) -> None:
        self.database = database
        self.clock = clock
        self.retry = retry
        self.rng = rng
        self.membership = Membership(database, owner, stale_after_seconds)

    @property
    def owner(self) -> str:
        return self.membership.owner

    @contextmanager
    def round(self) -> Iterator[Round]:
        """One write transaction, at one `now` read from the clock as it opens. If the
        block raises, nothing of it was written."""
        now = self.clock()
        with self.database.write() as conn:
            yield Round(self, conn, now)

    def reap_dead_neighbours(self) -> int:
        return self.membership.reap_dead_neighbours(self.database)

    def retire(self) -> None:
        self.membership.retire(self.database)

    def seconds_until_due(self) -> float | None:
        """How long until the next fire or execution falls due (None: nothing scheduled)."""
        with self.database.read() as conn:
            fire = conn.execute("SELECT min(next_fire_at) FROM schedules").fetchone()[0]
            pending, retry = (
                conn.execute(
                    "SELECT min(due_at) FROM executions WHERE status = ?", (status,)
                ).fetchone()[0]
                for status in (RunStatus.PENDING, RunStatus.RETRYING)
            )
        times = [float(t) for t in (fire, pending, retry) if t is not None]
        return min(times) - to_epoch(self.clock()) if times else None

    def broken_count(self) -> int:
        with self.database.read() as conn:
            count: int = conn.execute(
                "SELECT count(*) FROM schedules WHERE broken IS NOT NULL"
            ).fetchone()[0]
        return count


class Round:
    """The steps of one transaction of the store (see `ExecutionStore.round`)."""

    def __init__(self, store: ExecutionStore, conn: Connection, now: datetime) -> None:
        self.store = store
        self.conn = conn
        self.now = now

    def heartbeat(self) -> None:
        """Say this engine is alive (its row, and its lock file held)."""
        self.store.membership.heartbeat(self.conn, self.now)

    def record(self, finished: Sequence[Finished]) -> list[RunStatus | None]:
        """Record how attempts ended; per attempt, the execution's new status, or None
        when another engine took the execution over first (its outcome is then not this
        one's to record)."""
        store = self.store
        return record_outcomes(self.conn, finished, self.now, owner=store.owner, retry=store.retry)

    def materialize(self) -> int:
        """Turn every fire due by now into an execution; returns how many were added."""
        return materialize(self.conn, self.now, self.store.rng)

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due executions that no live engine holds."""
        return claims.claim(self.conn, self.store.membership, limit, self.now)

    def claim_dead_letter(self, dead_letter_id: int) -> Claimed | None:
        """Take a dead-lettered execution for one more attempt (a redrive)."""
        return claims.claim_dead_letter(self.conn, self.store.membership, dead_letter_id, self.now)

    def dismiss_dead_letter(self, dead_letter_id: int) -> bool:
        """Forget a dead letter; False if there is none with this id."""
        return executions.dismiss_dead_letter(self.conn, dead_letter_id)

    def release(self, execution_ids: list[str], reason: str) -> int:
        """Give up this engine's lease on executions it cannot finish (shutdown)."""
        return claims.release(self.conn, self.store.owner, execution_ids, reason, self.now)
