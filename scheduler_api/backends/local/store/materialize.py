"""Materializing: each fire that fell due becomes one execution row.

UNIQUE(schedule_id, scheduled_time, run_key) makes a second engine's attempt at the same
fire a no-op. Each schedule's fires are computed before anything of it is written: one
the engine cannot process (a stored spec that no longer parses, say) is set aside as
broken, never left to block the rest.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from sqlite3 import Connection, Row

from scheduler_api.backends.local.store.codec import spec_from_json
from scheduler_api.backends.local.store.executions import add_execution
from scheduler_api.domain.clock import from_epoch, to_epoch
from scheduler_api.domain.fires import next_fire_after, next_fire_from
from scheduler_api.domain.schedules import ScheduleSpec

logger = logging.getLogger(__name__)

MATERIALIZE_BATCH = 500


def materialize(conn: Connection, now: datetime, rng: random.Random) -> int:
    """Turn every fire due by `now` into an execution; returns how many were added. `rng`
    spreads the fires of a flexible window."""
    added = 0
    rows = conn.execute(
        "SELECT rowid, * FROM schedules WHERE next_fire_at <= ? ORDER BY next_fire_at LIMIT ?",
        (to_epoch(now), MATERIALIZE_BATCH),
    ).fetchall()
    for row in rows:
        try:
            spec, fires, after = _due_fires(row, now, rng)
        except Exception as exc:  # any fault of one row, by design
            _set_aside(conn, row, exc)
            continue
        delete_after = spec.expression.startswith("at(") and (
            spec.action_after_completion == "DELETE"
        )
        for scheduled, due in fires:
            added += add_execution(
                conn, row, spec, scheduled=scheduled, due=due, delete_schedule=delete_after
            )[1]
        conn.execute(
            # By rowid, read in this transaction: no walk of the index on id.
            "UPDATE schedules SET next_fire_at = ? WHERE rowid = ?",
            (to_epoch(after) if after else None, row["rowid"]),
        )
    return added


def _due_fires(
    row: Row, now: datetime, rng: random.Random
) -> tuple[ScheduleSpec, list[tuple[datetime, datetime]], datetime | None]:
    """A schedule's spec, its fires due by `now` as (scheduled, due) pairs, and the
    fire after them (None: no more)."""
    spec = spec_from_json(row["spec"])
    created = from_epoch(row["created_at"])
    max_age = timedelta(seconds=spec.target.maximum_event_age_seconds)
    fire: datetime | None = from_epoch(row["next_fire_at"])
    if fire is not None and now - fire > max_age:
        logger.warning("schedule %s: skipping fires older than %s", row["arn"], max_age)
        fire = next_fire_from(spec, now - max_age, created)
    window = (spec.flexible_window_minutes or 0) * 60
    fires = []
    while fire is not None and fire <= now:
        fires.append((fire, fire + timedelta(seconds=rng.uniform(0, window) if window else 0)))
        fire = next_fire_after(spec, fire, created)
    return spec, fires, fire


def _set_aside(conn: Connection, row: Row, exc: Exception) -> None:
    """Mark a schedule the engine cannot process as broken; it fires no more until it is
    replaced. Logged once: a broken schedule is not selected again."""
    reason = f"the engine cannot compute its fires ({type(exc).__name__})"
    logger.error("schedule %s set aside as broken: %s", row["arn"], reason, exc_info=exc)
    conn.execute(
        "UPDATE schedules SET next_fire_at = NULL, broken = ? WHERE id = ?", (reason, row["id"])
    )
