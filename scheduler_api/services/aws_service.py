"""AwsService (the user's guide names it): the use cases the scheduler router calls, on
whichever backend is configured. POST goes through the guide's schedule_lambda_proxy_task
(one-time) or schedule_recurring_lambda_proxy_task (cron, rate), whose Input is
generate_lambda_proxy_payload's; services.specs builds and validates what is stored.
Names derive from task_id, so a retried request cannot schedule twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    IndexUnavailableError,
    ScheduleConflictError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleStateConflictError,
)
from scheduler_api.domain.fires import upcoming_fires
from scheduler_api.domain.ports import ScheduleFinder, SchedulerBackend, TaskInvoker
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    SchedulePage,
    ScheduleSpec,
    ScheduleState,
)
from scheduler_api.services.changes import Change, apply_change
from scheduler_api.services.etags import etag_of
from scheduler_api.services.patching import kept_start_date, merged_request, validated_request
from scheduler_api.services.requests import SchedulePatchRequest, ScheduleTaskRequest, decode_task
from scheduler_api.services.specs import SpecBuilder
from scheduler_api.services.target import ServiceTarget, own_arn
from task_contract import HttpMethod, ProxyEvent, build_proxy_event

logger = logging.getLogger(__name__)

NEXT_RUN_COUNT = 5
NO_INDEX_TO_FIND = (
    "filtering schedules on AWS needs the schedule index: set SCHEDULE_TABLE"
    " (make deploy-lambda creates the table and prints the setting), then run"
    " make reindex for the schedules made before it"
)
NO_INDEX_TO_COUNT = "counting schedules on AWS needs SCHEDULE_TABLE"


@dataclass(frozen=True)
class ScheduledTask:
    arn: str
    name: str
    expression: str
    timezone: str
    next_run_times: list[datetime]
    created: bool  # False when an identical earlier request had made it
    etag: str


class AwsService:
    def __init__(
        self,
        *,
        backend: SchedulerBackend,
        finder: ScheduleFinder | None,
        invoker: TaskInvoker,
        target: ServiceTarget,
        clock: Clock,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.finder = finder  # None: AWS without the schedule index (SCHEDULE_TABLE)
        self.invoker = invoker
        self.target = target
        self.clock = clock
        self.pause = pause  # between tries of a change that met another (see _apply)
        self.specs = SpecBuilder(target, clock, self.generate_lambda_proxy_payload)

    def generate_lambda_proxy_payload(
        self,
        path: str,
        method: HttpMethod,
        body: dict[str, Any] | None = None,
        query_params: dict[str, str | list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ProxyEvent:
        """The API Gateway proxy event the worker's Lambda receives: every schedule's Input."""
        return build_proxy_event(path, method, body, query_params, headers)

    def schedule_task(self, request: ScheduleTaskRequest) -> ScheduledTask:
        """The POST route's entry point: one-time or recurring, from one request model."""
        recurring, arguments = self.specs.arguments(request)
        if recurring:
            return self.schedule_recurring_lambda_proxy_task(**arguments)
        return self.schedule_lambda_proxy_task(**arguments)

    def schedule_lambda_proxy_task(
        self,
        *,
        callback_path: str,
        callback_body: dict[str, Any],
        delay_minutes: int | None = None,
        run_at: datetime | None = None,
        timezone: str = "UTC",
        flexible_window_minutes: int | None = None,
    ) -> ScheduledTask:
        """A one-time schedule (`at()`), deleted by AWS after its last attempt."""
        return self._create(
            self.specs.one_time_spec(
                callback_path=callback_path,
                callback_body=callback_body,
                delay_minutes=delay_minutes,
                run_at=run_at,
                timezone=timezone,
                flexible_window_minutes=flexible_window_minutes,
            )
        )

    def schedule_recurring_lambda_proxy_task(
        self,
        *,
        callback_path: str,
        callback_body: dict[str, Any],
        schedule_expression: str,
        timezone: str = "UTC",
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        flexible_window_minutes: int | None = None,
        expression_field: str = "schedule_expression",
    ) -> ScheduledTask:
        """A recurring schedule from `cron(...)` or `rate(...)`; `expression_field` is the
        field a refusal names (POST says cron or rate)."""
        return self._create(
            self.specs.recurring_spec(
                callback_path=callback_path,
                callback_body=callback_body,
                schedule_expression=schedule_expression,
                timezone=timezone,
                start_date=start_date,
                end_date=end_date,
                flexible_window_minutes=flexible_window_minutes,
                expression_field=expression_field,
            )
        )

    def update_task(
        self, schedule_arn: str, patch: SchedulePatchRequest, if_match: str | None = None
    ) -> Schedule:
        """PATCH: merge, validate as POST would, write back whole over the revision read
        (services.changes). UpdateSchedule resets every field it is not given, so the
        stored target (function, role, retries, dead-letter queue) and state are carried
        over; the Input is rebuilt from the merged task, signed like a new one."""

        def patched(current: Schedule) -> ScheduleSpec:
            task = decode_task(current)
            if task is None:
                raise ScheduleStateConflictError(
                    "this schedule's Input is not a task of this API: it cannot be patched"
                )
            built = self.specs.spec_for(
                validated_request(merged_request(current, task, patch, self.clock()))
            )
            return replace(
                built,
                state=current.spec.state,
                target=replace(current.spec.target, input=built.target.input),
            )

        schedule, _ = self._apply(schedule_arn, patched, if_match=if_match)
        logger.info("updated schedule %s (%s)", schedule.arn, schedule.spec.expression)
        return schedule

    def set_state(self, schedule_arn: str, state: ScheduleState) -> Schedule:
        """Pause (DISABLED) or resume (ENABLED); the same state again changes nothing."""
        return self.change_state(schedule_arn, state)[0]

    def change_state(self, schedule_arn: str, state: ScheduleState) -> tuple[Schedule, bool]:
        """set_state, saying whether anything changed."""

        def switched(current: Schedule) -> ScheduleSpec | None:
            if current.spec.state == state:
                return None
            if state == "ENABLED" and not self.next_run_times(replace(current, broken=None), 1):
                raise ScheduleStateConflictError(
                    "its time has passed, so resuming would never run it: PATCH run_at to a"
                    " new time, or POST .../run to run it now"
                )
            start = kept_start_date(current.spec.start_date, self.clock())
            return replace(current.spec, state=state, start_date=start)

        schedule, changed = self._apply(schedule_arn, switched)
        if changed:
            verb = "paused" if state == "DISABLED" else "resumed"
            logger.info("%s schedule %s", verb, schedule.arn)
        return schedule, changed

    def _apply(
        self, schedule_arn: str, change: Change, *, if_match: str | None = None
    ) -> tuple[Schedule, bool]:
        """`change` applied over the revision it was computed from (services.changes)."""
        return apply_change(
            lambda: self.get_schedule(schedule_arn),
            lambda spec, revision: self.backend.update_schedule(spec, expect_revision=revision),
            change,
            if_match=if_match,
            clock=self.clock,
            pause=self.pause,
        )

    def find_schedules(
        self, where: ScheduleFilter, *, limit: int, next_token: str | None = None
    ) -> SchedulePage:
        """IndexUnavailableError without an index."""
        if self.finder is None:
            raise IndexUnavailableError(NO_INDEX_TO_FIND)
        return self.finder.find_schedules(
            self.target.group_name, where, limit=limit, next_token=next_token
        )

    def count_by_state(self) -> dict[str, int]:
        """This service's schedules by state; IndexUnavailableError without an index."""
        if self.finder is None:
            raise IndexUnavailableError(NO_INDEX_TO_COUNT)
        return self.finder.count_by_state(self.target.group_name)

    def run_now(self, schedule_arn: str) -> tuple[str, datetime]:
        """Run the task once, now, outside its schedule: (execution id, scheduled time)."""
        schedule = self.get_schedule(schedule_arn)
        now = self.clock()
        execution_id = self.invoker.run_now(schedule, now)
        logger.info("run now: schedule %s, execution %s", schedule.arn, execution_id)
        return execution_id, now

    def cancel_schedule(self, schedule_arn: str) -> bool:
        """True when deleted; False when absent or not this service's to delete."""
        arn = own_arn(self.target, schedule_arn)
        if arn is None:
            return False
        try:
            self.backend.delete_schedule(arn.group, arn.name)
        except ScheduleNotFoundError:
            return False
        logger.info("deleted schedule %s", schedule_arn)
        return True

    def get_schedule(self, schedule_arn: str) -> Schedule:
        arn = own_arn(self.target, schedule_arn)
        if arn is None:
            raise ScheduleNotFoundError("schedule not found")
        return self.backend.get_schedule(arn.group, arn.name)

    def list_schedules(self, *, limit: int, next_token: str | None = None) -> SchedulePage:
        return self.backend.list_schedules(
            self.target.group_name, limit=limit, next_token=next_token
        )

    def next_run_times(self, schedule: Schedule, count: int = NEXT_RUN_COUNT) -> list[datetime]:
        """The next fires from now, now included: a rate() schedule created this moment
        fires at once, and its first fire is listed."""
        return upcoming_fires(
            schedule.spec, now=self.clock(), created_at=schedule.created_at, count=count
        )

    def _create(self, spec: ScheduleSpec) -> ScheduledTask:
        try:
            schedule = Schedule(self.backend.create_schedule(spec), spec, self.clock())
            created = True
        except ScheduleExistsError:
            schedule = self.backend.get_schedule(spec.group_name, spec.name)
            if schedule.spec.description != spec.description:
                raise ScheduleConflictError(schedule.arn) from None
            created = False
        logger.info(
            "%s schedule %s (%s)",
            "created" if created else "reused",
            schedule.arn,
            schedule.spec.expression,
        )
        return ScheduledTask(
            arn=schedule.arn,
            name=schedule.spec.name,
            expression=schedule.spec.expression,
            timezone=schedule.spec.timezone,
            next_run_times=self.next_run_times(schedule),
            created=created,
            etag=etag_of(schedule),
        )
