"""What a caller may send: the fields of a create, a change and a filter, each once as a
TypedDict (the keyword arguments of both clients, checked by mypy) and once as a model
(what builds the JSON body). The server validates every rule (AWS's limits, one timing
field, labels); the client only shapes and types the request, so one rule lives in one
place. tests/client/test_contract.py checks each against the server's OpenAPI document.

No `from __future__ import annotations` here: TypedDict reads Required[...] at runtime.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Required, TypedDict

from pydantic import BaseModel, ConfigDict

Overlap = Literal["allow", "skip"]
State = Literal["ENABLED", "DISABLED"]
Kind = Literal["one-time", "recurring"]
BulkOperation = Literal["delete", "pause", "resume"]


class Timing(TypedDict, total=False):
    """Exactly one of delay_minutes, run_at, cron or rate on create; at most one on update."""

    delay_minutes: int
    run_at: datetime
    cron: str
    rate: str
    timezone: str
    start_date: datetime
    end_date: datetime
    flexible_window_minutes: int


class Policies(TypedDict, total=False):
    labels: Mapping[str, str]
    overlap: Overlap
    max_lateness_seconds: int


class ScheduleFields(Timing, Policies, total=False):
    """`client.schedule(...)`: the task (task_id, user_id, action, data) and its timing."""

    task_id: Required[str]
    user_id: Required[int]
    action: Required[str]
    data: Mapping[str, Any]


class UpdateFields(TypedDict, total=False):
    """`client.update(arn, ...)`: only the fields given change; None clears an optional one
    (start_date, end_date, flexible_window_minutes, max_lateness_seconds)."""

    delay_minutes: int | None
    run_at: datetime | None
    cron: str | None
    rate: str | None
    timezone: str | None
    start_date: datetime | None
    end_date: datetime | None
    flexible_window_minutes: int | None
    action: str | None
    data: Mapping[str, Any] | None
    labels: Mapping[str, str] | None
    overlap: Overlap | None
    max_lateness_seconds: int | None


class FilterFields(TypedDict, total=False):
    """`client.find(...)` and `client.bulk(...)`: every filter given must hold."""

    user_id: int
    action: str
    state: State
    labels: Mapping[str, str]
    kind: Kind
    next_before: datetime
    next_after: datetime
    task_id_prefix: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleRequest(_Body):
    """The body of POST /scheduler/schedule."""

    task_id: str
    user_id: int
    action: str
    data: dict[str, Any] = {}
    labels: dict[str, str] = {}
    overlap: Overlap = "allow"
    max_lateness_seconds: int | None = None
    delay_minutes: int | None = None
    run_at: datetime | None = None
    cron: str | None = None
    rate: str | None = None
    timezone: str = "UTC"
    start_date: datetime | None = None
    end_date: datetime | None = None
    flexible_window_minutes: int | None = None


class ScheduleChange(_Body):
    """The body of PATCH /scheduler/schedule/{arn}: what is set is sent, None as null."""

    delay_minutes: int | None = None
    run_at: datetime | None = None
    cron: str | None = None
    rate: str | None = None
    timezone: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    flexible_window_minutes: int | None = None
    action: str | None = None
    data: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    overlap: Overlap | None = None
    max_lateness_seconds: int | None = None


class ScheduleFilter(_Body):
    """The filter of a bulk job; `all=True` alone selects every schedule."""

    user_id: int | None = None
    action: str | None = None
    state: State | None = None
    labels: dict[str, str] = {}
    kind: Kind | None = None
    next_before: datetime | None = None
    next_after: datetime | None = None
    task_id_prefix: str | None = None
    all: bool = False


class BulkJob(_Body):
    """The body of POST /scheduler/schedules/bulk."""

    operation: BulkOperation
    filter: ScheduleFilter
    dry_run: bool = False
