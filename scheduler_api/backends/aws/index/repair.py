"""The read-time repair: what a page of the index shows is made current before it is
returned. A reader heals what a dead writer left pending, moves on the next fire of a
recurring schedule whose time has passed, and drops a one-time schedule EventBridge
deleted after it ran (ActionAfterCompletion=DELETE), asking EventBridge at most every
RECHECK. So a read can write: this is why GET /schedules on AWS may cost writes."""

from __future__ import annotations

from datetime import timedelta

from scheduler_api.backends.aws.index.items import Stored
from scheduler_api.backends.aws.index.writes import IndexWrites
from scheduler_api.domain.clock import Clock

RECHECK = timedelta(minutes=1)  # a one-time schedule past its time, until AWS deletes it


class ReadRepair:
    def __init__(self, writes: IndexWrites, clock: Clock) -> None:
        self._writes = writes
        self._clock = clock

    def repair(self, rows: list[Stored]) -> bool:
        """Heal what a dead writer left, refresh passed next fires, drop one-time schedules
        AWS deleted after they ran. True if anything changed (the page is read again)."""
        now = self._clock()
        changed = False
        for row in rows:
            entry = row.entry
            group, name = entry.group_name, entry.name
            if row.pending_at is not None:
                if self._writes.abandoned(row.pending_at, now):
                    self._writes.heal(group, name)
                    changed = True
            elif entry.is_past(now) and entry.kind == "one-time":
                if entry.checked_at is None or now - entry.checked_at >= RECHECK:
                    self._writes.heal(group, name)
                    changed = True
            elif entry.is_past(now):
                self._writes.replace_entry(
                    group, name, entry.refreshed(now), expect=row.rev, pending=False, written=entry
                )
                changed = True
        return changed
