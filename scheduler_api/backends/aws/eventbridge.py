"""The EventBridge Scheduler backend: ScheduleSpec to boto3 and back.

AWS errors become project exceptions in backends/aws_errors.py, the one place for it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scheduler_api.backends.aws.errors import aws_errors
from scheduler_api.domain.errors import (
    BackendFailureError,
    IndexUnavailableError,
    RevisionConflictError,
    ScheduleStateConflictError,
)
from scheduler_api.domain.schedules import (
    Schedule,
    ScheduleFilter,
    ScheduleListing,
    SchedulePage,
    ScheduleSpec,
    ScheduleTarget,
)
from scheduler_api.domain.task_input import encode_input, input_event
from task_contract import mark_manual_run, sign_delivery, substitute_context_attributes

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
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
        lambda_client: LambdaClient | None = None,
        callback_secret: str | None = None,
    ) -> None:
        self._client = client
        self._lambda = lambda_client
        self._callback_secret = callback_secret  # run-now signs its delivery (v2) with it

    def find_schedules(
        self,
        group_name: str,  # noqa: ARG002 - the interface's; nothing to filter without an index
        where: ScheduleFilter,  # noqa: ARG002
        *,
        limit: int,  # noqa: ARG002
        next_token: str | None,  # noqa: ARG002
    ) -> SchedulePage:
        """ListSchedules filters by name prefix and state only: the rest needs an index."""
        raise IndexUnavailableError(
            "filtering schedules on AWS needs the schedule index: set SCHEDULE_TABLE"
            " (make deploy-lambda creates the table and prints the setting), then run"
            " make reindex for the schedules made before it"
        )

    def count_by_state(self, group_name: str) -> dict[str, int]:  # noqa: ARG002
        raise IndexUnavailableError("counting schedules on AWS needs SCHEDULE_TABLE")

    def run_now(self, schedule: Schedule, now: datetime) -> str:
        """An asynchronous Invoke of the target, as EventBridge would make it, marked as a
        manual run with its own id (the worker keys it apart from any fire of the same
        second) and, with a secret, signed (v2) over all of it: unlike EventBridge, the
        API makes the whole event, so it can sign the headers too."""
        if self._lambda is None:
            raise BackendFailureError("run now needs a Lambda client")
        execution_id = str(uuid.uuid4())
        event = _proxy_event(
            substitute_context_attributes(
                schedule.spec.target.input,
                schedule_arn=schedule.arn,
                scheduled_time=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                execution_id=execution_id,
                attempt=1,
            )
        )
        mark_manual_run(event, execution_id)
        if self._callback_secret is not None:
            # Not vouched for if the stored signature does not hold: the worker refuses it.
            sign_delivery(event, self._callback_secret, int(now.timestamp()))
        with aws_errors("Lambda", "Invoke", missing_is_not_found=False):
            self._lambda.invoke(
                FunctionName=schedule.spec.target.arn,
                InvocationType="Event",
                Payload=encode_input(event).encode(),
            )
        return execution_id

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


def _proxy_event(text: str) -> dict[str, Any]:
    """The Input as an event whose headers run-now can add to."""
    event = input_event(text)
    if event is None or not isinstance(event.get("headers"), dict):
        raise ScheduleStateConflictError(
            "this schedule's Input is not a task of this API: it cannot be run now"
        )
    return event


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
