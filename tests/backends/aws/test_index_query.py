"""The index's planner and clause builder, pure: which view a filter is one Query of, and
the key range and filter conditions that Query carries. No table: a failure names the
function, while test_schedule_index.py holds the behaviour on moto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler_api.backends.aws.index.items import label_digest
from scheduler_api.backends.aws.index.keys import LOWEST, NEVER, VIEW_INDEX, time_key
from scheduler_api.backends.aws.index.query import plan, query_request, sort_range
from scheduler_api.domain.schedules import ScheduleFilter

GROUP = "tasks"
NINE = datetime(2030, 1, 1, 9, tzinfo=UTC)
TEN = datetime(2030, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("where", "view"),
    [
        (ScheduleFilter(), "tasks|all"),
        (ScheduleFilter(state="DISABLED", kind="one-time"), "tasks|all"),
        (ScheduleFilter(action="cleanup"), "tasks|action|cleanup"),
        (ScheduleFilter(user_id=7, action="cleanup"), "tasks|user|7"),
        (ScheduleFilter(user_id=7, labels={"tier": "gold"}), "tasks|label|tier=gold"),
        (ScheduleFilter(labels={"tier": "gold", "team": "a"}), "tasks|label|tier=gold"),
    ],
)
def test_the_planner_queries_the_most_selective_view(where: ScheduleFilter, view: str) -> None:
    assert plan(GROUP, where)[0] == view


def test_what_the_view_does_not_select_becomes_filter_conditions() -> None:
    where = ScheduleFilter(
        user_id=7,
        action="cleanup",
        state="ENABLED",
        kind="recurring",
        labels={"tier": "gold", "team": "a"},
        task_id_prefix="nightly-",
    )
    view, conditions, names, values = plan(GROUP, where)
    assert view == "tasks|label|tier=gold"
    assert conditions == [
        "#user_id = :user_id",
        "#action = :action",
        "#state = :state",
        "#kind = :kind",
        "(contains(#digests, :digest0) OR #labels.#label0 = :label0)",
        "begins_with(#task_id, :task_id_prefix)",
    ]
    assert names == {
        "#user_id": "user_id",
        "#action": "action",
        "#state": "state",
        "#kind": "kind",
        "#digests": "label_digests",
        "#labels": "labels",
        "#label0": "team",
        "#task_id": "task_id",
    }
    assert values == {
        ":user_id": {"N": "7"},
        ":action": {"S": "cleanup"},
        ":state": {"S": "ENABLED"},
        ":kind": {"S": "recurring"},
        ":digest0": {"S": label_digest("team", "a")},
        ":label0": {"S": "a"},
        ":task_id_prefix": {"S": "nightly-"},
    }


def test_the_filter_the_view_selects_is_not_repeated_as_a_condition() -> None:
    assert plan(GROUP, ScheduleFilter(user_id=7))[1:] == ([], {}, {})
    assert plan(GROUP, ScheduleFilter(action="cleanup"))[1:] == ([], {}, {})
    assert plan(GROUP, ScheduleFilter(labels={"tier": "gold"}))[1:] == ([], {}, {})


def test_the_sort_range_is_everything_without_a_window() -> None:
    assert sort_range(ScheduleFilter(), None) == (LOWEST, NEVER + NEVER)


def test_the_sort_range_is_the_next_fire_window() -> None:
    window = ScheduleFilter(next_after=NINE, next_before=TEN)
    assert sort_range(window, None) == (time_key(NINE), time_key(TEN))


def test_a_lower_bound_alone_leaves_out_what_will_not_fire() -> None:
    assert sort_range(ScheduleFilter(next_after=NINE), None) == (time_key(NINE), NEVER)


def test_a_page_token_past_the_window_start_moves_the_lower_bound() -> None:
    after = f"{time_key(TEN)}|t|name"
    assert sort_range(ScheduleFilter(next_after=NINE), after)[0] == after
    assert sort_range(ScheduleFilter(next_after=TEN), f"{time_key(NINE)}|t|n")[0] == time_key(TEN)


def test_the_query_without_a_filter_reads_one_more_than_the_page() -> None:
    request = query_request("schedules", GROUP, ScheduleFilter(), limit=50, after=None)
    assert request == {
        "TableName": "schedules",
        "IndexName": VIEW_INDEX,
        "KeyConditionExpression": "#view = :view AND #sort BETWEEN :lower AND :upper",
        "ExpressionAttributeNames": {"#view": "view", "#sort": "sort"},
        "ExpressionAttributeValues": {
            ":view": {"S": "tasks|all"},
            ":lower": {"S": LOWEST},
            ":upper": {"S": NEVER + NEVER},
        },
        "Limit": 51,
    }


def test_the_query_with_a_filter_reads_wider_pages_and_joins_the_conditions() -> None:
    where = ScheduleFilter(user_id=7, state="DISABLED", kind="one-time")
    request = query_request("schedules", GROUP, where, limit=50, after=None)
    assert request is not None
    assert request["FilterExpression"] == "#state = :state AND #kind = :kind"
    assert request["ExpressionAttributeValues"][":view"] == {"S": "tasks|user|7"}
    assert request["Limit"] == 500
    wide = query_request("schedules", GROUP, where, limit=1000, after=None)
    assert wide is not None
    assert wide["Limit"] == 1001


def test_an_empty_window_asks_nothing() -> None:
    where = ScheduleFilter(next_after=TEN, next_before=NINE)
    assert query_request("schedules", GROUP, where, limit=50, after=None) is None
