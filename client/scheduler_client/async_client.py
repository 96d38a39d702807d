"""AsyncSchedulerClient: the same methods as SchedulerClient, over httpx.AsyncClient. The
Calls (calls.py) and their exchange (exchange.py) are the same ones; only sending and
sleeping differ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from scheduler_client import calls, models
from scheduler_client.calls import Call
from scheduler_client.connection import DEFAULT_TIMEOUT, Connection, no_answer, request_options
from scheduler_client.exchange import Answer, Wait, exchange
from scheduler_client.paging import PageTrail
from scheduler_client.requests import BulkOperation, FilterFields, ScheduleFields, UpdateFields
from scheduler_client.retries import RetryPolicy

T = TypeVar("T")


class AsyncSchedulerClient:
    """`async with AsyncSchedulerClient("http://127.0.0.1:8000") as scheduler: ...`

    `token` defaults to $SCHEDULER_API_TOKEN. `sleep` waits between retries (injectable,
    so tests do not wait); `transport` is httpx's (e.g. an httpx.MockTransport)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._connection = Connection.of(base_url, token, timeout, retry)
        self._http = httpx.AsyncClient(transport=transport, **self._connection.client_options())
        self._sleep = sleep

    async def __aenter__(self) -> AsyncSchedulerClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send one call, retried as its RetryPolicy allows (exchange.py); its result or its
        error. Only the I/O is here: sending a request and sleeping."""
        steps = exchange(call, self._connection.retry)
        try:
            step = next(steps)
            while True:
                if isinstance(step, Wait):
                    await self._sleep(step.seconds)
                    step = next(steps)
                else:
                    step = steps.send(await self._answer(step))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _answer(self, call: Call[Any]) -> Answer:
        try:
            answer = await self._http.request(call.method, call.path, **request_options(call))
        except httpx.TransportError as error:
            raise no_answer(call, error) from None
        return Answer(answer.status_code, answer.headers, answer.content)

    async def schedule(self, **fields: Unpack[ScheduleFields]) -> models.ScheduleCreated:
        """Schedule a task: exactly one of delay_minutes, run_at, cron or rate. Idempotent
        by task_id: the same request again returns the same schedule."""
        return await self.send(calls.schedule(fields))

    async def get(self, arn: str) -> models.ScheduleDetail:
        return await self.send(calls.get(arn))

    async def update(
        self, arn: str, *, if_match: str | None = None, **fields: Unpack[UpdateFields]
    ) -> models.ScheduleDetail:
        """Change what is given; with if_match (an etag), only that version (else 412)."""
        return await self.send(calls.update(arn, if_match, fields))

    async def pause(self, arn: str) -> models.ScheduleDetail:
        return await self.send(calls.pause(arn))

    async def resume(self, arn: str) -> models.ScheduleDetail:
        return await self.send(calls.resume(arn))

    async def run_now(self, arn: str) -> models.RunStarted:
        return await self.send(calls.run_now(arn))

    async def cancel(self, arn: str) -> models.Cancelled:
        return await self.send(calls.cancel(arn))

    async def find_page(
        self, *, limit: int = 50, next_token: str | None = None, **filters: Unpack[FilterFields]
    ) -> models.SchedulePage:
        return await self.send(calls.find_page(filters, limit, next_token))

    async def find(
        self, *, page_size: int = 50, **filters: Unpack[FilterFields]
    ) -> AsyncIterator[models.ScheduleSummary]:
        """Every schedule matching the filters, by next fire time, fetching pages as the
        iteration reaches them (following next_token)."""
        trail = PageTrail()
        token: str | None = None
        while True:
            page = await self.find_page(limit=page_size, next_token=token, **filters)
            for summary in page.schedules:
                yield summary
            token = trail.follow(page.next_token)
            if token is None:
                return

    async def bulk(
        self,
        operation: BulkOperation,
        *,
        dry_run: bool = False,
        every: bool = False,
        **filters: Unpack[FilterFields],
    ) -> models.BulkResult:
        """Delete, pause or resume what the filters select; `every=True` (alone) selects
        all schedules. A dry run counts them and shows the first 100."""
        return await self.send(calls.bulk(operation, filters, every=every, dry_run=dry_run))

    async def preview(
        self,
        expression: str,
        *,
        timezone: str = "UTC",
        after: datetime | None = None,
        count: int = 5,
    ) -> models.Preview:
        return await self.send(calls.preview(expression, timezone, after, count))

    async def runs(self, task_id: str, *, limit: int = 50) -> models.RunList:
        return await self.send(calls.runs(task_id, limit))

    async def last_runs(self, task_ids: list[str]) -> models.LastRuns:
        return await self.send(calls.last_runs(task_ids))

    async def overview(self) -> models.Overview:
        return await self.send(calls.overview())

    async def dead_letters(self, *, limit: int = 50) -> models.DeadLetterList:
        return await self.send(calls.dead_letters(limit))

    async def redrive(self, dead_letter_id: int) -> models.Redriven:
        return await self.send(calls.redrive(dead_letter_id))

    async def dismiss(self, dead_letter_id: int) -> models.Dismissed:
        return await self.send(calls.dismiss(dead_letter_id))
