"""A write whose first attempt applied and then answered 503 (the change went through, the
answer was lost): the retry meets the changed schedule, and the client says so rather
than reporting a failure for an operation that succeeded. The server is a small stateful
stub (httpx.MockTransport) that applies each request, then answers 503 as told."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest
from scheduler_client import (
    AsyncSchedulerClient,
    NotFound,
    PreconditionFailed,
    SchedulerClient,
)

ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/t"
PATH = f"/scheduler/schedule/{ARN}"
DETAIL: dict[str, Any] = {
    "schedule_arn": ARN,
    "schedule_name": "t",
    "group_name": "default",
    "state": "ENABLED",
    "schedule_expression": "rate(1 hours)",
    "timezone": "UTC",
    "start_date": None,
    "end_date": None,
    "flexible_window_minutes": None,
    "action_after_completion": "NONE",
    "task": {"task_id": "t", "user_id": 1, "action": "cleanup", "labels": {}},
    "next_run_times": [],
    "created_at": None,
    "updated_at": None,
    "etag": '"1"',
}


def error(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail, "request_id": f"r-{status}"})


class AppliesThenFails:
    """One schedule. `lost` answers are 503 *after* the request was applied; `refused`
    are 503 or 429 before it was (nothing changes)."""

    def __init__(self, *, lost: int = 0, refused: int = 0, refused_status: int = 503) -> None:
        self.schedule: dict[str, Any] | None = copy.deepcopy(DETAIL)
        self.lost, self.refused, self.refused_status = lost, refused, refused_status
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.method)
        if self.refused:
            self.refused -= 1
            return error(self.refused_status, "busy")
        if self.schedule is None:
            return error(404, "Schedule not found")
        if request.method == "GET":
            return httpx.Response(200, json=self.schedule)
        if request.method == "DELETE":
            self.schedule = None
            body: dict[str, Any] = {"success": True, "message": "cancelled", "schedule_arn": ARN}
        else:  # PATCH with If-Match
            if request.headers.get("if-match") != self.schedule["etag"]:
                return error(412, "The schedule changed since that ETag")
            self.apply(httpx.Response(200, content=request.content).json())
            body = self.schedule
        if self.lost:
            self.lost -= 1
            return error(503, "AWS throttled a later step")
        return httpx.Response(200, json=body)

    def apply(self, change: dict[str, Any]) -> None:
        assert self.schedule is not None
        if "rate" in change:
            self.schedule["schedule_expression"] = f"rate({change['rate']})"
        if "labels" in change:
            self.schedule["task"]["labels"] = change["labels"] or {}
        self.schedule["etag"] = f'"{int(self.schedule["etag"].strip(chr(34))) + 1}"'


def client(stub: AppliesThenFails) -> SchedulerClient:
    return SchedulerClient(
        "http://scheduler.test", transport=httpx.MockTransport(stub), sleep=lambda _: None
    )


def test_a_cancel_whose_first_attempt_went_through_says_already_cancelled() -> None:
    stub = AppliesThenFails(lost=1)
    with client(stub) as scheduler:
        cancelled = scheduler.cancel(ARN)
    assert (cancelled.success, cancelled.already_cancelled) == (True, True)
    assert stub.seen == ["DELETE", "DELETE"]


def test_a_cancel_that_goes_through_at_once_is_not_already_cancelled() -> None:
    with client(AppliesThenFails()) as scheduler:
        assert scheduler.cancel(ARN).already_cancelled is False
        with pytest.raises(NotFound):  # a first attempt's 404 is what it says
            scheduler.cancel(ARN)


def test_a_404_after_a_429_is_not_found() -> None:
    """A 429 was refused before any work: the 404 that follows is the schedule's absence."""
    stub = AppliesThenFails(refused=1, refused_status=429)
    stub.schedule = None
    with client(stub) as scheduler, pytest.raises(NotFound):
        scheduler.cancel(ARN)


def test_an_update_whose_first_attempt_went_through_returns_the_schedule() -> None:
    stub = AppliesThenFails(lost=1)
    with client(stub) as scheduler:
        changed = scheduler.update(ARN, if_match='"1"', rate="7 hours", labels={"team": "a"})
    assert changed.schedule_expression == "rate(7 hours)"
    assert changed.task is not None
    assert changed.task.labels == {"team": "a"}
    assert changed.etag == '"2"'
    assert stub.seen == ["PATCH", "PATCH", "GET"]  # the 412, then the check


def test_a_412_on_a_retry_is_precondition_failed_when_the_change_is_not_there() -> None:
    """Someone else changed the schedule between: its rate is not the one asked for."""
    stub = AppliesThenFails(refused=1)
    assert stub.schedule is not None
    stub.schedule["etag"] = '"5"'
    with client(stub) as scheduler, pytest.raises(PreconditionFailed) as raised:
        scheduler.update(ARN, if_match='"1"', rate="7 hours")
    assert "(rate)" in raised.value.message
    assert stub.seen == ["PATCH", "PATCH", "GET"]


def test_an_unconfirmable_change_stays_precondition_failed() -> None:
    """delay_minutes cannot be read back from the schedule: the safe answer is kept."""
    with client(AppliesThenFails(lost=1)) as scheduler, pytest.raises(PreconditionFailed):
        scheduler.update(ARN, if_match='"1"', delay_minutes=30)


def test_a_first_attempts_412_is_precondition_failed_without_a_check() -> None:
    stub = AppliesThenFails()
    with client(stub) as scheduler, pytest.raises(PreconditionFailed):
        scheduler.update(ARN, if_match='"0"', rate="7 hours")
    assert stub.seen == ["PATCH"]


def test_the_async_client_tells_them_apart_too() -> None:
    async def no_wait(seconds: float) -> None:
        return None

    async def main() -> tuple[str, bool]:
        stub = AppliesThenFails(lost=2)
        transport = httpx.MockTransport(stub)
        async with AsyncSchedulerClient(
            "http://scheduler.test", transport=transport, sleep=no_wait
        ) as scheduler:
            changed = await scheduler.update(ARN, if_match='"1"', rate="2 hours")
            cancelled = await scheduler.cancel(ARN)
        return changed.schedule_expression, cancelled.already_cancelled

    assert asyncio.run(main()) == ("rate(2 hours)", True)
