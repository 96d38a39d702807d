"""The index's item codec, pure: an entry becomes one item per view, each a full copy, and
any one of them reads back as the entry it was written from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler_api.backends.aws.index.entry import Entry
from scheduler_api.backends.aws.index.items import Stored, items_of, stored_of, views_of
from scheduler_api.backends.aws.index.keys import NEVER, partition_key, time_key

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
def test_any_item_reads_back_as_the_entry_written(
    entry: Entry, pending_at: datetime | None
) -> None:
    for item in items_of(entry, "rev-1", pending_at).values():
        assert stored_of(item) == Stored(entry, "rev-1", pending_at, entry.sort)


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
