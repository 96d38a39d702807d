"""Materializing: each fire that fell due becomes one execution row.

UNIQUE(schedule_id, scheduled_time, run_key) makes a second engine's attempt at the same
fire a no-op. Each schedule's fires are computed before anything of it is written: one
the engine cannot process (a stored spec that no longer parses, say) is set aside as
broken, never left to block the rest.

A one-time schedule (`at()`) is most of the fires of a burst, and its one fire is its
`next_fire_at`: it is read from the stored JSON for the few fields an execution needs,
without building the spec or asking fires.py (about a fifth of a run's Python in the
rounds' profile, bench/README.md benchmark 5). A stored spec that is not JSON, or whose
target does not read, is set aside like any other.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from sqlite3 import Connection, Row
from typing import Any

from scheduler_api.backends.local.store.codec import spec_from_json
from scheduler_api.backends.local.store.executions import add_execution
from scheduler_api.domain.clock import from_epoch, to_epoch
from scheduler_api.domain.fires import next_fire_after, next_fire_from
from scheduler_api.domain.schedules import ScheduleTarget

logger = logging.getLogger(__name__)

MATERIALIZE_BATCH = 500
# The columns of a schedule's row that computing and writing its fires read; only those.
_COLUMNS = "rowid, id, arn, group_name, name, task_id, spec, next_fire_at, created_at"


def materialize(conn: Connection, now: datetime, rng: random.Random) -> int:
    """Turn every fire due by `now` into an execution; returns how many were added. `rng`
    spreads the fires of a flexible window."""
    added = 0
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM schedules WHERE next_fire_at <= ?"  # noqa: S608
        " ORDER BY next_fire_at LIMIT ?",
        (to_epoch(now), MATERIALIZE_BATCH),
    ).fetchall()
    for row in rows:
        try:
            due = _due_fires(row, now, rng)
        except Exception as exc:  # any fault of one row, by design
            _set_aside(conn, row, exc)
            continue
        for scheduled, due_at in due.fires:
            added += add_execution(
                conn,
                row,
                due.target,
                scheduled=scheduled,
                due=due_at,
                delete_schedule=due.delete_after,
            )[1]
        conn.execute(
            # By rowid, read in this transaction: no walk of the index on id.
            "UPDATE schedules SET next_fire_at = ? WHERE rowid = ?",
            (to_epoch(due.after) if due.after else None, row["rowid"]),
        )
    return added


@dataclass(frozen=True)
class DueFires:
    """What a schedule's due fires need written: its target, the fires as (scheduled,
    due) pairs, the fire after them (None: no more), and whether its last run deletes it."""

    target: ScheduleTarget
    fires: list[tuple[datetime, datetime]]
    after: datetime | None
    delete_after: bool


def _due_fires(row: Row, now: datetime, rng: random.Random) -> DueFires:
    raw = json.loads(row["spec"])
    if raw["expression"].startswith("at("):
        return _one_time_fire(row, raw, now, rng)
    spec = spec_from_json(row["spec"])
    created = from_epoch(row["created_at"])
    max_age = timedelta(seconds=spec.target.maximum_event_age_seconds)
    fire: datetime | None = from_epoch(row["next_fire_at"])
    if fire is not None and now - fire > max_age:
        logger.warning("schedule %s: skipping fires older than %s", row["arn"], max_age)
        fire = next_fire_from(spec, now - max_age, created)
    fires = []
    while fire is not None and fire <= now:
        fires.append((fire, _spread(fire, spec.flexible_window_minutes, rng)))
        fire = next_fire_after(spec, fire, created)
    return DueFires(spec.target, fires, fire, delete_after=False)


def _one_time_fire(row: Row, raw: dict[str, Any], now: datetime, rng: random.Random) -> DueFires:
    """An `at()` schedule fires once, at its next_fire_at (fires.py's rule: start and end
    dates do not bound it); none after. Too old for its maximum event age, it is skipped,
    as next_fire_from would find no fire after `now - max_age`."""
    target = ScheduleTarget(**raw["target"])
    max_age = timedelta(seconds=target.maximum_event_age_seconds)
    fire = from_epoch(row["next_fire_at"])
    fires = []
    if now - fire > max_age:
        logger.warning("schedule %s: skipping fires older than %s", row["arn"], max_age)
    else:
        fires.append((fire, _spread(fire, raw.get("flexible_window_minutes"), rng)))
    return DueFires(target, fires, None, raw.get("action_after_completion") == "DELETE")


def _spread(fire: datetime, window_minutes: int | None, rng: random.Random) -> datetime:
    """When a fire falls due: within its flexible window, at random."""
    window = (window_minutes or 0) * 60
    return fire + timedelta(seconds=rng.uniform(0, window) if window else 0)


def _set_aside(conn: Connection, row: Row, exc: Exception) -> None:
    """Mark a schedule the engine cannot process as broken; it fires no more until it is
    replaced. Logged once: a broken schedule is not selected again."""
    reason = f"the engine cannot compute its fires ({type(exc).__name__})"
    logger.error("schedule %s set aside as broken: %s", row["arn"], reason, exc_info=exc)
    conn.execute(
        "UPDATE schedules SET next_fire_at = NULL, broken = ? WHERE id = ?", (reason, row["id"])
    )
