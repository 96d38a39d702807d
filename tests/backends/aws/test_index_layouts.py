"""The index's two layouts, through the app on moto: tables written before pointers (every
view item a full copy) are read as they are and take the new layout on the schedule's next
write; a pointer the eventually consistent index still shows after its anchor moved on
is not shown as a match."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from scheduler_api.backends.aws.index.items import is_full
from scheduler_api.backends.aws.index.keys import ANCHOR
from tests.conftest import FakeClock, IndexedApi, indexed_aws_app, task_body

TABLE = "schedules"
LABELS = {"tier": "gold", "team": "a"}


@pytest.fixture
def aws(clock: FakeClock) -> Iterator[IndexedApi]:
    with indexed_aws_app(clock) as api:
        yield api


def post(api: IndexedApi, task_id: str) -> str:
    body = {**task_body(task_id, cron="0 9 * * ? *"), "labels": LABELS}
    response = api.client.post("/scheduler/schedule", json=body)
    assert response.status_code == 200, response.text
    arn: str = response.json()["schedule_arn"]
    return arn


def listed(api: IndexedApi, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/scheduler/schedules", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["schedules"]
    return items


def table_items(api: IndexedApi) -> dict[str, dict[str, Any]]:
    assert api.dynamodb is not None
    return {item["sk"]["S"]: item for item in api.dynamodb.scan(TableName=TABLE)["Items"]}


def to_full_copies(api: IndexedApi) -> None:
    """What the index wrote before pointers: every view's item a copy of the anchor."""
    assert api.dynamodb is not None
    items = table_items(api)
    anchor = items[ANCHOR]
    for sk, item in items.items():
        if sk != ANCHOR:
            api.dynamodb.put_item(
                TableName=TABLE, Item={**anchor, "sk": item["sk"], "view": item["view"]}
            )
    assert all(is_full(item) for item in table_items(api).values())


FILTERS: list[dict[str, Any]] = [
    {"label": "tier:gold"},
    {"label": ["tier:gold", "team:a"]},
    {"user_id": 456},
    {"action": "send_notification"},
    {"user_id": 456, "label": "team:a", "state": "ENABLED"},
]


def test_a_table_of_full_copies_is_read_and_takes_pointers_on_the_next_write(
    aws: IndexedApi,
) -> None:
    arn = post(aws, "old-layout")
    to_full_copies(aws)
    for where in FILTERS:
        (found,) = listed(aws, **where)
        assert (found["task_id"], found["labels"], found["state"]) == (
            "old-layout",
            LABELS,
            "ENABLED",
        ), where
    assert listed(aws, label=["tier:gold", "team:b"]) == []
    response = aws.client.post(f"/scheduler/schedule/{quote(arn, safe='')}/pause")
    assert response.status_code == 200, response.text
    items = table_items(aws)
    assert [sk for sk, item in items.items() if is_full(item)] == [ANCHOR]
    assert len(items) == 5  # all, user, action, two labels
    for where in FILTERS[:4]:
        (found,) = listed(aws, **where)
        assert (found["labels"], found["state"]) == (LABELS, "DISABLED"), where
    assert listed(aws, label="team:a", state="ENABLED") == []


def test_a_pointer_left_behind_by_its_anchor_is_not_a_match(aws: IndexedApi) -> None:
    arn = post(aws, "moved-on")
    response = aws.client.patch(
        f"/scheduler/schedule/{quote(arn, safe='')}", json={"labels": {"tier": "silver"}}
    )
    assert response.status_code == 200, response.text
    assert aws.dynamodb is not None
    current = table_items(aws)["label#tier"]
    behind = {
        **current,
        "sk": {"S": "label#behind"},
        "view": {"S": current["view"]["S"].replace("silver", "gold")},
    }
    aws.dynamodb.put_item(TableName=TABLE, Item=behind)  # the index one write behind
    assert listed(aws, label="tier:gold") == []
    (found,) = listed(aws, label="tier:silver")
    assert found["labels"] == {"tier": "silver"}
