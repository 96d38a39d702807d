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

from pydantic import BaseModel, ValidationError

from scheduler_client import models
from scheduler_client.applied import confirm_change
from scheduler_client.errors import UnexpectedAnswer, error_for
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
    recovery: Recovery[T] | None = None


@dataclass(frozen=True)
class Recovery(Generic[T]):
    """What an answer `status` means when an earlier attempt of the same call got a 503 and
    may have applied: not the failure it would be on a first attempt. `then` is the
    result, or a Call (e.g. a GET that checks the change holds) whose result is."""

    status: int
    then: Callable[[], T] | Call[T]


_NOT_JSON = object()


def read_answer(
    call: Call[T], status: int, headers: Mapping[str, str], content: bytes, now: datetime
) -> T:
    """The call's result, or the error the answer means (errors.error_for). A 2xx the call
    cannot read is UnexpectedAnswer, never json's or pydantic's exception."""
    body = _json(content)
    if 200 <= status < 300:
        if body is _NOT_JSON:
            raise UnexpectedAnswer(f"HTTP {status}: the answer is not JSON", status=status)
        try:
            return call.result(body)
        except ValidationError as error:
            where = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['type']}" for e in error.errors()
            )
            message = f"HTTP {status}: not the answer {call.method} {call.path} expects ({where})"
            raise UnexpectedAnswer(message, status=status) from None
        except (ValueError, TypeError):
            message = f"HTTP {status}: not the answer {call.method} {call.path} expects"
            raise UnexpectedAnswer(message, status=status) from None
    retry_after = retry_after_seconds(headers.get("retry-after"), now)
    raise error_for(status, None if body is _NOT_JSON else body, retry_after)


def _json(content: bytes) -> Any:
    """The decoded body; None when empty, _NOT_JSON when it is not JSON."""
    try:
        return json.loads(content) if content else None
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError alike
        return _NOT_JSON


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
    never changes it twice. A 412 on a retry after a 503 may be the first attempt's own
    change: the schedule is read again, and returned if it holds the change (applied.py),
    else PreconditionFailed."""
    change = ScheduleChange.model_validate(fields)
    body = change.model_dump(mode="json", exclude_unset=True)
    path = f"/scheduler/schedule/{_arn(arn)}"
    if if_match is None:
        return Call("PATCH", path, _model(models.ScheduleDetail), True, body=body)
    wanted = change.model_dump(exclude_unset=True)
    check = Call("GET", path, confirm_change(wanted), True)
    return Call(
        "PATCH",
        path,
        _model(models.ScheduleDetail),
        True,
        body=body,
        headers={"If-Match": if_match},
        recovery=Recovery(412, check),
    )


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
    """Repeatable: a repeat after it went through answers 404, not a second deletion. On
    a first attempt a 404 is NotFound; on a retry after a 503 the schedule is gone, most
    likely by the first attempt, so it is a success with `already_cancelled=True`."""

    def already() -> models.Cancelled:
        message = "Schedule already cancelled (an earlier attempt went through before a 503)"
        return models.Cancelled(
            success=True, message=message, schedule_arn=arn, already_cancelled=True
        )

    path = f"/scheduler/schedule/{_arn(arn)}"
    return Call("DELETE", path, _model(models.Cancelled), True, recovery=Recovery(404, already))


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
