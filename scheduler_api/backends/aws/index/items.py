"""The item codec: an Entry to the DynamoDB items of its views, and an item back to what it
stores. Pure: no client, so a round trip needs no table.

Only the anchor (`all`) is a full copy of the entry. Every other view's item is a pointer:
the keys, the rev and pending mark, and the few small attributes a query filters on
(user, action, state, kind, task id, and the labels as short digests), so that it costs
1 write unit (and 1 in the index) whatever the labels weigh, where a full copy cost up to
3 of each. A reader of such a view reads the anchors its page points to (query.py).
Tables written before hold full copies in every view: `is_full` tells them apart, and
they are read as they are until the schedule's next write replaces them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.keys import ANCHOR, partition_key


@dataclass(frozen=True)
class Stored:
    """An entry as read back: with the rev that guards it, its pending mark and its sort key."""

    entry: Entry
    rev: str
    pending_at: datetime | None
    sort: str


def views_of(entry: Entry) -> dict[str, str]:
    """The views an entry is found by: its items' sort key (sk) to their view."""
    group = entry.group_name
    views = {ANCHOR: f"{group}|all"}
    if entry.user_id is not None:
        views["user"] = f"{group}|user|{entry.user_id}"
    if entry.action:
        views["action"] = f"{group}|action|{entry.action}"
    for key, value in entry.labels.items():
        views[f"label#{key}"] = f"{group}|label|{key}={value}"
    return views


def items_of(entry: Entry, rev: str, pending_at: datetime | None) -> dict[str, dict[str, Any]]:
    """The entry's items by sort key: the anchor a full copy of it (rev and pending mark
    too), every other view a pointer to it (see the module's docstring)."""
    attributes: dict[str, Any] = {
        "pk": {"S": partition_key(entry.group_name, entry.name)},
        "sort": {"S": entry.sort},
        "rev": {"S": rev},
        "arn": {"S": entry.arn},
        "name": {"S": entry.name},
        "group_name": {"S": entry.group_name},
        "labels": {"M": {key: {"S": value} for key, value in entry.labels.items()}},
        "state": {"S": entry.state},
        "kind": {"S": entry.kind},
        "expression": {"S": entry.expression},
        "timezone": {"S": entry.timezone},
        "anchor": _time(entry.anchor),
    }
    optional: dict[str, Any] = {
        "task_id": None if entry.task_id is None else {"S": entry.task_id},
        "user_id": None if entry.user_id is None else {"N": str(entry.user_id)},
        "action": None if entry.action is None else {"S": entry.action},
        "pending_at": None if pending_at is None else _time(pending_at),
    }
    for field in ("next_fire", "created_at", "updated_at", "start_date", "end_date", "checked_at"):
        value = getattr(entry, field)
        optional[field] = None if value is None else _time(value)
    attributes |= {key: value for key, value in optional.items() if value is not None}
    views = views_of(entry)
    pointer = {key: attributes[key] for key in POINTER_ATTRIBUTES if key in attributes}
    if entry.labels:
        pointer["label_digests"] = {
            "SS": sorted(label_digest(k, v) for k, v in entry.labels.items())
        }
    return {
        sk: {**(attributes if sk == ANCHOR else pointer), "sk": {"S": sk}, "view": {"S": view}}
        for sk, view in views.items()
    }


# What a view's pointer item holds besides its keys: what a query filters on, and what a
# reader needs to tell whether the anchor it points to is the version it was written with.
POINTER_ATTRIBUTES = (
    *("pk", "sort", "rev", "pending_at"),
    *("task_id", "user_id", "action", "state", "kind"),
)


def label_digest(key: str, value: str) -> str:
    """A label as a pointer item carries it: 12 hex digits of sha256("key=value"), enough
    to filter on (a false match is dropped by the reader, which checks the anchor)."""
    return hashlib.sha256(f"{key}={value}".encode()).hexdigest()[:12]


def is_full(item: dict[str, Any]) -> bool:
    """An anchor, or a view item of the layout before pointers: the whole entry."""
    return "arn" in item


def pointed_at(item: dict[str, Any]) -> dict[str, Any]:
    """The key of the anchor a view's item points to."""
    return {"pk": item["pk"], "sk": {"S": ANCHOR}}


def through_view(anchor: Stored, view_item: dict[str, Any]) -> Stored:
    """The anchor's entry as found through a view: at the view item's place (its sort key:
    where the page token resumes)."""
    return replace(anchor, sort=str(view_item["sort"]["S"]))


def stored_of(item: dict[str, Any]) -> Stored:
    """The entry a full item holds (is_full: an anchor, or any item of the old layout)."""

    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    def when(name: str) -> datetime | None:
        value = item.get(name)
        return None if value is None else datetime.fromtimestamp(float(value["N"]), UTC)

    user_id = item.get("user_id")
    anchor = when("anchor")
    assert anchor is not None  # every item has one
    entry = Entry(
        arn=str(item["arn"]["S"]),
        name=str(item["name"]["S"]),
        group_name=str(item["group_name"]["S"]),
        task_id=text("task_id"),
        user_id=None if user_id is None else int(user_id["N"]),
        action=text("action"),
        labels={key: str(value["S"]) for key, value in item["labels"]["M"].items()},
        state=str(item["state"]["S"]),
        kind="one-time" if item["kind"]["S"] == "one-time" else "recurring",
        expression=str(item["expression"]["S"]),
        timezone=str(item["timezone"]["S"]),
        next_fire=when("next_fire"),
        anchor=anchor,
        created_at=when("created_at"),
        updated_at=when("updated_at"),
        start_date=when("start_date"),
        end_date=when("end_date"),
        checked_at=when("checked_at"),
    )
    return Stored(entry, str(item["rev"]["S"]), when("pending_at"), str(item["sort"]["S"]))


def _time(value: datetime) -> dict[str, str]:
    return {"N": f"{value.timestamp():.6f}"}
