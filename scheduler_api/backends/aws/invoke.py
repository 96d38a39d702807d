"""Run now on AWS: one asynchronous Lambda Invoke of a schedule's target, with the event
EventBridge would send. EventBridge Scheduler has no "fire now", so this is the one AWS
call of the backend that is not a Scheduler operation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, cast

from scheduler_api.backends.aws.client_errors import aws_errors
from scheduler_api.domain.errors import ScheduleStateConflictError
from scheduler_api.domain.schedules import Schedule
from scheduler_api.domain.task_input import encode_input, input_event
from task_contract import (
    ProxyEvent,
    mark_manual_run,
    sign_delivery,
    substitute_context_attributes,
)

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class LambdaInvoker:
    def __init__(self, client: LambdaClient, callback_secret: str | None = None) -> None:
        self._client = client
        self._callback_secret = callback_secret  # run-now signs its delivery (v2) with it

    def run_now(self, schedule: Schedule, now: datetime) -> str:
        """An asynchronous Invoke of the target, as EventBridge would make it, marked as a
        manual run with its own id (the worker keys it apart from any fire of the same
        second) and, with a secret, signed (v2) over all of it: unlike EventBridge, the
        API makes the whole event, so it can sign the headers too."""
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
            self._client.invoke(
                FunctionName=schedule.spec.target.arn,
                InvocationType="Event",
                Payload=encode_input(event).encode(),
            )
        return execution_id


def _proxy_event(text: str) -> ProxyEvent:
    """The Input as an event whose headers run-now can add to."""
    event = input_event(text)
    if event is None or not isinstance(event.get("headers"), dict):
        raise ScheduleStateConflictError(
            "this schedule's Input is not a task of this API: it cannot be run now"
        )
    return cast(ProxyEvent, event)  # a dict with headers: all that run-now writes to
