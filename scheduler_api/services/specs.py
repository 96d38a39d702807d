"""A request in, the ScheduleSpec to store out: what POST creates and what a PATCH (on the
merged request) writes back, validated alike.

Every check that can refuse a request is here (known action, overlap without a ledger,
dates in range, rate interval, a recurrence that would never fire, an Input over 256 KB),
so the service's use cases (services.aws_service) only decide when to store what this
builds. The Input is the API Gateway proxy payload the service generates
(AwsService.generate_lambda_proxy_payload), handed in as `proxy_payload`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Protocol

from scheduler_api.domain.clock import Clock
from scheduler_api.domain.errors import (
    ExpressionError,
    PayloadTooLargeError,
    RequestValidationFailedError,
)
from scheduler_api.domain.expressions.parse import (
    AtExpression,
    RateExpression,
    check_date_range,
    check_rate_interval,
    local_to_utc,
    parse_expression,
    parse_timezone,
    skipped_local_time,
)
from scheduler_api.domain.fires import never_fires_reason
from scheduler_api.domain.names import schedule_name_for
from scheduler_api.domain.schedules import ScheduleSpec, ScheduleTarget
from scheduler_api.domain.task_input import encode_input
from scheduler_api.services.patching import START_DATE_GRACE
from scheduler_api.services.requests import ScheduleTaskRequest
from scheduler_api.services.target import ServiceTarget
from task_contract import RUN_AT_HEADER, HttpMethod, ProxyEvent, json_problem, sign_event

SKIP_NEEDS_LEDGER = (
    "overlap=skip needs the worker's ledger: set LEDGER_DB_PATH (make run sets var/ledger.db)"
)
MAX_TARGET_INPUT_BYTES = 256 * 1024


class ProxyPayload(Protocol):
    """AwsService.generate_lambda_proxy_payload: the proxy event a Lambda target receives."""

    def __call__(
        self,
        path: str,
        method: HttpMethod,
        body: dict[str, Any] | None = None,
        query_params: dict[str, str | list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ProxyEvent: ...


class SpecBuilder:
    """Builds and validates specs for one ServiceTarget, with the service's clock."""

    def __init__(self, target: ServiceTarget, clock: Clock, proxy_payload: ProxyPayload) -> None:
        self.target = target
        self.clock = clock
        self.proxy_payload = proxy_payload

    def arguments(self, request: ScheduleTaskRequest) -> tuple[bool, dict[str, Any]]:
        """(recurring?, the keyword arguments of recurring_spec or one_time_spec), once
        the task is one this deployment can run."""
        self.check_action(request.action)
        if request.overlap == "skip" and not self.target.worker_has_ledger:
            raise RequestValidationFailedError("overlap", SKIP_NEEDS_LEDGER)
        common: dict[str, Any] = {
            "callback_path": self.target.callback_path,
            "callback_body": request.task().callback_body(),
            "timezone": request.timezone,
            "flexible_window_minutes": request.flexible_window_minutes,
        }
        if not request.is_recurring:
            return False, {
                "delay_minutes": request.delay_minutes,
                "run_at": request.run_at,
                **common,
            }
        return True, {
            "schedule_expression": request.cron or request.rate,
            "start_date": request.start_date,
            "end_date": request.end_date,
            "expression_field": "cron" if request.cron else "rate",
            **common,
        }

    def check_action(self, name: str) -> None:
        """422 for an action this deployment cannot run: one SCHEDULER_KNOWN_ACTIONS does
        not list, or, without that setting, one the local worker's registry lacks."""
        target = self.target
        if target.known_actions is not None:
            known, source = target.known_actions, "SCHEDULER_KNOWN_ACTIONS allows"
        elif target.action_catalog is not None:
            known, source = frozenset(target.action_catalog()), "the local worker knows"
        else:
            return  # the worker alone decides, when the task runs
        if name not in known:
            raise RequestValidationFailedError(
                "action", f"unknown action {name!r}; {source} " + ", ".join(sorted(known))
            )

    def spec_for(self, request: ScheduleTaskRequest) -> ScheduleSpec:
        """What POST (and a PATCH, on the merged request) would store, validated."""
        recurring, arguments = self.arguments(request)
        if recurring:
            return self.recurring_spec(**arguments)
        return self.one_time_spec(**arguments)

    def one_time_spec(
        self,
        *,
        callback_path: str,
        callback_body: dict[str, Any],
        delay_minutes: int | None,
        run_at: datetime | None,
        timezone: str,
        flexible_window_minutes: int | None,
    ) -> ScheduleSpec:
        """An `at()` schedule, deleted by AWS after its last attempt."""
        zone = parse_timezone(timezone)
        now = self.clock()
        if delay_minutes is not None:
            due = now + timedelta(minutes=delay_minutes)
            if due.second or due.microsecond:  # round up to the minute, as the seed did
                due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
            local = due.astimezone(zone).replace(tzinfo=None)
        elif run_at is not None:
            check_in_range("run_at", run_at)
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
            fingerprint=fingerprint(callback_path, callback_body, timezone, timing),
            # The worker's ledger key when a delivery carries no scheduled time.
            headers={RUN_AT_HEADER: fire.strftime("%Y-%m-%dT%H:%M:%SZ")},
            flexible_window_minutes=flexible_window_minutes,
            action_after_completion="DELETE",
        )

    def recurring_spec(
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
        """A `cron()` or `rate()` schedule. One that would never fire (a date no year has,
        a year gone by, an end_date before its first fire) is refused."""
        zone = parse_timezone(timezone)
        expression = parse_expression(schedule_expression)
        if isinstance(expression, AtExpression):
            raise RequestValidationFailedError("schedule_expression", "use cron() or rate()")
        if isinstance(expression, RateExpression):
            check_rate(expression_field, expression)
        for field, value in (("start_date", start_date), ("end_date", end_date)):
            if value is not None:
                check_in_range(field, value)
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
            fingerprint=fingerprint(callback_path, callback_body, timezone, timing),
            flexible_window_minutes=flexible_window_minutes,
            start_date=start,
            end_date=end,
        )

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
        payload = self.proxy_payload(callback_path, "POST", body=callback_body, headers=headers)
        if target.callback_secret:
            sign_event(payload, target.callback_secret, int(self.clock().timestamp()))
        target_input = encode_input(payload)
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
            description=description(task_id, fingerprint),
            **options,
        )


def check_in_range(field: str, value: datetime) -> None:
    """A date whose fires can be computed (check_date_range), or a 422 naming `field`."""
    try:
        check_date_range(value)
    except ExpressionError as exc:
        raise RequestValidationFailedError(field, str(exc)) from None


def check_rate(field: str, rate: RateExpression) -> None:
    """A rate() within MAX_RATE_INTERVAL, or a 422 naming `field`."""
    try:
        check_rate_interval(rate)
    except ExpressionError as exc:
        raise RequestValidationFailedError(field, str(exc)) from None


def _aware(value: datetime | None, zone: Any) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


def description(task_id: str, fingerprint: str) -> str:
    """The stored Description: a retried request matches it, a different one does not."""
    return f"task_id={task_id} request={fingerprint}"


def fingerprint(path: str, body: dict[str, Any], timezone: str, timing: dict[str, Any]) -> str:
    """A hash of what was asked for, so a retried request is told apart from a new one."""
    canonical = json.dumps(
        {"path": path, "body": body, "timezone": timezone, "timing": timing},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
