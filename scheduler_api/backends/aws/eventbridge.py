"""The EventBridge Scheduler backend: ScheduleSpec to boto3 and back.

AWS errors become project exceptions in backends/aws/client_errors.py, the one place for it;
run now, a Lambda Invoke, is in backends/aws/invoke.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from scheduler_api.backends.aws.client_errors import aws_errors
from scheduler_api.domain.errors import (
    RevisionConflictError,
)
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleListing,
    SchedulePage,
    ScheduleSpec,
    ScheduleTarget,
)

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import (
        CreateScheduleInputTypeDef,
        GetScheduleOutputTypeDef,
    )

SERVICE = "EventBridge Scheduler"


class EventBridgeBackend:
    def __init__(
        self,
        client: EventBridgeSchedulerClient,
    ) -> None:
        self._client = client

    def create_schedule(self, spec: ScheduleSpec) -> str:
        # A missing group is a deployment error, not a missing schedule.
        with aws_errors(SERVICE, "CreateSchedule", missing_is_not_found=False):
            response = self._client.create_schedule(**_request(spec))
        return response["ScheduleArn"]

    def update_schedule(self, spec: ScheduleSpec, *, expect_revision: str | None = None) -> str:
        """EventBridge has no conditional update: with `expect_revision`, the schedule is
        read again right before UpdateSchedule and the update is made only if it is
        unchanged. That narrows the race to one round trip; it does not close it (a
        writer in that window is overwritten). SCHEDULE_TABLE closes it."""
        if expect_revision is not None:
            current = self._get(spec.group_name, spec.name)
            if _revision(current) != expect_revision:
                raise RevisionConflictError("the schedule changed since it was read")
        request: Any = _request(spec)
        with aws_errors(SERVICE, "UpdateSchedule"):
            response = self._client.update_schedule(**request)
        return response["ScheduleArn"]

    def get_schedule(self, group_name: str, name: str) -> Schedule:
        return _schedule(self._get(group_name, name))

    def _get(self, group_name: str, name: str) -> GetScheduleOutputTypeDef:
        with aws_errors(SERVICE, "GetSchedule"):
            return self._client.get_schedule(GroupName=group_name, Name=name)

    def delete_schedule(self, group_name: str, name: str) -> None:
        with aws_errors(SERVICE, "DeleteSchedule"):
            self._client.delete_schedule(GroupName=group_name, Name=name)

    def list_schedules(
        self,
        group_name: str,
        *,
        limit: int,
        next_token: str | None = None,
        name_prefix: str | None = None,
    ) -> SchedulePage:
        kwargs: dict[str, Any] = {"GroupName": group_name, "MaxResults": limit}
        if next_token:
            kwargs["NextToken"] = next_token
        if name_prefix:
            kwargs["NamePrefix"] = name_prefix
        with aws_errors(
            SERVICE, "ListSchedules", client_field="next_token" if next_token else None
        ):
            response = self._client.list_schedules(**kwargs)
        summaries = [
            ScheduleListing(
                arn=item["Arn"],
                name=item["Name"],
                group_name=item.get("GroupName", group_name),
                state=item.get("State", "ENABLED"),
                created_at=item.get("CreationDate"),
                updated_at=item.get("LastModificationDate"),
            )
            for item in response.get("Schedules", [])
        ]
        return SchedulePage(summaries, response.get("NextToken"))


def _request(spec: ScheduleSpec) -> CreateScheduleInputTypeDef:
    target: dict[str, Any] = {
        "Arn": spec.target.arn,
        "RoleArn": spec.target.role_arn,
        "Input": spec.target.input,
        "RetryPolicy": {
            "MaximumRetryAttempts": spec.target.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": spec.target.maximum_event_age_seconds,
        },
    }
    if spec.target.dead_letter_arn:
        target["DeadLetterConfig"] = {"Arn": spec.target.dead_letter_arn}
    window: dict[str, Any] = {"Mode": "OFF"}
    if spec.flexible_window_minutes:
        window = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": spec.flexible_window_minutes}
    request: dict[str, Any] = {
        "Name": spec.name,
        "GroupName": spec.group_name,
        "ScheduleExpression": spec.expression,
        "ScheduleExpressionTimezone": spec.timezone,
        "FlexibleTimeWindow": window,
        "Target": target,
        "State": spec.state,
        "Description": spec.description,
        "ActionAfterCompletion": spec.action_after_completion,
    }
    if spec.start_date:
        request["StartDate"] = spec.start_date
    if spec.end_date:
        request["EndDate"] = spec.end_date
    result: CreateScheduleInputTypeDef = request  # type: ignore[assignment]
    return result


def _schedule(response: GetScheduleOutputTypeDef) -> Schedule:
    target = response["Target"]
    retry = target.get("RetryPolicy", {})
    window = response.get("FlexibleTimeWindow", {"Mode": "OFF"})
    spec = ScheduleSpec(
        name=response["Name"],
        group_name=response["GroupName"],
        expression=response["ScheduleExpression"],
        timezone=response.get("ScheduleExpressionTimezone") or "UTC",
        target=ScheduleTarget(
            arn=target["Arn"],
            role_arn=target["RoleArn"],
            input=target.get("Input", ""),
            maximum_retry_attempts=retry.get("MaximumRetryAttempts", 185),
            maximum_event_age_seconds=retry.get("MaximumEventAgeInSeconds", 86400),
            dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
        ),
        description=response.get("Description", "") or "",
        state=response.get("State", "ENABLED"),
        start_date=response.get("StartDate"),
        end_date=response.get("EndDate"),
        flexible_window_minutes=(
            window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None
        ),
        action_after_completion=response.get("ActionAfterCompletion", "NONE") or "NONE",
    )
    return Schedule(
        arn=response["Arn"],
        spec=spec,
        created_at=response.get("CreationDate"),
        updated_at=response.get("LastModificationDate"),
        revision=_revision(response),
    )


def _revision(response: GetScheduleOutputTypeDef) -> str:
    """A digest of everything GetSchedule says but its request metadata: it changes with
    every UpdateSchedule (LastModificationDate, and whatever the update changed)."""
    stored = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    canonical = json.dumps(stored, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
