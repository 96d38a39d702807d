"""SchedulerClient: the whole API over httpx.Client. Each method builds its Call
(calls.py) and drives its exchange (exchange.py); this module only sends and sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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


class SchedulerClient:
    """`with SchedulerClient("http://127.0.0.1:8000") as scheduler: ...`

    `token` defaults to $SCHEDULER_API_TOKEN. `sleep` waits between retries (injectable,
    so tests do not wait); `transport` is httpx's (e.g. an httpx.MockTransport)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._connection = Connection.of(base_url, token, timeout, retry)
        self._http = httpx.Client(transport=transport, **self._connection.client_options())
        self._sleep = sleep

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Send one call, retried as its RetryPolicy allows (exchange.py); its result or its
        error. Only the I/O is here: sending a request and sleeping."""
        steps = exchange(call, self._connection.retry)
        try:
            step = next(steps)
            while True:
                if isinstance(step, Wait):
                    self._sleep(step.seconds)
                    step = next(steps)
                else:
                    step = steps.send(self._answer(step))
        except StopIteration as done:
            result: T = done.value
            return result

    def _answer(self, call: Call[Any]) -> Answer:
        try:
            answer = self._http.request(call.method, call.path, **request_options(call))
        except httpx.TransportError as error:
            raise no_answer(call, error) from None
        return Answer(answer.status_code, answer.headers, answer.content)

    def schedule(self, **fields: Unpack[ScheduleFields]) -> models.ScheduleCreated:
        """Schedule a task: exactly one of delay_minutes, run_at, cron or rate. Idempotent
        by task_id: the same request again returns the same schedule."""
        return self.send(calls.schedule(fields))

    def get(self, arn: str) -> models.ScheduleDetail:
        return self.send(calls.get(arn))

    def update(
        self, arn: str, *, if_match: str | None = None, **fields: Unpack[UpdateFields]
    ) -> models.ScheduleDetail:
        """Change what is given; with if_match (an etag), only that version (else 412)."""
        return self.send(calls.update(arn, if_match, fields))

    def pause(self, arn: str) -> models.ScheduleDetail:
        return self.send(calls.pause(arn))

    def resume(self, arn: str) -> models.ScheduleDetail:
        return self.send(calls.resume(arn))

    def run_now(self, arn: str) -> models.RunStarted:
        return self.send(calls.run_now(arn))

    def cancel(self, arn: str) -> models.Cancelled:
        return self.send(calls.cancel(arn))

    def find_page(
        self, *, limit: int = 50, next_token: str | None = None, **filters: Unpack[FilterFields]
    ) -> models.SchedulePage:
        return self.send(calls.find_page(filters, limit, next_token))

    def find(
        self, *, page_size: int = 50, **filters: Unpack[FilterFields]
    ) -> Iterator[models.ScheduleSummary]:
        """Every schedule matching the filters, by next fire time, fetching pages as the
        iteration reaches them (following next_token)."""
        trail = PageTrail()
        token: str | None = None
        while True:
            page = self.find_page(limit=page_size, next_token=token, **filters)
            yield from page.schedules
            token = trail.follow(page.next_token)
            if token is None:
                return

    def bulk(
        self,
        operation: BulkOperation,
        *,
        dry_run: bool = False,
        every: bool = False,
        **filters: Unpack[FilterFields],
    ) -> models.BulkResult:
        """Delete, pause or resume what the filters select; `every=True` (alone) selects
        all schedules. A dry run counts them and shows the first 100."""
        return self.send(calls.bulk(operation, filters, every=every, dry_run=dry_run))

    def preview(
        self,
        expression: str,
        *,
        timezone: str = "UTC",
        after: datetime | None = None,
        count: int = 5,
    ) -> models.Preview:
        return self.send(calls.preview(expression, timezone, after, count))

    def runs(self, task_id: str, *, limit: int = 50) -> models.RunList:
        return self.send(calls.runs(task_id, limit))

    def last_runs(self, task_ids: list[str]) -> models.LastRuns:
        return self.send(calls.last_runs(task_ids))

    def overview(self) -> models.Overview:
        return self.send(calls.overview())

    def dead_letters(self, *, limit: int = 50) -> models.DeadLetterList:
        return self.send(calls.dead_letters(limit))

    def redrive(self, dead_letter_id: int) -> models.Redriven:
        return self.send(calls.redrive(dead_letter_id))

    def dismiss(self, dead_letter_id: int) -> models.Dismissed:
        return self.send(calls.dismiss(dead_letter_id))
