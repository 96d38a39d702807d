"""Finding schedules by filter, paging through them, and bulk operations."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scheduler_api.backends.aws.index.writes import PENDING_GRACE
from tests.conftest import GROUP, Api, FakeClock, indexed_aws_app, task_body


def add(
    api: Api, task_id: str, *, user_id: int = 1, action: str = "send_notification", **timing: Any
) -> str:
    body = {
        **task_body(task_id, **(timing or {"cron": "0 9 * * ? *"})),
        "user_id": user_id,
        "action": action,
    }
    response = api.client.post("/scheduler/schedule", json=body)
    assert response.status_code == 200, response.text
    arn: str = response.json()["schedule_arn"]
    return arn


def listed(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.client.get("/scheduler/schedules", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["schedules"]
    return items


def task_ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["task_id"] for item in items]


@pytest.fixture
def catalogue(finder: Api) -> Api:
    """A few schedules with different owners, actions, labels, kinds and next fires."""
    api = finder
    add(api, "r-456-a", user_id=456, cron="0 1 * * ? *", labels={"customer": "c-1"})  # 01:00
    add(api, "r-456-b", user_id=456, action="process_payment", cron="0 3 * * ? *")  # 03:00
    add(
        api,
        "r-7-a",
        user_id=7,
        action="process_payment",
        run_at="2030-01-01T00:30:00Z",
        labels={"customer": "c-1", "tier": "gold"},
    )
    add(api, "r-7-b", user_id=7, cron="0 2 * * ? *", labels={"customer": "c-2"})  # 02:00
    paused = add(api, "r-9-a", user_id=9, cron="0 4 * * ? *")
    api.client.post(f"/scheduler/schedule/{paused}/pause")
    return api


def test_unfiltered_is_sorted_by_next_fire_then_task_id(catalogue: Api) -> None:
    items = listed(catalogue)
    assert task_ids(items) == ["r-7-a", "r-456-a", "r-7-b", "r-456-b", "r-9-a"]
    first = items[0]
    assert first["next_fire_time"] == "2030-01-01T00:30:00Z"
    assert (first["user_id"], first["action"], first["kind"]) == (7, "process_payment", "one-time")
    assert first["labels"] == {"customer": "c-1", "tier": "gold"}
    assert first["schedule_expression"] == "at(2030-01-01T00:30:00)"
    assert first["timezone"] == "UTC"
    assert items[-1]["state"] == "DISABLED"
    assert items[-1]["next_fire_time"] is None  # paused: sorted last


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"user_id": 456}, ["r-456-a", "r-456-b"]),
        ({"action": "process_payment"}, ["r-7-a", "r-456-b"]),
        ({"state": "DISABLED"}, ["r-9-a"]),
        ({"label": "customer:c-1"}, ["r-7-a", "r-456-a"]),
        ({"label": ["customer:c-1", "tier:gold"]}, ["r-7-a"]),
        ({"kind": "one-time"}, ["r-7-a"]),
        ({"kind": "recurring", "user_id": 7}, ["r-7-b"]),
        ({"next_before": "2030-01-01T02:00:00Z"}, ["r-7-a", "r-456-a"]),
        ({"next_after": "2030-01-01T02:00:00Z"}, ["r-7-b", "r-456-b"]),
        (
            {"next_after": "2030-01-01T01:00:00Z", "next_before": "2030-01-01T03:00:00Z"},
            ["r-456-a", "r-7-b"],
        ),
        ({"task_id_prefix": "r-456"}, ["r-456-a", "r-456-b"]),
        ({"user_id": 456, "label": "customer:c-2"}, []),
    ],
)
def test_each_filter_and_their_combinations(
    catalogue: Api, params: dict[str, Any], expected: list[str]
) -> None:
    assert task_ids(listed(catalogue, **params)) == expected


def test_bad_filters_are_422(catalogue: Api) -> None:
    for params in (
        {"label": "no-colon"},
        {"state": "PAUSED"},
        {"kind": "sometimes"},
        {"limit": 1001},
    ):
        assert catalogue.client.get("/scheduler/schedules", params=params).status_code == 422


def test_pages_stay_whole_while_schedules_come_and_go(finder: Api) -> None:
    """Every schedule present from start to end is seen exactly once."""
    api = finder
    rng = random.Random(11)
    for n in range(60):
        add(api, f"t-{n:03d}", cron=f"{rng.randrange(60)} {rng.randrange(24)} * * ? *")
    stable = {f"t-{n:03d}" for n in range(60) if n % 3}
    seen: list[str] = []
    token: str | None = None
    added = 0
    while True:
        params: dict[str, Any] = {"limit": 7, **({"next_token": token} if token else {})}
        response = api.client.get("/scheduler/schedules", params=params).json()
        seen += task_ids(response["schedules"])
        for n in range(added, added + 3):  # meanwhile: new ones, and some old ones go
            add(api, f"new-{n}", cron=f"{rng.randrange(60)} {rng.randrange(24)} * * ? *")
        added += 3
        victim = f"t-{(added * 7) % 60:03d}"
        if victim not in stable:
            arn = next((i["schedule_arn"] for i in listed(api, task_id_prefix=victim)), None)
            if arn:
                api.client.delete(f"/scheduler/schedule/{arn}")
        token = response["next_token"]
        if token is None:
            break
    assert len(seen) == len(set(seen))  # no duplicates
    assert stable <= set(seen)  # no gaps


def test_filters_on_aws_without_the_index_are_501_and_the_plain_list_works(api: Api) -> None:
    add(api, "only")
    if api.local:
        assert task_ids(listed(api, user_id=1)) == ["only"]
        return
    response = api.client.get("/scheduler/schedules", params={"user_id": 1})
    assert response.status_code == 501
    assert "SCHEDULE_TABLE" in response.json()["detail"]
    (item,) = listed(api)
    assert item["schedule_name"] == "only"
    assert item["next_fire_time"] is None  # ListSchedules does not say


def bulk(api: Api, **request: Any) -> Any:
    return api.client.post("/scheduler/schedules/bulk", json=request)


def test_bulk_needs_an_explicit_filter(catalogue: Api) -> None:
    for request in (
        {"operation": "pause", "filter": {}},
        {"operation": "pause", "filter": {"all": True, "user_id": 7}},
        {"operation": "archive", "filter": {"all": True}},
    ):
        assert bulk(catalogue, **request).status_code == 422


def test_a_dry_run_counts_and_shows_without_changing(catalogue: Api) -> None:
    response = bulk(
        catalogue, operation="delete", filter={"labels": {"customer": "c-1"}}, dry_run=True
    )
    body = response.json()
    assert (body["matched"], body["changed"]) == (2, 0)
    assert task_ids(body["items"]) == ["r-7-a", "r-456-a"]
    assert len(listed(catalogue)) == 5


def test_bulk_pause_resume_and_delete(catalogue: Api, caplog: pytest.LogCaptureFixture) -> None:
    paused = bulk(catalogue, operation="pause", filter={"action": "process_payment"}).json()
    assert (paused["matched"], paused["changed"], paused["failed"]) == (2, 2, 0)
    assert {i["state"] for i in listed(catalogue, action="process_payment")} == {"DISABLED"}
    again = bulk(catalogue, operation="pause", filter={"action": "process_payment"}).json()
    assert (again["matched"], again["changed"]) == (2, 0)  # nothing counted twice
    resumed = bulk(catalogue, operation="resume", filter={"all": True}).json()
    assert (resumed["matched"], resumed["changed"]) == (5, 3)
    deleted = bulk(catalogue, operation="delete", filter={"user_id": 456}).json()
    assert (deleted["matched"], deleted["changed"]) == (2, 2)
    assert task_ids(listed(catalogue)) == ["r-7-a", "r-7-b", "r-9-a"]
    assert "bulk delete finished: 2 matched, 2 changed" in caplog.text


def test_a_bulk_job_cut_short_is_finished_by_repeating_it(catalogue: Api) -> None:
    """As if the process died after pausing one of the two: the same request finishes the
    job and counts only what it changed."""
    first = listed(catalogue, user_id=456)[0]["schedule_arn"]
    catalogue.client.post(f"/scheduler/schedule/{first}/pause")  # the part done before
    again = bulk(catalogue, operation="pause", filter={"user_id": 456}).json()
    assert (again["matched"], again["changed"]) == (2, 1)
    assert {i["state"] for i in listed(catalogue, user_id=456)} == {"DISABLED"}


def test_a_user_id_beyond_64_bits_is_422_not_500(api: Api) -> None:
    """Found by schemathesis: SQLite stores 64-bit integers only."""
    body = {**task_body("huge"), "user_id": 2**64}
    response = api.client.post("/scheduler/schedule", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "user_id"]


def _make_unreadable(api: Api, arn: str) -> None:
    """Locally, a stored spec that no longer parses (a file written by hand, a bad
    migration); on AWS, a schedule whose GetSchedule is refused (AccessDenied: 502)."""
    name = arn.rsplit("/", 1)[1]
    if api.local:
        with sqlite3.connect(getattr(api.backend, "database").path) as conn:  # noqa: B009
            conn.execute("UPDATE schedules SET spec = '{' WHERE name = ?", (name,))
        return

    def refuse(request: Any, **_: Any) -> None:
        if f"/schedules/{name}" in request.url:
            error: Any = {"Error": {"Code": "AccessDeniedException", "Message": "injected"}}
            raise ClientError(error, "GetSchedule")

    client = getattr(api.backend, "eventbridge")._client  # noqa: B009 - the app's own
    client.meta.events.register_first("before-send.scheduler.GetSchedule", refuse)


def test_an_unreadable_schedule_counts_as_failed_and_the_job_goes_on(catalogue: Api) -> None:
    """It was a 502 partway through, with no counts, and repeating failed the same way."""
    _make_unreadable(catalogue, listed(catalogue, user_id=456)[0]["schedule_arn"])
    for expected_changed in (3, 0):  # the repeat finds the rest done
        response = bulk(catalogue, operation="pause", filter={"all": True})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["matched"], body["changed"], body["failed"]) == (5, expected_changed, 1)
    states = {i["task_id"]: i["state"] for i in listed(catalogue)}
    assert [task for task, state in states.items() if state != "DISABLED"] in ([], ["r-456-a"])
    resumed = bulk(catalogue, operation="resume", filter={"user_id": 7}).json()
    assert (resumed["matched"], resumed["changed"], resumed["failed"]) == (2, 2, 0)


def test_a_schedule_left_mid_change_on_the_index_counts_as_failed_in_bulk(
    clock: FakeClock,
) -> None:
    """An API process that died between marking the index entry pending and calling
    EventBridge leaves the schedule unchangeable until the pending grace passes (a change
    must not be built on it). A bulk job then counts that one as failed and goes on; it
    was a 503 for the whole job, partway through, and repeating it failed the same way."""
    with indexed_aws_app(clock) as api:
        arns = [add(api, f"mid-{n}", user_id=31) for n in range(3)]
        stuck = arns[1].rsplit("/", 1)[1]
        api.writes.intend(GROUP, stuck, lambda current: current)  # then it died
        for expected_changed in (2, 0):
            response = bulk(api, operation="pause", filter={"user_id": 31})
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["matched"], body["changed"], body["failed"]) == (3, expected_changed, 1)
        clock.advance(PENDING_GRACE)  # its writer is surely gone: the next read heals it
        body = bulk(api, operation="pause", filter={"user_id": 31}).json()
        assert (body["matched"], body["changed"], body["failed"]) == (3, 1, 0)
        assert {i["state"] for i in listed(api, user_id=31)} == {"DISABLED"}
