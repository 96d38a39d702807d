"""This engine's membership among the engines sharing one SQLite file.

Each engine has a row in `engines` (its heartbeat) and, on this host, a lock file whose
flock it holds while it may hold leases (store/liveness.py). Another engine's leases are
taken over only once it is judged dead: by its lock when it runs on this host, by its
heartbeat when it does not (another host's, or one of a version before lock files).
"""

from __future__ import annotations

import logging
from datetime import datetime
from sqlite3 import Connection

from scheduler_api.backends.local.store.attempts import move_first_attempts
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.liveness import (
    EngineLock,
    Holder,
    host_of,
    lock_dir,
    probe,
    sweep,
)
from scheduler_api.domain.clock import to_epoch
from task_contract import RunStatus

logger = logging.getLogger(__name__)


ABANDONED = "abandoned: its engine stopped"  # an attempt its engine never finished


class Membership:
    def __init__(self, database: Database, owner: str, stale_after_seconds: float) -> None:
        self.owner = owner
        # Only for engines whose lock this one cannot see (another host's, or one with no
        # lock file): for those, a heartbeat older than this still means dead.
        self.stale_after = stale_after_seconds
        self.host = host_of(owner)
        self.locks = lock_dir(database.path)
        self.lock = EngineLock(self.locks, owner)

    def heartbeat(self, conn: Connection, now: datetime) -> None:
        self.lock.hold()  # before the row that names this engine to the others
        conn.execute(
            "INSERT INTO engines (owner, heartbeat_at) VALUES (?, ?)"
            " ON CONFLICT(owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            (self.owner, to_epoch(now)),
        )

    def reap_dead_neighbours(self, database: Database) -> int:
        """Forget engines of this host whose process is gone (killed, crashed): their rows
        and lock files. Their leases are taken over by the next claim, whoever makes it."""
        dead = sweep(self.locks, self.host)
        if dead:
            with database.write() as conn:
                conn.executemany("DELETE FROM engines WHERE owner = ?", [(o,) for o in dead])
        return len(dead)

    def retire(self, database: Database) -> None:
        """Say this engine is gone, so its leases can be taken over at once. The lock goes
        even if the row cannot be deleted: the heartbeat then ages as a dead engine's."""
        try:
            with database.write() as conn:
                conn.execute("DELETE FROM engines WHERE owner = ?", (self.owner,))
        finally:
            self.lock.close()

    def free_leases_of_dead_engines(self, conn: Connection, now: datetime) -> None:
        """Close the open attempts of engines that died and free their leases, to be
        claimed again. Only the engines that hold leases are looked at: a few per round,
        each a lock tried without waiting."""
        holders = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT lease_owner FROM executions"
                " WHERE status = ? AND lease_owner IS NOT NULL AND lease_owner != ?",
                (RunStatus.RUNNING, self.owner),
            )
        ]
        for owner in holders:
            if self._is_alive(conn, owner, now):
                continue
            move_first_attempts(
                conn,
                "status = ? AND lease_owner = ?",
                [(RunStatus.RUNNING, owner)],
                finished_at=to_epoch(now),
                error=ABANDONED,
            )
            conn.execute(
                "UPDATE attempts SET finished_at = ?, error = ?"
                " WHERE finished_at IS NULL AND execution_id IN"
                "  (SELECT id FROM executions WHERE status = ? AND lease_owner = ?)",
                (to_epoch(now), ABANDONED, RunStatus.RUNNING, owner),
            )
            # Only RUNNING rows have a lease; saying so lets SQLite use the status index.
            freed = conn.execute(
                "UPDATE executions SET lease_owner = NULL WHERE status = ? AND lease_owner = ?",
                (RunStatus.RUNNING, owner),
            ).rowcount
            conn.execute("DELETE FROM engines WHERE owner = ?", (owner,))
            logger.warning("engine %s is gone; its %d execution(s) run again", owner, freed)

    def _is_alive(self, conn: Connection, owner: str, now: datetime) -> bool:
        if host_of(owner) == self.host:
            holder = probe(self.locks, owner)
            if holder is not Holder.UNKNOWN:
                return holder is Holder.ALIVE
        # Another host's engine (its flock is not this kernel's to see), or one without a
        # lock file: its heartbeat decides, as it did before lock files.
        row = conn.execute("SELECT heartbeat_at FROM engines WHERE owner = ?", (owner,)).fetchone()
        return row is not None and row[0] >= to_epoch(now) - self.stale_after
