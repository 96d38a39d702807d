"""LocalBackend: the SchedulerBackend operations on the SQLite store.

Same contract as EventBridgeBackend (same errors for missing, taken and invalid), so
AwsService and the routes cannot tell them apart. Firing is the engine's job.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from sqlite3 import Row

from scheduler_api.backends.local.store.codec import (
    labels_of,
    spec_from_json,
    spec_to_json,
    stored_state,
    stored_zone,
)
from scheduler_api.backends.local.store.database import Database
from scheduler_api.backends.local.store.executions import add_execution
from scheduler_api.backends.local.store.index import add_labels, find, index_columns, write_index
from scheduler_api.domain.clock import Clock, from_epoch, to_epoch
from scheduler_api.domain.errors import (
    BackendFailureError,
    ExpressionError,
    RevisionConflictError,
    ScheduleExistsError,
    ScheduleNotFoundError,
)
from scheduler_api.domain.expressions.parse import check_timezone, parse_expression, parse_timezone
from scheduler_api.domain.fires import fire_between, first_fire
from scheduler_api.domain.page_tokens import decode_fields, encode_token, token_text
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    ScheduleListing,
    SchedulePage,
    ScheduleSpec,
)
from scheduler_api.domain.task_input import labels_in, max_lateness_of, task_body, task_id_of
from scheduler_api.observability.metrics import metered


class LocalBackend:
    def __init__(
        self,
        database: Database,
        *,
        region: str,
        account_id: str,
        clock: Clock,
        partition: str = "aws",
        on_change: Callable[[datetime | None], None] = lambda _due: None,
    ) -> None:
        self.database = database
        self.partition = partition
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.on_change = on_change  # wakes the engine if the first fire is sooner than planned
        self._index_older_rows()

    def arn(self, group_name: str, name: str) -> str:
        return (
            f"arn:{self.partition}:scheduler:{self.region}:{self.account_id}:"
            f"schedule/{group_name}/{name}"
        )

    @metered("local")
    def create_schedule(self, spec: ScheduleSpec) -> str:
        _validate(spec)
        now = self.clock()
        arn = self.arn(spec.group_name, spec.name)
        fire = first_fire(spec, now)
        schedule_id = uuid.uuid4().hex
        body = task_body(spec)  # the Input's JSON, parsed once for every column below
        task_id = body.get("task_id")
        row = {
            "group_name": spec.group_name,
            "name": spec.name,
            "id": schedule_id,
            "arn": arn,
            "spec": spec_to_json(spec),
            "task_id": None if task_id is None else str(task_id),
            "next_fire_at": to_epoch(fire) if fire else None,
            "created_at": to_epoch(now),
            "updated_at": to_epoch(now),
            **index_columns(spec, body),
        }
        insert = (
            f"INSERT INTO schedules ({', '.join(row)})"  # noqa: S608 - constant names
            f" VALUES ({', '.join('?' * len(row))})"
        )
        labels = labels_in(body)
        try:
            if labels:
                with self.database.write() as conn:
                    conn.execute(insert, tuple(row.values()))
                    add_labels(conn, schedule_id, labels)
            else:  # one statement, its own transaction: the shortest hold of the lock
                self.database.write_one(insert, tuple(row.values()))
        except sqlite3.IntegrityError as exc:
            raise ScheduleExistsError("a schedule with this name exists") from exc
        self.on_change(fire)
        return arn

    @metered("local")
    def update_schedule(self, spec: ScheduleSpec, *, expect_revision: str | None = None) -> str:
        """One write transaction: the row is read, checked against `expect_revision`,
        and replaced under the write lock, so no other change can come in between."""
        _validate(spec, new_zone=False)
        now = self.clock()
        with self.database.write() as conn:
            row = conn.execute(
                "SELECT id, spec, rev, created_at, updated_at FROM schedules"
                " WHERE group_name = ? AND name = ?",
                (spec.group_name, spec.name),
            ).fetchone()
            if row is None:
                raise ScheduleNotFoundError("schedule not found")
            if expect_revision is not None and _revision(row) != expect_revision:
                raise RevisionConflictError("the schedule changed since it was read")
            if spec.timezone != stored_zone(row["spec"]):
                _validate(spec)
            fire = _resumed_fire(spec, row, now) or first_fire(spec, now)
            conn.execute(
                "UPDATE schedules SET spec = ?, task_id = ?, next_fire_at = ?, updated_at = ?,"
                " broken = NULL, rev = rev + 1 WHERE id = ?",
                (
                    spec_to_json(spec),
                    task_id_of(spec),
                    to_epoch(fire) if fire else None,
                    to_epoch(now),
                    row["id"],
                ),
            )
            write_index(conn, row["id"], spec)
        self.on_change(fire)
        return self.arn(spec.group_name, spec.name)

    @metered("local")
    def get_schedule(self, group_name: str, name: str) -> Schedule:
        with self.database.read() as conn:
            row = conn.execute(
                "SELECT id, arn, spec, created_at, updated_at, broken, rev FROM schedules"
                " WHERE group_name = ? AND name = ?",
                (group_name, name),
            ).fetchone()
        if row is None:
            raise ScheduleNotFoundError("schedule not found")
        try:
            spec = spec_from_json(row["spec"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendFailureError(
                "the stored schedule cannot be read; delete it and schedule the task again"
            ) from exc
        return Schedule(
            arn=row["arn"],
            spec=spec,
            created_at=from_epoch(row["created_at"]),
            updated_at=from_epoch(row["updated_at"]),
            broken=row["broken"],
            revision=_revision(row),
        )

    @metered("local")
    def find_schedules(
        self, group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
    ) -> SchedulePage:
        with self.database.read() as conn:
            return find(conn, group_name, where, limit=limit, next_token=next_token)

    @metered("local")
    def count_by_state(self, group_name: str) -> dict[str, int]:
        with self.database.read() as conn:
            rows = conn.execute(
                "SELECT coalesce(state, 'ENABLED') AS state, count(*) AS n FROM schedules"
                " WHERE group_name = ? GROUP BY 1",
                (group_name,),
            ).fetchall()
        return {"ENABLED": 0, "DISABLED": 0} | {row["state"]: row["n"] for row in rows}

    def _index_older_rows(self) -> None:
        """Rows written before the index existed get their columns and labels once."""
        with self.database.read() as conn:
            rows = conn.execute(
                "SELECT id, spec FROM schedules WHERE kind IS NULL OR expression IS NULL"
            ).fetchall()
        if not rows:
            return
        with self.database.write() as conn:
            for row in rows:
                try:
                    write_index(conn, row["id"], spec_from_json(row["spec"]))
                except (ValueError, KeyError, TypeError):
                    continue  # broken: the engine sets it aside; it lists without them

    @metered("local")
    def run_now(self, schedule: Schedule, now: datetime) -> str:
        """An execution due now, outside the schedule (which is left as it is); the engine
        runs it within a second and records it with the task's other runs."""
        with self.database.write() as conn:
            row = conn.execute(
                "SELECT * FROM schedules WHERE group_name = ? AND name = ?",
                (schedule.spec.group_name, schedule.spec.name),
            ).fetchone()
            if row is None:
                raise ScheduleNotFoundError("schedule not found")
            execution_id, added = add_execution(
                conn,
                row,
                schedule.spec.target,
                scheduled=now,
                due=now,
                delete_schedule=False,
                manual=True,
            )
            if not added:  # its own run_key: only a clash of random ids could do this
                raise BackendFailureError("the run could not be recorded; ask again")
        self.on_change(now)
        return execution_id

    @metered("local")
    def delete_schedule(self, group_name: str, name: str) -> None:
        deleted = self.database.write_one(
            "DELETE FROM schedules WHERE group_name = ? AND name = ?", (group_name, name)
        )
        if not deleted:
            raise ScheduleNotFoundError("schedule not found")

    @metered("local")
    def list_schedules(
        self,
        group_name: str,
        *,
        limit: int,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> SchedulePage:
        after = token_text(decode_fields(next_token, 1)[0]) if next_token else ""
        prefix = name_prefix or ""
        with self.database.read() as conn:
            rows = conn.execute(
                "SELECT name, arn, spec, created_at, updated_at, broken FROM schedules"
                " WHERE group_name = ? AND name > ? AND substr(name, 1, ?) = ?"
                " ORDER BY name LIMIT ?",
                (group_name, after, len(prefix), prefix, limit + 1),
            ).fetchall()
        summaries = [
            ScheduleListing(
                arn=row["arn"],
                name=row["name"],
                group_name=group_name,
                state=stored_state(row["spec"]),
                labels=labels_of(row["spec"]),
                created_at=from_epoch(row["created_at"]),
                updated_at=from_epoch(row["updated_at"]),
                broken=row["broken"],
            )
            for row in rows[:limit]
        ]
        more = len(rows) > limit
        return SchedulePage(summaries, encode_token([summaries[-1].name]) if more else None)


def _revision(row: Row) -> str:
    """The row's id and rev: rev starts again at 0 when a schedule is deleted and made
    again under its name, so the id tells that new schedule from the one read."""
    return f"{row['id']}.{row['rev']}"


def _resumed_fire(spec: ScheduleSpec, stored: Row, now: datetime) -> datetime | None:
    """On resume (the stored row paused, `spec` enabled), the first fire that fell due
    while it was paused and is still within its max_lateness_seconds (so the worker will
    run it); None if none."""
    lateness = max_lateness_of(spec)
    if spec.state != "ENABLED" or lateness is None:
        return None
    if spec_from_json(stored["spec"]).state != "DISABLED":
        return None
    paused_at = from_epoch(stored["updated_at"])
    since = max(paused_at, now - timedelta(seconds=lateness))
    return fire_between(spec, after=since, until=now, created_at=from_epoch(stored["created_at"]))


def _validate(spec: ScheduleSpec, *, new_zone: bool = True) -> None:
    """What AWS would refuse with a ValidationException. `new_zone=False`: the zone is
    the one already stored, which an older version may have accepted (localtime,
    posixrules): it need only load, so that such a schedule can still be paused."""
    try:
        parse_expression(spec.expression)
        if new_zone:
            check_timezone(spec.timezone)  # AWS refuses localtime, posixrules, right/UTC too
        else:
            parse_timezone(spec.timezone)
    except ExpressionError as exc:
        raise BackendFailureError(f"invalid schedule: {exc}") from exc
