"""What a server (or a proxy in front of it) that does not keep the API's promises does to
the client: every such answer is a SchedulerError, never a loop, json's or pydantic's
exception. The servers are httpx.MockTransport handlers, so each misbehaves exactly once
as told; both clients are driven through their real send()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from scheduler_client import (
    AsyncSchedulerClient,
    RepeatedPageToken,
    RetryPolicy,
    SchedulerClient,
    Unavailable,
    UnexpectedAnswer,
)
from scheduler_client.models import ScheduleSummary, Unrecognized
from scheduler_client.retries import retry_after_seconds

Handler = Callable[[httpx.Request], httpx.Response]
ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/t"
SUMMARY = {
    "schedule_arn": ARN,
    "schedule_name": "t",
    "group_name": "default",
    "state": "ENABLED",
    "created_at": None,
    "updated_at": None,
}


def sync_client(handler: Handler, waits: list[float] | None = None) -> SchedulerClient:
    return SchedulerClient(
        "http://scheduler.test",
        token="t",
        transport=httpx.MockTransport(handler),
        sleep=(waits if waits is not None else []).append,
    )


def async_client(handler: Handler) -> AsyncSchedulerClient:
    async def no_wait(seconds: float) -> None:
        return None

    transport = httpx.MockTransport(handler)
    return AsyncSchedulerClient(
        "http://scheduler.test", token="t", transport=transport, sleep=no_wait
    )


def paging_in_a_circle(tokens: list[str | None], asked: list[str | None]) -> Handler:
    """Answers page after page, each with one schedule and the next of `tokens`."""

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get("next_token"))
        if len(asked) > 50:
            raise AssertionError("find() kept asking")
        token = tokens[min(len(asked), len(tokens)) - 1]
        return httpx.Response(200, json={"schedules": [SUMMARY], "next_token": token})

    return handler


@pytest.mark.parametrize("tokens", [["same", "same"], ["a", "b", "a"]])
def test_find_stops_when_the_server_repeats_a_next_token(tokens: list[str | None]) -> None:
    asked: list[str | None] = []
    with sync_client(paging_in_a_circle(tokens, asked)) as scheduler:
        found: list[ScheduleSummary] = []
        with pytest.raises(RepeatedPageToken) as raised:
            found.extend(scheduler.find())
    assert asked == [None, *tokens[:-1]]  # each token followed once, the repeat never
    assert len(found) == len(tokens)  # the pages it did get were yielded
    assert raised.value.status == 200
    assert f"next_token {tokens[-1]!r}" in raised.value.message


def test_the_async_find_stops_when_the_server_repeats_a_next_token() -> None:
    asked: list[str | None] = []

    async def main() -> list[str]:
        async with async_client(paging_in_a_circle(["same", "same"], asked)) as scheduler:
            return [summary.schedule_arn async for summary in scheduler.find()]

    with pytest.raises(RepeatedPageToken):
        asyncio.run(main())
    assert asked == [None, "same"]


def test_find_still_ends_on_a_last_page_without_a_token() -> None:
    asked: list[str | None] = []
    with sync_client(paging_in_a_circle(["a", "b", None], asked)) as scheduler:
        assert len(list(scheduler.find())) == 3
    assert asked == [None, "a", "b"]


@pytest.mark.parametrize(
    "value",
    [
        "9" * 400,
        "-5",
        "1.5",
        "\u00b2",
        "\u0663",
        "garbage",
        "0x10",
        "",
        "Sat, 31 Feb 2031 00:00:00 GMT",
    ],
)
def test_a_retry_after_that_is_not_delay_seconds_or_a_date_counts_as_absent(value: str) -> None:
    assert retry_after_seconds(value, datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_retry_after_edge_values_that_are_valid() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(" 7 ", now) == 7.0
    assert retry_after_seconds("9" * 10, now) == 9999999999.0  # above any max_wait: raised
    assert retry_after_seconds("Mon, 01 Jan 0001 00:00:00 +2359", now) == 0.0  # long past
    far = retry_after_seconds("Fri, 31 Dec 9999 23:59:59 -2359", now)
    assert far is not None
    assert far > 1e11


@pytest.mark.parametrize("header", [b"\xb2", "\u00b2".encode(), b"-5", b"9" * 400, b"soon"])
def test_a_hostile_retry_after_header_falls_back_to_the_backoff(header: bytes) -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        body = {"detail": "busy", "request_id": "r"}
        return httpx.Response(503, headers=[(b"retry-after", header)], json=body)

    waits: list[float] = []
    with sync_client(busy, waits) as scheduler, pytest.raises(Unavailable) as raised:
        scheduler.get(ARN)
    assert waits == [0.5, 1.0]  # RetryPolicy's backoff, as with no Retry-After at all
    assert raised.value.retry_after is None


def html_page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, html="<html><body>Welcome to our captive portal</body></html>")


def wrong_shape(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"task_id": "t", "runs": [{"status": "SUCCEEDED"}]})


@pytest.mark.parametrize(
    ("handler", "says"),
    [
        (html_page, "HTTP 200: the answer is not JSON"),
        (wrong_shape, "runs.0.execution_id: missing"),
    ],
)
def test_a_2xx_the_client_cannot_read_is_unexpected_answer(handler: Handler, says: str) -> None:
    with sync_client(handler) as scheduler, pytest.raises(UnexpectedAnswer) as raised:
        scheduler.runs("t")
    assert raised.value.status == 200
    assert says in raised.value.message
    assert "captive portal" not in raised.value.message


def test_the_async_client_says_unexpected_answer_too() -> None:
    async def main() -> None:
        async with async_client(html_page) as scheduler:
            await scheduler.get(ARN)

    with pytest.raises(UnexpectedAnswer):
        asyncio.run(main())


def run(status: str, trigger: str) -> dict[str, Any]:
    return {
        "execution_id": f"e-{status}",
        "schedule_arn": ARN,
        "scheduled_time": "2030-01-01T00:00:00Z",
        "status": status,
        "attempts": 1,
        "started_at": None,
        "finished_at": None,
        "status_code": None,
        "error": None,
        "trigger": trigger,
    }


def test_a_newer_servers_enum_values_are_kept_not_refused() -> None:
    def newer(request: httpx.Request) -> httpx.Response:
        runs = [run("CANCELLED", "webhook"), run("SUCCEEDED", "manual")]
        return httpx.Response(200, json={"task_id": "t", "runs": runs})

    with sync_client(newer) as scheduler:
        unknown, known = scheduler.runs("t").runs
    assert (unknown.status, unknown.trigger) == ("CANCELLED", "webhook")
    assert isinstance(unknown.status, Unrecognized)
    assert isinstance(unknown.trigger, Unrecognized)
    assert known.status == "SUCCEEDED"
    assert not isinstance(known.status, Unrecognized)
    assert not isinstance(known.trigger, Unrecognized)


def test_a_retry_policy_bound_still_holds_with_an_unreadable_retry_after() -> None:
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "later"}, text="slow down")

    waits: list[float] = []
    scheduler = SchedulerClient(
        "http://scheduler.test",
        transport=httpx.MockTransport(busy),
        retry=RetryPolicy(attempts=2, backoff=0.1),
        sleep=waits.append,
    )
    with scheduler, pytest.raises(Unavailable) as raised:
        scheduler.overview()
    assert (waits, raised.value.status, raised.value.message) == ([0.1], 429, "HTTP 429")
