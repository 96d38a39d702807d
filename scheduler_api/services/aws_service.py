"""The seed's name for the service, kept importable: `from ...aws_service import AwsService`.

The service is TaskScheduler (services/task_scheduler.py): it serves the local engine as
well as AWS, so it is named for what it does.
"""

from scheduler_api.services.task_scheduler import (
    ScheduledTask,
    ServiceTarget,
    TaskScheduler,
    decode_task,
)

AwsService = TaskScheduler

__all__ = ["AwsService", "ScheduledTask", "ServiceTarget", "TaskScheduler", "decode_task"]
