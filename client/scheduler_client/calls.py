"""Every operation of the API as a Call: the HTTP request to send and how to read its
answer. Both clients send these, so a route and its parsing are written once; only the
transport (httpx.Client or httpx.AsyncClient) and the wait between retries differ."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from scheduler_client import models
from scheduler_client.errors import error_for
from scheduler_client.requests import (
    BulkJob,
    BulkOperation,
    FilterFields,
    ScheduleChange,
    ScheduleFields,
    ScheduleFilter,
    ScheduleRequest,
    UpdateFields,
)
from scheduler_client.retries import retry_after_seconds

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Params = list[tuple[str, str]]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the model its 2xx answer is. `repeatable`: sending it twice does
    not do the work twice, so a 503 may be retried (see retries.py)."""

    method: str
    path: str
    result: Callable[[Any], T]
    repeatable: bool
    params: Params = field(default_factory=list)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def read_answer(
    call: Call[T], status: int, headers: Mapping[str, str], content: bytes, now: datetime
) -> T:
    """The call's result, or the error the answer means (errors.error_for)."""
    body = _json(content)
    if 200 <= status < 300:
        return call.result(body)
    retry_after = retry_after_seconds(headers.get("retry-after"), now)
    raise error_for(status, body, retry_after)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _model(kind: type[M]) -> Callable[[Any], M]:
    return kind.model_validate


def _arn(arn: str) -> str:
    """The ARN in the path as it is: the route takes it whole (`{schedule_arn:path}`)."""
    return quote(arn, safe=":/")


def _when(value: datetime) -> str:
    return value.isoformat()


def schedule(fields: ScheduleFields) -> Call[models.ScheduleCreated]:
    body = ScheduleRequest.model_validate(fields).model_dump(mode="json", exclude_unset=True)
    return Call("POST", "/scheduler/schedule", _model(models.ScheduleCreated), True, body=body)


def get(arn: str) -> Call[models.ScheduleDetail]:
    return Call("GET", f"/scheduler/schedule/{_arn(arn)}", _model(models.ScheduleDetail), True)


def update(arn: str, if_match: str | None, fields: UpdateFields) -> Call[models.ScheduleDetail]:
    """With if_match, the server applies it only to that version (else 412), so a retry
    after the change went through says PreconditionFailed rather than changing it twice."""
    body = ScheduleChange.model_validate(fields).model_dump(mode="json", exclude_unset=True)
    headers = {"If-Match": if_match} if if_match is not None else {}
    path = f"/scheduler/schedule/{_arn(arn)}"
    return Call("PATCH", path, _model(models.ScheduleDetail), True, body=body, headers=headers)


def pause(arn: str) -> Call[models.ScheduleDetail]:
    path = f"/scheduler/schedule/{_arn(arn)}/pause"
    return Call("POST", path, _model(models.ScheduleDetail), True)


def resume(arn: str) -> Call[models.ScheduleDetail]:
    path = f"/scheduler/schedule/{_arn(arn)}/resume"
    return Call("POST", path, _model(models.ScheduleDetail), True)


def run_now(arn: str) -> Call[models.RunStarted]:
    """Not repeatable: each call starts one more run."""
    path = f"/scheduler/schedule/{_arn(arn)}/run"
    return Call("POST", path, _model(models.RunStarted), False)


def cancel(arn: str) -> Call[models.Cancelled]:
    """Repeatable: a repeat after it went through answers 404 (NotFound), not a second
    deletion."""
    return Call("DELETE", f"/scheduler/schedule/{_arn(arn)}", _model(models.Cancelled), True)


def find_page(
    filters: FilterFields, limit: int, next_token: str | None
) -> Call[models.SchedulePage]:
    params: Params = []
    for name, value in filters.items():
        if name == "labels":
            assert isinstance(value, Mapping)
            params += [("label", f"{key}:{text}") for key, text in value.items()]
        elif isinstance(value, datetime):
            params.append((name, _when(value)))
        else:
            params.append((name, str(value)))
    params.append(("limit", str(limit)))
    if next_token is not None:
        params.append(("next_token", next_token))
    return Call("GET", "/scheduler/schedules", _model(models.SchedulePage), True, params=params)


def bulk(
    operation: BulkOperation, filters: FilterFields, *, every: bool, dry_run: bool
) -> Call[models.BulkResult]:
    """Repeatable: the server finishes a job cut short and counts nothing twice."""
    where = ScheduleFilter.model_validate({**filters, **({"all": True} if every else {})})
    job = BulkJob(operation=operation, filter=where, dry_run=dry_run)
    body = job.model_dump(mode="json", exclude_unset=True)
    return Call("POST", "/scheduler/schedules/bulk", _model(models.BulkResult), True, body=body)


def preview(
    expression: str, timezone: str, after: datetime | None, count: int
) -> Call[models.Preview]:
    params: Params = [("expression", expression), ("timezone", timezone), ("count", str(count))]
    if after is not None:
        params.append(("after", _when(after)))
    return Call("GET", "/scheduler/preview", _model(models.Preview), True, params=params)


def runs(task_id: str, limit: int) -> Call[models.RunList]:
    path = f"/scheduler/tasks/{quote(task_id, safe='')}/runs"
    return Call("GET", path, _model(models.RunList), True, params=[("limit", str(limit))])


def last_runs(task_ids: list[str]) -> Call[models.LastRuns]:
    params: Params = [("task_id", task_id) for task_id in task_ids]
    return Call("GET", "/scheduler/tasks/last-runs", _model(models.LastRuns), True, params=params)


def overview() -> Call[models.Overview]:
    return Call("GET", "/scheduler/overview", _model(models.Overview), True)


def dead_letters(limit: int) -> Call[models.DeadLetterList]:
    params: Params = [("limit", str(limit))]
    return Call(
        "GET", "/scheduler/dead-letters", _model(models.DeadLetterList), True, params=params
    )


def redrive(dead_letter_id: int) -> Call[models.Redriven]:
    """Not repeatable: each redrive invokes the task once more."""
    path = f"/scheduler/dead-letters/{dead_letter_id}/redrive"
    return Call("POST", path, _model(models.Redriven), False)


def dismiss(dead_letter_id: int) -> Call[models.Dismissed]:
    path = f"/scheduler/dead-letters/{dead_letter_id}"
    return Call("DELETE", path, _model(models.Dismissed), True)
