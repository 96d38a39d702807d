"""AwsService (the seed's AwsService): task requests in, schedules out, through
whichever backend is configured (EventBridge Scheduler or the local engine).

Keeps the seed's public methods and their meaning; what changed is that the Lambda ARN,
role, group and retry policy come from settings once, names are derived from task_id so a
retried request cannot schedule twice, and one backend call is made per new schedule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    ExpressionError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RequestValidationFailedError,
    RevisionConflictError,
    ScheduleBusyError,
    ScheduleConflictError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleStateConflictError,
)
from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    check_date_range,
    check_rate_interval,
    local_to_utc,
    never_fires_reason,
    next_fire_times,
    parse_expression,
    parse_timezone,
    skipped_local_time,
)
from scheduler_api.domain.names import ScheduleArn, schedule_name_for
from scheduler_api.domain.ports import SchedulerBackend
from scheduler_api.domain.schedules import (
    IndexedPage,
    Schedule,
    ScheduleFilter,
    SchedulePage,
    ScheduleSpec,
    ScheduleState,
    ScheduleTarget,
)
from scheduler_api.services.etags import etag_of, if_match_holds
from scheduler_api.services.patching import (
    START_DATE_GRACE,
    kept_start_date,
    merged_request,
)
from scheduler_api.services.requests import SchedulePatchRequest, ScheduleTaskRequest, TaskPayload
from task_contract import (
    RUN_AT_HEADER,
    HttpMethod,
    build_proxy_event,
    json_problem,
    sign_event,
)

logger = logging.getLogger(__name__)

NEXT_RUN_COUNT = 5
SKIP_NEEDS_LEDGER = (
    "overlap=skip needs the worker's ledger: set LEDGER_DB_PATH (make run sets var/ledger.db)"
)
MAX_TARGET_INPUT_BYTES = 256 * 1024
# A change is computed again when another landed between its read and its write; this
# many times, with a growing pause between (at most about 0.7 s in all), then 503.
CHANGE_TRIES = 8


@dataclass(frozen=True)
class ServiceTarget:
    """Where this service's schedules live and what they invoke (from settings)."""

    lambda_arn: str
    role_arn: str
    group_name: str
    region: str
    account_id: str
    partition: str = "aws"  # aws, aws-cn or aws-us-gov: part of every ARN this service owns
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600
    dead_letter_arn: str | None = None
    callback_path: str = "/api/v1/tasks/callback"
    callback_secret: str | None = None
    known_actions: frozenset[str] | None = None  # None: the worker alone decides
    worker_has_ledger: bool = True  # overlap="skip" needs it (local: LEDGER_DB_PATH)


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
        backend: SchedulerBackend,
        target: ServiceTarget,
        clock: Clock,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.target = target
        self.clock = clock
        self.pause = pause  # between tries of a change that met another (see _apply)

    def generate_lambda_proxy_payload(
        self,
        path: str,
        method: HttpMethod,
        body: dict[str, Any] | None = None,
        query_params: dict[str, str | list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return build_proxy_event(path, method, body, query_params, headers)

    def schedule_task(self, request: ScheduleTaskRequest) -> ScheduledTask:
        """The HTTP route's entry point: one-time or recurring, from one request model."""
        return self._create(self.spec_for(request))

    def spec_for(self, request: ScheduleTaskRequest) -> ScheduleSpec:
        """What POST (and a PATCH, on the merged request) would store, validated."""
        known = self.target.known_actions
        if known is not None and request.action not in known:
            raise RequestValidationFailedError(
                "action",
                f"unknown action {request.action!r}; SCHEDULER_KNOWN_ACTIONS allows "
                + ", ".join(sorted(known)),
            )
        if request.overlap == "skip" and not self.target.worker_has_ledger:
            raise RequestValidationFailedError("overlap", SKIP_NEEDS_LEDGER)
        body = request.task().callback_body()
        common: dict[str, Any] = {
            "callback_path": self.target.callback_path,
            "callback_body": body,
            "timezone": request.timezone,
            "flexible_window_minutes": request.flexible_window_minutes,
        }
        if request.is_recurring:
            expression = request.cron or request.rate
            assert expression is not None
            return self._recurring_spec(
                schedule_expression=expression,
                start_date=request.start_date,
                end_date=request.end_date,
                expression_field="cron" if request.cron else "rate",
                **common,
            )
        return self._one_time_spec(
            delay_minutes=request.delay_minutes, run_at=request.run_at, **common
        )

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
            self._one_time_spec(
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
    ) -> ScheduledTask:
        """A recurring schedule from `cron(...)` or `rate(...)`."""
        return self._create(
            self._recurring_spec(
                callback_path=callback_path,
                callback_body=callback_body,
                schedule_expression=schedule_expression,
                timezone=timezone,
                start_date=start_date,
                end_date=end_date,
                flexible_window_minutes=flexible_window_minutes,
            )
        )

    def _one_time_spec(
        self,
        *,
        callback_path: str,
        callback_body: dict[str, Any],
        delay_minutes: int | None,
        run_at: datetime | None,
        timezone: str,
        flexible_window_minutes: int | None,
    ) -> ScheduleSpec:
        zone = parse_timezone(timezone)
        now = self.clock()
        if delay_minutes is not None:
            due = now + timedelta(minutes=delay_minutes)
            if due.second or due.microsecond:  # round up to the minute, as the seed did
                due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
            local = due.astimezone(zone).replace(tzinfo=None)
        elif run_at is not None:
            _check_in_range("run_at", run_at)
            local = run_at.astimezone(zone).replace(tzinfo=None) if run_at.tzinfo else run_at
            local = local.replace(microsecond=0)
        else:
            raise RequestValidationFailedError("run_at", "give delay_minutes or run_at")
        fire = local_to_utc(local, zone)
        if fire is None:
            raise RequestValidationFailedError("run_at", skipped_local_time(local, timezone))
        if fire <= now:
            raise RequestValidationFailedError("run_at", "run_at must be in the future")
        timing = {"delay_minutes": delay_minutes, "run_at": run_at}
        return self._spec(
            callback_path,
            callback_body,
            AtExpression(local).render(),
            timezone,
            fingerprint=_fingerprint(callback_path, callback_body, timezone, timing),
            # The worker's ledger key when a delivery carries no scheduled time.
            headers={RUN_AT_HEADER: fire.strftime("%Y-%m-%dT%H:%M:%SZ")},
            flexible_window_minutes=flexible_window_minutes,
            action_after_completion="DELETE",
        )

    def _recurring_spec(
        self,
        *,
        callback_path: str,
        callback_body: dict[str, Any],
        schedule_expression: str,
        timezone: str,
        start_date: datetime | None,
        end_date: datetime | None,
        flexible_window_minutes: int | None,
        expression_field: str = "schedule_expression",
    ) -> ScheduleSpec:
        """One that would never fire (a date no year has, a year gone by, an end_date
        before its first fire) is refused."""
        zone = parse_timezone(timezone)
        expression = parse_expression(schedule_expression)
        if isinstance(expression, AtExpression):
            raise RequestValidationFailedError("schedule_expression", "use cron() or rate()")
        if isinstance(expression, RateExpression):
            _check_rate(expression_field, expression)
        for field, value in (("start_date", start_date), ("end_date", end_date)):
            if value is not None:
                _check_in_range(field, value)
        start = _aware(start_date, zone)
        end = _aware(end_date, zone)
        now = self.clock()
        if start and start < now - START_DATE_GRACE:
            raise RequestValidationFailedError("start_date", "start_date is in the past")
        if end and end <= (start or now):
            raise RequestValidationFailedError(
                "end_date", "end_date must be after start_date and now"
            )
        never = never_fires_reason(
            expression, zone=zone, created=now, start_date=start, end_date=end
        )
        if never is not None:
            field, reason = never
            raise RequestValidationFailedError(
                expression_field if field == "expression" else field, reason
            )
        timing = {"expression": expression.render(), "start": start, "end": end}
        return self._spec(
            callback_path,
            callback_body,
            expression.render(),
            timezone,
            fingerprint=_fingerprint(callback_path, callback_body, timezone, timing),
            flexible_window_minutes=flexible_window_minutes,
            start_date=start,
            end_date=end,
        )

    def update_task(
        self, schedule_arn: str, patch: SchedulePatchRequest, if_match: str | None = None
    ) -> Schedule:
        """PATCH: read the schedule, merge, validate as POST would, write it back whole,
        only if nobody changed it in between (else merged again onto the newer version,
        or 412 when If-Match named the older one).

        EventBridge's UpdateSchedule resets every field it is not given, so the stored
        target (function, role, retry policy, dead-letter queue) and state are carried
        over; the Input is rebuilt from the merged task, signed like a new one."""

        def patched(current: Schedule) -> ScheduleSpec:
            task = decode_task(current)
            if task is None:
                raise ScheduleStateConflictError(
                    "this schedule's Input is not a task of this API: it cannot be patched"
                )
            built = self.spec_for(_validated(merged_request(current, task, patch, self.clock())))
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
        self,
        schedule_arn: str,
        change: Callable[[Schedule], ScheduleSpec | None],
        *,
        if_match: str | None = None,
    ) -> tuple[Schedule, bool]:
        """Read the schedule, compute `change(it)` (None: nothing to change) and write it
        conditioned on the revision read, so that no change is written over one it did
        not see: two changes at once (a PATCH and a pause) both land, one after the
        other, each computed from what the other left. If-Match is checked against each
        read, so of two PATCHes naming one ETag exactly one is made; the other is 412."""
        for attempt in range(CHANGE_TRIES):
            current = self.get_schedule(schedule_arn)
            if not if_match_holds(if_match, etag_of(current)):
                raise PreconditionFailedError(
                    "the schedule changed since that ETag was read: GET it again, then PATCH"
                )
            spec = change(current)
            if spec is None:
                return current, False
            try:
                self.backend.update_schedule(spec, expect_revision=current.revision)
            except RevisionConflictError:
                # Full jitter, so that writers who collided do not collide again.
                self.pause(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
                continue
            return Schedule(current.arn, spec, current.created_at, self.clock()), True
        if if_match is not None:  # still being changed: the version it names is not current
            raise PreconditionFailedError(
                "the schedule is being changed by another request: GET it again, then PATCH"
            )
        raise ScheduleBusyError(
            "the schedule kept changing while this request was applied to it; retry"
        )

    def find_schedules(
        self, where: ScheduleFilter, *, limit: int, next_token: str | None = None
    ) -> IndexedPage:
        return self.backend.find_schedules(
            self.target.group_name, where, limit=limit, next_token=next_token
        )

    def count_by_state(self) -> dict[str, int]:
        """This service's schedules by state; IndexUnavailableError without an index."""
        return self.backend.count_by_state(self.target.group_name)

    def run_now(self, schedule_arn: str) -> tuple[str, datetime]:
        """Run the task once, now, outside its schedule: (execution id, scheduled time)."""
        schedule = self.get_schedule(schedule_arn)
        now = self.clock()
        execution_id = self.backend.run_now(schedule, now)
        logger.info("run now: schedule %s, execution %s", schedule.arn, execution_id)
        return execution_id, now

    def cancel_schedule(self, schedule_arn: str) -> bool:
        """True when deleted; False when absent or not this service's to delete."""
        arn = self._own_arn(schedule_arn)
        if arn is None:
            return False
        try:
            self.backend.delete_schedule(arn.group, arn.name)
        except ScheduleNotFoundError:
            return False
        logger.info("deleted schedule %s", schedule_arn)
        return True

    def get_schedule(self, schedule_arn: str) -> Schedule:
        arn = self._own_arn(schedule_arn)
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
        spec = schedule.spec
        return next_fire_times(
            parse_expression(spec.expression),
            zone=parse_timezone(spec.timezone),
            after=self.clock() - timedelta(microseconds=1),
            count=count,
            anchor=schedule.created_at,
            start_date=spec.start_date,
            end_date=spec.end_date,
        )

    def _own_arn(self, schedule_arn: str) -> ScheduleArn | None:
        """The parsed ARN if it names a schedule in this service's partition, region,
        account and group; None (a 404 to the client) for any other."""
        arn = ScheduleArn.parse(schedule_arn)
        target = self.target
        ours = {
            "partition": target.partition,
            "region": target.region,
            "account": target.account_id,
            "group": target.group_name,
        }
        differing = [part for part, value in ours.items() if getattr(arn, part) != value]
        if differing:
            logger.warning(
                "refused to touch a schedule of another %s: %s", "/".join(differing), schedule_arn
            )
            return None
        return arn

    def _spec(
        self,
        callback_path: str,
        callback_body: dict[str, Any],
        expression: str,
        timezone: str,
        *,
        fingerprint: str,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> ScheduleSpec:
        problem = json_problem(callback_body)
        if problem is not None:  # what the worker could never parse (POST's model says where)
            path, reason = problem
            raise RequestValidationFailedError(str(path[0]) if path else "body", reason)
        task_id = str(callback_body["task_id"])
        target = self.target
        payload = self.generate_lambda_proxy_payload(
            callback_path, "POST", body=callback_body, headers=headers
        )
        if target.callback_secret:
            sign_event(payload, target.callback_secret, int(self.clock().timestamp()))
        target_input = json.dumps(payload, separators=(",", ":"))
        if len(target_input.encode()) > MAX_TARGET_INPUT_BYTES:
            raise PayloadTooLargeError(
                f"the schedule's Input would be {len(target_input.encode())} bytes; "
                f"EventBridge Scheduler accepts at most {MAX_TARGET_INPUT_BYTES}"
            )
        return ScheduleSpec(
            name=schedule_name_for(task_id),
            group_name=target.group_name,
            expression=expression,
            timezone=timezone,
            target=ScheduleTarget(
                arn=target.lambda_arn,
                role_arn=target.role_arn,
                input=target_input,
                maximum_retry_attempts=target.retry_attempts,
                maximum_event_age_seconds=target.max_event_age_seconds,
                dead_letter_arn=target.dead_letter_arn,
            ),
            description=_description(task_id, fingerprint),
            **options,
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


def _validated(merged: dict[str, Any]) -> ScheduleTaskRequest:
    """A merged PATCH validated as a POST body; the first error names its field."""
    try:
        return ScheduleTaskRequest.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "timing"
        raise RequestValidationFailedError(
            field, str(error["msg"]).removeprefix("Value error, ")
        ) from None


def decode_task(schedule: Schedule) -> TaskPayload | None:
    """The task inside a schedule's Input, or None if the Input is not one of ours."""
    try:
        event = json.loads(schedule.spec.target.input)
        return TaskPayload.model_validate_json(event["body"])
    except (ValueError, KeyError, TypeError):
        return None


def _check_in_range(field: str, value: datetime) -> None:
    try:
        check_date_range(value)
    except ExpressionError as exc:
        raise RequestValidationFailedError(field, str(exc)) from None


def _check_rate(field: str, rate: RateExpression) -> None:
    try:
        check_rate_interval(rate)
    except ExpressionError as exc:
        raise RequestValidationFailedError(field, str(exc)) from None


def _aware(value: datetime | None, zone: Any) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


def _description(task_id: str, fingerprint: str) -> str:
    return f"task_id={task_id} request={fingerprint}"


def _fingerprint(path: str, body: dict[str, Any], timezone: str, timing: dict[str, Any]) -> str:
    """A hash of what was asked for, so a retried request is told apart from a new one."""
    canonical = json.dumps(
        {"path": path, "body": body, "timezone": timezone, "timing": timing},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
