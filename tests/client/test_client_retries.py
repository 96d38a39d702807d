"""Retries of 429 and 503, honouring Retry-After, bounded, with the sleep injected so no
test waits: against a small app of this test's own under uvicorn (which answers 429/503 a
given number of times, then as the API does), and against the real API in AWS mode whose
AWS endpoint does not answer (a real 503 with Retry-After: 2)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from scheduler_client import (
    NEVER_RETRY,
    AsyncSchedulerClient,
    Forbidden,
    RateLimited,
    RetryPolicy,
    SchedulerClient,
    SchedulerError,
    TransportError,
    Unavailable,
)
from scheduler_client.calls import Call
from scheduler_client.retries import retry_after_seconds

from tests.conftest import API_TOKEN, GROUP, LAMBDA_ARN, REGION, ROLE_ARN
from tests.support.processes import free_port, scheduler_api
from tests.support.served import served

ARN = f"arn:aws:scheduler:{REGION}:123456789012:schedule/{GROUP}/t"
DETAIL: dict[str, Any] = {
    "schedule_arn": ARN,
    "schedule_name": "t",
    "group_name": GROUP,
    "state": "ENABLED",
    "schedule_expression": "cron(0 3 * * ? *)",
    "timezone": "UTC",
    "start_date": None,
    "end_date": None,
    "flexible_window_minutes": None,
    "action_after_completion": "NONE",
    "task": None,
    "next_run_times": [],
    "created_at": None,
    "updated_at": None,
    "etag": '"1"',
}
RUN = {"schedule_arn": ARN, "execution_id": "e-1", "scheduled_time": "2030-01-01T00:00:00Z"}


class Flaky:
    """Answers `status` with `headers` for the first `failures` requests, then 2xx."""

    def __init__(self) -> None:
        self.status = 503
        self.failures = 0
        self.headers: dict[str, str] = {}
        self.seen: list[str] = []
        self.release = threading.Event()  # /scheduler/hang answers only once it is set

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/scheduler/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"])
        async def answer(request: Request, rest: str) -> JSONResponse:
            self.seen.append(f"{request.method} /{rest}")
            if rest == "hang":
                await asyncio.to_thread(self.release.wait)
            if len(self.seen) <= self.failures:
                body = {"detail": "busy; retry later", "request_id": f"r{len(self.seen)}"}
                return JSONResponse(body, self.status, headers=self.headers)
            if rest.endswith("/run"):
                return JSONResponse(RUN, 202)
            if rest == "forbidden":
                return JSONResponse({"detail": "loopback only", "request_id": "x"}, 403)
            return JSONResponse(DETAIL)

        return app


@pytest.fixture
def flaky() -> Iterator[tuple[Flaky, str]]:
    stub = Flaky()
    with served(stub.app()) as url:
        try:
            yield stub, url
        finally:
            stub.release.set()  # nothing left hanging when the server stops


def client(url: str, waits: list[float], **policy: Any) -> SchedulerClient:
    return SchedulerClient(url, token="t", retry=RetryPolicy(**policy), sleep=waits.append)


@pytest.mark.parametrize("status", [429, 503])
def test_a_repeatable_call_is_retried_after_retry_after(
    flaky: tuple[Flaky, str], status: int
) -> None:
    stub, url = flaky
    stub.status, stub.failures, stub.headers = status, 2, {"Retry-After": "7"}
    waits: list[float] = []
    with client(url, waits, attempts=3) as scheduler:
        assert scheduler.get(ARN).schedule_arn == ARN
    assert waits == [7.0, 7.0]
    assert len(stub.seen) == 3


def test_retries_are_bounded_and_the_last_answer_is_raised(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.failures, stub.headers = 10, {"Retry-After": "1"}
    waits: list[float] = []
    with client(url, waits, attempts=4) as scheduler, pytest.raises(Unavailable) as raised:
        scheduler.pause(ARN)
    assert (waits, len(stub.seen)) == ([1.0, 1.0, 1.0], 4)
    assert (raised.value.retry_after, raised.value.request_id) == (1.0, "r4")


def test_run_now_is_not_repeated_after_a_503_but_is_after_a_429(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.failures, stub.headers = 1, {"Retry-After": "1"}
    waits: list[float] = []
    with client(url, waits) as scheduler:
        with pytest.raises(Unavailable):
            scheduler.run_now(ARN)  # the run may have started: not sent again
        assert (waits, stub.seen) == ([], [f"POST /schedule/{ARN}/run"])
        stub.status, stub.failures, stub.seen = 429, 1, []
        assert scheduler.run_now(ARN).execution_id == "e-1"  # 429: refused before any work
    assert (waits, len(stub.seen)) == ([1.0], 2)


def test_a_retry_after_longer_than_max_wait_is_raised_at_once(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.status, stub.failures, stub.headers = 429, 1, {"Retry-After": "120"}
    waits: list[float] = []
    with client(url, waits, max_wait=30) as scheduler, pytest.raises(RateLimited) as raised:
        scheduler.get(ARN)
    assert (waits, raised.value.retry_after) == ([], 120.0)


def test_without_retry_after_the_wait_doubles(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.failures = 3
    waits: list[float] = []
    with client(url, waits, attempts=4, backoff=0.25) as scheduler:
        scheduler.get(ARN)
    assert waits == [0.25, 0.5, 1.0]


def test_never_retry_and_other_statuses_are_raised(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.failures = 1
    waits: list[float] = []
    with SchedulerClient(url, retry=NEVER_RETRY, sleep=waits.append) as scheduler:
        with pytest.raises(Unavailable):
            scheduler.get(ARN)
        with pytest.raises(Forbidden) as raised:
            scheduler.send(Call("GET", "/scheduler/forbidden", dict, repeatable=True))
    assert waits == []
    assert isinstance(raised.value, SchedulerError)


def test_a_server_that_does_not_answer_in_time_is_a_transport_error(
    flaky: tuple[Flaky, str],
) -> None:
    _, url = flaky
    with (
        SchedulerClient(url, timeout=0.2) as scheduler,
        pytest.raises(TransportError) as raised,
    ):
        scheduler.send(Call("GET", "/scheduler/hang", dict, repeatable=True))
    assert str(raised.value) == "GET /scheduler/hang: no answer (ReadTimeout)"


def test_the_async_client_waits_through_its_own_sleep(flaky: tuple[Flaky, str]) -> None:
    stub, url = flaky
    stub.status, stub.failures, stub.headers = 503, 2, {"Retry-After": "3"}
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> str:
        async with AsyncSchedulerClient(url, token="t", sleep=sleep) as scheduler:
            return (await scheduler.resume(ARN)).state

    assert asyncio.run(main()) == "ENABLED"
    assert waits == [3.0, 3.0]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=9), usegmt=True), now) == 9
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    policy = RetryPolicy(now=lambda: now)
    headers = {"retry-after": format_datetime(now + timedelta(seconds=4), usegmt=True)}
    assert policy.wait_before_retry(attempt=1, status=503, headers=headers, repeatable=True) == 4


def test_the_real_api_answers_503_with_retry_after_and_the_client_honours_it(
    tmp_path: Path,
) -> None:
    """AWS mode whose AWS endpoint is a closed port: botocore cannot connect, the API
    answers 503 with Retry-After: 2, and the client waits 2 s (injected) between tries."""
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_REGION": REGION,
        "SCHEDULER_LAMBDA_ARN": LAMBDA_ARN,
        "SCHEDULER_TARGET_ROLE_ARN": ROLE_ARN,
        "SCHEDULER_GROUP_NAME": GROUP,
        "SCHEDULER_API_TOKENS": API_TOKEN,
    }
    waits: list[float] = []
    with (
        scheduler_api(env, cwd=tmp_path) as url,
        SchedulerClient(url, token=API_TOKEN, sleep=waits.append) as scheduler,
        pytest.raises(Unavailable) as raised,
    ):
        scheduler.schedule(task_id="t-503", user_id=1, action="cleanup", delay_minutes=5)
    assert waits == [2.0, 2.0]  # three attempts in all (the default)
    assert raised.value.status == 503
    assert raised.value.retry_after == 2.0
    assert raised.value.request_id
