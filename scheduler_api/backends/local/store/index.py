"""The local backend's schedule index: columns and a labels table in the same SQLite file,
with an index for each filter, and keyset pagination by (next fire, task_id).

A page's token is the last item's sort key, not an offset, so a schedule added or removed
between two pages neither repeats nor hides another one.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from scheduler_api.domain.clock import from_epoch, to_epoch
from scheduler_api.domain.page_tokens import decode_fields, encode_token, token_number, token_text
from scheduler_api.domain.schedules import (
    ScheduleFilter,
    ScheduleListing,
    SchedulePage,
    ScheduleSpec,
)
from scheduler_api.domain.task_input import kind_of, labels_in, task_body

# Not scheduled to fire (paused, finished): sorted after every time. The order and the
# index below must use the same expressions for SQLite to walk the index.
NEVER = 9.0e15
SORT_KEY = f"coalesce(s.next_fire_at, {NEVER})"
ORDER = f"{SORT_KEY}, coalesce(s.task_id, ''), s.name"

INDEX_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS schedule_labels (
        schedule_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (schedule_id, key)
    )""",
    "CREATE INDEX IF NOT EXISTS labels_by_pair ON schedule_labels (key, value, schedule_id)",
    "DROP INDEX IF EXISTS schedules_by_sort",
    # Group first: every query is within one group, and the primary key would win otherwise.
    "CREATE INDEX IF NOT EXISTS schedules_by_group_sort ON schedules"
    f" (group_name, {ORDER.replace('s.', '')})",
    "CREATE INDEX IF NOT EXISTS schedules_by_user ON schedules (user_id)",
    "CREATE INDEX IF NOT EXISTS schedules_by_action ON schedules (action)",
    "CREATE INDEX IF NOT EXISTS schedules_by_task ON schedules (task_id)",
    # A schedule the engine deletes (a one-time one that ran) takes its labels with it.
    """CREATE TRIGGER IF NOT EXISTS schedules_drop_labels AFTER DELETE ON schedules
       BEGIN DELETE FROM schedule_labels WHERE schedule_id = old.id; END""",
]
INDEX_COLUMNS = {
    "user_id": "INTEGER",
    "action": "TEXT",
    "kind": "TEXT",
    "state": "TEXT",
    "expression": "TEXT",
    "timezone": "TEXT",
}


def index_columns(spec: ScheduleSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The schedule's indexed columns (INDEX_COLUMNS), from its spec and task_body."""
    user_id = body.get("user_id")
    return {
        "user_id": user_id if isinstance(user_id, int) else None,
        "action": body.get("action"),
        "kind": kind_of(spec.expression),
        "state": spec.state,
        "expression": spec.expression,
        "timezone": spec.timezone,
    }


def add_labels(conn: sqlite3.Connection, schedule_id: str, labels: dict[str, str]) -> None:
    conn.executemany(
        "INSERT INTO schedule_labels (schedule_id, key, value) VALUES (?, ?, ?)",
        [(schedule_id, key, value) for key, value in labels.items()],
    )


def write_index(conn: sqlite3.Connection, schedule_id: str, spec: ScheduleSpec) -> None:
    """Rewrite an existing row's indexed columns and labels (update, back-fill)."""
    body = task_body(spec)
    columns = index_columns(spec, body)
    assignments = ", ".join(f"{name} = ?" for name in columns)
    conn.execute(
        f"UPDATE schedules SET {assignments} WHERE id = ?",  # noqa: S608 - constant names
        (*columns.values(), schedule_id),
    )
    conn.execute("DELETE FROM schedule_labels WHERE schedule_id = ?", (schedule_id,))
    add_labels(conn, schedule_id, labels_in(body))


def page_query(
    group_name: str, where: ScheduleFilter, *, limit: int, next_token: str | None
) -> tuple[str, tuple[Any, ...]]:
    """The SQL of one page and its parameters (benchmark 7 runs the same on the file)."""
    clauses, values = _clauses(group_name, where)
    if next_token:
        sort, task_id, name = _decode(next_token)
        clauses.append(f"({ORDER}) > (?, ?, ?)")
        values += [sort, task_id, name]
    # Only constants and placeholders are joined here; every value is a bound parameter.
    sql = (
        "SELECT s.arn, s.name, s.group_name, s.task_id, s.user_id, s.action, s.state,"  # noqa: S608
        " s.kind, s.next_fire_at, s.created_at, s.updated_at, s.broken, s.expression,"
        " s.timezone,"
        " (SELECT json_group_object(key, value) FROM schedule_labels"
        "  WHERE schedule_id = s.id) AS labels_json, "
        f"{SORT_KEY} AS sort_key FROM schedules s WHERE {' AND '.join(clauses)}"
        f" ORDER BY {ORDER} LIMIT ?"
    )
    return sql, (*values, limit + 1)


def find(
    conn: sqlite3.Connection,
    group_name: str,
    where: ScheduleFilter,
    *,
    limit: int,
    next_token: str | None,
) -> SchedulePage:
    sql, values = page_query(group_name, where, limit=limit, next_token=next_token)
    rows = conn.execute(sql, values).fetchall()
    items = [_item(row) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    token = None if last is None else _encode(last["sort_key"], last["task_id"] or "", last["name"])
    return SchedulePage(items, token)


def _clauses(group_name: str, where: ScheduleFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = ["s.group_name = ?"]
    values: list[Any] = [group_name]
    for column in ("user_id", "action", "state", "kind"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"s.{column} = ?")
            values.append(value)
    for key, value in where.labels.items():
        clauses.append(
            "s.id IN (SELECT schedule_id FROM schedule_labels WHERE key = ? AND value = ?)"
        )
        values += [key, value]
    # On the sort expression, so that the sort index serves the window and the order.
    if where.next_before is not None:
        clauses.append(f"{SORT_KEY} < ?")
        values.append(min(to_epoch(where.next_before), NEVER))
    if where.next_after is not None:
        clauses.append(f"{SORT_KEY} >= ? AND {SORT_KEY} < {NEVER}")
        values.append(to_epoch(where.next_after))
    if where.task_id_prefix:
        prefix = where.task_id_prefix
        clauses.append("s.task_id >= ? AND s.task_id < ?")  # a range the index can serve
        values += [prefix, prefix + "\U0010ffff"]
    return clauses, values


def _item(row: sqlite3.Row) -> ScheduleListing:
    expression = str(row["expression"] or "")  # empty for a row whose spec is unreadable
    return ScheduleListing(
        arn=row["arn"],
        name=row["name"],
        group_name=row["group_name"],
        task_id=row["task_id"],
        user_id=row["user_id"],
        action=row["action"],
        labels=json.loads(row["labels_json"]) if row["labels_json"] != "{}" else {},
        state=row["state"] or "ENABLED",
        kind=row["kind"] or kind_of(expression),
        expression=expression,
        timezone=str(row["timezone"] or "UTC"),
        next_fire=None if row["next_fire_at"] is None else from_epoch(row["next_fire_at"]),
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
        broken=row["broken"],
    )


def _encode(sort: float, task_id: str, name: str) -> str:
    return encode_token([sort, task_id, name])


def _decode(token: str) -> tuple[float, str, str]:
    """[sort, task_id, name], as _encode wrote it: anything else is refused."""
    sort, task_id, name = decode_fields(token, 3)
    return token_number(sort), token_text(task_id), token_text(name)
