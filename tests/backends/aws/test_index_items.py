"""The index's item codec, pure: an entry becomes one item per view, the anchor a full copy
that reads back as the entry it was written from, every other view a small pointer to it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bench.index_units import KB, item_bytes
from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.items import (
    Stored,
    is_full,
    items_of,
    label_digest,
    pointed_at,
    stored_of,
    views_of,
)
from scheduler_api.backends.aws.index.keys import ANCHOR, NEVER, partition_key, time_key
from task_contract import LABEL_VALUE_MAX, MAX_LABELS

CREATED = datetime(2030, 1, 1, 8, 30, 15, 250000, tzinfo=UTC)
FIRE = datetime(2030, 1, 2, 9, tzinfo=UTC)


def full_entry() -> Entry:
    return Entry(
        arn="arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/n1",
        name="n1",
        group_name="tasks",
        task_id="report-7",
        user_id=7,
        action="cleanup",
        labels={"tier": "gold", "team": "a"},
        state="ENABLED",
        kind="recurring",
        expression="cron(0 9 * * ? *)",
        timezone="Europe/Paris",
        next_fire=FIRE,
        anchor=CREATED,
        created_at=CREATED,
        updated_at=CREATED,
        start_date=datetime(2030, 1, 1, tzinfo=UTC),
        end_date=datetime(2031, 1, 1, tzinfo=UTC),
        checked_at=None,
    )


def bare_entry() -> Entry:
    """No task_id, user, action or labels; paused, so no next fire."""
    return Entry(
        arn="arn:aws:scheduler:us-east-1:123456789012:schedule/tasks/n2",
        name="n2",
        group_name="tasks",
        task_id=None,
        user_id=None,
        action=None,
        labels={},
        state="DISABLED",
        kind="one-time",
        expression="at(2030-01-02T09:00:00)",
        timezone="UTC",
        next_fire=None,
        anchor=CREATED,
    )


def test_an_entry_has_one_item_per_view_it_can_be_found_by() -> None:
    assert views_of(full_entry()) == {
        "all": "tasks|all",
        "user": "tasks|user|7",
        "action": "tasks|action|cleanup",
        "label#tier": "tasks|label|tier=gold",
        "label#team": "tasks|label|team=a",
    }
    assert views_of(bare_entry()) == {"all": "tasks|all"}


def test_every_item_is_keyed_by_the_schedule_and_its_view() -> None:
    entry = full_entry()
    items = items_of(entry, "rev-1", None)
    assert set(items) == set(views_of(entry))
    for sk, item in items.items():
        assert item["pk"] == {"S": partition_key("tasks", "n1")}
        assert item["sk"] == {"S": sk}
        assert item["view"] == {"S": views_of(entry)[sk]}
        assert item["sort"] == {"S": f"{time_key(FIRE)}|report-7|n1"}


def test_a_schedule_that_will_not_fire_sorts_last() -> None:
    (item,) = items_of(bare_entry(), "rev-1", None).values()
    assert item["sort"] == {"S": f"{NEVER}||n2"}
    assert "next_fire" not in item
    assert "task_id" not in item


@pytest.mark.parametrize("entry", [full_entry(), bare_entry()], ids=["full", "bare"])
@pytest.mark.parametrize("pending_at", [None, CREATED], ids=["confirmed", "pending"])
def test_the_anchor_reads_back_as_the_entry_written(
    entry: Entry, pending_at: datetime | None
) -> None:
    anchor = items_of(entry, "rev-1", pending_at)[ANCHOR]
    assert is_full(anchor)
    assert stored_of(anchor) == Stored(entry, "rev-1", pending_at, entry.sort)


@pytest.mark.parametrize("pending_at", [None, CREATED], ids=["confirmed", "pending"])
def test_every_other_view_is_a_pointer_with_what_a_query_filters_on(
    pending_at: datetime | None,
) -> None:
    items = items_of(full_entry(), "rev-1", pending_at)
    anchor = items.pop(ANCHOR)
    assert len(items) == 4
    for item in items.values():
        assert not is_full(item)
        assert pointed_at(item) == {"pk": anchor["pk"], "sk": {"S": ANCHOR}}
        for name in ("rev", "sort", "task_id", "user_id", "action", "state", "kind"):
            assert item[name] == anchor[name]
        assert item.get("pending_at") == anchor.get("pending_at")
        assert "labels" not in item
        digests = {label_digest("tier", "gold"), label_digest("team", "a")}
        assert set(item["label_digests"]["SS"]) == digests


def test_a_pointer_of_the_heaviest_entry_fits_in_one_write_unit() -> None:
    labels = {f"{k:02d}-{'k' * 61}": "v" * LABEL_VALUE_MAX for k in range(MAX_LABELS)}
    entry = replace(full_entry(), labels=labels, user_id=2**63 - 1, task_id="t" * 128)
    items = items_of(entry, "0" * 32, CREATED)
    assert item_bytes(items.pop(ANCHOR)) > 2 * KB  # what every view item weighed before
    assert max(item_bytes(item) for item in items.values()) <= KB


def test_time_keys_sort_as_times() -> None:
    times = [
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=UTC),
        datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2286, 11, 20, tzinfo=UTC),
    ]
    assert sorted(times, key=time_key) == times
    assert sorted(time_key(t) for t in times) == [time_key(t) for t in times]
    assert all(time_key(t) < NEVER for t in times)
